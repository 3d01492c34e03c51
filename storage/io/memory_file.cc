#include "storage/io/memory_file.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace ringbroker::storage {
namespace {

class MemoryFile final : public File {
 public:
  MemoryFile(MemoryFileSystem* fs, std::string path, std::shared_ptr<MemoryFileSystem::Node> node)
      : fs_(fs), path_(std::move(path)), node_(std::move(node)) {}

  void Write(uint64_t offset, absl::Span<const iovec> iov, IoCallback done) override {
    // The caller keeps the iovec array alive until completion, so capturing the span is enough.
    fs_->Complete([this, offset, iov, done = std::move(done)]() mutable {
      std::string bytes;
      for (const iovec& v : iov) bytes.append(static_cast<const char*>(v.iov_base), v.iov_len);
      absl::Status s = DoWrite(offset, bytes);
      if (!s.ok()) {
        done(s);
      } else {
        done(bytes.size());
      }
    });
  }

  void Read(uint64_t offset, absl::Span<uint8_t> dest, IoCallback done) override {
    fs_->Complete([this, offset, dest, done = std::move(done)]() mutable {
      done(BlockingRead(offset, dest));
    });
  }

  void Datasync(StatusCallback done) override {
    fs_->Complete([this, done = std::move(done)]() mutable { done(BlockingDatasync()); });
  }

  void Truncate(uint64_t size, StatusCallback done) override {
    fs_->Complete([this, size, done = std::move(done)]() mutable { done(BlockingTruncate(size)); });
  }

  void WriteBack(uint64_t offset, uint64_t length, StatusCallback done) override {
    fs_->Complete([this, offset, length, done = std::move(done)]() mutable {
      absl::Status s = fs_->TakeFault(MemoryFileSystem::Op::kWriteBack, path_);
      if (s.ok()) fs_->Trace(absl::StrCat("writeback ", path_, " ", offset, " ", length));
      done(std::move(s));
    });
  }

  void Allocate(uint64_t offset, uint64_t length, StatusCallback done) override {
    fs_->Complete([this, offset, length, done = std::move(done)]() mutable {
      absl::Status s = fs_->TakeFault(MemoryFileSystem::Op::kAllocate, path_);
      if (s.ok()) fs_->Trace(absl::StrCat("allocate ", path_, " ", offset, " ", length));
      done(std::move(s));
    });
  }

  absl::StatusOr<size_t> BlockingRead(uint64_t offset, absl::Span<uint8_t> dest) override {
    if (absl::Status s = fs_->TakeFault(MemoryFileSystem::Op::kRead, path_); !s.ok()) return s;
    const std::string& data = node_->data;
    if (offset >= data.size()) return size_t{0};
    size_t n = std::min<size_t>(dest.size(), data.size() - offset);
    std::memcpy(dest.data(), data.data() + offset, n);
    return n;
  }

  absl::Status BlockingWrite(uint64_t offset, absl::Span<const uint8_t> bytes) override {
    return DoWrite(offset, std::string_view(reinterpret_cast<const char*>(bytes.data()),
                                            bytes.size()));
  }

  absl::Status BlockingTruncate(uint64_t size) override {
    if (absl::Status s = fs_->TakeFault(MemoryFileSystem::Op::kTruncate, path_); !s.ok()) return s;
    node_->data.resize(size, '\0');
    return absl::OkStatus();
  }

  absl::Status BlockingDatasync() override {
    if (absl::Status s = fs_->TakeFault(MemoryFileSystem::Op::kDatasync, path_); !s.ok()) return s;
    node_->synced = node_->data;
    fs_->count_datasync();
    fs_->Trace(absl::StrCat("datasync ", path_));
    return absl::OkStatus();
  }

  // Shared with every other MemoryFile open on the same node, like a real inode.
  uint64_t size() const override { return node_->data.size(); }
  int fd() const override { return -1; }

 private:
  absl::Status DoWrite(uint64_t offset, std::string_view bytes) {
    if (absl::Status s = fs_->TakeFault(MemoryFileSystem::Op::kWrite, path_); !s.ok()) return s;
    std::string& data = node_->data;
    size_t fit = bytes.size();
    absl::Status result;
    if (uint64_t capacity = fs_->capacity_bytes(); capacity != 0) {
      uint64_t end = offset + bytes.size();
      uint64_t growth = end > data.size() ? end - data.size() : 0;
      uint64_t used = fs_->total_bytes();
      if (used + growth > capacity) {
        uint64_t room = capacity > used ? capacity - used : 0;
        uint64_t max_end = data.size() + room;
        fit = max_end > offset ? std::min<uint64_t>(bytes.size(), max_end - offset) : 0;
        result = absl::ResourceExhaustedError(absl::StrCat("write ", path_, ": no space left"));
      }
    }
    if (fit > 0) {
      if (data.size() < offset + fit) data.resize(offset + fit, '\0');
      std::memcpy(data.data() + offset, bytes.data(), fit);
    }
    return result;
  }

  MemoryFileSystem* fs_;
  std::string path_;
  std::shared_ptr<MemoryFileSystem::Node> node_;
};

}  // namespace

MemoryFileSystem::~MemoryFileSystem() = default;

absl::StatusOr<std::unique_ptr<File>> MemoryFileSystem::Open(std::string_view path,
                                                             OpenMode mode) {
  std::string p(path);
  if (absl::Status s = TakeFault(Op::kOpen, p); !s.ok()) return s;
  auto it = files_.find(p);
  if (it == files_.end()) {
    if (mode == OpenMode::kReadWrite) return absl::NotFoundError(absl::StrCat("open ", p));
    it = files_.emplace(p, std::make_shared<Node>()).first;
  } else if (mode == OpenMode::kCreateExclusive) {
    return absl::AlreadyExistsError(absl::StrCat("open ", p));
  }
  return std::make_unique<MemoryFile>(this, p, it->second);
}

absl::Status MemoryFileSystem::Remove(std::string_view path) {
  auto it = files_.find(path);
  if (it == files_.end()) return absl::NotFoundError(absl::StrCat("unlink ", std::string(path)));
  files_.erase(it);
  return absl::OkStatus();
}

absl::Status MemoryFileSystem::Rename(std::string_view from, std::string_view to) {
  auto it = files_.find(from);
  if (it == files_.end()) return absl::NotFoundError(absl::StrCat("rename ", std::string(from)));
  std::shared_ptr<Node> node = it->second;
  files_.erase(it);
  files_[std::string(to)] = std::move(node);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> MemoryFileSystem::List(std::string_view dir) {
  std::string prefix = absl::StrCat(std::string(dir), "/");
  std::vector<std::string> names;
  for (const auto& [path, node] : files_) {
    if (!absl::StartsWith(path, prefix)) continue;
    std::string_view rest = std::string_view(path).substr(prefix.size());
    if (rest.find('/') == std::string_view::npos) names.emplace_back(rest);
  }
  return names;
}

absl::Status MemoryFileSystem::Mkdir(std::string_view) { return absl::OkStatus(); }
absl::Status MemoryFileSystem::SyncDir(std::string_view dir) {
  return TakeFault(Op::kSyncDir, std::string(dir));
}

void MemoryFileSystem::SyncDirAsync(std::string_view dir, StatusCallback done) {
  std::string path(dir);
  Complete([this, path = std::move(path), done = std::move(done)]() mutable {
    done(TakeFault(Op::kSyncDir, path));
  });
}

void MemoryFileSystem::PauseAsync(int64_t ms, absl::AnyInvocable<void()> done) {
  Complete([this, ms, done = std::move(done)]() mutable {
    Trace(absl::StrCat("pause ", ms));
    done();
  });
}

bool MemoryFileSystem::Exists(std::string_view path) { return files_.contains(path); }

size_t MemoryFileSystem::Poll(size_t max_completions) {
  size_t ran = 0;
  while (!pending_.empty() && ran < max_completions) {
    absl::AnyInvocable<void()> completion = std::move(pending_.front());
    pending_.pop_front();
    completion();
    ++ran;
  }
  return ran;
}

void MemoryFileSystem::InjectFault(Op op, std::string path_part, absl::Status status, int count) {
  faults_.push_back(Fault{op, std::move(path_part), std::move(status), count});
}

absl::Status MemoryFileSystem::TakeFault(Op op, const std::string& path) {
  for (auto it = faults_.begin(); it != faults_.end(); ++it) {
    if (it->op != op || !absl::StrContains(path, it->path_part)) continue;
    absl::Status s = it->status;
    if (--it->count <= 0) faults_.erase(it);
    return s;
  }
  return absl::OkStatus();
}

void MemoryFileSystem::Complete(absl::AnyInvocable<void()> completion) {
  if (deferred_) {
    pending_.push_back(std::move(completion));
  } else {
    completion();
  }
}

void MemoryFileSystem::Crash() {
  // Completions still queued are lost with the process that would have run them.
  pending_.clear();
  for (auto& [path, node] : files_) node->data = node->synced;
}

absl::StatusOr<std::string> MemoryFileSystem::Contents(std::string_view path) const {
  auto it = files_.find(path);
  if (it == files_.end()) return absl::NotFoundError(absl::StrCat("no file ", std::string(path)));
  return it->second->data;
}

absl::Status MemoryFileSystem::SetContents(std::string_view path, std::string bytes) {
  auto it = files_.find(path);
  if (it == files_.end()) it = files_.emplace(std::string(path), std::make_shared<Node>()).first;
  it->second->data = bytes;
  it->second->synced = std::move(bytes);
  return absl::OkStatus();
}

absl::Status MemoryFileSystem::FlipBit(std::string_view path, uint64_t offset, int bit) {
  auto it = files_.find(path);
  if (it == files_.end()) return absl::NotFoundError(absl::StrCat("no file ", std::string(path)));
  if (offset >= it->second->data.size()) return absl::OutOfRangeError("offset past end");
  it->second->data[offset] ^= char(1 << bit);
  if (offset < it->second->synced.size()) it->second->synced[offset] ^= char(1 << bit);
  return absl::OkStatus();
}

uint64_t MemoryFileSystem::total_bytes() const {
  uint64_t total = 0;
  for (const auto& [path, node] : files_) total += node->data.size();
  return total;
}

}  // namespace ringbroker::storage
