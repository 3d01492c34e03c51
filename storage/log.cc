#include "storage/log.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "protocol/records/batch_header.h"
#include "storage/compaction.h"
#include "storage/crc.h"
#include "storage/format.h"

namespace ringbroker::storage {

using protocol::BatchHeader;
using protocol::ParseBatchHeader;

namespace {

int64_t SystemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Meta {
  int64_t log_start_offset = -1;
  int64_t recovery_point = 0;
};

std::vector<uint8_t> EncodeMeta(const Meta& meta) {
  std::vector<uint8_t> out(format::kMetaSize);
  uint8_t* p = out.data();
  protocol::StoreBigEndian32(p, format::kMetaMagic);
  p[4] = uint8_t(uint16_t(format::kMetaVersion) >> 8);
  p[5] = uint8_t(format::kMetaVersion);
  protocol::StoreBigEndian64(p + 6, uint64_t(meta.log_start_offset));
  protocol::StoreBigEndian64(p + 14, uint64_t(meta.recovery_point));
  protocol::StoreBigEndian32(p + 22, Crc32c(absl::MakeConstSpan(p, 22)));
  return out;
}

std::optional<Meta> DecodeMeta(absl::Span<const uint8_t> bytes) {
  if (bytes.size() != format::kMetaSize) return std::nullopt;
  const uint8_t* p = bytes.data();
  if (protocol::LoadBigEndian32(p) != format::kMetaMagic ||
      int16_t(protocol::LoadBigEndian16(p + 4)) != format::kMetaVersion ||
      protocol::LoadBigEndian32(p + 22) != Crc32c(bytes.subspan(0, 22))) {
    return std::nullopt;
  }
  Meta meta;
  meta.log_start_offset = int64_t(protocol::LoadBigEndian64(p + 6));
  meta.recovery_point = int64_t(protocol::LoadBigEndian64(p + 14));
  return meta;
}

absl::Status WriteWholeFile(FileSystem& fs, const std::string& path,
                            absl::Span<const uint8_t> bytes) {
  auto file = fs.Open(path, OpenMode::kCreate);
  if (!file.ok()) return file.status();
  if (absl::Status s = (*file)->BlockingTruncate(0); !s.ok()) return s;
  if (absl::Status s = (*file)->BlockingWrite(0, bytes); !s.ok()) return s;
  return (*file)->BlockingDatasync();
}

// Writes a sealed segment's two indexes, syncs them, writes the log file back in paced steps
// (LogConfig::seal_writeback_*) and syncs it, asynchronously. It owns itself and the buffers the
// writes point into until its callback has run.
class SealOp {
 public:
  struct Pacing {
    uint64_t step_bytes = 0;            // 0: no steps, straight to the sync
    int64_t pause_ms = 0;
    FileSystem* fs = nullptr;           // for PauseAsync
    absl::AnyInvocable<bool()> hurry;   // true: more segments wait, or the owner does: no pause
  };

  SealOp(std::shared_ptr<Segment> segment, std::unique_ptr<File> index, std::unique_ptr<File> times,
         Pacing pacing, absl::AnyInvocable<void(absl::Status)> done)
      : segment_(std::move(segment)),
        index_file_(std::move(index)),
        time_file_(std::move(times)),
        index_bytes_(segment_->offset_index().Encode()),
        time_bytes_(segment_->time_index().Encode()),
        pacing_(std::move(pacing)),
        done_(std::move(done)) {}

  static void Start(SealOp* op) { op->Next(absl::OkStatus()); }

 private:
  enum Step { kWriteIndex, kWriteTimes, kSyncIndex, kSyncTimes, kWriteBack, kSyncLog, kDone };

  void Next(absl::Status status) {
    if (!status.ok() || step_ == kDone) {
      auto done = std::move(done_);
      delete this;
      done(status);
      return;
    }
    switch (step_) {
      case kWriteIndex:
        step_ = kWriteTimes;
        iov_ = {index_bytes_.data(), index_bytes_.size()};
        index_file_->Write(0, absl::MakeConstSpan(&iov_, 1),
                           [this](absl::StatusOr<size_t> n) { Next(n.status()); });
        return;
      case kWriteTimes:
        step_ = kSyncIndex;
        iov_ = {time_bytes_.data(), time_bytes_.size()};
        time_file_->Write(0, absl::MakeConstSpan(&iov_, 1),
                          [this](absl::StatusOr<size_t> n) { Next(n.status()); });
        return;
      case kSyncIndex:
        step_ = kSyncTimes;
        index_file_->Datasync([this](absl::Status s) { Next(std::move(s)); });
        return;
      case kSyncTimes:
        step_ = kWriteBack;
        time_file_->Datasync([this](absl::Status s) { Next(std::move(s)); });
        return;
      case kWriteBack:
        if (pacing_.step_bytes > 0 && written_back_ < segment_->size()) {
          const uint64_t length = std::min(pacing_.step_bytes, segment_->size() - written_back_);
          const uint64_t offset = written_back_;
          written_back_ += length;
          segment_->file().WriteBack(offset, length,
                                     [this](absl::Status s) { AfterWriteBack(std::move(s)); });
          return;
        }
        step_ = kSyncLog;
        Next(absl::OkStatus());
        return;
      default:
        step_ = kDone;
        segment_->file().Datasync([this](absl::Status s) { Next(std::move(s)); });
        return;
    }
  }

  void AfterWriteBack(absl::Status status) {
    // Writing back is only pacing: on any error, stop stepping and let the sync (which reports
    // real I/O errors) decide.
    if (!status.ok()) written_back_ = segment_->size();
    if (written_back_ < segment_->size() && pacing_.pause_ms > 0 && !pacing_.hurry()) {
      pacing_.fs->PauseAsync(pacing_.pause_ms, [this] { Next(absl::OkStatus()); });
      return;
    }
    Next(absl::OkStatus());
  }

  std::shared_ptr<Segment> segment_;
  std::unique_ptr<File> index_file_;
  std::unique_ptr<File> time_file_;
  std::vector<uint8_t> index_bytes_;
  std::vector<uint8_t> time_bytes_;
  Pacing pacing_;
  absl::AnyInvocable<void(absl::Status)> done_;
  iovec iov_{};
  Step step_ = kWriteIndex;
  uint64_t written_back_ = 0;
};

}  // namespace

Log::Log(FileSystem& fs, std::string dir, LogConfig config, LogOptions options)
    : fs_(fs), dir_(std::move(dir)), config_(config), options_(std::move(options)) {
  if (!options_.clock_ms) options_.clock_ms = SystemNowMs;
}

Log::~Log() = default;

absl::StatusOr<std::unique_ptr<Log>> Log::Open(FileSystem& fs, std::string dir, LogConfig config,
                                               LogOptions options) {
  if (config.segment_bytes <= int64_t(protocol::batch_layout::kHeaderSize) ||
      config.segment_bytes > INT32_MAX || config.index_interval_bytes < 0 ||
      config.segment_index_bytes < int64_t(format::kTimeIndexEntrySize) ||
      config.appends_in_flight_max <= 0) {
    return absl::InvalidArgumentError("invalid log config");
  }
  std::unique_ptr<Log> log(new Log(fs, std::move(dir), config, std::move(options)));
  if (absl::Status s = log->Recover(); !s.ok()) return s;
  return log;
}

absl::Status Log::Recover() {
  if (absl::Status s = fs_.Mkdir(dir_); !s.ok()) return s;
  auto names = fs_.List(dir_);
  if (!names.ok()) return names.status();
  bool clean = false;
  std::vector<int64_t> bases;
  std::vector<std::string> leftovers;
  for (const std::string& name : *names) {
    if (name == format::kCleanShutdownName) {
      clean = true;
    } else if (auto base = format::ParseSegmentName(name, format::kLogSuffix)) {
      bases.push_back(*base);
    } else if (name == format::kMetaTempName || name == format::kMetaCheckpointName ||
               (name.size() > 8 && name.ends_with(format::kCleanedSuffix))) {
      leftovers.push_back(name);  // an interrupted meta write or compaction: never installed
    }
  }
  // Index files whose segment is gone (deleted by retention before a crash) are dropped too.
  for (const std::string& name : *names) {
    for (const char* suffix : {format::kOffsetIndexSuffix, format::kTimeIndexSuffix}) {
      if (auto base = format::ParseSegmentName(name, suffix);
          base && std::find(bases.begin(), bases.end(), *base) == bases.end()) {
        leftovers.push_back(name);
      }
    }
  }
  for (const std::string& name : leftovers) {
    if (absl::Status s = fs_.Remove(absl::StrCat(dir_, "/", name)); !s.ok()) return s;
  }
  std::sort(bases.begin(), bases.end());

  Meta meta;
  std::string meta_path = absl::StrCat(dir_, "/", format::kMetaName);
  if (fs_.Exists(meta_path)) {
    auto file = fs_.Open(meta_path, OpenMode::kReadWrite);
    if (!file.ok()) return file.status();
    uint8_t bytes[format::kMetaSize + 1];
    auto n = (*file)->BlockingRead(0, absl::MakeSpan(bytes));
    if (!n.ok()) return n.status();
    // A damaged log-meta costs only the log start offset beyond the first segment and a full scan.
    if (auto decoded = DecodeMeta(absl::MakeConstSpan(bytes, *n))) meta = *decoded;
  }

  int64_t now = Now();
  bool drop_rest = false;
  int64_t expected_min = INT64_MIN;
  for (int64_t base : bases) {
    if (drop_rest || base < expected_min) {
      // After a damaged tail, later segments would leave a hole: they are part of the tail.
      drop_rest = true;
      if (absl::Status s = RemoveSegment(base); !s.ok()) return s;
      continue;
    }
    bool trust = clean || base < meta.recovery_point;
    Segment::RecoveryReport report;
    auto segment = Segment::Open(fs_, dir_, base, config_, trust, now, &report);
    if (!segment.ok()) return segment.status();
    if (report.bytes_truncated > 0) drop_rest = true;
    expected_min = (*segment)->next_offset();
    (*segment)->set_sealed(!report.indexes_rebuilt);
    segments_.emplace(base, std::move(*segment));
  }

  int64_t start = meta.log_start_offset;
  if (!segments_.empty()) start = std::max(start, segments_.begin()->first);
  start = std::max<int64_t>(start, 0);
  if (!segments_.empty() && start > segments_.rbegin()->second->next_offset()) {
    // Everything left lies below the log start offset (DeleteRecords then a truncation).
    while (!segments_.empty()) {
      if (absl::Status s = RemoveSegment(segments_.begin()->first); !s.ok()) return s;
    }
  }
  if (segments_.empty()) {
    auto segment = Segment::Create(fs_, dir_, start, config_, now);
    if (!segment.ok()) return segment.status();
    segments_.emplace(start, std::move(*segment));
  }
  // Segments other than the last whose indexes were rebuilt get them written now, so that only the
  // active segment is ever scanned after a crash.
  for (auto it = segments_.begin(); std::next(it) != segments_.end(); ++it) {
    if (!it->second->sealed()) {
      if (absl::Status s = SealBlocking(*it->second); !s.ok()) return s;
    }
  }
  active()->set_sealed(false);
  log_start_offset_ = start;
  next_offset_ = readable_end_ = active()->next_offset();
  high_watermark_ = next_offset_;
  recovery_point_ = active()->base_offset();
  if (absl::Status s = WriteMeta(); !s.ok()) return s;
  if (clean) {
    // From here on a crash must be noticed: the mark goes before the first append.
    if (absl::Status s = fs_.Remove(absl::StrCat(dir_, "/", format::kCleanShutdownName)); !s.ok()) {
      return s;
    }
  }
  return fs_.SyncDir(dir_);
}

absl::Status Log::SealBlocking(Segment& segment) {
  if (absl::Status s = WriteWholeFile(fs_, segment.offset_index_path(),
                                      segment.offset_index().Encode());
      !s.ok()) {
    return s;
  }
  if (absl::Status s = WriteWholeFile(fs_, segment.time_index_path(),
                                      segment.time_index().Encode());
      !s.ok()) {
    return s;
  }
  if (absl::Status s = segment.file().BlockingDatasync(); !s.ok()) return s;
  segment.set_synced_size(segment.readable_size());
  segment.set_sealed(true);
  return absl::OkStatus();
}

absl::Status Log::WriteMeta() {
  ++meta_generation_;  // a checkpoint in flight now holds an older state (OnMetaCheckpointWritten)
  Meta meta{log_start_offset_, recovery_point_};
  std::string temp = absl::StrCat(dir_, "/", format::kMetaTempName);
  if (absl::Status s = WriteWholeFile(fs_, temp, EncodeMeta(meta)); !s.ok()) return s;
  if (absl::Status s = fs_.Rename(temp, absl::StrCat(dir_, "/", format::kMetaName)); !s.ok()) {
    return s;
  }
  return fs_.SyncDir(dir_);
}

// The recovery point moves after every seal. It only shortens the next recovery's scan, and one
// left behind costs a longer scan, never data, so it is checkpointed without blocking the owner's
// thread: WriteMeta's fdatasync and directory fsync waited there behind the disk's other writes
// (the segment just sealed, the active segment's syncs), stalling every partition of the shard.
// Kafka checkpoints it from a scheduler thread for the same reason. The file is written and synced
// asynchronously under its own name, renamed over log-meta on this thread (a metadata call, as a
// roll's create is), and the directory synced asynchronously.
void Log::StartMetaCheckpoint() {
  if (checkpoint_in_flight_) {
    checkpoint_again_ = true;
    return;
  }
  if (!failed_.ok() || closed_) return;
  checkpoint_again_ = false;
  auto file = fs_.Open(absl::StrCat(dir_, "/", format::kMetaCheckpointName), OpenMode::kCreate);
  absl::Status opened = file.status();
  if (opened.ok() && (*file)->size() != 0) opened = (*file)->BlockingTruncate(0);
  if (!opened.ok()) {
    Fail(opened);
    return;
  }
  checkpoint_in_flight_ = true;
  checkpoint_file_ = std::move(*file);
  checkpoint_bytes_ = EncodeMeta(Meta{log_start_offset_, recovery_point_});
  checkpoint_iov_ = {checkpoint_bytes_.data(), checkpoint_bytes_.size()};
  uint64_t generation = meta_generation_;
  checkpoint_file_->Write(0, absl::MakeConstSpan(&checkpoint_iov_, 1),
                          [this, generation](absl::StatusOr<size_t> written) {
                            if (!written.ok()) {
                              return OnMetaCheckpointWritten(generation, written.status());
                            }
                            checkpoint_file_->Datasync([this, generation](absl::Status s) {
                              OnMetaCheckpointWritten(generation, std::move(s));
                            });
                          });
}

void Log::OnMetaCheckpointWritten(uint64_t generation, absl::Status status) {
  // Closed from inside its own last callback: every implementation of the seam is done with the
  // call before it runs the callback (as SealOp relies on too).
  checkpoint_file_.reset();
  std::string path = absl::StrCat(dir_, "/", format::kMetaCheckpointName);
  if (status.ok() && generation != meta_generation_) {
    // A blocking write since put a state at least as new in place: renaming this one over it
    // would take the log start offset back.
    return OnMetaCheckpointDone(fs_.Remove(path));
  }
  if (status.ok()) status = fs_.Rename(path, absl::StrCat(dir_, "/", format::kMetaName));
  if (!status.ok()) return OnMetaCheckpointDone(std::move(status));
  fs_.SyncDirAsync(dir_, [this](absl::Status s) { OnMetaCheckpointDone(std::move(s)); });
}

void Log::OnMetaCheckpointDone(absl::Status status) {
  checkpoint_in_flight_ = false;
  // As for WriteMeta's failures: an I/O error here says the disk is failing.
  if (!status.ok()) return Fail(std::move(status));
  if (checkpoint_again_) StartMetaCheckpoint();
}

absl::Status Log::RemoveSegment(int64_t base_offset) {
  std::string prefix = absl::StrCat(dir_, "/", format::SegmentBaseName(base_offset));
  // The .log goes last: an index without its log is cleaned up at open, the reverse would be
  // mistaken for a segment whose index needs rebuilding.
  for (const char* suffix : {format::kOffsetIndexSuffix, format::kTimeIndexSuffix,
                             format::kLogSuffix}) {
    std::string path = absl::StrCat(prefix, suffix);
    if (fs_.Exists(path)) {
      if (absl::Status s = fs_.Remove(path); !s.ok()) return s;
    }
  }
  segments_.erase(base_offset);
  return absl::OkStatus();
}

bool Log::idle() const {
  // A failed log seals nothing more (MaybeSeal), so segments left to seal do not keep it busy.
  return inflight_.empty() && awaiting_sync_.empty() && !sync_in_flight_ && !seal_in_flight_ &&
         (to_seal_.empty() || !failed_.ok()) && truncations_in_flight_ == 0 &&
         reads_in_flight_ == 0 && dir_syncs_in_flight_ == 0 && !checkpoint_in_flight_ &&
         !preallocation_in_flight_;
}

uint64_t Log::size_bytes() const {
  uint64_t total = 0;
  for (const auto& [base, segment] : segments_) total += segment->size();
  return total;
}

std::vector<int64_t> Log::segment_bases() const {
  std::vector<int64_t> bases;
  for (const auto& [base, segment] : segments_) bases.push_back(base);
  return bases;
}

std::shared_ptr<Segment> Log::SegmentFor(int64_t offset) const {
  auto it = segments_.upper_bound(offset);
  if (it == segments_.begin()) return it == segments_.end() ? nullptr : it->second;
  return std::prev(it)->second;
}

std::shared_ptr<Segment> Log::SegmentAfter(int64_t base_offset) const {
  auto it = segments_.upper_bound(base_offset);
  return it == segments_.end() ? nullptr : it->second;
}

void Log::set_high_watermark(int64_t offset) {
  high_watermark_ = std::clamp(offset, log_start_offset_, next_offset_);
}

// ---------------------------------------------------------------------------------------------
// Append

void Log::Append(absl::Span<uint8_t> batches, const AppendOptions& options, AppendCallback done) {
  if (closed_) return done(absl::FailedPreconditionError("log is closed"));
  if (!failed_.ok()) return done(failed_);
  if (truncations_in_flight_ > 0) {
    return done(absl::UnavailableError("log is being truncated"));
  }
  if (inflight_.size() >= size_t(config_.appends_in_flight_max)) {
    return done(absl::UnavailableError("too many appends in flight"));
  }
  if (batches.empty()) return done(absl::InvalidArgumentError("no record batch to append"));
  if (batches.size() > uint64_t(config_.segment_bytes)) {
    return done(absl::InvalidArgumentError("record batches larger than segment.bytes"));
  }
  // Check every header before touching anything, so a bad append leaves no trace.
  absl::InlinedVector<BatchHeader, 4> headers;
  int64_t expected = next_offset_;
  for (size_t at = 0; at < batches.size();) {
    auto header = ParseBatchHeader(batches.subspan(at));
    if (!header.ok()) return done(header.status());
    if (header->total_size() > batches.size() - at) {
      return done(absl::InvalidArgumentError("record batch truncated"));
    }
    if (header->total_size() > uint64_t(config_.max_message_bytes)) {
      return done(absl::InvalidArgumentError("record batch larger than max.message.bytes"));
    }
    if (header->last_offset_delta < 0 || header->record_count < 0) {
      return done(absl::InvalidArgumentError("record batch has a negative count"));
    }
    if (options.assign_offsets) {
      header->base_offset = expected;
    } else if (header->base_offset < expected) {
      return done(absl::InvalidArgumentError(absl::StrCat(
          "follower batch at offset ", header->base_offset, " below log end ", expected)));
    }
    if (options.assign_offsets) header->partition_leader_epoch = options.leader_epoch;
    expected = header->last_offset() + 1;
    at += header->total_size();
    headers.push_back(*header);
  }

  // Roll first when the batches would not fit the active segment.
  int64_t now = Now();
  {
    Segment& current = *active();
    bool roll = false;
    if (!current.empty()) {
      roll = current.size() + batches.size() > uint64_t(config_.segment_bytes) ||
             current.TimeWaitedForRoll(now, headers.back().max_timestamp) > config_.segment_ms ||
             current.IndexFull() ||
             headers.back().last_offset() - current.base_offset() > INT32_MAX;
    }
    if (roll) {
      if (absl::Status s = Roll(); !s.ok()) return done(s);
    }
  }
  std::shared_ptr<Segment> segment = active();
  for (const BatchHeader& h : headers) {
    if (!segment->CanHold(h)) {
      return done(absl::InvalidArgumentError("record batches do not fit one segment"));
    }
  }

  int64_t record_count = 0;
  uint8_t* p = batches.data();
  for (const BatchHeader& h : headers) {
    if (options.assign_offsets) {
      protocol::PatchBaseOffset(p, h.base_offset);
      protocol::PatchPartitionLeaderEpoch(p, h.partition_leader_epoch);
    }
    segment->Reserve(h);
    record_count += h.record_count;
    p += h.total_size();
  }
  next_offset_ = expected;

  inflight_.push_back(Pending{
      .segment = segment,
      .base_offset = headers.front().base_offset,
      .last_offset = headers.back().last_offset(),
      .end_position = segment->size(),
      .record_count = record_count,
      .wait_sync = options.durable && config_.sync_before_ack,
      .done = std::move(done),
      .iov = {batches.data(), batches.size()},
  });
  SubmitWrites();
}

namespace {
// A gathered write takes at most this many appends (one iovec each; IOV_MAX is 1024).
constexpr size_t kWriteGroupAppendsMax = 64;
}  // namespace

void Log::SubmitWrites() {
  // One write in flight per log. Appends made meanwhile queue behind it, and the next write takes
  // them all at once, one iovec each: a burst of appends costs one system call or ring operation,
  // not one each. (The kernel runs buffered writes to one file one after another anyway.) With a
  // file whose writes complete inline, nothing ever queues: each append is written at once.
  if (write_group_size_ > 0 || submitted_count_ == inflight_.size()) return;
  if (!failed_.ok()) {
    // Never to be written: Drain reports them failed, in order.
    for (size_t i = submitted_count_; i < inflight_.size(); ++i) {
      inflight_[i].completed = true;
      inflight_[i].status = failed_;
    }
    submitted_count_ = inflight_.size();
    // Nothing else would: no write of theirs will complete. (The log can fail inside Append
    // itself, when the roll it makes seals a segment inline and that fails.)
    Drain();
    return;
  }
  const size_t first = submitted_count_;
  Segment* segment = inflight_[first].segment.get();
  write_iovecs_.clear();
  size_t end = first;
  // Consecutive appends to one segment lie end to end in its file (Reserve hands out positions in
  // append order), so their iovecs make one contiguous write.
  while (end < inflight_.size() && inflight_[end].segment.get() == segment &&
         end - first < kWriteGroupAppendsMax) {
    write_iovecs_.push_back(inflight_[end].iov);
    ++end;
  }
  write_group_size_ = end - first;
  submitted_count_ = end;
  const Pending& head = inflight_[first];
  const uint64_t write_end = inflight_[end - 1].end_position;
  // Held across the call: the write may complete inline and its completion pop these appends.
  std::shared_ptr<Segment> written = inflight_[first].segment;
  segment->file().Write(head.end_position - head.iov.iov_len, write_iovecs_,
                        [this](absl::StatusOr<size_t> n) { OnWritesDone(std::move(n)); });
  // After the write, so that the write itself is not held behind the reservation.
  MaybePreallocate(*written, write_end);
}

void Log::MaybePreallocate(Segment& segment, uint64_t write_end) {
  const uint64_t step_max = uint64_t(std::max<int64_t>(config_.preallocate_step_bytes, 0));
  if (step_max == 0 || preallocation_in_flight_ || preallocation_unsupported_ || !failed_.ok()) {
    return;
  }
  // As much again as the segment holds: a quiet partition reserves little it will not use, a busy
  // one reaches the step after a few reservations and then makes one per half step.
  const uint64_t ahead = std::min(step_max, std::max(write_end, uint64_t{1} << 20));
  if (write_end + ahead / 2 <= segment.preallocated_end()) return;
  const uint64_t from = std::max(segment.preallocated_end(), write_end);
  // The segment rolls before it passes segment_bytes, so nothing past it would be used.
  const uint64_t to = std::min(write_end + ahead, uint64_t(std::max<int64_t>(config_.segment_bytes, 0)));
  if (to <= from) return;
  preallocation_in_flight_ = true;
  segment.file().Allocate(from, to - from,
                          [this, segment = segment.shared_from_this(), to](absl::Status status) {
                            preallocation_in_flight_ = false;
                            // Unimplemented: a filesystem without fallocate. Any other failure (a
                            // full disk) is for the writes to report; that range is not tried again.
                            if (absl::IsUnimplemented(status)) preallocation_unsupported_ = true;
                            segment->set_preallocated_end(to);
                          });
}

void Log::OnWritesDone(absl::StatusOr<size_t> result) {
  // The group is the last write_group_size_ of the submitted prefix: Drain pops only completed
  // appends from the front, so the positions held since the write was submitted.
  const size_t first = submitted_count_ - write_group_size_;
  for (size_t i = first; i < submitted_count_; ++i) {
    Pending& pending = inflight_[i];
    pending.completed = true;
    if (!result.ok()) pending.status = result.status();
  }
  if (!result.ok()) {
    fail_from_offset_ = std::min(fail_from_offset_, inflight_[first].base_offset);
    Fail(result.status());
  }
  write_group_size_ = 0;
  SubmitWrites();
  Drain();
}

void Log::Fail(absl::Status status) {
  if (failed_.ok()) {
    failed_ = absl::Status(status.code(), absl::StrCat("log ", dir_, ": ", status.message()));
  }
}

void Log::Drain() {
  // Completions can arrive inside a callback run from here (an append made from a callback that
  // completes inline): the outer loop picks them up.
  if (draining_) return;
  draining_ = true;
  while (!inflight_.empty() && inflight_.front().completed) {
    Pending p = std::move(inflight_.front());
    inflight_.pop_front();
    --submitted_count_;
    if (!p.status.ok() || p.base_offset >= fail_from_offset_) {
      p.done(p.status.ok() ? failed_ : p.status);
      continue;
    }
    p.segment->MarkReadable(p.end_position, p.last_offset + 1);
    readable_end_ = p.last_offset + 1;
    unflushed_messages_ += p.record_count;
    if (oldest_unflushed_ms_ < 0) oldest_unflushed_ms_ = Now();
    AppendResult result{p.base_offset, p.last_offset, next_offset_, log_start_offset_};
    if (p.wait_sync) {
      awaiting_sync_.push_back(SyncWaiter{std::move(p.done), result});
    } else {
      p.done(result);
    }
  }
  draining_ = false;
  if (!sync_in_flight_ &&
      (!awaiting_sync_.empty() || unflushed_messages_ >= config_.flush_messages)) {
    StartSync();
  }
  MaybeSeal();
}

void Log::StartSync() {
  if (sync_in_flight_) return;
  if (!failed_.ok()) {
    OnSyncDone(failed_);
    return;
  }
  sync_in_flight_ = true;
  syncing_ = std::move(awaiting_sync_);
  awaiting_sync_.clear();
  unflushed_messages_ = 0;
  oldest_unflushed_ms_ = -1;
  // Usually only the active segment has unsynced bytes; right after a roll the previous one may too.
  std::vector<std::shared_ptr<Segment>> dirty;
  for (auto it = segments_.rbegin(); it != segments_.rend(); ++it) {
    Segment& s = *it->second;
    if (s.synced_size() < s.readable_size()) dirty.push_back(it->second);
    if (s.sealed()) break;
  }
  struct Round {
    int remaining;
    absl::Status status;
  };
  // One extra count held by this loop, so a sync completing inline cannot finish the round early.
  auto round = std::make_shared<Round>(Round{int(dirty.size()) + 1, absl::OkStatus()});
  auto finish_one = [this, round](absl::Status s) {
    if (!s.ok() && round->status.ok()) round->status = s;
    if (--round->remaining == 0) OnSyncDone(round->status);
  };
  // A segment's bytes are not durable before its name is: wait for the directory sync of the
  // latest roll too. It began after every earlier roll, so it covers their names as well.
  if (latest_dir_sync_) {
    ++round->remaining;
    latest_dir_sync_->waiters.push_back(finish_one);
  }
  for (auto& segment : dirty) {
    uint64_t target = segment->readable_size();
    segment->file().Datasync([segment, target, finish_one](absl::Status s) mutable {
      if (s.ok()) segment->set_synced_size(target);
      finish_one(std::move(s));
    });
  }
  finish_one(absl::OkStatus());
}

void Log::OnSyncDone(absl::Status status) {
  sync_in_flight_ = false;
  std::vector<SyncWaiter> waiters = std::move(syncing_);
  syncing_.clear();
  if (!status.ok()) {
    Fail(status);
    // The page cache may have dropped what the failed sync covered: nothing not yet acknowledged
    // may be acknowledged any more.
    fail_from_offset_ = std::min(fail_from_offset_, readable_end_);
    std::vector<SyncWaiter> more = std::move(awaiting_sync_);
    awaiting_sync_.clear();
    for (auto& w : waiters) w.done(failed_);
    for (auto& w : more) w.done(failed_);
    return;
  }
  for (auto& w : waiters) {
    // A directory sync that failed while this round was in flight: what it covered is not durable.
    if (w.result.base_offset >= fail_from_offset_) {
      w.done(failed_);
      continue;
    }
    w.result.log_end_offset = next_offset_;
    w.done(w.result);
  }
  if (!sync_in_flight_ && !awaiting_sync_.empty()) StartSync();
}

// ---------------------------------------------------------------------------------------------
// Rolling and sealing

absl::Status Log::Roll() {
  if (closed_) return absl::FailedPreconditionError("log is closed");
  if (active()->empty()) return absl::OkStatus();
  auto segment = Segment::Create(fs_, dir_, next_offset_, config_, Now());
  // A failed roll fails only this append: nothing was written, so there is no hole.
  if (!segment.ok()) return segment.status();
  // The new file's name must be durable before anything synced into it is acknowledged; sync
  // rounds wait for this (StartSync). The owner's thread does not: a directory fsync waits behind
  // the disk's other writes (41 ms measured on the shard thread while a 1 GiB segment was being
  // written back), and appends with acks=1 need not wait for it at all.
  auto dir_sync = std::make_shared<DirSync>();
  dir_sync->base_offset = next_offset_;
  dir_sync->in_roll = true;
  ++dir_syncs_in_flight_;
  fs_.SyncDirAsync(dir_, [this, dir_sync](absl::Status s) { OnDirSynced(dir_sync, std::move(s)); });
  dir_sync->in_roll = false;
  if (!dir_sync->failed_in_roll.ok()) {
    // It failed before returning: as a failed create, this append fails and the log goes on.
    (void)fs_.Remove((*segment)->log_path());
    return dir_sync->failed_in_roll;
  }
  if (!dir_sync->completed) latest_dir_sync_ = dir_sync;
  to_seal_.push_back(active());
  segments_.emplace(next_offset_, std::move(*segment));
  MaybeSeal();
  return absl::OkStatus();
}

void Log::OnDirSynced(const std::shared_ptr<DirSync>& dir_sync, absl::Status status) {
  --dir_syncs_in_flight_;
  dir_sync->completed = true;
  if (latest_dir_sync_ == dir_sync) latest_dir_sync_.reset();
  if (!status.ok() && dir_sync->in_roll) {
    dir_sync->failed_in_roll = std::move(status);  // Roll undoes itself
    return;
  }
  if (!status.ok()) {
    // As for a failed data sync: stop appending, and acknowledge nothing of the segment whose name
    // may not have reached the disk.
    Fail(status);
    fail_from_offset_ = std::min(fail_from_offset_, dir_sync->base_offset);
  }
  std::vector<StatusCallback> waiters = std::move(dir_sync->waiters);
  for (auto& waiter : waiters) waiter(status);
}

void Log::MaybeSeal() {
  if (seal_in_flight_ || to_seal_.empty() || !failed_.ok()) return;
  std::shared_ptr<Segment> segment = to_seal_.front();
  // Its data must be all written before its sync can cover it.
  if (segment->readable_size() != segment->size()) return;
  auto index = fs_.Open(segment->offset_index_path(), OpenMode::kCreate);
  auto times = fs_.Open(segment->time_index_path(), OpenMode::kCreate);
  absl::Status opened = !index.ok() ? index.status() : times.status();
  if (opened.ok() && (*index)->size() != 0) opened = (*index)->BlockingTruncate(0);
  if (opened.ok() && (*times)->size() != 0) opened = (*times)->BlockingTruncate(0);
  if (!opened.ok()) {
    Fail(opened);
    return;
  }
  seal_in_flight_ = true;
  SealOp::Pacing pacing;
  pacing.step_bytes = static_cast<uint64_t>(std::max<int64_t>(config_.seal_writeback_step_bytes, 0));
  pacing.pause_ms = config_.seal_writeback_pause_ms;
  pacing.fs = &fs_;
  // The op runs while seal_in_flight_, so the log (which must be idle to be destroyed) outlives it.
  pacing.hurry = [this] { return hurry_seals_ || to_seal_.size() > 1; };
  auto* op = new SealOp(segment, std::move(*index), std::move(*times), std::move(pacing),
                        [this, segment](absl::Status s) { OnSealed(segment, std::move(s)); });
  SealOp::Start(op);
}

void Log::OnSealed(const std::shared_ptr<Segment>& segment, absl::Status status) {
  seal_in_flight_ = false;
  if (!to_seal_.empty() && to_seal_.front() == segment) to_seal_.pop_front();
  if (!status.ok()) {
    Fail(status);
    return;
  }
  segment->set_synced_size(segment->size());
  segment->set_sealed(true);
  AdvanceRecoveryPoint();
  MaybeSeal();
}

void Log::AdvanceRecoveryPoint() {
  int64_t point = active()->base_offset();
  for (const auto& [base, segment] : segments_) {
    if (!segment->sealed()) {
      point = base;
      break;
    }
  }
  if (point == recovery_point_) return;
  recovery_point_ = point;
  StartMetaCheckpoint();
}

// ---------------------------------------------------------------------------------------------
// Reads

namespace {

// One Read call. It owns itself and deletes itself after calling `done`.
class ReadOp {
 public:
  ReadOp(Log* log, int64_t offset, size_t bytes_max, int64_t max_offset, ReadCallback done)
      : log_(log), offset_(offset), bytes_max_(bytes_max), max_offset_(max_offset),
        done_(std::move(done)) {
    log_->BeginRead();
  }

  void Start() { TrySegment(log_->SegmentFor(offset_)); }

 private:
  void Finish(absl::StatusOr<ReadResult> result) {
    auto done = std::move(done_);
    log_->EndRead();
    delete this;
    done(std::move(result));
  }

  ReadResult Empty() const {
    ReadResult r;
    r.next_offset = offset_;
    r.log_start_offset = log_->log_start_offset();
    r.high_watermark = log_->high_watermark();
    r.log_end_offset = log_->log_end_offset();
    return r;
  }

  void TrySegment(std::shared_ptr<Segment> segment) {
    // Skip segments that end before the offset (it may fall in a gap left by compaction) and
    // segments compaction emptied.
    while (segment && (segment->readable_next_offset() <= offset_ || segment->readable_size() == 0)) {
      segment = log_->SegmentAfter(segment->base_offset());
    }
    if (!segment || segment->readable_size() == 0) return Finish(Empty());
    segment_ = segment;
    segment->VisitHeaders(
        segment->ScanStart(offset_), segment->readable_size(),
        [this](const BatchHeader& h, uint64_t position) {
          if (h.last_offset() < offset_) return true;
          found_ = h;
          start_ = position;
          return false;
        },
        [this](absl::StatusOr<uint64_t> stopped) {
          if (!stopped.ok()) return Finish(stopped.status());
          if (!found_) return TrySegment(log_->SegmentAfter(segment_->base_offset()));
          Extend();
        });
  }

  void Extend() {
    if (found_->last_offset() >= max_offset_) return Finish(Empty());
    uint64_t end = start_ + found_->total_size();
    next_ = found_->last_offset() + 1;
    uint64_t limit = std::min<uint64_t>(segment_->readable_size(),
                                        start_ + uint64_t(bytes_max_));
    if (limit <= end) return Done(end);
    // Jump over whole batches with the index: every batch before an entry ends before the entry's
    // position and below its offset.
    const OffsetIndex& index = segment_->offset_index();
    auto by_position = index.LookupPosition(limit);
    auto by_offset = index.LookupOffset(max_offset_);
    if (by_position && by_offset) {
      const auto& entry = by_position->position < by_offset->position ? *by_position : *by_offset;
      if (entry.position > end) {
        end = entry.position;
        next_ = entry.offset;
      }
    }
    segment_->VisitHeaders(
        end, limit,
        [this](const BatchHeader& h, uint64_t) {
          if (h.last_offset() >= max_offset_) return false;
          next_ = h.last_offset() + 1;
          return true;
        },
        [this](absl::StatusOr<uint64_t> stopped) {
          if (!stopped.ok()) return Finish(stopped.status());
          Done(*stopped);
        });
  }

  void Done(uint64_t end) {
    ReadResult r = Empty();
    r.slice = ReadSlice{segment_->shared_file(), start_, end - start_};
    r.first_offset = found_->base_offset;
    r.next_offset = next_;
    Finish(std::move(r));
  }

  Log* log_;
  int64_t offset_;
  size_t bytes_max_;
  int64_t max_offset_;
  ReadCallback done_;
  std::shared_ptr<Segment> segment_;
  std::optional<BatchHeader> found_;
  uint64_t start_ = 0;
  int64_t next_ = 0;
};

class TimestampOp {
 public:
  TimestampOp(Log* log, int64_t timestamp, TimestampCallback done)
      : log_(log), timestamp_(timestamp), done_(std::move(done)) {
    log_->BeginRead();
  }

  void Start() { TrySegment(log_->SegmentFor(log_->log_start_offset())); }

 private:
  void Finish(absl::StatusOr<std::optional<TimestampLookup>> result) {
    auto done = std::move(done_);
    log_->EndRead();
    delete this;
    done(std::move(result));
  }

  void TrySegment(std::shared_ptr<Segment> segment) {
    while (segment && segment->max_timestamp() < timestamp_) {
      segment = log_->SegmentAfter(segment->base_offset());
    }
    if (!segment) return Finish(std::nullopt);
    segment_ = segment;
    auto entry = segment->time_index().LookupBefore(timestamp_);
    uint64_t start = entry ? segment->ScanStart(entry->offset) : 0;
    segment->VisitHeaders(
        start, segment->readable_size(),
        [this](const BatchHeader& h, uint64_t) {
          if (h.max_timestamp < timestamp_ || h.last_offset() < log_->log_start_offset()) {
            return true;
          }
          found_ = TimestampLookup{std::max(h.base_offset, log_->log_start_offset()),
                                   h.max_timestamp};
          return false;
        },
        [this](absl::StatusOr<uint64_t> stopped) {
          if (!stopped.ok()) return Finish(stopped.status());
          if (found_) return Finish(found_);
          TrySegment(log_->SegmentAfter(segment_->base_offset()));
        });
  }

  Log* log_;
  int64_t timestamp_;
  TimestampCallback done_;
  std::shared_ptr<Segment> segment_;
  std::optional<TimestampLookup> found_;
};

}  // namespace

void Log::Read(int64_t offset, size_t bytes_max, int64_t max_offset, ReadCallback done) {
  if (offset < log_start_offset_ || offset > next_offset_) {
    return done(absl::OutOfRangeError(absl::StrCat("offset ", offset, " outside the log [",
                                                   log_start_offset_, ", ", next_offset_, "]")));
  }
  max_offset = std::min(max_offset, readable_end_);
  auto* op = new ReadOp(this, offset, bytes_max, max_offset, std::move(done));
  op->Start();
}

void Log::FindOffsetByTimestamp(int64_t timestamp, TimestampCallback done) {
  auto* op = new TimestampOp(this, timestamp, std::move(done));
  op->Start();
}

// ---------------------------------------------------------------------------------------------
// Truncation, DeleteRecords, retention

void Log::Truncate(int64_t offset, StatusCallback done) {
  if (closed_) return done(absl::FailedPreconditionError("log is closed"));
  if (!idle()) return done(absl::FailedPreconditionError("truncation needs an idle log"));
  if (offset >= next_offset_) return done(absl::OkStatus());
  if (offset <= log_start_offset_) return TruncateFully(offset, std::move(done));
  std::shared_ptr<Segment> segment = SegmentFor(offset);
  // Newest first, so a crash in between leaves a log that is merely longer than intended.
  while (active() != segment) {
    if (absl::Status s = RemoveSegment(segments_.rbegin()->first); !s.ok()) {
      Fail(s);
      return done(s);
    }
  }
  // Find the cut and the max timestamp of what stays: start from the last time index entry below
  // the cut, whose timestamp covers every batch before it.
  auto time_entry = segment->time_index().LookupBefore(INT64_MAX);
  while (time_entry && time_entry->offset >= offset) {
    // Entries are few; walk back to the last one below the cut.
    auto earlier = segment->time_index().LookupBefore(time_entry->timestamp);
    time_entry = earlier;
  }
  uint64_t start = time_entry ? segment->ScanStart(time_entry->offset) : 0;
  struct Scan {
    int64_t max_timestamp;
    std::optional<int64_t> cut_base;
  };
  auto scan = std::make_shared<Scan>(Scan{time_entry ? time_entry->timestamp : -1, std::nullopt});
  ++truncations_in_flight_;
  segment->VisitHeaders(
      start, segment->size(),
      [scan, offset](const BatchHeader& h, uint64_t) {
        if (h.last_offset() >= offset) {
          scan->cut_base = h.base_offset;
          return false;
        }
        scan->max_timestamp = std::max(scan->max_timestamp, h.max_timestamp);
        return true;
      },
      [this, segment, offset, scan, done = std::move(done)](absl::StatusOr<uint64_t> cut) mutable {
        if (!cut.ok()) {
          --truncations_in_flight_;
          Fail(cut.status());
          return done(cut.status());
        }
        int64_t new_end = scan->cut_base ? std::min(offset, *scan->cut_base) : offset;
        // The cut batch may start below the log start offset (which DeleteRecords can put inside a
        // batch): the log end never goes below the log start.
        new_end = std::max(new_end, log_start_offset_);
        FinishTruncate(segment, offset, *cut, new_end, scan->max_timestamp, std::move(done));
      });
}

void Log::FinishTruncate(std::shared_ptr<Segment> segment, int64_t offset, uint64_t cut,
                         int64_t new_end, int64_t max_timestamp, StatusCallback done) {
  (void)offset;
  // The cut must be durable before it is reported: a follower appends the leader's batches next,
  // and a crash must not bring the diverged ones back in front of them.
  auto synced = [this, segment, cut, new_end, max_timestamp,
                 done = std::move(done)](absl::Status s) mutable {
    --truncations_in_flight_;
    if (s.ok()) s = fs_.SyncDir(dir_);
    if (!s.ok()) {
      Fail(s);
      return done(s);
    }
    segment->TruncateTo(cut, new_end, max_timestamp);
    segment->set_sealed(false);
    std::erase_if(to_seal_, [&](const std::shared_ptr<Segment>& x) {
      return x->base_offset() >= segment->base_offset();
    });
    next_offset_ = readable_end_ = new_end;
    high_watermark_ = std::min(high_watermark_, new_end);
    if (recovery_point_ > segment->base_offset()) {
      recovery_point_ = segment->base_offset();
      if (absl::Status m = WriteMeta(); !m.ok()) {
        Fail(m);
        return done(m);
      }
    }
    done(absl::OkStatus());
  };
  segment->BeginTruncate();
  segment->file().Truncate(cut, [segment, synced = std::move(synced)](absl::Status s) mutable {
    if (!s.ok()) return synced(s);
    segment->file().Datasync(std::move(synced));
  });
}

void Log::TruncateFully(int64_t offset, StatusCallback done) {
  // Remove everything, newest first, then start an empty segment at `offset`.
  while (!segments_.empty()) {
    if (absl::Status s = RemoveSegment(segments_.rbegin()->first); !s.ok()) {
      Fail(s);
      return done(s);
    }
  }
  to_seal_.clear();
  auto segment = Segment::Create(fs_, dir_, offset, config_, Now());
  if (!segment.ok()) {
    // Keep the invariant of a non-empty segment map even now: the log is failed anyway.
    Fail(segment.status());
    return done(segment.status());
  }
  segments_.emplace(offset, std::move(*segment));
  log_start_offset_ = next_offset_ = readable_end_ = high_watermark_ = offset;
  recovery_point_ = offset;
  absl::Status s = WriteMeta();  // also makes the removals durable (SyncDir)
  if (!s.ok()) Fail(s);
  done(s);
}

absl::StatusOr<int64_t> Log::DeleteRecords(int64_t offset) {
  if (closed_) return absl::FailedPreconditionError("log is closed");
  if (offset > high_watermark_ || offset < 0) {
    return absl::OutOfRangeError(absl::StrCat("offset ", offset, " beyond the high watermark ",
                                              high_watermark_));
  }
  if (offset <= log_start_offset_) return log_start_offset_;
  log_start_offset_ = offset;
  if (absl::Status s = WriteMeta(); !s.ok()) return s;
  if (absl::Status s = DeleteSegmentsBelowStart(); !s.ok()) return s;
  return log_start_offset_;
}

absl::Status Log::DeleteSegmentsBelowStart() {
  while (segments_.size() > 1) {
    auto first = segments_.begin();
    auto second = std::next(first);
    if (second->first > log_start_offset_ || !first->second->sealed()) break;
    if (absl::Status s = RemoveSegment(first->first); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status Log::ApplyRetention(int64_t now_ms) {
  if (!config_.cleanup_delete) return DeleteSegmentsBelowStart();
  uint64_t total = size_bytes();
  while (segments_.size() > 1) {
    auto first = segments_.begin();
    auto second = std::next(first);
    Segment& segment = *first->second;
    // Only sealed segments wholly below the high watermark: never data a follower or an acks=all
    // producer may still need.
    if (!segment.sealed() || second->first > high_watermark_) break;
    bool expired = config_.retention_ms >= 0 && segment.max_timestamp() >= 0 &&
                   now_ms - segment.max_timestamp() > config_.retention_ms;
    bool oversize = config_.retention_bytes >= 0 &&
                    total - segment.size() >= uint64_t(config_.retention_bytes);
    bool below_start = second->first <= log_start_offset_;
    if (!expired && !oversize && !below_start) break;
    total -= segment.size();
    int64_t next_base = second->first;
    if (absl::Status s = RemoveSegment(first->first); !s.ok()) return s;
    log_start_offset_ = std::max(log_start_offset_, next_base);
  }
  return absl::OkStatus();
}

absl::Status Log::Maintain(int64_t now_ms) {
  if (closed_) return absl::FailedPreconditionError("log is closed");
  if (!failed_.ok()) return failed_;
  // The timer's view of segment.ms: wall time since the segment was created (or reopened).
  if (!active()->empty() && now_ms - active()->created_ms() > config_.segment_ms &&
      truncations_in_flight_ == 0) {
    if (absl::Status s = Roll(); !s.ok()) return s;
  }
  if (oldest_unflushed_ms_ >= 0 && now_ms - oldest_unflushed_ms_ >= config_.flush_ms &&
      !sync_in_flight_) {
    StartSync();
  }
  if (truncations_in_flight_ == 0) {
    if (absl::Status s = ApplyRetention(now_ms); !s.ok()) return s;
  }
  return failed_;
}

absl::Status Log::Close() {
  if (closed_) return absl::OkStatus();
  if (!idle()) return absl::FailedPreconditionError("close needs an idle log");
  closed_ = true;
  if (!failed_.ok()) return failed_;  // no clean mark: the next open scans
  for (auto& [base, segment] : segments_) {
    if (!segment->sealed()) {
      if (absl::Status s = SealBlocking(*segment); !s.ok()) return s;
    }
  }
  // The active segment's index files are now current too, but it is not sealed: appends after the
  // next open make them stale again. The mark is what lets the next open trust them.
  active()->set_sealed(false);
  if (absl::Status s = WriteMeta(); !s.ok()) return s;
  auto mark = fs_.Open(absl::StrCat(dir_, "/", format::kCleanShutdownName), OpenMode::kCreate);
  if (!mark.ok()) return mark.status();
  return fs_.SyncDir(dir_);
}

// ---------------------------------------------------------------------------------------------
// Compaction

std::unique_ptr<CompactionJob> Log::StartCompaction(int64_t now_ms) {
  if (closed_ || !config_.cleanup_compact || !failed_.ok()) return nullptr;
  std::vector<std::shared_ptr<Segment>> inputs;
  for (auto& [base, segment] : segments_) {
    if (segment == active() || !segment->sealed()) break;
    inputs.push_back(segment);
  }
  if (inputs.empty()) return nullptr;
  return std::make_unique<CompactionJob>(fs_, dir_, config_, now_ms, std::move(inputs));
}

absl::Status Log::InstallCompaction(CompactionJob& job) {
  if (closed_) return absl::FailedPreconditionError("log is closed");
  if (!job.done()) return absl::FailedPreconditionError("compaction job not finished");
  if (!job.status().ok()) return job.status();
  for (const CompactionJob::Output& output : job.outputs_) {
    int64_t base = output.original->base_offset();
    auto it = segments_.find(base);
    // Retention, DeleteRecords or a truncation may have changed the segment meanwhile: then the
    // cleaned copy is stale and is left for the job to delete.
    if (it == segments_.end() || it->second != output.original || !it->second->sealed() ||
        it->second->size() != output.original_size || it->second == active()) {
      continue;
    }
    std::string prefix = absl::StrCat(dir_, "/", format::SegmentBaseName(base));
    // Old indexes first: a crash between the renames then leaves a segment without indexes, which
    // open rebuilds, never a new log file with old indexes.
    for (const char* suffix : {format::kOffsetIndexSuffix, format::kTimeIndexSuffix}) {
      std::string path = absl::StrCat(prefix, suffix);
      if (fs_.Exists(path)) {
        if (absl::Status s = fs_.Remove(path); !s.ok()) {
          Fail(s);
          return s;
        }
      }
    }
    for (const char* suffix :
         {format::kLogSuffix, format::kOffsetIndexSuffix, format::kTimeIndexSuffix}) {
      absl::Status s = fs_.Rename(absl::StrCat(prefix, suffix, format::kCleanedSuffix),
                                  absl::StrCat(prefix, suffix));
      if (!s.ok()) {
        Fail(s);
        return s;
      }
    }
    if (absl::Status s = fs_.SyncDir(dir_); !s.ok()) {
      Fail(s);
      return s;
    }
    auto segment = Segment::Open(fs_, dir_, base, config_, /*trust_files=*/true, Now(), nullptr);
    if (!segment.ok()) {
      Fail(segment.status());
      return segment.status();
    }
    (*segment)->set_sealed(true);
    it->second = std::move(*segment);
  }
  return absl::OkStatus();
}

}  // namespace ringbroker::storage
