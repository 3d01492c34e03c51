// The file seam: everything storage/ asks of the operating system, behind two small interfaces
// (LevelDB's Env idea). Production implements them on io_uring in broker/reactor/; storage/ ships a
// POSIX implementation (posix_file.h) and an in-memory fake for tests (memory_file.h).
//
// Threading: a File belongs to the shard that opened it. Its asynchronous calls are made from that
// shard's thread and their callbacks run on that same thread — either inline, before the call
// returns (the POSIX implementation), or later, from the shard's event loop (io_uring). Callers must
// handle both: never hold a reference into state that the callback may change across the call.
//
// Blocking: the asynchronous calls (Write, Read, Datasync, Truncate, WriteBack, Allocate) never block the
// calling thread in an asynchronous implementation, nor does FileSystem's SyncDirAsync or
// PauseAsync. The Blocking* calls and every other FileSystem call may block; storage uses them only
// while opening or recovering a log (before the shard serves it) and from compaction (which works
// on files the hot path no longer writes). They are plain system calls in spirit and may
// be called from any thread, provided no other call on the same File runs at the same moment.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace ringbroker::storage {

// Completion of a Write or a Read: the number of bytes transferred, or the error. Implementations
// hold at most one callback per call in flight, so memory is bounded by the callers' own bounds.
using IoCallback = absl::AnyInvocable<void(absl::StatusOr<size_t>)>;
// Completion of a Datasync or a Truncate.
using StatusCallback = absl::AnyInvocable<void(absl::Status)>;

// An open file. Move-only through unique_ptr; destroying it closes the descriptor. A File must not be
// destroyed while one of its asynchronous calls is in flight; it may be from inside the callback of
// its last one (implementations are done with a call before they run its callback).
class File {
 public:
  File() = default;
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  virtual ~File() = default;

  // Writes every byte of `iov` at `offset`. Short writes are retried inside, so `done` receives
  // either the full length or an error (ResourceExhausted for a full disk, Internal or DataLoss for
  // I/O errors). The iovec array and all the buffers it points into must stay alive and unchanged
  // until `done` runs. Writes that overlap in flight have no defined order.
  virtual void Write(uint64_t offset, absl::Span<const iovec> iov, IoCallback done) = 0;

  // Reads up to dest.size() bytes at `offset`; fewer only at end of file. `dest` must stay alive
  // until `done` runs.
  virtual void Read(uint64_t offset, absl::Span<uint8_t> dest, IoCallback done) = 0;

  // Makes durable every write whose callback had run before this call was made (fdatasync). Writes
  // still in flight when it is called are not covered.
  virtual void Datasync(StatusCallback done) = 0;

  // Cuts or extends the file to `size` bytes. Must not overlap writes in flight.
  virtual void Truncate(uint64_t size, StatusCallback done) = 0;

  // Writes the dirty pages of [offset, offset + length) out to the disk and waits for them
  // (sync_file_range with WAIT_BEFORE | WRITE | WAIT_AFTER). It promises no durability: neither
  // the file's metadata nor the disk's own cache is flushed, so only Datasync makes data durable.
  // What it is for is pacing: a sealed segment written back in steps, with pauses between them,
  // before its Datasync, which then finds little left to write instead of flooding the disk queue
  // that the active segment's syncs wait in. The default does nothing (a file without a page
  // cache, like the in-memory fake).
  virtual void WriteBack(uint64_t offset, uint64_t length, StatusCallback done) {
    (void)offset;
    (void)length;
    done(absl::OkStatus());
  }

  // Reserves the disk blocks of [offset, offset + length) without changing the file's size
  // (fallocate with FALLOC_FL_KEEP_SIZE). It promises nothing a caller may rely on: writes there
  // succeed or fail as they would have. What it is for is the filesystem's block allocation,
  // done here ahead of the writes instead of by writeback behind them, where (ext4's delayed
  // allocation) it holds the inode's block-map lock that every write extending the file waits for.
  // Unimplemented is the answer of a filesystem without it. The default does nothing (the fake).
  virtual void Allocate(uint64_t offset, uint64_t length, StatusCallback done) {
    (void)offset;
    (void)length;
    done(absl::OkStatus());
  }

  // Blocking forms, for opening, recovery and compaction (see the top of this file).
  virtual absl::StatusOr<size_t> BlockingRead(uint64_t offset, absl::Span<uint8_t> dest) = 0;
  virtual absl::Status BlockingWrite(uint64_t offset, absl::Span<const uint8_t> bytes) = 0;
  virtual absl::Status BlockingTruncate(uint64_t size) = 0;
  virtual absl::Status BlockingDatasync() = 0;

  // The file's size: its size when opened, moved by every write or truncate that has completed.
  virtual uint64_t size() const = 0;

  // The descriptor, so that the network layer can splice or sendfile from it; -1 when the
  // implementation has none (the in-memory fake). Valid while this File lives.
  virtual int fd() const = 0;
};

enum class OpenMode {
  kReadWrite,        // the file must exist
  kCreate,           // created empty when missing, opened as is otherwise
  kCreateExclusive,  // must not exist yet (AlreadyExists otherwise)
};

// The directory operations around files. All calls may block (they are metadata operations).
class FileSystem {
 public:
  FileSystem() = default;
  FileSystem(const FileSystem&) = delete;
  FileSystem& operator=(const FileSystem&) = delete;
  virtual ~FileSystem() = default;

  // NotFound when a kReadWrite open names a missing file.
  virtual absl::StatusOr<std::unique_ptr<File>> Open(std::string_view path, OpenMode mode) = 0;
  virtual absl::Status Remove(std::string_view path) = 0;
  // Atomically replaces `to` with `from` (rename(2)); durable after SyncDir of the directory.
  virtual absl::Status Rename(std::string_view from, std::string_view to) = 0;
  // The names (not paths) of the entries in `dir`, in no particular order, without "." and "..".
  virtual absl::StatusOr<std::vector<std::string>> List(std::string_view dir) = 0;
  // Creates `dir` and its missing parents; OK when it exists already.
  virtual absl::Status Mkdir(std::string_view dir) = 0;
  // Makes the creations, removals and renames in `dir` durable (fsync of the directory).
  virtual absl::Status SyncDir(std::string_view dir) = 0;
  // SyncDir without waiting for it: `done` gets its result. This default runs SyncDir and `done`
  // before returning; an implementation with an event loop returns first and completes there (a
  // directory fsync queues behind the disk's other writes, and its caller may be serving others).
  virtual void SyncDirAsync(std::string_view dir, StatusCallback done) { done(SyncDir(dir)); }
  // Runs `done` after about `ms` milliseconds without blocking the calling thread: the pause
  // between two WriteBack steps. Always runs it, and may run it sooner (while shutting down, say).
  // This default runs it at once, before returning; an implementation with an event loop waits in
  // that loop, and counts the wait as an operation in flight.
  virtual void PauseAsync(int64_t ms, absl::AnyInvocable<void()> done) {
    (void)ms;
    done();
  }
  virtual bool Exists(std::string_view path) = 0;
};

}  // namespace ringbroker::storage
