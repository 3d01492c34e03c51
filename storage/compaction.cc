#include "storage/compaction.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "protocol/records/batch_header.h"
#include "protocol/records/compression.h"
#include "storage/crc.h"
#include "storage/format.h"

namespace ringbroker::storage {

using protocol::BatchHeader;
namespace layout = protocol::batch_layout;

namespace {

// Batches larger than this are copied through in pieces without being parsed.
constexpr size_t kParsedBatchBytesMax = 16 << 20;
constexpr size_t kCopyPieceBytes = 1 << 20;

// A zigzag varint (records' encoding); nullopt when malformed or past `end`.
std::optional<int64_t> ReadVarlong(const uint8_t*& p, const uint8_t* end) {
  uint64_t value = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (p == end) return std::nullopt;
    uint8_t byte = *p++;
    value |= uint64_t(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return int64_t((value >> 1) ^ (~(value & 1) + 1));
  }
  return std::nullopt;
}

struct RecordView {
  const uint8_t* begin;  // the length prefix
  size_t size;           // prefix included
  int64_t offset_delta;
  std::optional<std::string_view> key;
  bool tombstone;
};

// Splits the records of an uncompressed batch (bytes after the header). False when malformed.
bool ParseRecords(absl::Span<const uint8_t> body, int32_t count, std::vector<RecordView>& out) {
  const uint8_t* p = body.data();
  const uint8_t* end = p + body.size();
  for (int32_t i = 0; i < count; ++i) {
    const uint8_t* begin = p;
    auto length = ReadVarlong(p, end);
    if (!length || *length < 0 || *length > end - p) return false;
    const uint8_t* record_end = p + *length;
    if (p == record_end) return false;
    ++p;  // attributes
    auto timestamp_delta = ReadVarlong(p, record_end);
    auto offset_delta = ReadVarlong(p, record_end);
    auto key_length = ReadVarlong(p, record_end);
    if (!timestamp_delta || !offset_delta || !key_length || *key_length < -1 ||
        *key_length > record_end - p) {
      return false;
    }
    std::optional<std::string_view> key;
    if (*key_length >= 0) {
      key = std::string_view(reinterpret_cast<const char*>(p), size_t(*key_length));
      p += *key_length;
    }
    auto value_length = ReadVarlong(p, record_end);
    if (!value_length) return false;
    out.push_back(RecordView{begin, size_t(record_end - begin), *offset_delta, key,
                             *value_length < 0});
    p = record_end;
  }
  return p == end;
}

// Compressed batches are opened, cleaned and compressed again with their own codec, as Kafka's
// cleaner does; control and transactional batches (no transactions here yet) are kept whole.
bool Cleanable(const BatchHeader& h) {
  return !h.is_control() && !h.is_transactional() && h.record_count > 0 &&
         protocol::CompressionFromId(h.compression()).ok();
}

// The records section of a whole batch: the bytes after its header, decompressed into `scratch`
// when the batch is compressed. An error (corrupt or oversized data) means: copy the batch as it is.
absl::StatusOr<absl::Span<const uint8_t>> RecordsSection(const BatchHeader& h, absl::Span<const uint8_t> batch,
                                                         std::vector<uint8_t>& scratch) {
  absl::Span<const uint8_t> section = batch.subspan(layout::kHeaderSize);
  if (h.compression() == 0) return section;
  auto codec = protocol::CompressionFromId(h.compression());
  if (!codec.ok()) return codec.status();
  auto plain = protocol::Decompress(*codec, section, kParsedBatchBytesMax);
  if (!plain.ok()) return plain.status();
  scratch = *std::move(plain);
  return absl::MakeConstSpan(scratch);
}

std::string CleanedPath(const std::string& dir, int64_t base, const char* suffix) {
  return absl::StrCat(dir, "/", format::SegmentBaseName(base), suffix, format::kCleanedSuffix);
}

}  // namespace

CompactionJob::CompactionJob(FileSystem& fs, std::string dir, LogConfig config, int64_t now_ms,
                             std::vector<std::shared_ptr<Segment>> segments)
    : fs_(fs), dir_(std::move(dir)), config_(config), now_ms_(now_ms) {
  for (auto& segment : segments) {
    uint64_t size = segment->size();
    int64_t base = segment->base_offset();
    inputs_.push_back(Input{std::move(segment), base, size});
  }
  if (inputs_.empty()) phase_ = Phase::kDone;
}

CompactionJob::~CompactionJob() {
  out_.reset();
  // Whatever was not installed is removed; after a successful install nothing is left.
  for (size_t i = 0; i < inputs_.size(); ++i) {
    for (const char* suffix :
         {format::kLogSuffix, format::kOffsetIndexSuffix, format::kTimeIndexSuffix}) {
      std::string path = CleanedPath(dir_, inputs_[i].base_offset, suffix);
      if (fs_.Exists(path)) (void)fs_.Remove(path);
    }
  }
}

void CompactionJob::Fail(absl::Status status) {
  status_ = std::move(status);
  phase_ = Phase::kDone;
}

bool CompactionJob::Step(size_t bytes_budget) {
  size_t spent = 0;
  while (phase_ != Phase::kDone && spent < bytes_budget) {
    if (current_ >= (phase_ == Phase::kMap ? inputs_.size() : mapped_inputs_)) {
      if (phase_ == Phase::kMap) {
        phase_ = Phase::kClean;
        current_ = 0;
        position_ = 0;
        continue;
      }
      phase_ = Phase::kDone;
      break;
    }
    Input& input = inputs_[current_];
    if (phase_ == Phase::kMap) {
      if (position_ == 0 && latest_.size() >= kKeysMax) {
        // The map is full: clean what it covers, leave the rest for a later job.
        current_ = inputs_.size();
        continue;
      }
      if (position_ >= input.size) {
        mapped_inputs_ = current_ + 1;
        ++current_;
        position_ = 0;
        continue;
      }
      if (absl::Status s = MapBatch(input, position_, spent); !s.ok()) Fail(s);
    } else {
      if (position_ == 0 && !out_) {
        if (absl::Status s = StartOutput(input); !s.ok()) {
          Fail(s);
          break;
        }
      }
      if (position_ >= input.size) {
        if (absl::Status s = FinishOutput(input); !s.ok()) {
          Fail(s);
          break;
        }
        ++current_;
        position_ = 0;
        continue;
      }
      if (absl::Status s = CleanBatch(input, position_, spent); !s.ok()) Fail(s);
    }
  }
  return phase_ == Phase::kDone;
}

absl::Status CompactionJob::MapBatch(Input& input, uint64_t& position, size_t& spent) {
  uint8_t header_bytes[layout::kHeaderSize];
  auto n = input.segment->shared_file()->BlockingRead(position, absl::MakeSpan(header_bytes));
  if (!n.ok()) return n.status();
  auto header = protocol::ParseBatchHeader(absl::MakeConstSpan(header_bytes, *n));
  if (!header.ok() || position + header->total_size() > input.size) {
    return absl::DataLossError(absl::StrCat("compaction: bad batch at position ", position, " of ",
                                            input.segment->log_path()));
  }
  size_t total = header->total_size();
  if (Cleanable(*header) && total <= kParsedBatchBytesMax) {
    buffer_.resize(total);
    auto got = input.segment->shared_file()->BlockingRead(position, absl::MakeSpan(buffer_));
    if (!got.ok()) return got.status();
    if (*got != total) return absl::DataLossError("compaction: segment shrank while mapping");
    std::vector<RecordView> records;
    auto section = RecordsSection(*header, buffer_, plain_);
    if (section.ok() && ParseRecords(*section, header->record_count, records)) {
      for (const RecordView& r : records) {
        if (!r.key) continue;
        int64_t offset = header->base_offset + r.offset_delta;
        auto [it, inserted] = latest_.try_emplace(std::string(*r.key), offset);
        if (!inserted) it->second = std::max(it->second, offset);
      }
    }
  }
  spent += total;
  position += total;
  return absl::OkStatus();
}

absl::Status CompactionJob::StartOutput(const Input& input) {
  auto file = fs_.Open(CleanedPath(dir_, input.base_offset, format::kLogSuffix), OpenMode::kCreate);
  if (!file.ok()) return file.status();
  if ((*file)->size() != 0) {
    if (absl::Status s = (*file)->BlockingTruncate(0); !s.ok()) return s;
  }
  out_ = std::move(*file);
  out_size_ = 0;
  size_t entries = size_t(std::max<int64_t>(1, config_.segment_index_bytes));
  out_index_ = std::make_unique<OffsetIndex>(input.base_offset,
                                             entries / format::kOffsetIndexEntrySize);
  out_times_ = std::make_unique<TimeIndex>(input.base_offset, entries / format::kTimeIndexEntrySize);
  out_bytes_since_index_ = 0;
  out_max_timestamp_ = -1;
  return absl::OkStatus();
}

absl::Status CompactionJob::CleanBatch(Input& input, uint64_t& position, size_t& spent) {
  File& in = *input.segment->shared_file();
  uint8_t header_bytes[layout::kHeaderSize];
  auto n = in.BlockingRead(position, absl::MakeSpan(header_bytes));
  if (!n.ok()) return n.status();
  auto header = protocol::ParseBatchHeader(absl::MakeConstSpan(header_bytes, *n));
  if (!header.ok() || position + header->total_size() > input.size) {
    return absl::DataLossError(absl::StrCat("compaction: bad batch at position ", position, " of ",
                                            input.segment->log_path()));
  }
  size_t total = header->total_size();
  spent += total;
  position += total;
  uint64_t batch_start = position - total;

  std::vector<uint8_t> cleaned;
  bool copy_through = !Cleanable(*header) || total > kParsedBatchBytesMax;
  if (!copy_through) {
    buffer_.resize(total);
    auto got = in.BlockingRead(batch_start, absl::MakeSpan(buffer_));
    if (!got.ok()) return got.status();
    if (*got != total) return absl::DataLossError("compaction: segment shrank while cleaning");
    std::vector<RecordView> records;
    auto section = RecordsSection(*header, buffer_, plain_);
    if (!section.ok() || !ParseRecords(*section, header->record_count, records)) {
      copy_through = true;
    } else {
      bool horizon_passed = now_ms_ - header->max_timestamp > config_.delete_retention_ms;
      std::vector<const RecordView*> kept;
      for (const RecordView& r : records) {
        bool keep = true;
        if (r.key) {
          auto it = latest_.find(absl::string_view(r.key->data(), r.key->size()));
          int64_t offset = header->base_offset + r.offset_delta;
          if (it != latest_.end() && it->second > offset) keep = false;
          if (keep && r.tombstone && horizon_passed) keep = false;
        }
        if (keep) kept.push_back(&r);
      }
      records_removed_ += records.size() - kept.size();
      if (kept.empty()) return absl::OkStatus();  // the whole batch goes
      if (kept.size() == records.size()) {
        cleaned = std::move(buffer_);
        buffer_.clear();
      } else {
        // Same header (base offset, lastOffsetDelta, timestamps, producer fields, codec) over
        // the surviving records, compressed again when the batch was.
        cleaned.assign(buffer_.begin(), buffer_.begin() + layout::kHeaderSize);
        std::vector<uint8_t> survivors;
        for (const RecordView* r : kept) survivors.insert(survivors.end(), r->begin, r->begin + r->size);
        if (header->compression() == 0) {
          cleaned.insert(cleaned.end(), survivors.begin(), survivors.end());
        } else {
          auto compressed = protocol::Compress(*protocol::CompressionFromId(header->compression()), survivors);
          if (!compressed.ok()) return compressed.status();
          cleaned.insert(cleaned.end(), compressed->begin(), compressed->end());
        }
        uint8_t* p = cleaned.data();
        protocol::StoreBigEndian32(p + layout::kBatchLength,
                                   uint32_t(cleaned.size() - layout::kLogOverhead));
        protocol::StoreBigEndian32(p + layout::kRecordCount, uint32_t(kept.size()));
        protocol::StoreBigEndian32(
            p + layout::kCrc, Crc32c(absl::MakeConstSpan(cleaned).subspan(layout::kAttributes)));
      }
    }
  }

  uint64_t out_position = out_size_;
  if (copy_through) {
    std::vector<uint8_t> piece;
    for (uint64_t done = 0; done < total;) {
      piece.resize(std::min<uint64_t>(kCopyPieceBytes, total - done));
      auto got = in.BlockingRead(batch_start + done, absl::MakeSpan(piece));
      if (!got.ok()) return got.status();
      if (*got != piece.size()) return absl::DataLossError("compaction: segment shrank");
      if (absl::Status s = out_->BlockingWrite(out_size_ + done, piece); !s.ok()) return s;
      done += piece.size();
    }
    out_size_ += total;
  } else {
    if (absl::Status s = out_->BlockingWrite(out_size_, cleaned); !s.ok()) return s;
    out_size_ += cleaned.size();
  }
  // The same indexing rule as Segment, so the cleaned segment looks like one the log wrote.
  if (out_bytes_since_index_ > uint64_t(config_.index_interval_bytes) && !out_index_->full()) {
    out_index_->Append(header->base_offset, uint32_t(out_position));
    out_times_->MaybeAppend(out_max_timestamp_, header->base_offset);
    out_bytes_since_index_ = 0;
  }
  out_bytes_since_index_ += out_size_ - out_position;
  out_max_timestamp_ = std::max(out_max_timestamp_, header->max_timestamp);
  return absl::OkStatus();
}

absl::Status CompactionJob::FinishOutput(const Input& input) {
  if (absl::Status s = out_->BlockingDatasync(); !s.ok()) return s;
  out_.reset();
  struct IndexFile {
    const char* suffix;
    std::vector<uint8_t> bytes;
  };
  for (const IndexFile& f : {IndexFile{format::kOffsetIndexSuffix, out_index_->Encode()},
                       IndexFile{format::kTimeIndexSuffix, out_times_->Encode()}}) {
    auto file = fs_.Open(CleanedPath(dir_, input.base_offset, f.suffix), OpenMode::kCreate);
    if (!file.ok()) return file.status();
    if (absl::Status s = (*file)->BlockingTruncate(0); !s.ok()) return s;
    if (absl::Status s = (*file)->BlockingWrite(0, f.bytes); !s.ok()) return s;
    if (absl::Status s = (*file)->BlockingDatasync(); !s.ok()) return s;
  }
  outputs_.push_back(Output{input.segment, input.size});
  return absl::OkStatus();
}

}  // namespace ringbroker::storage
