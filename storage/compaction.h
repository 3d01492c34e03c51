// Compaction (cleanup.policy=compact): keeps, for every key, only the record with the highest
// offset, in the sealed segments of a log. Tombstones (null values) that are the latest for their
// key are kept until their batch is older than delete.retention.ms.
//
// How it runs, off the hot path: Log::StartCompaction (owner thread) snapshots the sealed segments
// into a CompactionJob. Step() then does a bounded slice of work: reading batches (blocking reads of
// files the log no longer writes) and writing each cleaned segment to `<name>.cleaned` files. The
// owner may call Step() between other work on its own thread, or hand the job to a helper thread;
// Step() touches no Log state. When Step() reports done, Log::InstallCompaction (owner thread)
// swaps the cleaned segments in, skipping any segment that retention or truncation changed since
// the snapshot. A job that is dropped before installing leaves .cleaned files that the next
// compaction or open removes.
//
// What is cleaned: uncompressed, non-transactional, non-control batches. Compressed batches, and
// batches of transactions or control records, are kept whole (their records are not parsed here).
// Batches keep their base offset and lastOffsetDelta (so producer state and offsets stay valid);
// a batch left with no record is dropped. One cleaned segment replaces one segment.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "storage/index.h"
#include "storage/io/file.h"
#include "storage/log_config.h"
#include "storage/segment.h"

namespace ringbroker::storage {

class CompactionJob {
 public:
  // Keys remembered in the map phase at most; the segments beyond the one that reaches this many
  // are left for a later pass (Kafka's dedupe buffer plays the same part).
  static constexpr size_t kKeysMax = size_t{1} << 20;

  CompactionJob(FileSystem& fs, std::string dir, LogConfig config, int64_t now_ms,
                std::vector<std::shared_ptr<Segment>> segments);
  ~CompactionJob();
  CompactionJob(const CompactionJob&) = delete;
  CompactionJob& operator=(const CompactionJob&) = delete;

  // Works through about `bytes_budget` bytes of batches; returns true once the job is finished
  // (successfully or not: see status()).
  bool Step(size_t bytes_budget);
  bool done() const { return phase_ == Phase::kDone; }
  const absl::Status& status() const { return status_; }
  uint64_t records_removed() const { return records_removed_; }

 private:
  friend class Log;
  enum class Phase { kMap, kClean, kDone };
  struct Input {
    std::shared_ptr<Segment> segment;
    int64_t base_offset;
    uint64_t size;  // at the snapshot
  };
  struct Output {
    std::shared_ptr<Segment> original;
    uint64_t original_size;
  };

  absl::Status MapBatch(Input& input, uint64_t& position, size_t& spent);
  absl::Status CleanBatch(Input& input, uint64_t& position, size_t& spent);
  absl::Status StartOutput(const Input& input);
  absl::Status FinishOutput(const Input& input);
  void Fail(absl::Status status);

  FileSystem& fs_;
  std::string dir_;
  LogConfig config_;
  int64_t now_ms_;
  std::vector<Input> inputs_;
  size_t mapped_inputs_ = 0;  // inputs_[0, mapped_inputs_) are covered by the map
  absl::flat_hash_map<std::string, int64_t> latest_;  // key -> highest offset
  Phase phase_ = Phase::kMap;
  size_t current_ = 0;       // input being mapped or cleaned
  uint64_t position_ = 0;    // in that input
  std::vector<uint8_t> buffer_;
  std::vector<uint8_t> plain_;  // a compressed batch's records, decompressed
  // The cleaned segment being written.
  std::unique_ptr<File> out_;
  uint64_t out_size_ = 0;
  std::unique_ptr<OffsetIndex> out_index_;
  std::unique_ptr<TimeIndex> out_times_;
  uint64_t out_bytes_since_index_ = 0;
  int64_t out_max_timestamp_ = -1;
  std::vector<Output> outputs_;
  uint64_t records_removed_ = 0;
  absl::Status status_;
};

}  // namespace ringbroker::storage
