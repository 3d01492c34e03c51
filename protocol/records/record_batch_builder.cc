#include "protocol/records/record_batch_builder.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "protocol/records/varint.h"

namespace ringbroker::protocol {

using records::AppendVarint;
using records::AppendVarlong;
using records::VarintSize;
using records::VarlongSize;

namespace {

constexpr size_t kFieldBytesMax = size_t(std::numeric_limits<int32_t>::max());

size_t NullableSize(const NullableBytes& b) {
  return b.has_value() ? VarintSize(int32_t(b->size())) + b->size() : VarintSize(-1);
}

void AppendNullable(std::vector<uint8_t>& out, const NullableBytes& b) {
  if (!b.has_value()) {
    AppendVarint(out, -1);
    return;
  }
  AppendVarint(out, int32_t(b->size()));
  out.insert(out.end(), b->begin(), b->end());
}

}  // namespace

RecordBatchBuilder::RecordBatchBuilder(const RecordBatchOptions& options) : options_(options) {
  buffer_.resize(batch_layout::kHeaderSize);
}

absl::Status RecordBatchBuilder::Add(const RecordInput& record) {
  int32_t offset_delta = record.offset_delta.value_or(last_offset_delta_ + 1);
  if (offset_delta <= last_offset_delta_) {
    return absl::InvalidArgumentError(
        absl::StrCat("offset delta ", offset_delta, " does not follow ", last_offset_delta_));
  }
  if (record_count_ == std::numeric_limits<int32_t>::max()) {
    return absl::ResourceExhaustedError("too many records");
  }
  auto too_long = [](const NullableBytes& b) {
    return b.has_value() && b->size() > kFieldBytesMax;
  };
  if (too_long(record.key) || too_long(record.value) || record.headers.size() > kFieldBytesMax) {
    return absl::InvalidArgumentError("record field longer than 2 GiB");
  }
  int64_t base = record_count_ == 0 ? record.timestamp : base_timestamp_;
  int64_t timestamp_delta = int64_t(uint64_t(record.timestamp) - uint64_t(base));

  // Size the body first, so the length varint can be written ahead of it without a copy.
  size_t body = 1 + VarlongSize(timestamp_delta) + VarintSize(offset_delta) +
                NullableSize(record.key) + NullableSize(record.value) +
                VarintSize(int32_t(record.headers.size()));
  for (const RecordHeaderInput& h : record.headers) {
    if (h.key.size() > kFieldBytesMax || too_long(h.value)) {
      return absl::InvalidArgumentError("record header longer than 2 GiB");
    }
    body += VarintSize(int32_t(h.key.size())) + h.key.size() + NullableSize(h.value);
  }
  if (body > kFieldBytesMax) return absl::InvalidArgumentError("record longer than 2 GiB");
  size_t total = VarintSize(int32_t(body)) + body;
  if (total > options_.records_bytes_max - std::min(options_.records_bytes_max, records_bytes())) {
    return absl::ResourceExhaustedError(
        absl::StrCat("records would exceed ", options_.records_bytes_max, " bytes"));
  }

  size_t start = buffer_.size();
  buffer_.reserve(start + total);
  AppendVarint(buffer_, int32_t(body));
  buffer_.push_back(0);  // record attributes: unused
  AppendVarlong(buffer_, timestamp_delta);
  AppendVarint(buffer_, offset_delta);
  AppendNullable(buffer_, record.key);
  AppendNullable(buffer_, record.value);
  AppendVarint(buffer_, int32_t(record.headers.size()));
  for (const RecordHeaderInput& h : record.headers) {
    AppendVarint(buffer_, int32_t(h.key.size()));
    buffer_.insert(buffer_.end(), h.key.begin(), h.key.end());
    AppendNullable(buffer_, h.value);
  }

  if (record_count_ == 0) {
    base_timestamp_ = record.timestamp;
    max_timestamp_ = record.timestamp;
  } else {
    max_timestamp_ = std::max(max_timestamp_, record.timestamp);
  }
  ++record_count_;
  last_offset_delta_ = offset_delta;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<uint8_t>> RecordBatchBuilder::Build() {
  std::vector<uint8_t> batch;
  if (options_.compression == Compression::kNone) {
    batch = std::move(buffer_);
  } else {
    absl::StatusOr<std::vector<uint8_t>> packed = Compress(
        options_.compression, absl::MakeConstSpan(buffer_).subspan(batch_layout::kHeaderSize));
    if (!packed.ok()) return packed.status();
    batch.reserve(batch_layout::kHeaderSize + packed->size());
    batch.resize(batch_layout::kHeaderSize);
    batch.insert(batch.end(), packed->begin(), packed->end());
  }
  if (batch.size() - batch_layout::kLogOverhead > kFieldBytesMax) {
    return absl::InvalidArgumentError("batch longer than 2 GiB");
  }

  BatchHeader h;
  h.base_offset = options_.base_offset;
  h.batch_length = int32_t(batch.size() - batch_layout::kLogOverhead);
  h.partition_leader_epoch = options_.partition_leader_epoch;
  h.magic = 2;
  h.attributes =
      int16_t(int(options_.compression) |
              (options_.log_append_time ? batch_attributes::kTimestampLogAppendTime : 0) |
              (options_.transactional ? batch_attributes::kTransactional : 0) |
              (options_.control ? batch_attributes::kControl : 0));
  h.last_offset_delta = std::max(last_offset_delta_, 0);
  h.base_timestamp = base_timestamp_;
  h.max_timestamp = options_.max_timestamp_override.value_or(max_timestamp_);
  h.producer_id = options_.producer_id;
  h.producer_epoch = options_.producer_epoch;
  h.base_sequence = options_.base_sequence;
  h.record_count = record_count_;
  WriteBatchHeader(h, batch.data());
  StoreBigEndian32(batch.data() + batch_layout::kCrc, ComputeBatchCrc(h, batch));

  buffer_.assign(batch_layout::kHeaderSize, 0);
  record_count_ = 0;
  last_offset_delta_ = -1;
  base_timestamp_ = -1;
  max_timestamp_ = -1;
  return batch;
}

absl::StatusOr<std::vector<uint8_t>> BuildControlBatch(RecordBatchOptions options,
                                                       ControlRecordType type,
                                                       int32_t coordinator_epoch,
                                                       int64_t timestamp) {
  options.control = true;
  options.transactional = true;
  uint8_t key[4];
  StoreBigEndian16(key, 0);
  StoreBigEndian16(key + 2, uint16_t(type));
  uint8_t value[6];
  StoreBigEndian16(value, 0);
  StoreBigEndian32(value + 2, uint32_t(coordinator_epoch));
  RecordBatchBuilder builder(options);
  absl::Status added = builder.Add({.timestamp = timestamp,
                                    .key = absl::MakeConstSpan(key),
                                    .value = absl::MakeConstSpan(value)});
  if (!added.ok()) return added;
  return builder.Build();
}

}  // namespace ringbroker::protocol
