// Builds v2 record batches (magic 2) with the CRC set, compressed with any Kafka codec.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "protocol/records/batch_header.h"
#include "protocol/records/compression.h"
#include "protocol/records/record_batch.h"

namespace ringbroker::protocol {

struct RecordBatchOptions {
  Compression compression = Compression::kNone;
  int64_t base_offset = 0;
  int32_t partition_leader_epoch = -1;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t base_sequence = -1;
  bool transactional = false;
  bool control = false;
  // Log-append-time batches carry the append time in maxTimestamp; set max_timestamp_override.
  bool log_append_time = false;
  std::optional<int64_t> max_timestamp_override;
  // Bound on the uncompressed records section; Add fails beyond it.
  size_t records_bytes_max = size_t(64) << 20;
};

struct RecordHeaderInput {
  std::string_view key;
  NullableBytes value;
};

// One record to add. The spans need only live until Add returns: Add copies them.
struct RecordInput {
  int64_t timestamp = -1;
  NullableBytes key;
  NullableBytes value;
  absl::Span<const RecordHeaderInput> headers;
  // By default record i gets offsetDelta i. Explicit deltas must increase strictly.
  std::optional<int32_t> offset_delta;
};

// Accumulates records, then Build() writes the batch. baseTimestamp is the first record's
// timestamp and maxTimestamp the largest (unless overridden), as Kafka producers set them.
// Move-only: it owns the growing records buffer.
class RecordBatchBuilder {
 public:
  explicit RecordBatchBuilder(const RecordBatchOptions& options);
  RecordBatchBuilder(RecordBatchBuilder&&) = default;
  RecordBatchBuilder& operator=(RecordBatchBuilder&&) = default;
  RecordBatchBuilder(const RecordBatchBuilder&) = delete;
  RecordBatchBuilder& operator=(const RecordBatchBuilder&) = delete;

  // Appends one record. InvalidArgument for a non-increasing offset delta or a field over 2 GiB;
  // ResourceExhausted past records_bytes_max. On error the builder is unchanged.
  absl::Status Add(const RecordInput& record);

  int32_t record_count() const { return record_count_; }
  // Uncompressed size of the records added so far.
  size_t records_bytes() const { return buffer_.size() - batch_layout::kHeaderSize; }

  // Writes the finished batch. The builder is left empty and ready for another batch with the
  // same options.
  absl::StatusOr<std::vector<uint8_t>> Build();

 private:
  RecordBatchOptions options_;
  // The records, after kHeaderSize bytes reserved so an uncompressed batch needs no copy.
  std::vector<uint8_t> buffer_;
  int32_t record_count_ = 0;
  int32_t last_offset_delta_ = -1;
  int64_t base_timestamp_ = -1;
  int64_t max_timestamp_ = -1;
};

// A transaction marker: a control batch with one record whose key is {0, type} and whose value is
// {version 0, coordinator_epoch}. `options` supplies the producer fields; it is made
// transactional and control here.
absl::StatusOr<std::vector<uint8_t>> BuildControlBatch(RecordBatchOptions options,
                                                       ControlRecordType type,
                                                       int32_t coordinator_epoch,
                                                       int64_t timestamp);

}  // namespace ringbroker::protocol
