// An in-memory implementation of the file seam, for tests. Besides plain storage it can:
//  - defer completions until Poll(), to exercise callers against a truly asynchronous file;
//  - fail chosen operations (InjectFault) and run out of space (set_capacity_bytes);
//  - "crash" (Crash): every file falls back to the bytes it held at its last successful Datasync,
//    which is what a power cut leaves of a file written without O_DIRECT.
// Not thread-safe: one thread drives a MemoryFileSystem and all its files.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "storage/io/file.h"

namespace ringbroker::storage {

class MemoryFileSystem final : public FileSystem {
 public:
  enum class Op { kWrite, kRead, kDatasync, kTruncate, kOpen, kSyncDir, kWriteBack, kAllocate };

  MemoryFileSystem() = default;
  ~MemoryFileSystem() override;

  absl::StatusOr<std::unique_ptr<File>> Open(std::string_view path, OpenMode mode) override;
  absl::Status Remove(std::string_view path) override;
  absl::Status Rename(std::string_view from, std::string_view to) override;
  absl::StatusOr<std::vector<std::string>> List(std::string_view dir) override;
  absl::Status Mkdir(std::string_view dir) override;
  absl::Status SyncDir(std::string_view dir) override;
  // Completes like the files' asynchronous calls (queued while deferred); kSyncDir faults apply.
  void SyncDirAsync(std::string_view dir, StatusCallback done) override;
  // Completes like the files' asynchronous calls, without waiting: the fake has no clock.
  void PauseAsync(int64_t ms, absl::AnyInvocable<void()> done) override;
  bool Exists(std::string_view path) override;

  // When deferred, asynchronous calls queue their completion; Poll() runs the queued ones in order
  // (including any queued while polling), or at most `max_completions` of them, and returns how
  // many ran. The effect of a call (bytes written, sync taken) happens when it completes, as with
  // a real kernel.
  void set_deferred(bool deferred) { deferred_ = deferred; }
  size_t Poll(size_t max_completions = SIZE_MAX);
  size_t pending() const { return pending_.size(); }

  // The next `count` operations of kind `op` on a path containing `path_part` fail with `status`.
  void InjectFault(Op op, std::string path_part, absl::Status status, int count = 1);
  void ClearFaults() { faults_.clear(); }
  // Total bytes all files may hold; a write past it stores what fits and fails with
  // ResourceExhausted, as a full disk does. 0 means unlimited.
  void set_capacity_bytes(uint64_t bytes) { capacity_bytes_ = bytes; }

  // Every file loses what was written after its last successful Datasync. Files whose names were
  // never synced stay (directory entries are treated as durable at once).
  void Crash();

  // Test helpers on whole files.
  absl::StatusOr<std::string> Contents(std::string_view path) const;
  absl::Status SetContents(std::string_view path, std::string bytes);
  absl::Status FlipBit(std::string_view path, uint64_t offset, int bit);

  uint64_t datasync_count() const { return datasync_count_; }

  // When tracing, every completed Datasync, WriteBack, Allocate and PauseAsync is recorded in
  // order, as "datasync <path>", "writeback <path> <offset> <length>", "allocate <path> <offset>
  // <length>" and "pause <ms>". WriteBack and Allocate are no-ops here: like the page cache and the
  // disk blocks they stand for, they change nothing a read can see.
  void set_tracing(bool tracing) { tracing_ = tracing; }
  const std::vector<std::string>& trace() const { return trace_; }
  void Trace(std::string event) {
    if (tracing_) trace_.push_back(std::move(event));
  }
  uint64_t total_bytes() const;

  // Internal, used by MemoryFile.
  struct Node {
    std::string data;
    std::string synced;
  };
  absl::Status TakeFault(Op op, const std::string& path);
  void Complete(absl::AnyInvocable<void()> completion);
  uint64_t capacity_bytes() const { return capacity_bytes_; }
  void count_datasync() { ++datasync_count_; }

 private:
  struct Fault {
    Op op;
    std::string path_part;
    absl::Status status;
    int count;
  };

  std::map<std::string, std::shared_ptr<Node>, std::less<>> files_;
  std::deque<absl::AnyInvocable<void()>> pending_;
  std::vector<Fault> faults_;
  bool deferred_ = false;
  uint64_t capacity_bytes_ = 0;
  uint64_t datasync_count_ = 0;
  bool tracing_ = false;
  std::vector<std::string> trace_;
};

}  // namespace ringbroker::storage
