#include "storage/segment.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "storage/crc.h"
#include "storage/format.h"

namespace ringbroker::storage {

using protocol::BatchHeader;
using protocol::ParseBatchHeader;
namespace layout = protocol::batch_layout;

namespace {

// Reads a file sequentially through a bounded buffer: recovery never holds more than this much of
// a segment in memory, however large its batches are.
constexpr size_t kScanBufferBytes = 1 << 20;

class BufferedReader {
 public:
  explicit BufferedReader(File& file) : file_(file), buffer_(kScanBufferBytes) {}

  // The `length` bytes at `position` (length <= kScanBufferBytes); OutOfRange past end of file.
  absl::StatusOr<absl::Span<const uint8_t>> Peek(uint64_t position, size_t length) {
    if (position < start_ || position + length > start_ + valid_) {
      auto n = file_.BlockingRead(position, absl::MakeSpan(buffer_));
      if (!n.ok()) return n.status();
      start_ = position;
      valid_ = *n;
    }
    if (position + length > start_ + valid_) return absl::OutOfRangeError("end of file");
    return absl::MakeConstSpan(buffer_.data() + (position - start_), length);
  }

 private:
  File& file_;
  std::vector<uint8_t> buffer_;
  uint64_t start_ = 0;
  size_t valid_ = 0;
};

absl::StatusOr<std::vector<uint8_t>> ReadWholeFile(FileSystem& fs, const std::string& path) {
  auto file = fs.Open(path, OpenMode::kReadWrite);
  if (!file.ok()) return file.status();
  std::vector<uint8_t> bytes((*file)->size());
  auto n = (*file)->BlockingRead(0, absl::MakeSpan(bytes));
  if (!n.ok()) return n.status();
  bytes.resize(*n);
  return bytes;
}

}  // namespace

Segment::Segment(int64_t base_offset, const LogConfig& config, std::string dir,
                 std::shared_ptr<File> file, int64_t now_ms)
    : base_offset_(base_offset),
      index_interval_bytes_(config.index_interval_bytes),
      dir_(std::move(dir)),
      log_path_(absl::StrCat(dir_, "/", format::SegmentBaseName(base_offset), format::kLogSuffix)),
      file_(std::move(file)),
      offset_index_(base_offset,
                    std::max<size_t>(1, config.segment_index_bytes / format::kOffsetIndexEntrySize)),
      time_index_(base_offset,
                  std::max<size_t>(1, config.segment_index_bytes / format::kTimeIndexEntrySize)),
      next_offset_(base_offset),
      readable_next_offset_(base_offset),
      created_ms_(now_ms),
      map_length_(uint64_t(std::max<int64_t>(config.segment_bytes, 1))) {}

std::string Segment::offset_index_path() const {
  return absl::StrCat(dir_, "/", format::SegmentBaseName(base_offset_), format::kOffsetIndexSuffix);
}
std::string Segment::time_index_path() const {
  return absl::StrCat(dir_, "/", format::SegmentBaseName(base_offset_), format::kTimeIndexSuffix);
}

absl::StatusOr<std::shared_ptr<Segment>> Segment::Create(FileSystem& fs, const std::string& dir,
                                                         int64_t base_offset,
                                                         const LogConfig& config, int64_t now_ms) {
  std::string path =
      absl::StrCat(dir, "/", format::SegmentBaseName(base_offset), format::kLogSuffix);
  // A leftover file of that name can only be an empty or abandoned segment (recovery removed
  // everything it did not keep), so reuse it truncated rather than fail.
  auto file = fs.Open(path, OpenMode::kCreate);
  if (!file.ok()) return file.status();
  if ((*file)->size() != 0) {
    if (absl::Status s = (*file)->BlockingTruncate(0); !s.ok()) return s;
  }
  std::shared_ptr<File> shared(std::move(*file));
  return std::shared_ptr<Segment>(new Segment(base_offset, config, dir, std::move(shared), now_ms));
}

absl::StatusOr<std::shared_ptr<Segment>> Segment::Open(FileSystem& fs, const std::string& dir,
                                                       int64_t base_offset, const LogConfig& config,
                                                       bool trust_files, int64_t now_ms,
                                                       RecoveryReport* report) {
  std::string path =
      absl::StrCat(dir, "/", format::SegmentBaseName(base_offset), format::kLogSuffix);
  auto file = fs.Open(path, OpenMode::kReadWrite);
  if (!file.ok()) return file.status();
  std::shared_ptr<File> shared(std::move(*file));
  std::shared_ptr<Segment> segment(new Segment(base_offset, config, dir, std::move(shared), now_ms));
  RecoveryReport local;
  if (report == nullptr) report = &local;
  *report = RecoveryReport{};
  bool loaded = trust_files && segment->LoadTrusted(fs).ok();
  if (!loaded) {
    report->indexes_rebuilt = true;
    if (absl::Status s = segment->ScanAll(report); !s.ok()) return s;
  }
  // Everything that survived opening is on disk; only new appends can be unsynced.
  segment->synced_size_ = segment->size_;
  return segment;
}

int64_t Segment::TimeWaitedForRoll(int64_t now_ms, int64_t batch_timestamp_ms) const {
  if (first_batch_timestamp_ >= 0 && batch_timestamp_ms >= 0) {
    return batch_timestamp_ms - first_batch_timestamp_;
  }
  return now_ms - created_ms_;
}

bool Segment::CanHold(const BatchHeader& header) const {
  return !IndexFull() && header.base_offset >= base_offset_ &&
         header.last_offset() - base_offset_ <= std::numeric_limits<int32_t>::max() &&
         size_ + header.total_size() <= std::numeric_limits<int32_t>::max();
}

void Segment::IndexBatch(const BatchHeader& header, uint64_t position) {
  // As Kafka: an index entry for a batch once more than index.interval.bytes went in since the last
  // entry, so a lookup scans at most about that many bytes of headers.
  if (bytes_since_index_entry_ > uint64_t(index_interval_bytes_) && !offset_index_.full()) {
    offset_index_.Append(header.base_offset, uint32_t(position));
    time_index_.MaybeAppend(max_timestamp_, header.base_offset);
    bytes_since_index_entry_ = 0;
  }
  if (size_ == 0) first_batch_timestamp_ = header.max_timestamp;
  bytes_since_index_entry_ += header.total_size();
  max_timestamp_ = std::max(max_timestamp_, header.max_timestamp);
  next_offset_ = header.last_offset() + 1;
  size_ = position + header.total_size();
}

uint64_t Segment::Reserve(const BatchHeader& header) {
  uint64_t position = size_;
  IndexBatch(header, position);
  recent_.Add(header, position);
  return position;
}

void Segment::MarkReadable(uint64_t end_position, int64_t next_offset) {
  readable_size_ = end_position;
  readable_next_offset_ = next_offset;
}

uint64_t Segment::ScanStart(int64_t offset) const {
  // The recent batches are the segment's last ones, end to end: the one they give is the batch
  // holding `offset`, never behind the index's entry, so the index is searched only without it.
  if (auto recent = recent_.PositionAtOrBefore(offset)) return *recent;
  auto entry = offset_index_.LookupOffset(offset);
  return entry ? entry->position : 0;
}

void Segment::BeginTruncate() {
  truncating_ = true;
  mapping_ = MappedRegion();
}

void Segment::TruncateTo(uint64_t position, int64_t next_offset, int64_t max_timestamp) {
  truncating_ = false;
  recent_.DropFrom(position);
  offset_index_.TruncateFromOffset(next_offset);
  time_index_.TruncateFromOffset(next_offset);
  size_ = readable_size_ = position;
  synced_size_ = std::min(synced_size_, position);
  next_offset_ = readable_next_offset_ = next_offset;
  max_timestamp_ = max_timestamp;
  auto last = offset_index_.last();
  bytes_since_index_entry_ = position - (last ? last->position : 0);
  if (position == 0) first_batch_timestamp_ = -1;
}

absl::Status Segment::LoadTrusted(FileSystem& fs) {
  uint64_t log_size = file_->size();
  auto index_bytes = ReadWholeFile(fs, offset_index_path());
  if (!index_bytes.ok()) return index_bytes.status();
  if (absl::Status s = offset_index_.Decode(*index_bytes, log_size); !s.ok()) return s;
  // Walk the headers after the last index entry to learn where the log ends.
  auto last = offset_index_.last();
  uint64_t position = last ? last->position : 0;
  int64_t next = last ? last->offset : base_offset_;
  int64_t tail_max_timestamp = -1;
  uint8_t header_bytes[layout::kHeaderSize];
  while (position < log_size) {
    auto n = file_->BlockingRead(position, absl::MakeSpan(header_bytes));
    if (!n.ok()) return n.status();
    auto header = ParseBatchHeader(absl::MakeConstSpan(header_bytes, *n));
    if (!header.ok()) return header.status();
    if (header->base_offset < next || position + header->total_size() > log_size) {
      return absl::DataLossError("segment tail does not match its index");
    }
    if (position == 0) first_batch_timestamp_ = header->max_timestamp;
    tail_max_timestamp = std::max(tail_max_timestamp, header->max_timestamp);
    next = header->last_offset() + 1;
    position += header->total_size();
  }
  if (position == log_size && log_size > 0 && first_batch_timestamp_ < 0 && last) {
    // The first batch lies before the last index entry: read its header for segment.ms.
    auto n = file_->BlockingRead(0, absl::MakeSpan(header_bytes));
    if (!n.ok()) return n.status();
    auto header = ParseBatchHeader(absl::MakeConstSpan(header_bytes, *n));
    if (!header.ok()) return header.status();
    first_batch_timestamp_ = header->max_timestamp;
  }
  auto time_bytes = ReadWholeFile(fs, time_index_path());
  if (!time_bytes.ok()) return time_bytes.status();
  if (absl::Status s = time_index_.Decode(*time_bytes, next); !s.ok()) return s;
  auto last_time = time_index_.last();
  max_timestamp_ = std::max(tail_max_timestamp, last_time ? last_time->timestamp : -1);
  size_ = readable_size_ = log_size;
  next_offset_ = readable_next_offset_ = next;
  bytes_since_index_entry_ = log_size - (last ? last->position : 0);
  return absl::OkStatus();
}

absl::Status Segment::ScanAll(RecoveryReport* report) {
  report->scanned = true;
  uint64_t log_size = file_->size();
  // Start from empty indexes (a failed trusted load may have filled them).
  offset_index_.TruncateFromOffset(base_offset_);
  time_index_.TruncateFromOffset(base_offset_);
  size_ = 0;
  next_offset_ = base_offset_;
  max_timestamp_ = first_batch_timestamp_ = -1;
  bytes_since_index_entry_ = 0;

  BufferedReader reader(*file_);
  uint64_t position = 0;
  while (position + layout::kHeaderSize <= log_size) {
    auto header_bytes = reader.Peek(position, layout::kHeaderSize);
    if (!header_bytes.ok()) {
      if (absl::IsOutOfRange(header_bytes.status())) break;
      return header_bytes.status();
    }
    auto header = ParseBatchHeader(*header_bytes);
    if (!header.ok()) break;
    uint64_t total = header->total_size();
    if (position + total > log_size || header->base_offset < next_offset_ ||
        header->last_offset_delta < 0 || header->record_count < 0 ||
        header->last_offset() - base_offset_ > std::numeric_limits<int32_t>::max()) {
      break;
    }
    // The CRC covers everything from the attributes to the end of the batch, read in bounded
    // pieces.
    uint32_t crc = 0;
    uint64_t at = position + layout::kAttributes;
    uint64_t end = position + total;
    bool readable = true;
    while (at < end) {
      size_t piece = size_t(std::min<uint64_t>(end - at, kScanBufferBytes));
      auto bytes = reader.Peek(at, piece);
      if (!bytes.ok()) {
        if (!absl::IsOutOfRange(bytes.status())) return bytes.status();
        readable = false;
        break;
      }
      crc = Crc32cExtend(crc, *bytes);
      at += piece;
    }
    if (!readable || crc != header->crc) break;
    if (offset_index_.full() || time_index_.full()) break;  // cannot happen for files we wrote
    IndexBatch(*header, position);
    position += total;
  }
  readable_size_ = size_ = position;
  readable_next_offset_ = next_offset_;
  if (position < log_size) {
    report->bytes_truncated = log_size - position;
    if (absl::Status s = file_->BlockingTruncate(position); !s.ok()) return s;
    if (absl::Status s = file_->BlockingDatasync(); !s.ok()) return s;
  }
  return absl::OkStatus();
}

namespace {

// Header visits read this much at a time and parse every header that lies within it, so a lookup
// that walks many small batches costs one read, not one per batch.
constexpr size_t kVisitChunkBytes = 4096;
// Scans through the mapping prefetch at most this much ahead (a bound for odd index intervals).
constexpr uint64_t kMappedPrefetchBytesMax = 16 << 10;

// The state of one VisitHeaders call. It owns itself: it deletes itself after calling `done`.
struct HeaderVisit {
  std::shared_ptr<Segment> segment;
  uint64_t position;
  uint64_t limit;
  Segment::HeaderVisitor visit;
  absl::AnyInvocable<void(absl::StatusOr<uint64_t>)> done;
  uint8_t buffer[kVisitChunkBytes];
  uint64_t buffer_start = 0;
  size_t buffer_size = 0;
  absl::StatusOr<size_t> result = size_t{0};
  bool submitting = false;
  bool completed_inline = false;
};

void FinishVisit(HeaderVisit* op, absl::StatusOr<uint64_t> result) {
  auto done = std::move(op->done);
  delete op;
  done(std::move(result));
}

// Visits the headers the buffer holds. Returns true when more must be read (at op->position),
// false when the visit is over (and `op` deleted).
bool VisitBuffered(HeaderVisit* op) {
  for (;;) {
    if (op->position + layout::kHeaderSize > op->limit) {
      FinishVisit(op, op->position);
      return false;
    }
    if (op->position < op->buffer_start ||
        op->position + layout::kHeaderSize > op->buffer_start + op->buffer_size) {
      return true;
    }
    auto header = ParseBatchHeader(absl::MakeConstSpan(
        op->buffer + (op->position - op->buffer_start), layout::kHeaderSize));
    if (!header.ok()) {
      FinishVisit(op, absl::DataLossError(absl::StrCat(
                          "bad batch header at position ", op->position, " of ",
                          op->segment->log_path(), ": ", header.status().message())));
      return false;
    }
    if (op->position + header->total_size() > op->limit || !op->visit(*header, op->position)) {
      FinishVisit(op, op->position);
      return false;
    }
    op->position += header->total_size();
  }
}

// Takes a completed read into the buffer; false when the visit is over (and `op` deleted).
bool HandleRead(HeaderVisit* op) {
  if (!op->result.ok()) {
    FinishVisit(op, op->result.status());
    return false;
  }
  if (*op->result < layout::kHeaderSize) {
    FinishVisit(op, absl::DataLossError(absl::StrCat("batch header at position ", op->position,
                                                     " of ", op->segment->log_path(),
                                                     " cut short")));
    return false;
  }
  op->buffer_start = op->position;
  op->buffer_size = *op->result;
  return VisitBuffered(op);
}

void RunVisit(HeaderVisit* op) {
  // Reads may complete inline (POSIX) or later (io_uring): loop while they complete inline, and
  // resume from the callback otherwise, so the stack never grows with the number of reads.
  if (!VisitBuffered(op)) return;
  for (;;) {
    size_t length = size_t(std::min<uint64_t>(kVisitChunkBytes, op->limit - op->position));
    op->submitting = true;
    op->completed_inline = false;
    op->segment->file().Read(op->position, absl::MakeSpan(op->buffer, length),
                             [op](absl::StatusOr<size_t> n) {
                               op->result = std::move(n);
                               if (op->submitting) {
                                 op->completed_inline = true;
                                 return;
                               }
                               if (HandleRead(op)) RunVisit(op);
                             });
    op->submitting = false;
    if (!op->completed_inline) return;
    if (!HandleRead(op)) return;
  }
}

// Visits the headers in `bytes` (the mapped file) from `position` up to `limit`, as VisitBuffered.
// `prefetch_bytes`: how far from `position` the scan is expected to go.
absl::StatusOr<uint64_t> VisitMapped(const uint8_t* bytes, uint64_t position, uint64_t limit,
                                     uint64_t prefetch_bytes, Segment::HeaderVisitor& visit,
                                     const std::string& path) {
  // Each header's position comes from the one before it, so a cold scan would wait for one cache
  // miss after another. Asking for the cache lines it will cross all at once overlaps the misses.
  constexpr uint64_t kCacheLineBytes = 64;
  uint64_t prefetch_end = std::min(limit, position + prefetch_bytes);
  for (uint64_t line = position; line < prefetch_end; line += kCacheLineBytes) {
    __builtin_prefetch(bytes + line);
  }
  while (position + layout::kHeaderSize <= limit) {
    auto header = ParseBatchHeader(absl::MakeConstSpan(bytes + position, layout::kHeaderSize));
    if (!header.ok()) {
      return absl::DataLossError(absl::StrCat("bad batch header at position ", position, " of ",
                                              path, ": ", header.status().message()));
    }
    if (position + header->total_size() > limit || !visit(*header, position)) break;
    position += header->total_size();
  }
  return position;
}

}  // namespace

const uint8_t* Segment::MappedUpTo(uint64_t limit) {
  // Only bytes whose writes completed, in a file no truncation is cutting: the mapping never
  // touches a page past the end of the file.
  if (sealed_ || truncating_ || map_failed_ || limit > readable_size_ || file_->fd() < 0) {
    return nullptr;
  }
  if (mapping_.size() < limit) {
    // Mapped once for the whole segment.bytes (address space only; pages come from the page
    // cache as they are touched), so the growing file needs no remapping.
    auto region = MappedRegion::Map(file_->fd(), std::max(limit, map_length_));
    if (!region.ok()) {
      map_failed_ = true;
      return nullptr;
    }
    mapping_ = std::move(*region);
  }
  return mapping_.data();
}

void Segment::VisitHeaders(uint64_t position, uint64_t limit, HeaderVisitor visit,
                           absl::AnyInvocable<void(absl::StatusOr<uint64_t>)> done) {
  if (auto first = recent_.IndexOf(position)) {
    // `visit` or `done` may drop the log's reference to this segment: keep it alive until both ran.
    std::shared_ptr<Segment> self = shared_from_this();
    for (size_t i = *first; i < recent_.size(); ++i) {
      const RecentBatches::Entry& entry = recent_.at(i);
      if (entry.position + layout::kHeaderSize > limit ||
          entry.position + entry.header.total_size() > limit || !visit(entry.header, entry.position)) {
        return done(entry.position);
      }
      position = entry.position + entry.header.total_size();
    }
    // Past the newest batch reserved: nothing more can lie within `limit` (<= size()).
    if (position + layout::kHeaderSize > limit) return done(position);
  }
  if (const uint8_t* bytes = MappedUpTo(limit)) {
    // `visit` or `done` may drop the log's reference to this segment: keep it alive until both ran.
    std::shared_ptr<Segment> self = shared_from_this();
    // A lookup scans from an index entry to the batch it wants: within about index.interval.bytes.
    uint64_t prefetch_bytes = std::min<uint64_t>(
        uint64_t(index_interval_bytes_) + layout::kHeaderSize, kMappedPrefetchBytesMax);
    done(VisitMapped(bytes, position, limit, prefetch_bytes, visit, log_path_));
    return;
  }
  auto* op = new HeaderVisit{shared_from_this(), position, limit, std::move(visit), std::move(done)};
  RunVisit(op);
}

}  // namespace ringbroker::storage
