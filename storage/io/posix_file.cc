#include "storage/io/posix_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"

namespace ringbroker::storage {

absl::Status PosixError(int error_number, std::string_view operation, std::string_view path) {
  std::string message = absl::StrCat(std::string(operation), " ", std::string(path), ": ", strerror(error_number));
  switch (error_number) {
    case ENOSPC:
    case EDQUOT:
      return absl::ResourceExhaustedError(message);
    case EIO:
      return absl::DataLossError(message);
    default:
      return absl::Status(absl::ErrnoToStatusCode(error_number), message);
  }
}

PosixFile::PosixFile(int fd, std::string path, uint64_t size)
    : fd_(fd), path_(std::move(path)), size_(size) {}

PosixFile::~PosixFile() { ::close(fd_); }

absl::StatusOr<size_t> PosixFile::WriteVector(uint64_t offset, absl::Span<const iovec> iov) {
  // pwritev may write less than asked (and takes at most IOV_MAX entries), so walk a private copy
  // of the iovec array forward until everything is written.
  absl::InlinedVector<iovec, 8> rest(iov.begin(), iov.end());
  size_t total = 0;
  for (const iovec& v : iov) total += v.iov_len;
  size_t written = 0;
  size_t first = 0;
  while (written < total) {
    while (first < rest.size() && rest[first].iov_len == 0) ++first;
    int count = int(std::min<size_t>(rest.size() - first, IOV_MAX));
    ssize_t n = ::pwritev(fd_, rest.data() + first, count, off_t(offset + written));
    if (n < 0) {
      if (errno == EINTR) continue;
      return PosixError(errno, "pwritev", path_);
    }
    if (n == 0) return absl::InternalError(absl::StrCat("pwritev ", path_, ": wrote nothing"));
    written += size_t(n);
    size_t left = size_t(n);
    while (left > 0) {
      size_t step = std::min(left, rest[first].iov_len);
      rest[first].iov_base = static_cast<uint8_t*>(rest[first].iov_base) + step;
      rest[first].iov_len -= step;
      left -= step;
      if (rest[first].iov_len == 0) ++first;
    }
  }
  size_ = std::max(size_, offset + total);
  return total;
}

void PosixFile::Write(uint64_t offset, absl::Span<const iovec> iov, IoCallback done) {
  done(WriteVector(offset, iov));
}

void PosixFile::Read(uint64_t offset, absl::Span<uint8_t> dest, IoCallback done) {
  done(BlockingRead(offset, dest));
}

void PosixFile::Datasync(StatusCallback done) { done(BlockingDatasync()); }

void PosixFile::Truncate(uint64_t size, StatusCallback done) { done(BlockingTruncate(size)); }

void PosixFile::WriteBack(uint64_t offset, uint64_t length, StatusCallback done) {
  done(BlockingWriteBack(fd_, offset, length, path_));
}

void PosixFile::Allocate(uint64_t offset, uint64_t length, StatusCallback done) {
  done(BlockingAllocate(fd_, offset, length, path_));
}

absl::Status BlockingAllocate(int fd, uint64_t offset, uint64_t length, std::string_view path) {
  while (::fallocate(fd, FALLOC_FL_KEEP_SIZE, off_t(offset), off_t(length)) != 0) {
    if (errno != EINTR) return PosixError(errno, "fallocate", path);
  }
  return absl::OkStatus();
}

absl::Status BlockingWriteBack(int fd, uint64_t offset, uint64_t length, std::string_view path) {
  constexpr unsigned kFlags =
      SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER;
  while (::sync_file_range(fd, off_t(offset), off_t(length), kFlags) != 0) {
    if (errno != EINTR) return PosixError(errno, "sync_file_range", path);
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> PosixFile::BlockingRead(uint64_t offset, absl::Span<uint8_t> dest) {
  size_t got = 0;
  while (got < dest.size()) {
    ssize_t n = ::pread(fd_, dest.data() + got, dest.size() - got, off_t(offset + got));
    if (n < 0) {
      if (errno == EINTR) continue;
      return PosixError(errno, "pread", path_);
    }
    if (n == 0) break;  // end of file
    got += size_t(n);
  }
  return got;
}

absl::Status PosixFile::BlockingWrite(uint64_t offset, absl::Span<const uint8_t> bytes) {
  iovec v{const_cast<uint8_t*>(bytes.data()), bytes.size()};
  return WriteVector(offset, absl::MakeConstSpan(&v, 1)).status();
}

absl::Status PosixFile::BlockingTruncate(uint64_t size) {
  while (::ftruncate(fd_, off_t(size)) != 0) {
    if (errno != EINTR) return PosixError(errno, "ftruncate", path_);
  }
  size_ = size;
  return absl::OkStatus();
}

absl::Status PosixFile::BlockingDatasync() {
  while (::fdatasync(fd_) != 0) {
    if (errno != EINTR) return PosixError(errno, "fdatasync", path_);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<File>> PosixFileSystem::Open(std::string_view path, OpenMode mode) {
  std::string p(path);
  int flags = O_RDWR | O_CLOEXEC;
  if (mode == OpenMode::kCreate) flags |= O_CREAT;
  if (mode == OpenMode::kCreateExclusive) flags |= O_CREAT | O_EXCL;
  int fd = ::open(p.c_str(), flags, 0644);
  if (fd < 0) return PosixError(errno, "open", p);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    absl::Status s = PosixError(errno, "fstat", p);
    ::close(fd);
    return s;
  }
  return std::make_unique<PosixFile>(fd, std::move(p), uint64_t(st.st_size));
}

absl::Status PosixFileSystem::Remove(std::string_view path) {
  std::string p(path);
  if (::unlink(p.c_str()) != 0) return PosixError(errno, "unlink", p);
  return absl::OkStatus();
}

absl::Status PosixFileSystem::Rename(std::string_view from, std::string_view to) {
  std::string f(from), t(to);
  if (::rename(f.c_str(), t.c_str()) != 0) return PosixError(errno, "rename", f);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> PosixFileSystem::List(std::string_view dir) {
  std::string d(dir);
  DIR* handle = ::opendir(d.c_str());
  if (handle == nullptr) return PosixError(errno, "opendir", d);
  std::vector<std::string> names;
  errno = 0;
  while (dirent* entry = ::readdir(handle)) {
    std::string_view name(entry->d_name);
    if (name != "." && name != "..") names.emplace_back(name);
  }
  int error = errno;
  ::closedir(handle);
  if (error != 0) return PosixError(error, "readdir", d);
  return names;
}

absl::Status PosixFileSystem::Mkdir(std::string_view dir) {
  std::string d(dir);
  // Create each missing parent in turn, like mkdir -p.
  for (size_t i = 1; i <= d.size(); ++i) {
    if (i != d.size() && d[i] != '/') continue;
    std::string prefix = d.substr(0, i);
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
      return PosixError(errno, "mkdir", prefix);
    }
  }
  return absl::OkStatus();
}

absl::Status PosixFileSystem::SyncDir(std::string_view dir) {
  std::string d(dir);
  int fd = ::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return PosixError(errno, "open", d);
  absl::Status s;
  if (::fsync(fd) != 0) s = PosixError(errno, "fsync", d);
  ::close(fd);
  return s;
}

bool PosixFileSystem::Exists(std::string_view path) {
  std::string p(path);
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

}  // namespace ringbroker::storage
