#include "broker/reactor/connection.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/sendfile.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "broker/reactor/page_cache.h"
#include "broker/reactor/shard.h"

namespace ringbroker::reactor {
namespace {

// Without splice, file ranges are read into heap chunks of this size before sendmsg.
constexpr size_t kFileChunkBytes = 64 * 1024;
// Pipe size asked for splice (the kernel may cap it at /proc/sys/fs/pipe-max-size).
constexpr int kPipeBytes = 1024 * 1024;
// File ranges up to this size are copied out of the page cache with preadv2(RWF_NOWAIT) on the
// shard thread and sent with the surrounding buffers: for a fetch response of many partitions
// holding a few records each, one sendmsg costs less than a sendfile per partition. Larger ranges
// go without a copy: by sendfile when cached, else by splice.
constexpr uint64_t kInlineFileRangeBytes = 64 * 1024;
// At most this much of a range is checked for residency and handed to one sendfile() call.
constexpr uint64_t kDirectSendBytes = 1024 * 1024;
// After this many bytes sent on the shard thread in one go (a fast reader keeps the socket from
// filling), the connection yields: it waits for POLLOUT, which completes at once on a writable
// socket but lets the shard's other connections have their turn first.
constexpr uint64_t kDirectSendTurnBytes = 4 * kDirectSendBytes;

absl::Status SocketError(const std::string& what, int err) {
  return absl::UnavailableError(absl::StrCat(what, ": ", strerror(err)));
}

}  // namespace

Connection::Connection(Shard* shard, int fd, uint64_t id, const sockaddr_storage& peer)
    : shard_(shard), fd_(fd), id_(id), peer_(peer) {}

Connection::~Connection() {
  // Finish() closed everything on the normal path; this covers a connection that never started.
  if (state_ != State::kFinished) close(fd_);
  if (pipe_[0] >= 0) close(pipe_[0]);
  if (pipe_[1] >= 0) close(pipe_[1]);
}

void Connection::Start(std::unique_ptr<ConnectionHandler> handler) {
  handler_ = std::move(handler);
  ArmRecv();
}

// ---------------------------------------------------------------------------------------------
// Receiving.

bool Connection::WantRecv() const {
  return state_ == State::kOpen && !paused_ && !held_ && rearm_timer_ == 0;
}

void Connection::HoldReading() {
  if (held_) return;
  held_ = true;
  if (recv_armed_ && !recv_cancel_sent_) {
    shard_->CancelOp(&recv_op_);
    recv_cancel_sent_ = true;
  }
}

void Connection::ReleaseReading() {
  if (!held_) return;
  held_ = false;
  ArmRecv();
}

void Connection::ArmRecv() {
  if (recv_armed_ || !WantRecv()) return;
  io_uring_sqe* sqe = shard_->GetSqe();
  BufferRing* ring = shard_->buffer_ring();
  if (shard_->features_.buf_ring && ring != nullptr) {
    // Length 0: the kernel picks a slot and fills at most its size.
    if (shard_->features_.multishot_recv) {
      io_uring_prep_recv_multishot(sqe, fd_, nullptr, 0, 0);
    } else {
      io_uring_prep_recv(sqe, fd_, nullptr, 0, 0);
    }
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = ring->group_id();
  } else {
    recv_heap_ = Buffer::Allocate(shard_->options().recv_slot_bytes);
    io_uring_prep_recv(sqe, fd_, recv_heap_.mutable_data(), recv_heap_.size(), 0);
  }
  shard_->Arm(sqe, &recv_op_);
  recv_armed_ = true;
  recv_cancel_sent_ = false;
}

void Connection::OnRecv(int32_t result, uint32_t flags) {
  const bool final = (flags & IORING_CQE_F_MORE) == 0;
  if (final) recv_armed_ = false;
  Buffer data;
  if ((flags & IORING_CQE_F_BUFFER) != 0) {
    const auto slot = static_cast<uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
    // Taken even when unused, so the slot goes back to the ring.
    data = shard_->buffer_ring()->Take(slot, result > 0 ? static_cast<uint32_t>(result) : 0);
  } else if (final) {
    data = std::move(recv_heap_);
    data.RemoveSuffix(data.size() - (result > 0 ? static_cast<size_t>(result) : 0));
  }

  if (result > 0) {
    recv_seen_data_ = true;
    if (state_ == State::kOpen) handler_->OnData(*this, std::move(data));  // may Send/Close/Abort
  } else if (result == 0) {
    // The peer finished sending. Flush what we still owe it (it may be waiting for a response
    // after a half-close), then close.
    if (state_ == State::kOpen) {
      state_ = State::kClosing;
      close_reason_ = absl::OkStatus();
    }
  } else {
    switch (-result) {
      case ECANCELED:  // pause or close
      case EINTR:
      case EAGAIN:
        break;
      case ENOBUFS: {
        // Every slot is in use; give the shard a moment to get some back rather than spin.
        absl::StatusOr<TimerId> timer = shard_->Schedule(1, [this] {
          rearm_timer_ = 0;
          ArmRecv();
          MaybeFinish();
        });
        if (timer.ok()) {
          rearm_timer_ = *timer;
        } else {
          Abort(timer.status());
        }
        break;
      }
      case EINVAL:
        if (shard_->features_.multishot_recv && !recv_seen_data_) {
          shard_->features_.multishot_recv = false;  // old kernel: re-arm single-shot from now on
          break;
        }
        [[fallthrough]];
      default:
        Abort(SocketError("recv", -result));
        break;
    }
  }
  if (final) ArmRecv();  // no-op unless still wanted
  MaybeFinish();
}

// ---------------------------------------------------------------------------------------------
// Sending.

void Connection::Send(Buffer data) {
  if (state_ != State::kOpen || data.empty()) return;
  unsent_bytes_ += data.size();
  queue_.emplace_back(std::move(data));
  if (send_stage_ == SendStage::kIdle) StartSend();
  UpdateReading();
}

void Connection::SendFile(FileRange range) {
  if (state_ != State::kOpen || range.length == 0) return;
  unsent_bytes_ += range.length;
  queue_.emplace_back(std::move(range));
  if (send_stage_ == SendStage::kIdle) StartSend();
  UpdateReading();
}

void Connection::StartSend() {
  assert(send_stage_ == SendStage::kIdle);
  uint64_t sent_here = 0;
  while (!queue_.empty() && state_ != State::kAborting && state_ != State::kFinished) {
    ReadSmallFileRangesInline();
    if (auto* range = std::get_if<FileRange>(&queue_.front())) {
      // A turn used up yields before asking about residency: the next turn asks anew anyway.
      if (sent_here >= kDirectSendTurnBytes) {
        WaitUntilWritable();
        return;
      }
      // What an io-wq splice left in the pipe goes first; a cached range goes by sendfile.
      if (pipe_bytes_ > 0 || (shard_->features_.direct_send &&
                              RangeInPageCache(range->fd, range->offset,
                                               std::min(range->length, kDirectSendBytes)))) {
        std::optional<size_t> sent = SendFileRangeNow(*range);
        if (!sent) return;  // the socket is full (POLLOUT armed), or aborted
        sent_here += *sent;
        continue;
      }
    }
    io_uring_sqe* sqe = shard_->GetSqe();
    if (auto* range = std::get_if<FileRange>(&queue_.front())) {
      PrepareFileSend(sqe, *range);
      if (send_stage_ == SendStage::kIdle) return;  // failed; PrepareFileSend aborted
    } else {
      int count = 0;
      for (auto it = queue_.begin(); it != queue_.end() && count < kIovMax; ++it) {
        auto* buffer = std::get_if<Buffer>(&*it);
        if (buffer == nullptr) break;
        iov_[count].iov_base = const_cast<char*>(buffer->data());
        iov_[count].iov_len = buffer->size();
        ++count;
      }
      std::memset(&msg_, 0, sizeof(msg_));
      msg_.msg_iov = iov_;
      msg_.msg_iovlen = static_cast<size_t>(count);
      io_uring_prep_sendmsg(sqe, fd_, &msg_, MSG_NOSIGNAL);
      send_stage_ = SendStage::kSendmsg;
    }
    shard_->Arm(sqe, &send_op_);
    return;
  }
}

std::optional<size_t> Connection::SendFileRangeNow(FileRange& range) {
  // The socket is non-blocking: each call takes what fits in its buffer and says EAGAIN when full.
  ssize_t n;
  if (pipe_bytes_ > 0) {
    n = splice(pipe_[0], nullptr, fd_, nullptr, pipe_bytes_, SPLICE_F_NONBLOCK);
  } else {
    off_t offset = static_cast<off_t>(range.offset);
    n = sendfile(fd_, range.fd, &offset, std::min(range.length, kDirectSendBytes));
  }
  if (n < 0) {
    if (errno == EINTR) return 0;
    if (errno == EAGAIN) {
      WaitUntilWritable();
    } else {
      Abort(SocketError("send file range", errno));
    }
    return std::nullopt;
  }
  const auto sent = static_cast<size_t>(n);
  if (pipe_bytes_ > 0) {
    if (sent == 0) {
      Abort(absl::UnavailableError("splice to socket made no progress"));
      return std::nullopt;
    }
    pipe_bytes_ -= sent;
  } else {
    if (sent == 0) {  // sendfile found the end of the file before the end of the range
      Abort(absl::OutOfRangeError("file range extends past the end of the file"));
      return std::nullopt;
    }
    range.offset += sent;
    range.length -= sent;
  }
  unsent_bytes_ -= sent;
  if (pipe_bytes_ == 0 && range.length == 0) queue_.pop_front();
  return sent;
}

void Connection::WaitUntilWritable() {
  io_uring_sqe* sqe = shard_->GetSqe();
  io_uring_prep_poll_add(sqe, fd_, POLLOUT);
  send_stage_ = SendStage::kPollOut;
  shard_->Arm(sqe, &send_op_);
}

void Connection::ReadSmallFileRangesInline() {
  // Walks the queue front to back, turning each small file range into a Buffer of its bytes when
  // the page cache holds them all, so one sendmsg takes it along with what surrounds it. Stops at
  // the first range it cannot turn, which then goes the usual way. It looks only as far as one
  // sendmsg reaches, so a long queue is not walked again on every send.
  int looked = 0;
  for (auto it = queue_.begin(); it != queue_.end() && looked < kIovMax; ++it, ++looked) {
    auto* range = std::get_if<FileRange>(&*it);
    if (range == nullptr) continue;
    if (range->length > kInlineFileRangeBytes || (it == queue_.begin() && pipe_bytes_ > 0)) return;
    Buffer bytes = Buffer::Allocate(range->length);
    iovec iov{bytes.mutable_data(), range->length};
    // RWF_NOWAIT: EAGAIN (or a short read) instead of waiting for the disk.
    ssize_t n = preadv2(range->fd, &iov, 1, static_cast<off_t>(range->offset), RWF_NOWAIT);
    if (n < 0 || static_cast<uint64_t>(n) != range->length) return;
    // The Buffer stands in for the range's bytes (already counted in unsent_bytes_); the range's
    // keep_alive goes, as the bytes no longer come from its file.
    *it = std::move(bytes);
  }
}

void Connection::PrepareFileSend(io_uring_sqe* sqe, FileRange& range) {
  assert(pipe_bytes_ == 0);  // StartSend empties the pipe itself
  if (shard_->features_.splice) {
    if (pipe_[0] < 0) {
      if (pipe2(pipe_, O_CLOEXEC) != 0) {
        io_uring_prep_nop(sqe);  // the SQE is already taken; make it harmless
        io_uring_sqe_set_data64(sqe, 0);
        Abort(SocketError("pipe2", errno));
        return;
      }
      (void)fcntl(pipe_[1], F_SETPIPE_SZ, kPipeBytes);  // best effort; the default also works
      int capacity = fcntl(pipe_[1], F_GETPIPE_SZ);
      pipe_capacity_ = capacity > 0 ? static_cast<size_t>(capacity) : 64 * 1024;
    }
    const size_t n = std::min<uint64_t>(range.length, pipe_capacity_);
    io_uring_prep_splice(sqe, range.fd, static_cast<int64_t>(range.offset), pipe_[1], -1,
                         static_cast<unsigned>(n), 0);
    send_stage_ = SendStage::kSpliceIn;
    return;
  }
  const size_t n = std::min<uint64_t>(range.length, kFileChunkBytes);
  file_chunk_ = Buffer::Allocate(n);
  io_uring_prep_read(sqe, range.fd, file_chunk_.mutable_data(), static_cast<unsigned>(n),
                     range.offset);
  send_stage_ = SendStage::kFileRead;
}

void Connection::OnSend(int32_t result, uint32_t /*flags*/) {
  const SendStage stage = std::exchange(send_stage_, SendStage::kIdle);
  if (state_ == State::kAborting) {
    MaybeFinish();
    return;
  }
  if (result == -EINTR || result == -EAGAIN) {
    if (stage == SendStage::kFileRead) file_chunk_.Release();
    StartSend();  // may empty the queue at once: the tail below still has to run
    UpdateReading();
    MaybeFinish();
    return;
  }
  if (result < 0) {
    Abort(SocketError(stage == SendStage::kFileRead || stage == SendStage::kSpliceIn
                          ? "read file range"
                          : stage == SendStage::kPollOut ? "poll" : "send",
                      -result));
    return;
  }
  const auto n = static_cast<size_t>(result);
  switch (stage) {
    case SendStage::kSendmsg:
      if (n == 0) {
        Abort(absl::UnavailableError("send made no progress"));
        return;
      }
      ConsumeBufferBytes(n);
      break;
    case SendStage::kSpliceIn: {
      auto& range = std::get<FileRange>(queue_.front());
      if (n == 0) {
        Abort(absl::OutOfRangeError("file range extends past the end of the file"));
        return;
      }
      pipe_bytes_ += n;
      range.offset += n;
      range.length -= n;
      break;
    }
    case SendStage::kPollOut:
      break;  // the socket has room again (or an error, which the next send reports)
    case SendStage::kFileRead: {
      if (n == 0) {
        file_chunk_.Release();
        Abort(absl::OutOfRangeError("file range extends past the end of the file"));
        return;
      }
      auto& range = std::get<FileRange>(queue_.front());
      file_chunk_.RemoveSuffix(file_chunk_.size() - n);
      range.offset += n;
      range.length -= n;
      if (range.length == 0) queue_.pop_front();
      // The chunk now stands in for the bytes it holds (already counted in unsent_bytes_).
      queue_.emplace_front(std::move(file_chunk_));
      break;
    }
    case SendStage::kIdle:
      assert(false);
      break;
  }
  if (!queue_.empty()) StartSend();
  UpdateReading();
  MaybeFinish();
}

void Connection::ConsumeBufferBytes(size_t n) {
  unsent_bytes_ -= n;
  while (n > 0) {
    auto& buffer = std::get<Buffer>(queue_.front());
    if (n < buffer.size()) {
      buffer.RemovePrefix(n);  // a partial send: the rest goes next time
      return;
    }
    n -= buffer.size();
    queue_.pop_front();
  }
}

void Connection::UpdateReading() {
  const size_t limit = shard_->options().send_bytes_max;
  if (!paused_ && unsent_bytes_ > limit) {
    paused_ = true;
    if (recv_armed_ && !recv_cancel_sent_) {
      shard_->CancelOp(&recv_op_);
      recv_cancel_sent_ = true;
    }
  } else if (paused_ && unsent_bytes_ <= limit / 2) {
    paused_ = false;
    ArmRecv();
  }
}

// ---------------------------------------------------------------------------------------------
// Closing.

void Connection::Close() {
  if (state_ != State::kOpen) return;
  state_ = State::kClosing;
  close_reason_ = absl::OkStatus();
  if (rearm_timer_ != 0) {
    shard_->Cancel(rearm_timer_);
    rearm_timer_ = 0;
  }
  if (recv_armed_ && !recv_cancel_sent_) {
    shard_->CancelOp(&recv_op_);
    recv_cancel_sent_ = true;
  }
  MaybeFinish();
}

void Connection::Abort(absl::Status reason) {
  if (state_ == State::kAborting || state_ == State::kFinished) return;
  state_ = State::kAborting;
  close_reason_ = std::move(reason);
  if (rearm_timer_ != 0) {
    shard_->Cancel(rearm_timer_);
    rearm_timer_ = 0;
  }
  if (recv_armed_ && !recv_cancel_sent_) {
    shard_->CancelOp(&recv_op_);
    recv_cancel_sent_ = true;
  }
  if (send_stage_ != SendStage::kIdle) shard_->CancelOp(&send_op_);
  MaybeFinish();
}

void Connection::MaybeFinish() {
  if (finish_scheduled_ || state_ == State::kOpen || state_ == State::kFinished) return;
  if (recv_armed_ || send_stage_ != SendStage::kIdle) return;
  if (state_ == State::kClosing && !queue_.empty()) return;  // still flushing
  finish_scheduled_ = true;
  shard_->Defer([this] { Finish(); });
}

void Connection::Finish() {
  state_ = State::kFinished;
  // The kernel has no request of ours in flight any more, so the memory they used can go.
  queue_.clear();
  unsent_bytes_ = 0;
  file_chunk_.Release();
  recv_heap_.Release();
  close(fd_);
  handler_->OnClose(*this, close_reason_);
  shard_->Forget(this);  // destroys this
}

}  // namespace ringbroker::reactor
