// Connection: one accepted TCP socket on one shard, with a callback interface for the protocol
// layer above (Kafka framing lives there, not here).
//
// Receiving: data arrives in order through ConnectionHandler::OnData as Buffers (usually pointing
// straight into the shard's provided receive buffers; see buffer_ring.h). The handler owns each
// Buffer it is given and may keep it, Share() parts of it, or move it to another shard.
//
// Sending: Send() queues Buffers, SendFile() queues file ranges; both go out in queue order. Bytes
// are gathered into sendmsg() iovecs (partial sends resume where they stopped). A small file range
// (64 KiB at most) whose bytes are all in the page cache is copied out at once (preadv2 with
// RWF_NOWAIT) and sent with the buffers around it: one sendmsg for a fetch response of many small
// partitions. Larger ranges go without a copy through user space: one that cachestat(2) (Linux
// 6.5+) finds in the page cache by sendfile() on the shard thread, which the non-blocking socket
// stops at EAGAIN (the rest waits for POLLOUT); any other is spliced file -> pipe by an io-wq
// worker, since reading it may wait for the disk, then pipe -> socket on the shard. Without
// splice, such a range is read into a heap Buffer first. Sending never fails
// synchronously; errors close the connection.
//
// Back-pressure: once unsent_bytes() exceeds ReactorOptions::send_bytes_max, the connection stops
// reading from the socket, and resumes once the backlog drains to half of that. A peer that sends
// requests but never reads responses therefore stalls itself rather than growing our memory.
//
// Closing: Close() stops reading, flushes what is queued, then closes; Send() after it is ignored.
// Abort() closes at once and drops the queue. When the peer shuts its sending side (EOF), the
// connection behaves as after Close(): queued responses still go out, later ones are dropped. Either way, and when the peer closes or an error occurs, the handler's OnClose
// is called exactly once, from a deferred task (never from inside Send/Close/Abort), and the
// Connection and its handler are destroyed right after OnClose returns.
//
// Threading: everything here runs on, and must be called on, the connection's shard thread.
#pragma once

#include <liburing.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <variant>

#include "absl/status/status.h"
#include "broker/reactor/buffer.h"
#include "broker/reactor/completion.h"

namespace ringbroker::reactor {

class Connection;
class Shard;

class ConnectionHandler {
 public:
  virtual ~ConnectionHandler() = default;
  // The next bytes from the peer (never empty).
  virtual void OnData(Connection& connection, Buffer data) = 0;
  // The connection is finished: OkStatus when the peer closed or Close() completed, the error
  // otherwise (CancelledError when the reactor stops). The last callback.
  virtual void OnClose(Connection& connection, const absl::Status& reason) = 0;
};

// Makes the handler for a newly accepted connection; called on the accepting shard's thread.
using ConnectionFactory = std::function<std::unique_ptr<ConnectionHandler>(Connection&)>;

// A byte range of an open file to send. The fd must stay open until the range has been sent or
// the connection closed; `keep_alive` (e.g. the segment reader owning the fd) is held until then.
struct FileRange {
  int fd = -1;
  uint64_t offset = 0;
  uint64_t length = 0;
  std::shared_ptr<const void> keep_alive;
};

class Connection {
 public:
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  Shard& shard() { return *shard_; }
  // Unique on its shard for the shard's life.
  uint64_t id() const { return id_; }
  const sockaddr_storage& peer_address() const { return peer_; }

  void Send(Buffer data);
  void SendFile(FileRange range);
  // Bytes queued (buffers and file ranges) and not yet accepted by the kernel.
  size_t unsent_bytes() const { return unsent_bytes_; }
  bool reading_paused() const { return paused_ || held_; }
  // The handler stops reading from the socket until ReleaseReading(), whatever the send backlog:
  // it has as much of this peer's work in hand as it will take (Kafka mutes a channel the same
  // way), so what the peer sends next waits in the kernel's socket buffer, not in our memory.
  void HoldReading();
  void ReleaseReading();

  void Close();
  void Abort(absl::Status reason);

 private:
  friend class Shard;
  friend class Listener;

  enum class State { kOpen, kClosing, kAborting, kFinished };
  enum class SendStage { kIdle, kSendmsg, kSpliceIn, kPollOut, kFileRead };
  using Item = std::variant<Buffer, FileRange>;

  class RecvOp final : public Completion {
   public:
    explicit RecvOp(Connection* c) : c_(c) {}
    void OnComplete(int32_t result, uint32_t flags) override { c_->OnRecv(result, flags); }

   private:
    Connection* c_;
  };
  class SendOp final : public Completion {
   public:
    explicit SendOp(Connection* c) : c_(c) {}
    void OnComplete(int32_t result, uint32_t flags) override { c_->OnSend(result, flags); }

   private:
    Connection* c_;
  };

  Connection(Shard* shard, int fd, uint64_t id, const sockaddr_storage& peer);

  void Start(std::unique_ptr<ConnectionHandler> handler);
  bool WantRecv() const;
  void ArmRecv();
  void OnRecv(int32_t result, uint32_t flags);
  void StartSend();
  void OnSend(int32_t result, uint32_t flags);
  void SentBytes(size_t n);
  void ConsumeBufferBytes(size_t n);
  void ReadSmallFileRangesInline();
  void PrepareFileSend(io_uring_sqe* sqe, FileRange& range);
  // Sends from the front range on this thread: the pipe's bytes if any, else by sendfile. The
  // bytes sent (0 after EINTR); nullopt when the socket is full (a POLLOUT wait is armed) or the
  // connection was aborted.
  std::optional<size_t> SendFileRangeNow(FileRange& range);
  void WaitUntilWritable();
  void UpdateReading();
  void Fail(absl::Status reason);
  void MaybeFinish();
  void Finish();

  Shard* const shard_;
  const int fd_;
  const uint64_t id_;
  const sockaddr_storage peer_;
  std::unique_ptr<ConnectionHandler> handler_;
  State state_ = State::kOpen;
  absl::Status close_reason_;

  RecvOp recv_op_{this};
  bool recv_armed_ = false;
  bool recv_cancel_sent_ = false;
  bool paused_ = false;  // by the send backlog
  bool held_ = false;    // by the handler
  bool recv_seen_data_ = false;  // a multishot -EINVAL after data is not "unsupported"
  uint64_t rearm_timer_ = 0;     // pending retry after the buffer ring ran dry (ENOBUFS)
  Buffer recv_heap_;  // target of a non-buffer-ring recv while one is armed

  SendOp send_op_{this};
  SendStage send_stage_ = SendStage::kIdle;
  std::deque<Item> queue_;
  size_t unsent_bytes_ = 0;
  static constexpr int kIovMax = 64;
  iovec iov_[kIovMax];
  msghdr msg_{};
  Buffer file_chunk_;     // target of a file read when splice is unavailable
  int pipe_[2] = {-1, -1};  // for splice, created on the first SendFile
  size_t pipe_capacity_ = 0;
  size_t pipe_bytes_ = 0;   // spliced into the pipe by a worker, not yet out to the socket
  bool finish_scheduled_ = false;
};

}  // namespace ringbroker::reactor
