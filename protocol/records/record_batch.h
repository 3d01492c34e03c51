// Zero-copy reading and validation of v2 record batches (magic 2).
//
// Every view here points into bytes owned by someone else and is valid only while those bytes
// are: a RecordBatchView while the span it was parsed from lives; a RecordView (and its key,
// value and headers) while the batch bytes live, or, for a compressed batch, while the
// DecodedRecords that decompressed it lives. Nothing here reads outside the spans it is given,
// whatever the bytes hold.
//
// Errors: InvalidArgument for malformed bytes, DataLoss for a CRC mismatch, OutOfRange for a
// batch cut short (more bytes would be needed), ResourceExhausted for a decompression bound hit,
// Unimplemented for an undefined compression codec.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "protocol/records/batch_header.h"
#include "protocol/records/compression.h"

namespace ringbroker::protocol {

// A Kafka nullable bytes field: nullopt is null (length -1), an empty span is empty.
using NullableBytes = std::optional<absl::Span<const uint8_t>>;

inline std::string_view AsStringView(absl::Span<const uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}
inline absl::Span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

struct RecordHeaderView {
  std::string_view key;  // Kafka header keys are non-null strings
  NullableBytes value;
};

// The headers of one record, decoded as they are iterated. Only RecordReader makes these, after
// checking the whole header section, so iteration needs no error path.
class RecordHeaders {
 public:
  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = RecordHeaderView;
    using difference_type = std::ptrdiff_t;
    using pointer = const RecordHeaderView*;
    using reference = const RecordHeaderView&;

    iterator() = default;
    const RecordHeaderView& operator*() const { return current_; }
    const RecordHeaderView* operator->() const { return &current_; }
    iterator& operator++();
    iterator operator++(int) {
      iterator old = *this;
      ++*this;
      return old;
    }
    bool operator==(const iterator& other) const { return left_ == other.left_; }

   private:
    friend class RecordHeaders;
    iterator(absl::Span<const uint8_t> rest, int32_t left);
    void Decode();
    absl::Span<const uint8_t> rest_;
    int32_t left_ = 0;
    RecordHeaderView current_;
  };

  RecordHeaders() = default;
  int32_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  iterator begin() const { return iterator(bytes_, count_); }
  iterator end() const { return iterator(); }
  // The encoded headers (after the count varint).
  absl::Span<const uint8_t> bytes() const { return bytes_; }

 private:
  friend class RecordReader;
  RecordHeaders(absl::Span<const uint8_t> bytes, int32_t count) : bytes_(bytes), count_(count) {}
  absl::Span<const uint8_t> bytes_;
  int32_t count_ = 0;
};

// One record of a batch.
struct RecordView {
  int8_t attributes = 0;  // unused by Kafka so far
  int64_t timestamp_delta = 0;
  int32_t offset_delta = 0;
  NullableBytes key;
  NullableBytes value;
  RecordHeaders headers;
  absl::Span<const uint8_t> bytes;  // the whole record, its length varint included
};

// Reads the records section of a batch: exactly `record_count` records that fill `records`.
// Next() checks each record fully (varints, lengths, headers) before returning it.
class RecordReader {
 public:
  RecordReader(absl::Span<const uint8_t> records, int32_t record_count);

  // True once all declared records were read or a read failed.
  bool Done() const { return left_ <= 0 || !status_.ok(); }
  // The next record, or an error (also after Done()). After an error every call fails the same way.
  absl::StatusOr<RecordView> Next();
  // OK only if every declared record was read and no bytes remain after the last.
  absl::Status Finish() const;

 private:
  absl::Span<const uint8_t> rest_;
  int32_t left_;
  absl::Status status_;
};

// The records of one batch ready to read: in place for an uncompressed batch, or in a buffer this
// object owns for a compressed one. Move-only; moving keeps the readers' views valid.
class DecodedRecords {
 public:
  DecodedRecords(DecodedRecords&&) = default;
  DecodedRecords& operator=(DecodedRecords&&) = default;
  DecodedRecords(const DecodedRecords&) = delete;
  DecodedRecords& operator=(const DecodedRecords&) = delete;

  // A fresh reader over the records; each call starts from the first record.
  RecordReader reader() const { return RecordReader(records_, record_count_); }
  // The uncompressed records section.
  absl::Span<const uint8_t> bytes() const { return records_; }

 private:
  friend class RecordBatchView;
  DecodedRecords(std::vector<uint8_t> owned, absl::Span<const uint8_t> records, int32_t count)
      : owned_(std::move(owned)), records_(records), record_count_(count) {}
  std::vector<uint8_t> owned_;  // empty for an uncompressed batch
  absl::Span<const uint8_t> records_;
  int32_t record_count_;
};

// CRC-32C of a batch's bytes from the attributes field to the end of the batch. `batch` must hold
// at least header.total_size() bytes (Parse/ParseBatchHeader establish that).
uint32_t ComputeBatchCrc(const BatchHeader& header, absl::Span<const uint8_t> batch);

// Checks the stored CRC against the bytes. Same precondition as ComputeBatchCrc, checked here:
// too few bytes is OutOfRange.
absl::Status VerifyBatchCrc(absl::Span<const uint8_t> batch);

// A v2 batch in a caller's buffer. Cheap to copy; valid while that buffer lives.
class RecordBatchView {
 public:
  // Parses the header and checks that `bytes` holds the whole batch (OutOfRange if not). The
  // view covers header.total_size() bytes; bytes after the batch are not part of it. Does not
  // verify the CRC nor look at the records.
  static absl::StatusOr<RecordBatchView> Parse(absl::Span<const uint8_t> bytes);

  const BatchHeader& header() const { return header_; }
  absl::Span<const uint8_t> bytes() const { return bytes_; }
  // Everything after the 61-byte header: the records, compressed or not.
  absl::Span<const uint8_t> records_section() const {
    return bytes_.subspan(batch_layout::kHeaderSize);
  }
  absl::Status VerifyCrc() const { return VerifyBatchCrc(bytes_); }

  // Reads the records in place; FailedPrecondition for a compressed batch (use Decode).
  absl::StatusOr<RecordReader> records() const;

  // Decompresses a compressed batch (output bounded by `decompressed_bytes_max`); an uncompressed
  // batch is not copied.
  absl::StatusOr<DecodedRecords> Decode(size_t decompressed_bytes_max) const;

 private:
  RecordBatchView(const BatchHeader& header, absl::Span<const uint8_t> bytes)
      : header_(header), bytes_(bytes) {}
  BatchHeader header_;
  absl::Span<const uint8_t> bytes_;
};

// The timestamp of a record: the batch's maxTimestamp for log-append-time batches, otherwise
// baseTimestamp + timestampDelta (wrapping, as Java's long arithmetic does).
int64_t RecordTimestamp(const BatchHeader& header, const RecordView& record);

// Control batches carry one control record whose key is {version: int16, type: int16}.
enum class ControlRecordType : int16_t { kAbort = 0, kCommit = 1 };

// Parses a control record key. Types other than abort and commit (KRaft uses more) are returned
// as their numeric value.
absl::StatusOr<ControlRecordType> ParseControlRecordKey(const NullableBytes& key);

struct BatchValidationOptions {
  // Bound on the decompressed records section of a compressed batch.
  size_t decompressed_bytes_max = size_t(64) << 20;
  // What producers must send: record i has offsetDelta i and lastOffsetDelta is count - 1.
  // Batches thinned by compaction may have gaps; read those with this off.
  bool require_contiguous_offsets = true;
  // Producers must not send empty batches; compaction may leave them in the log.
  bool allow_empty = false;
};

// What validation learned on the way, for the broker's later checks.
struct BatchSummary {
  BatchHeader header;
  int64_t max_record_timestamp = -1;  // largest record timestamp, -1 with no records
  bool has_null_key = false;          // compacted topics reject these
  size_t records_bytes = 0;           // size of the (decompressed) records section
};

// Full validation of one v2 batch, as the broker does on produce: `batch` must be exactly one
// batch (no bytes before or after it), the CRC must match, the compression codec must be known,
// every record must be well formed (varints, lengths, headers, nothing overrunning its record or
// the batch), the number of records must equal recordCount and they must fill the batch exactly,
// offset deltas must increase and stay within lastOffsetDelta, and control batches must carry
// control record keys.
absl::StatusOr<BatchSummary> ValidateBatch(absl::Span<const uint8_t> batch,
                                           const BatchValidationOptions& options = {});

}  // namespace ringbroker::protocol
