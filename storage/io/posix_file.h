// The POSIX implementation of the file seam: pread/pwritev/fdatasync on plain descriptors.
//
// Its asynchronous calls complete inline: the callback runs on the calling thread before the call
// returns, so the calling thread blocks for the duration of the system call. That is right for tests,
// tools, benchmarks and a broker without io_uring; the shard loop uses the io_uring implementation in
// broker/reactor/ instead.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "storage/io/file.h"

namespace ringbroker::storage {

// Maps errno to a Status that names the operation and the path: ENOSPC and EDQUOT become
// ResourceExhausted, EIO becomes DataLoss, ENOENT NotFound, the rest follow absl::ErrnoToStatus.
absl::Status PosixError(int error_number, std::string_view operation, std::string_view path);

// sync_file_range(fd, offset, length, WAIT_BEFORE | WRITE | WAIT_AFTER): File::WriteBack's system
// call, for the implementations that make it in the calling thread.
absl::Status BlockingWriteBack(int fd, uint64_t offset, uint64_t length, std::string_view path);

// fallocate(fd, FALLOC_FL_KEEP_SIZE, offset, length): File::Allocate's system call, likewise.
absl::Status BlockingAllocate(int fd, uint64_t offset, uint64_t length, std::string_view path);

class PosixFile final : public File {
 public:
  // Takes ownership of `fd`.
  PosixFile(int fd, std::string path, uint64_t size);
  ~PosixFile() override;

  void Write(uint64_t offset, absl::Span<const iovec> iov, IoCallback done) override;
  void Read(uint64_t offset, absl::Span<uint8_t> dest, IoCallback done) override;
  void Datasync(StatusCallback done) override;
  void Truncate(uint64_t size, StatusCallback done) override;
  void WriteBack(uint64_t offset, uint64_t length, StatusCallback done) override;
  void Allocate(uint64_t offset, uint64_t length, StatusCallback done) override;

  absl::StatusOr<size_t> BlockingRead(uint64_t offset, absl::Span<uint8_t> dest) override;
  absl::Status BlockingWrite(uint64_t offset, absl::Span<const uint8_t> bytes) override;
  absl::Status BlockingTruncate(uint64_t size) override;
  absl::Status BlockingDatasync() override;

  uint64_t size() const override { return size_; }
  int fd() const override { return fd_; }

 private:
  absl::StatusOr<size_t> WriteVector(uint64_t offset, absl::Span<const iovec> iov);

  int fd_;
  std::string path_;
  uint64_t size_;
};

class PosixFileSystem final : public FileSystem {
 public:
  absl::StatusOr<std::unique_ptr<File>> Open(std::string_view path, OpenMode mode) override;
  absl::Status Remove(std::string_view path) override;
  absl::Status Rename(std::string_view from, std::string_view to) override;
  absl::StatusOr<std::vector<std::string>> List(std::string_view dir) override;
  absl::Status Mkdir(std::string_view dir) override;
  absl::Status SyncDir(std::string_view dir) override;
  bool Exists(std::string_view path) override;
};

}  // namespace ringbroker::storage
