// One segment of a partition log: its .log file and its two indexes. A Segment is owned by its Log
// (through shared_ptr, so that a read in flight or a descriptor handed to the network keeps the file
// open after retention or truncation drops the segment) and used only on the Log's shard thread.
//
// The segment does no writing of batches itself: the Log writes through file() and tells the
// segment about each batch (Reserve) and about completed writes (MarkReadable), so that many
// appends can be in flight while readers only ever see completed bytes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "protocol/records/batch_header.h"
#include "storage/index.h"
#include "storage/io/file.h"
#include "storage/io/mapped_region.h"
#include "storage/log_config.h"
#include "storage/recent_batches.h"

namespace ringbroker::storage {

class Segment : public std::enable_shared_from_this<Segment> {
 public:
  // What opening found. `bytes_truncated` counts bytes dropped from a damaged tail.
  struct RecoveryReport {
    bool scanned = false;          // every batch was read and its CRC checked
    bool indexes_rebuilt = false;  // the index files were missing, damaged or not trusted
    uint64_t bytes_truncated = 0;
  };

  // Creates the files of a new, empty segment (blocking; metadata operations).
  static absl::StatusOr<std::shared_ptr<Segment>> Create(FileSystem& fs, const std::string& dir,
                                                         int64_t base_offset,
                                                         const LogConfig& config, int64_t now_ms);

  // Opens an existing segment (blocking). With `trust_files` (the segment was sealed, or the log
  // was shut down cleanly) it loads the index files and reads only the batch headers after the last
  // index entry; if anything there looks wrong, or without `trust_files`, it scans the whole file,
  // checks every batch's CRC and offsets (each base offset must be >= the segment's base and beyond
  // the previous batch), truncates the file at the first bad batch and rebuilds both indexes in memory.
  static absl::StatusOr<std::shared_ptr<Segment>> Open(FileSystem& fs, const std::string& dir,
                                                       int64_t base_offset, const LogConfig& config,
                                                       bool trust_files, int64_t now_ms,
                                                       RecoveryReport* report);

  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;

  int64_t base_offset() const { return base_offset_; }
  // One past the last offset of the batches reserved so far (writes may be in flight).
  int64_t next_offset() const { return next_offset_; }
  // Bytes reserved so far, and the prefix of them whose writes have completed.
  uint64_t size() const { return size_; }
  uint64_t readable_size() const { return readable_size_; }
  int64_t readable_next_offset() const { return readable_next_offset_; }
  // Prefix of the file made durable by a completed Datasync.
  uint64_t synced_size() const { return synced_size_; }
  void set_synced_size(uint64_t size) { synced_size_ = std::max(synced_size_, size); }
  // End of the disk blocks reserved ahead of the writes (Log::MaybePreallocate), 0 before any.
  uint64_t preallocated_end() const { return preallocated_end_; }
  void set_preallocated_end(uint64_t end) { preallocated_end_ = std::max(preallocated_end_, end); }
  bool empty() const { return size_ == 0; }
  // Largest max timestamp of any batch, -1 when empty.
  int64_t max_timestamp() const { return max_timestamp_; }
  // For segment.ms, as Kafka: how long this segment has been taking batches when a batch with
  // max timestamp `batch_timestamp_ms` arrives at `now_ms` — the distance between that timestamp
  // and the first batch's, or the time since the segment was created (opened) when it has no
  // timestamped batch. Comparing timestamps with timestamps keeps producers that send old
  // timestamps from rolling the log at every append.
  int64_t TimeWaitedForRoll(int64_t now_ms, int64_t batch_timestamp_ms) const;
  int64_t created_ms() const { return created_ms_; }
  bool sealed() const { return sealed_; }
  // A sealed segment is no longer scanned through its mapping nor read at its tail (see
  // VisitHeaders), so it drops both.
  void set_sealed(bool sealed) {
    sealed_ = sealed;
    if (sealed) {
      MappedRegion::ReleaseInBackground(std::move(mapping_));
      recent_.Clear();
    }
  }

  // Whether a batch with this header still fits the indexes' relative encodings and capacity.
  bool CanHold(const protocol::BatchHeader& header) const;
  bool IndexFull() const { return offset_index_.full() || time_index_.full(); }

  // Takes note of a batch about to be written at size(): indexes it and advances size() and
  // next_offset(). Returns the position where it must be written.
  uint64_t Reserve(const protocol::BatchHeader& header);
  // The writes up to `end_position` completed, ending at offset `next_offset`.
  void MarkReadable(uint64_t end_position, int64_t next_offset);

  // A position at or before the batch holding `offset`: the closest of the offset index's entry and
  // the recent batches' (see VisitHeaders).
  uint64_t ScanStart(int64_t offset) const;
  const OffsetIndex& offset_index() const { return offset_index_; }
  const TimeIndex& time_index() const { return time_index_; }

  // Visits the headers of the batches from `position` (a batch boundary) while `visit` returns
  // true and the batch lies within `limit`. `done` gets the position where the visit stopped, or
  // DataLoss for a header that cannot be read or parsed. Asynchronous: the segment is kept alive
  // until `done` has run.
  //
  // The last batches reserved are remembered with their headers (RecentBatches): a visit that
  // starts at one of them reads nothing, and `visit` and `done` run before the call returns.
  //
  // Otherwise, an unsealed segment (the active one, or one rolled and not yet sealed) whose file has a
  // descriptor is scanned through a read-only mapping of its file when the visit stays within
  // readable_size(): no system call, `visit` and `done` run before the call returns. Its pages
  // were written moments ago, so they are in the page cache; were one evicted, the page fault
  // that reads it back blocks the thread (and an I/O error there would raise SIGBUS), which is why
  // sealed segments, the ones old data lives in, are read through the file seam instead.
  using HeaderVisitor = absl::AnyInvocable<bool(const protocol::BatchHeader&, uint64_t position)>;
  void VisitHeaders(uint64_t position, uint64_t limit, HeaderVisitor visit,
                    absl::AnyInvocable<void(absl::StatusOr<uint64_t>)> done);

  // Called before the file is cut: until TruncateTo, scans read through the file seam, never the
  // mapping, whose pages past the new end would fault.
  void BeginTruncate();

  // Forgets everything from `position` on (the in-memory state only; the caller truncates the
  // file). `next_offset` is where the log continues; `max_timestamp` and `bytes_since_index` are
  // the values for the batches that remain.
  void TruncateTo(uint64_t position, int64_t next_offset, int64_t max_timestamp);

  File& file() { return *file_; }
  const std::shared_ptr<File>& shared_file() const { return file_; }
  const std::string& log_path() const { return log_path_; }
  std::string offset_index_path() const;
  std::string time_index_path() const;

 private:
  Segment(int64_t base_offset, const LogConfig& config, std::string dir, std::shared_ptr<File> file,
          int64_t now_ms);
  void IndexBatch(const protocol::BatchHeader& header, uint64_t position);
  absl::Status LoadTrusted(FileSystem& fs);
  absl::Status ScanAll(RecoveryReport* report);
  // The mapping of the file when a scan up to `limit` may use it (see VisitHeaders), else null.
  const uint8_t* MappedUpTo(uint64_t limit);

  int64_t base_offset_;
  int32_t index_interval_bytes_;
  std::string dir_;
  std::string log_path_;
  std::shared_ptr<File> file_;
  OffsetIndex offset_index_;
  TimeIndex time_index_;

  int64_t next_offset_;
  uint64_t size_ = 0;
  uint64_t readable_size_ = 0;
  int64_t readable_next_offset_;
  uint64_t synced_size_ = 0;
  uint64_t preallocated_end_ = 0;
  uint64_t bytes_since_index_entry_ = 0;
  int64_t max_timestamp_ = -1;
  int64_t first_batch_timestamp_ = -1;
  int64_t created_ms_;
  bool sealed_ = false;

  // Header scans of unsealed segments: see VisitHeaders.
  uint64_t map_length_;  // segment.bytes: the active segment never grows past it
  MappedRegion mapping_;
  bool truncating_ = false;
  bool map_failed_ = false;  // mmap refused once (address space, limits): use the file seam

  // Headers of the last batches reserved (see VisitHeaders). 64 covers an index interval of small
  // batches, so a lookup from the index entry before a recent offset starts among them too.
  static constexpr size_t kRecentBatches = 64;
  RecentBatches recent_{kRecentBatches};
};

}  // namespace ringbroker::storage
