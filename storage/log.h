// The log of one partition: a directory of segments (see format.h), appended to without copying,
// read by offset or timestamp as file ranges the network layer can splice, recovered after a crash,
// trimmed by retention and compacted.
//
// Ownership and threads: a Log is owned by one shard and every call is made on that shard's thread;
// there are no locks. Callbacks run on that thread too, inline (POSIX files) or later (io_uring).
// The Log must outlive every operation in flight: call Close() (which needs idle()) or wait for
// idle() before destroying it.
//
// Blocking: Append, Read, FindOffsetByTimestamp and Truncate do their data I/O through the
// asynchronous calls of the file seam. Open, Close, and the rare metadata steps (creating the next
// segment on a roll, deleting segments, rewriting log-meta on DeleteRecords or a truncation) use
// blocking metadata calls, each a handful of system calls. The recovery point a seal moves is
// written to log-meta asynchronously (StartMetaCheckpoint); only its rename is a blocking call.
//
// Errors: a failed write or sync puts the log in a failed state: the appends not yet acknowledged
// fail, and every later Append fails with the same status until the log is closed and reopened
// (recovery then drops any partial tail), so acknowledged data never has a hole before it. The
// status is ResourceExhausted for a full disk, DataLoss or Internal for I/O errors; the broker maps
// them to KAFKA_STORAGE_ERROR. Reads keep working on what was written.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "storage/io/file.h"
#include "storage/log_config.h"
#include "storage/segment.h"

namespace ringbroker::storage {

class CompactionJob;

struct LogOptions {
  // Wall-clock milliseconds, for segment.ms, flush.ms and retention.ms. Tests pass a fake clock.
  std::function<int64_t()> clock_ms;
};

struct AppendOptions {
  // Leader appends assign offsets (and stamp the leader epoch); follower appends keep the offsets
  // the leader assigned, which must continue the log.
  bool assign_offsets = true;
  int32_t leader_epoch = -1;
  // acks=all: with LogConfig::sync_before_ack, complete only once an fdatasync covers the append.
  bool durable = true;
};

struct AppendResult {
  int64_t base_offset = 0;  // of the first batch appended
  int64_t last_offset = 0;  // of the last record appended
  int64_t log_end_offset = 0;
  int64_t log_start_offset = 0;
};

// A byte range of a segment file, holding whole batches. `file` keeps the descriptor open (and so
// the data readable, even after retention deletes the segment) for as long as the slice lives. A
// later truncation of the log may rewrite the range, as in Kafka.
struct ReadSlice {
  std::shared_ptr<File> file;
  uint64_t position = 0;
  uint64_t size = 0;
  int fd() const { return file ? file->fd() : -1; }
};

struct ReadResult {
  ReadSlice slice;  // size 0 when there is nothing to return
  int64_t first_offset = -1;  // base offset of the first batch in the slice
  int64_t next_offset = -1;   // where a follow-up read continues
  int64_t log_start_offset = 0;
  int64_t high_watermark = 0;
  int64_t log_end_offset = 0;
};

struct TimestampLookup {
  int64_t offset;     // base offset of the first batch whose max timestamp >= the target
  int64_t timestamp;  // that batch's max timestamp
};

using AppendCallback = absl::AnyInvocable<void(absl::StatusOr<AppendResult>)>;
using ReadCallback = absl::AnyInvocable<void(absl::StatusOr<ReadResult>)>;
using TimestampCallback = absl::AnyInvocable<void(absl::StatusOr<std::optional<TimestampLookup>>)>;

class Log {
 public:
  // Opens (creating when missing) the log in `dir`, recovering it when it was not shut down
  // cleanly: see Segment::Open and docs/storage-format.md. Blocking.
  static absl::StatusOr<std::unique_ptr<Log>> Open(FileSystem& fs, std::string dir,
                                                   LogConfig config, LogOptions options = {});
  ~Log();
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;

  // Appends the record batches in `batches` (one or more whole v2 batches, already validated by
  // the caller, CRCs included). The bytes are patched in place (base offset, leader epoch; neither
  // is covered by the CRC) and written from that same memory: the caller keeps `batches` alive and
  // unchanged until `done` runs. `done` gets the offsets, or the reason the append failed (nothing
  // of it is then visible). Completions run in append order.
  void Append(absl::Span<uint8_t> batches, const AppendOptions& options, AppendCallback done);

  // Reads the batches from the one holding `offset` on, up to `bytes_max` bytes of whole batches
  // (the first batch comes whole even when larger) and only batches whose last offset is below
  // `max_offset` (pass the high watermark for consumers, log_end_offset() for followers). The
  // slice never crosses a segment. OutOfRange when `offset` is below the log start or above the log
  // end; an empty result at the end.
  void Read(int64_t offset, size_t bytes_max, int64_t max_offset, ReadCallback done);

  // The first batch whose max timestamp is >= `timestamp` (ListOffsets by time), via the time
  // index; nullopt when there is none.
  void FindOffsetByTimestamp(int64_t timestamp, TimestampCallback done);

  // Removes every batch whose last offset is >= `offset` (a follower whose log diverged). The log
  // end becomes `offset`, or the base offset of the first removed batch if that is lower (never
  // below the log start offset). At or below the log start offset, the log is emptied and restarts
  // at `offset`. The cut is synced before `done` runs. FailedPrecondition unless idle() (after a
  // roll, sealing the previous segment keeps the log busy until its syncs complete).
  void Truncate(int64_t offset, StatusCallback done);

  // DeleteRecords: advances the log start offset (never past the high watermark) and deletes the
  // sealed segments wholly below it. Returns the new log start offset. Blocking (log-meta).
  absl::StatusOr<int64_t> DeleteRecords(int64_t offset);

  // Time-driven work, to be called periodically by the owner: rolls on segment.ms, syncs on
  // flush.ms, applies retention.ms / retention.bytes (deleting whole sealed segments).
  absl::Status Maintain(int64_t now_ms);

  // Starts a new segment now (normally automatic).
  absl::Status Roll();

  // Flushes everything, writes the indexes and the clean-shutdown mark. Needs idle(). The log
  // takes no calls afterwards.
  absl::Status Close();

  // No append, sync, seal, truncation or compaction swap in flight.
  bool idle() const;
  // The owner waits for idle() to close or delete the log: seals in flight or queued stop pausing
  // between their write-back steps (LogConfig::seal_writeback_pause_ms), so idle() comes as soon
  // as the disk allows.
  void HurrySeals() { hurry_seals_ = true; }

  // Compaction (cleanup.policy=compact): see compaction.h. Returns a job over the sealed segments,
  // or nullopt when there is nothing to compact. The job's Step() may run on any thread;
  // InstallCompaction must run on the owner's thread.
  std::unique_ptr<CompactionJob> StartCompaction(int64_t now_ms);
  absl::Status InstallCompaction(CompactionJob& job);

  void set_high_watermark(int64_t offset);
  int64_t high_watermark() const { return high_watermark_; }
  int64_t log_start_offset() const { return log_start_offset_; }
  // One past the last offset assigned (appends may still be in flight).
  int64_t log_end_offset() const { return next_offset_; }
  // One past the last offset whose write completed: what reads can see.
  int64_t readable_end_offset() const { return readable_end_; }
  int64_t recovery_point() const { return recovery_point_; }
  uint64_t size_bytes() const;
  size_t segment_count() const { return segments_.size(); }
  std::vector<int64_t> segment_bases() const;
  // OK, or the error that stopped appends.
  const absl::Status& status() const { return failed_; }
  const std::string& dir() const { return dir_; }
  const LogConfig& config() const { return config_; }

  // Used by the read and compaction machinery. Reads in flight count against idle(), so that the
  // owner never closes or destroys a log while a read still walks its segments.
  void BeginRead() { ++reads_in_flight_; }
  void EndRead() { --reads_in_flight_; }
  std::shared_ptr<Segment> SegmentFor(int64_t offset) const;
  std::shared_ptr<Segment> SegmentAfter(int64_t base_offset) const;

 private:
  struct Pending {
    std::shared_ptr<Segment> segment;
    int64_t base_offset;
    int64_t last_offset;
    uint64_t end_position;
    int64_t record_count;
    bool wait_sync;
    AppendCallback done;
    iovec iov;  // the batches, to be written so that they end at end_position
    bool completed = false;
    absl::Status status;
  };
  struct SyncWaiter {
    AppendCallback done;
    AppendResult result;
  };
  // The directory sync of a roll, while in flight: the sync rounds waiting for it.
  struct DirSync {
    int64_t base_offset = 0;  // of the segment the roll created
    std::vector<StatusCallback> waiters;
    bool in_roll = false;          // completing inside the SyncDirAsync call
    bool completed = false;
    absl::Status failed_in_roll;   // a failure inside that call: Roll undoes the roll
  };

  Log(FileSystem& fs, std::string dir, LogConfig config, LogOptions options);
  int64_t Now() const { return options_.clock_ms(); }
  std::shared_ptr<Segment>& active() { return segments_.rbegin()->second; }
  absl::Status Recover();
  void SubmitWrites();
  void MaybePreallocate(Segment& segment, uint64_t write_end);
  void OnWritesDone(absl::StatusOr<size_t> result);
  void Drain();
  void Fail(absl::Status status);
  void StartSync();
  void OnSyncDone(absl::Status status);
  void OnDirSynced(const std::shared_ptr<DirSync>& dir_sync, absl::Status status);
  void MaybeSeal();
  void OnSealed(const std::shared_ptr<Segment>& segment, absl::Status status);
  absl::Status SealBlocking(Segment& segment);
  absl::Status WriteMeta();
  void StartMetaCheckpoint();
  void OnMetaCheckpointWritten(uint64_t generation, absl::Status status);
  void OnMetaCheckpointDone(absl::Status status);
  absl::Status RemoveSegment(int64_t base_offset);
  absl::Status DeleteSegmentsBelowStart();
  absl::Status ApplyRetention(int64_t now_ms);
  void AdvanceRecoveryPoint();
  void TruncateFully(int64_t offset, StatusCallback done);
  void FinishTruncate(std::shared_ptr<Segment> segment, int64_t offset, uint64_t cut,
                      int64_t new_end, int64_t max_timestamp, StatusCallback done);

  FileSystem& fs_;
  std::string dir_;
  LogConfig config_;
  LogOptions options_;

  std::map<int64_t, std::shared_ptr<Segment>> segments_;  // by base offset; never empty
  int64_t log_start_offset_ = 0;
  int64_t high_watermark_ = 0;
  int64_t recovery_point_ = 0;
  int64_t next_offset_ = 0;
  int64_t readable_end_ = 0;

  absl::Status failed_;
  int64_t fail_from_offset_ = INT64_MAX;
  bool closed_ = false;

  // Appends not yet reported, in append order (bounded by config_.appends_in_flight_max): first
  // those handed to the file (written, or in the one write in flight: its last
  // write_group_size_), then those queued behind that write, which the next write gathers.
  std::deque<Pending> inflight_;
  size_t submitted_count_ = 0;
  size_t write_group_size_ = 0;
  std::vector<iovec> write_iovecs_;  // of the write in flight
  bool draining_ = false;
  std::vector<SyncWaiter> awaiting_sync_;  // written, waiting for the next sync round
  std::vector<SyncWaiter> syncing_;        // covered by the sync round in flight
  bool sync_in_flight_ = false;
  int64_t unflushed_messages_ = 0;
  int64_t oldest_unflushed_ms_ = -1;

  std::shared_ptr<DirSync> latest_dir_sync_;  // of the latest roll, until it completes
  int dir_syncs_in_flight_ = 0;
  std::deque<std::shared_ptr<Segment>> to_seal_;  // rolled, indexes not yet on disk
  bool seal_in_flight_ = false;
  bool hurry_seals_ = false;
  int truncations_in_flight_ = 0;
  int reads_in_flight_ = 0;

  // The recovery-point checkpoint (StartMetaCheckpoint): at most one in flight; another is asked
  // for when the recovery point moved meanwhile. meta_generation_ counts blocking log-meta writes,
  // so that a checkpoint overtaken by one is not renamed over it.
  uint64_t meta_generation_ = 0;
  bool checkpoint_in_flight_ = false;
  // Reservation of the active segment's blocks (MaybePreallocate): one at a time per log; off for
  // good once the filesystem says it has none.
  bool preallocation_in_flight_ = false;
  bool preallocation_unsupported_ = false;
  bool checkpoint_again_ = false;
  std::unique_ptr<File> checkpoint_file_;
  std::vector<uint8_t> checkpoint_bytes_;
  iovec checkpoint_iov_{};
};

}  // namespace ringbroker::storage
