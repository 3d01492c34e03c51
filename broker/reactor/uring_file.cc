#include "broker/reactor/uring_file.h"

#include <fcntl.h>
#include <liburing.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <climits>
#include <optional>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "broker/reactor/completion.h"
#include "broker/reactor/shard.h"

namespace ringbroker::reactor {

using storage::IoCallback;
using storage::PosixError;
using storage::StatusCallback;

namespace {

// Writes up to this size are made with pwritev on the shard thread rather than through the ring.
// ext4 cannot start a buffered write with the promise not to sleep (pwritev2 with RWF_NOWAIT
// fails with EOPNOTSUPP), so io_uring hands every such write to an io-wq worker thread: a thread wakeup, a context switch and a
// completion posted back, which cost several times more CPU than copying a few KiB into the page
// cache. Small appends (one produce request at a low rate) are the case where that overhead
// dominates; large ones keep the worker, so copying megabytes never stalls the shard.
constexpr size_t kInlineWriteBytesMax = 64 * 1024;

}  // namespace

// One Write call: a private copy of the caller's iovecs, walked forward over short writes.
class UringFile::WriteOp final : public Completion {
 public:
  WriteOp(UringFile* file, Shard* shard, uint64_t offset, absl::Span<const iovec> iov,
          IoCallback done)
      : file_(file), shard_(shard), offset_(offset), iov_(iov.begin(), iov.end()),
        done_(std::move(done)) {
    for (const iovec& v : iov_) total_ += v.iov_len;
  }

  void Submit() {
    while (first_ < iov_.size() && iov_[first_].iov_len == 0) ++first_;
    if (written_ == total_) {
      Finish(total_);
      return;
    }
    const auto count = static_cast<unsigned>(std::min<size_t>(iov_.size() - first_, IOV_MAX));
    io_uring_sqe* sqe = shard_->GetSqe();
    io_uring_prep_writev(sqe, file_->fd_, iov_.data() + first_, count, offset_ + written_);
    shard_->Arm(sqe, this);
  }

  void OnComplete(int32_t result, uint32_t) override {
    if (result == -EINTR || result == -EAGAIN) {
      Submit();
      return;
    }
    if (result < 0) {
      Finish(PosixError(-result, "writev", file_->path_));
      return;
    }
    if (result == 0) {
      Finish(absl::InternalError(absl::StrCat("writev ", file_->path_, ": wrote nothing")));
      return;
    }
    written_ += static_cast<size_t>(result);
    size_t left = static_cast<size_t>(result);
    while (left > 0) {
      const size_t step = std::min(left, iov_[first_].iov_len);
      iov_[first_].iov_base = static_cast<char*>(iov_[first_].iov_base) + step;
      iov_[first_].iov_len -= step;
      left -= step;
      if (iov_[first_].iov_len == 0) ++first_;
    }
    Submit();
  }

 private:
  void Finish(absl::StatusOr<size_t> result) {
    if (result.ok()) file_->size_ = std::max(file_->size_, offset_ + total_);
    IoCallback done = std::move(done_);
    delete this;
    done(std::move(result));
  }

  UringFile* file_;
  Shard* shard_;
  uint64_t offset_;
  absl::InlinedVector<iovec, 8> iov_;
  size_t first_ = 0;
  size_t total_ = 0;
  size_t written_ = 0;
  IoCallback done_;
};

// One Read call: resumes short reads until `dest` is full or the file ends.
class UringFile::ReadOp final : public Completion {
 public:
  ReadOp(UringFile* file, Shard* shard, uint64_t offset, absl::Span<uint8_t> dest,
         IoCallback done)
      : file_(file), shard_(shard), offset_(offset), dest_(dest), done_(std::move(done)) {}

  void Submit() {
    if (got_ == dest_.size()) {
      Finish(got_);
      return;
    }
    const size_t want = std::min<size_t>(dest_.size() - got_, 1u << 30);
    io_uring_sqe* sqe = shard_->GetSqe();
    io_uring_prep_read(sqe, file_->fd_, dest_.data() + got_, static_cast<unsigned>(want),
                       offset_ + got_);
    shard_->Arm(sqe, this);
  }

  void OnComplete(int32_t result, uint32_t) override {
    if (result == -EINTR || result == -EAGAIN) {
      Submit();
      return;
    }
    if (result < 0) {
      Finish(PosixError(-result, "read", file_->path_));
      return;
    }
    if (result == 0) {
      Finish(got_);  // end of file
      return;
    }
    got_ += static_cast<size_t>(result);
    Submit();
  }

 private:
  void Finish(absl::StatusOr<size_t> result) {
    IoCallback done = std::move(done_);
    delete this;
    done(std::move(result));
  }

  UringFile* file_;
  Shard* shard_;
  uint64_t offset_;
  absl::Span<uint8_t> dest_;
  size_t got_ = 0;
  IoCallback done_;
};

// Datasync or Truncate: a single request whose result is a Status.
class UringFile::SyncOp final : public Completion {
 public:
  SyncOp(UringFile* file, const char* what, std::optional<uint64_t> new_size, StatusCallback done)
      : file_(file), what_(what), new_size_(new_size), done_(std::move(done)) {}

  void OnComplete(int32_t result, uint32_t) override {
    absl::Status status;
    if (result < 0) {
      status = PosixError(-result, what_, file_->path_);
    } else if (new_size_.has_value()) {
      file_->size_ = *new_size_;
    }
    StatusCallback done = std::move(done_);
    delete this;
    done(std::move(status));
  }

 private:
  UringFile* file_;
  const char* what_;
  std::optional<uint64_t> new_size_;
  StatusCallback done_;
};

UringFile::UringFile(int fd, std::string path, uint64_t size)
    : fd_(fd), path_(std::move(path)), size_(size) {}

UringFile::~UringFile() { close(fd_); }

Shard* UringFile::ShardForCall() {
  Shard* current = Shard::Current();
  if (current == nullptr) return nullptr;
  if (shard_ == nullptr) shard_ = current;
  assert(shard_ == current && "a File belongs to the shard that first used it");
  return current;
}

void UringFile::Write(uint64_t offset, absl::Span<const iovec> iov, IoCallback done) {
  Shard* shard = ShardForCall();
  if (shard == nullptr) {
    // Off the shard threads: plain system calls, completing inline.
    size_t total = 0;
    for (const iovec& v : iov) total += v.iov_len;
    std::string gathered;
    gathered.reserve(total);
    for (const iovec& v : iov) gathered.append(static_cast<const char*>(v.iov_base), v.iov_len);
    absl::Status status = BlockingWrite(
        offset, absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(gathered.data()), total));
    if (status.ok()) {
      done(total);
    } else {
      done(status);
    }
    return;
  }
  size_t total = 0;
  for (const iovec& v : iov) total += v.iov_len;
  if (total <= kInlineWriteBytesMax && writes_in_flight_ == 0) {
    WriteInline(offset, iov, total, std::move(done));
    return;
  }
  ++writes_in_flight_;
  (new WriteOp(this, shard, offset, iov,
               [this, done = std::move(done)](absl::StatusOr<size_t> result) mutable {
                 --writes_in_flight_;
                 done(std::move(result));
               }))
      ->Submit();
}

void UringFile::WriteInline(uint64_t offset, absl::Span<const iovec> iov, size_t total,
                            IoCallback done) {
  // Gathered straight from the caller's iovecs; a short write resumes from where it stopped.
  absl::InlinedVector<iovec, 8> rest(iov.begin(), iov.end());
  size_t first = 0;
  size_t written = 0;
  while (written < total) {
    while (first < rest.size() && rest[first].iov_len == 0) ++first;
    const int count = static_cast<int>(std::min<size_t>(rest.size() - first, IOV_MAX));
    const ssize_t n = pwritev(fd_, rest.data() + first, count, static_cast<off_t>(offset + written));
    if (n < 0) {
      if (errno == EINTR) continue;
      done(PosixError(errno, "pwritev", path_));
      return;
    }
    if (n == 0) {
      done(absl::InternalError(absl::StrCat("pwritev ", path_, ": wrote nothing")));
      return;
    }
    written += static_cast<size_t>(n);
    size_t left = static_cast<size_t>(n);
    while (left > 0) {
      const size_t step = std::min(left, rest[first].iov_len);
      rest[first].iov_base = static_cast<char*>(rest[first].iov_base) + step;
      rest[first].iov_len -= step;
      left -= step;
      if (rest[first].iov_len == 0) ++first;
    }
  }
  size_ = std::max(size_, offset + total);
  done(total);
}

void UringFile::Read(uint64_t offset, absl::Span<uint8_t> dest, IoCallback done) {
  Shard* shard = ShardForCall();
  if (shard == nullptr) {
    done(BlockingRead(offset, dest));
    return;
  }
  (new ReadOp(this, shard, offset, dest, std::move(done)))->Submit();
}

void UringFile::Datasync(StatusCallback done) {
  Shard* shard = ShardForCall();
  if (shard == nullptr) {
    done(BlockingDatasync());
    return;
  }
  auto* op = new SyncOp(this, "fdatasync", std::nullopt, std::move(done));
  io_uring_sqe* sqe = shard->GetSqe();
  io_uring_prep_fsync(sqe, fd_, IORING_FSYNC_DATASYNC);
  shard->Arm(sqe, op);
}

void UringFile::Truncate(uint64_t size, StatusCallback done) {
  Shard* shard = ShardForCall();
  if (shard == nullptr) {
    done(BlockingTruncate(size));
    return;
  }
  if (!shard->features().ftruncate) {
    // Kernels before 6.9 cannot truncate through the ring. Truncation is rare (recovery and
    // retention), so do it here and complete from the loop as the ring would.
    absl::Status status = BlockingTruncate(size);
    shard->Defer([done = std::move(done), status]() mutable { done(status); });
    return;
  }
  auto* op = new SyncOp(this, "ftruncate", size, std::move(done));
  io_uring_sqe* sqe = shard->GetSqe();
  io_uring_prep_rw(kIoringOpFtruncate, sqe, fd_, nullptr, 0, size);
  shard->Arm(sqe, op);
}

void UringFile::WriteBack(uint64_t offset, uint64_t length, StatusCallback done) {
  Shard* shard = ShardForCall();
  if (shard == nullptr) {
    done(storage::BlockingWriteBack(fd_, offset, length, path_));
    return;
  }
  auto* op = new SyncOp(this, "sync_file_range", std::nullopt, std::move(done));
  io_uring_sqe* sqe = shard->GetSqe();
  // The ring takes a 32-bit length; a longer range is written back in part, which WriteBack's
  // promise (pacing, not durability) allows.
  io_uring_prep_sync_file_range(
      sqe, fd_, static_cast<unsigned>(std::min<uint64_t>(length, UINT32_MAX)), offset,
      SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
  shard->Arm(sqe, op);
}

void UringFile::Allocate(uint64_t offset, uint64_t length, StatusCallback done) {
  Shard* shard = ShardForCall();
  if (shard == nullptr) {
    done(storage::BlockingAllocate(fd_, offset, length, path_));
    return;
  }
  // An io-wq worker makes the call, and it holds the inode's lock while the filesystem finds the
  // blocks: a small write made inline meanwhile would wait for it on the shard thread. So the
  // allocation counts as a write in flight, and writes go through the ring until it is done.
  ++writes_in_flight_;
  auto* op = new SyncOp(this, "fallocate", std::nullopt,
                        [this, done = std::move(done)](absl::Status status) mutable {
                          --writes_in_flight_;
                          done(std::move(status));
                        });
  io_uring_sqe* sqe = shard->GetSqe();
  io_uring_prep_fallocate(sqe, fd_, FALLOC_FL_KEEP_SIZE, offset, length);
  shard->Arm(sqe, op);
}

absl::StatusOr<size_t> UringFile::BlockingRead(uint64_t offset, absl::Span<uint8_t> dest) {
  size_t got = 0;
  while (got < dest.size()) {
    ssize_t n = pread(fd_, dest.data() + got, dest.size() - got, static_cast<off_t>(offset + got));
    if (n < 0) {
      if (errno == EINTR) continue;
      return PosixError(errno, "pread", path_);
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  return got;
}

absl::Status UringFile::BlockingWrite(uint64_t offset, absl::Span<const uint8_t> bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = pwrite(fd_, bytes.data() + done, bytes.size() - done,
                       static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return PosixError(errno, "pwrite", path_);
    }
    if (n == 0) return absl::InternalError(absl::StrCat("pwrite ", path_, ": wrote nothing"));
    done += static_cast<size_t>(n);
  }
  size_ = std::max<uint64_t>(size_, offset + bytes.size());
  return absl::OkStatus();
}

absl::Status UringFile::BlockingTruncate(uint64_t size) {
  while (ftruncate(fd_, static_cast<off_t>(size)) != 0) {
    if (errno != EINTR) return PosixError(errno, "ftruncate", path_);
  }
  size_ = size;
  return absl::OkStatus();
}

absl::Status UringFile::BlockingDatasync() {
  while (fdatasync(fd_) != 0) {
    if (errno != EINTR) return PosixError(errno, "fdatasync", path_);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<storage::File>> UringFileSystem::Open(std::string_view path,
                                                                     storage::OpenMode mode) {
  std::string p(path);
  int flags = O_RDWR | O_CLOEXEC;
  if (mode == storage::OpenMode::kCreate) flags |= O_CREAT;
  if (mode == storage::OpenMode::kCreateExclusive) flags |= O_CREAT | O_EXCL;
  int fd = open(p.c_str(), flags, 0644);
  if (fd < 0) return PosixError(errno, "open", p);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    absl::Status status = PosixError(errno, "fstat", p);
    close(fd);
    return status;
  }
  return std::make_unique<UringFile>(fd, std::move(p), static_cast<uint64_t>(st.st_size));
}

absl::Status UringFileSystem::Remove(std::string_view path) { return posix_.Remove(path); }
absl::Status UringFileSystem::Rename(std::string_view from, std::string_view to) {
  return posix_.Rename(from, to);
}
absl::StatusOr<std::vector<std::string>> UringFileSystem::List(std::string_view dir) {
  return posix_.List(dir);
}
absl::Status UringFileSystem::Mkdir(std::string_view dir) { return posix_.Mkdir(dir); }
absl::Status UringFileSystem::SyncDir(std::string_view dir) { return posix_.SyncDir(dir); }

// An fsync of a directory through the ring; owns the descriptor it opened for it.
class UringFileSystem::DirSyncOp final : public Completion {
 public:
  DirSyncOp(int fd, std::string dir, StatusCallback done)
      : fd_(fd), dir_(std::move(dir)), done_(std::move(done)) {}

  void OnComplete(int32_t result, uint32_t) override {
    close(fd_);
    absl::Status status = result < 0 ? PosixError(-result, "fsync", dir_) : absl::OkStatus();
    StatusCallback done = std::move(done_);
    delete this;
    done(std::move(status));
  }

 private:
  const int fd_;
  const std::string dir_;
  StatusCallback done_;
};

void UringFileSystem::SyncDirAsync(std::string_view dir, StatusCallback done) {
  Shard* shard = Shard::Current();
  if (shard == nullptr) {
    done(SyncDir(dir));
    return;
  }
  std::string path(dir);
  // Opening a directory is a lookup, not a wait for the disk.
  const int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    absl::Status status = PosixError(errno, "open", path);
    shard->Defer([done = std::move(done), status]() mutable { done(status); });
    return;
  }
  auto* op = new DirSyncOp(fd, std::move(path), std::move(done));
  io_uring_sqe* sqe = shard->GetSqe();
  io_uring_prep_fsync(sqe, fd, 0);
  shard->Arm(sqe, op);
}

class UringFileSystem::PauseOp final : public Completion {
 public:
  PauseOp(int64_t ms, absl::AnyInvocable<void()> done) : done_(std::move(done)) {
    timeout_.tv_sec = ms / 1000;
    timeout_.tv_nsec = (ms % 1000) * 1'000'000;
  }
  __kernel_timespec* timeout() { return &timeout_; }

  void OnComplete(int32_t, uint32_t) override {  // -ETIME: the time is up
    absl::AnyInvocable<void()> done = std::move(done_);
    delete this;
    done();
  }

 private:
  __kernel_timespec timeout_{};  // read by the kernel when it takes the submission
  absl::AnyInvocable<void()> done_;
};

void UringFileSystem::PauseAsync(int64_t ms, absl::AnyInvocable<void()> done) {
  Shard* shard = Shard::Current();
  if (shard == nullptr) {
    done();  // off the shard threads nothing is served meanwhile, so there is nothing to pace for
    return;
  }
  if (ms <= 0 || shard->stopping()) {
    shard->Defer(std::move(done));
    return;
  }
  auto* op = new PauseOp(ms, std::move(done));
  io_uring_sqe* sqe = shard->GetSqe();
  io_uring_prep_timeout(sqe, op->timeout(), 0, 0);
  shard->Arm(sqe, op);
}

bool UringFileSystem::Exists(std::string_view path) { return posix_.Exists(path); }

}  // namespace ringbroker::reactor
