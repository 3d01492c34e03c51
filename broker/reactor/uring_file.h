// The io_uring implementation of storage's file seam (storage/io/file.h).
//
// UringFile's asynchronous calls (Write, Read, Datasync, Truncate, WriteBack, Allocate) are submitted to the ring of the
// shard that calls them and complete later, from that shard's loop, on that shard's thread; they
// never wait for the disk. The exception is a small Write (64 KiB at most) while no other Write on
// the file is in flight: it is a plain pwritev into the page cache, completing inline, because the
// ring would hand a buffered write to a worker thread, which costs more than the copy (see
// uring_file.cc). Short writes and short reads are resumed inside, as the seam promises. A File is
// bound to the first shard that makes an asynchronous call on it; calling from another shard is a
// programmer error. Called from a thread that runs no shard (start-up, tools), the calls fall back
// to plain system calls and complete inline, like storage's PosixFile.
//
// The Blocking* calls and every UringFileSystem call are plain system calls that may block: the
// seam reserves them for opening, recovery and compaction.
//
// The shard does not finish stopping while a call is in flight, but the File must outlive its
// calls (the seam's rule), and so must the iovecs and buffers handed to them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "storage/io/file.h"
#include "storage/io/posix_file.h"

namespace ringbroker::reactor {

class Shard;

class UringFile final : public storage::File {
 public:
  // Takes ownership of `fd`; `path` only names the file in errors.
  UringFile(int fd, std::string path, uint64_t size);
  ~UringFile() override;

  void Write(uint64_t offset, absl::Span<const iovec> iov, storage::IoCallback done) override;
  void Read(uint64_t offset, absl::Span<uint8_t> dest, storage::IoCallback done) override;
  void Datasync(storage::StatusCallback done) override;
  void Truncate(uint64_t size, storage::StatusCallback done) override;
  void WriteBack(uint64_t offset, uint64_t length, storage::StatusCallback done) override;
  void Allocate(uint64_t offset, uint64_t length, storage::StatusCallback done) override;

  absl::StatusOr<size_t> BlockingRead(uint64_t offset, absl::Span<uint8_t> dest) override;
  absl::Status BlockingWrite(uint64_t offset, absl::Span<const uint8_t> bytes) override;
  absl::Status BlockingTruncate(uint64_t size) override;
  absl::Status BlockingDatasync() override;

  uint64_t size() const override { return size_; }
  int fd() const override { return fd_; }

 private:
  class WriteOp;
  class ReadOp;
  class SyncOp;

  // The calling shard, bound on first use; null off shard threads.
  Shard* ShardForCall();
  // A small buffered write done with pwritev on the shard thread; `done` runs before it returns.
  void WriteInline(uint64_t offset, absl::Span<const iovec> iov, size_t total,
                   storage::IoCallback done);

  const int fd_;
  const std::string path_;
  uint64_t size_;
  Shard* shard_ = nullptr;
  // Ring writes submitted and not yet completed. A small write goes inline only when this is 0:
  // one queued in io-wq would hold the inode lock, and waiting for it would block the shard.
  size_t writes_in_flight_ = 0;
};

class UringFileSystem final : public storage::FileSystem {
 public:
  absl::StatusOr<std::unique_ptr<storage::File>> Open(std::string_view path,
                                                      storage::OpenMode mode) override;
  absl::Status Remove(std::string_view path) override;
  absl::Status Rename(std::string_view from, std::string_view to) override;
  absl::StatusOr<std::vector<std::string>> List(std::string_view dir) override;
  absl::Status Mkdir(std::string_view dir) override;
  absl::Status SyncDir(std::string_view dir) override;
  // On a shard thread, the fsync goes through the ring (an io-wq worker waits for the disk, not the
  // shard); elsewhere it is SyncDir.
  void SyncDirAsync(std::string_view dir, storage::StatusCallback done) override;
  // On a shard thread, a ring timeout (counted in flight, so a stopping shard waits for it); while
  // the shard stops, no wait at all. Elsewhere `done` runs at once.
  void PauseAsync(int64_t ms, absl::AnyInvocable<void()> done) override;
  bool Exists(std::string_view path) override;

 private:
  class DirSyncOp;
  class PauseOp;

  // Directory operations are the same plain system calls either way.
  storage::PosixFileSystem posix_;
};

}  // namespace ringbroker::reactor
