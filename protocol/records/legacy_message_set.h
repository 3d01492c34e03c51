// Legacy message sets (message format v0 and v1, Kafka before 0.11): reading, validation and
// conversion to a v2 record batch. Old clients (Produce v0-v2) send these; the broker stores v2
// only, so it converts them on the way in.
//
// Views point into the caller's bytes (or, during ForEachLegacyRecord, into a decompressed
// buffer that lives only for the callback) and never read outside them.
//
// Errors: as in record_batch.h; a CRC mismatch is DataLoss, and a message cut short at the end
// of the set is OutOfRange (fetch responses may end that way; produce requests must not).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "protocol/records/compression.h"
#include "protocol/records/record_batch.h"

namespace ringbroker::protocol {

namespace legacy_layout {
inline constexpr size_t kOffset = 0;       // int64
inline constexpr size_t kMessageSize = 8;  // int32: bytes after this field
inline constexpr size_t kCrc = 12;         // uint32, CRC-32 (IEEE) of [kMagic, end)
inline constexpr size_t kMagic = 16;       // int8: 0 or 1
inline constexpr size_t kAttributes = 17;  // int8
inline constexpr size_t kTimestamp = 18;   // int64, magic 1 only
inline constexpr size_t kLogOverhead = 12;
// Smallest messages: crc, magic, attributes, [timestamp,] key length, value length.
inline constexpr size_t kMessageSizeMinV0 = 4 + 1 + 1 + 4 + 4;
inline constexpr size_t kMessageSizeMinV1 = kMessageSizeMinV0 + 8;
inline constexpr int8_t kCompressionMask = 0x07;         // 0 none, 1 gzip, 2 snappy, 3 lz4
inline constexpr int8_t kTimestampLogAppendTime = 0x08;  // magic 1 only
}  // namespace legacy_layout

struct LegacyMessageView {
  int64_t offset = 0;
  int8_t magic = 0;
  int8_t attributes = 0;
  int64_t timestamp = -1;  // -1 (no timestamp) for magic 0
  uint32_t crc = 0;
  NullableBytes key;
  NullableBytes value;
  absl::Span<const uint8_t> bytes;  // the whole entry, offset and size fields included

  int compression() const { return attributes & legacy_layout::kCompressionMask; }
  bool log_append_time() const {
    return magic >= 1 && (attributes & legacy_layout::kTimestampLogAppendTime);
  }
};

// Reads the top-level messages of a message set, checking each one's size, magic and CRC.
// Wrapper messages are returned as they are; ForEachLegacyRecord looks inside them.
class LegacyMessageSetReader {
 public:
  explicit LegacyMessageSetReader(absl::Span<const uint8_t> message_set) : rest_(message_set) {}

  bool Done() const { return rest_.empty() || !status_.ok(); }
  // The next message or an error; after an error every call fails the same way.
  absl::StatusOr<LegacyMessageView> Next();

 private:
  absl::Span<const uint8_t> rest_;
  absl::Status status_;
};

// One record as a consumer sees it: inner messages of wrappers with their absolute offsets and
// effective timestamps.
struct LegacyRecord {
  int64_t offset = 0;
  int8_t magic = 0;
  int64_t timestamp = -1;
  bool log_append_time = false;
  NullableBytes key;
  NullableBytes value;
};

// Calls `fn` for every record of the set in order, unpacking compressed wrappers (one level, as
// Kafka allows; LZ4 under magic 0 without its broken header checksum check). Each wrapper's
// decompressed inner set is bounded by `decompressed_bytes_max`. Inner messages must be
// uncompressed and of the wrapper's magic, and a wrapper must hold at least one. Stops at the
// first error, including one `fn` returns. The record's views are valid only during the call.
absl::Status ForEachLegacyRecord(absl::Span<const uint8_t> message_set,
                                 size_t decompressed_bytes_max,
                                 absl::FunctionRef<absl::Status(const LegacyRecord&)> fn);

// The whole-set check the broker does on a legacy produce: every message and inner message well
// formed with a good CRC, no message cut short, and at least one record.
absl::Status ValidateLegacyMessageSet(absl::Span<const uint8_t> message_set,
                                      size_t decompressed_bytes_max);

struct LegacyConversionOptions {
  Compression compression = Compression::kNone;  // of the v2 batch written
  size_t decompressed_bytes_max = size_t(64) << 20;
  // Bound on the v2 batch's uncompressed records.
  size_t records_bytes_max = size_t(64) << 20;
};

// Converts a whole legacy message set into one v2 batch (validating it as
// ValidateLegacyMessageSet does). Records keep their keys, values and timestamps (-1 under
// magic 0); they get consecutive offset deltas from the first record's offset, since the broker
// assigns offsets on append anyway. The batch is log-append-time if the first record is, and
// carries no producer id.
absl::StatusOr<std::vector<uint8_t>> ConvertLegacyMessageSet(
    absl::Span<const uint8_t> message_set, const LegacyConversionOptions& options = {});

// Builds a legacy message set of `records` (their offsets, keys, values and, for magic 1,
// timestamps), wrapped in one compressed message when `compression` is not kNone. For tests
// and tools: the broker itself never writes legacy formats.
absl::StatusOr<std::vector<uint8_t>> BuildLegacyMessageSet(int8_t magic, Compression compression,
                                                           absl::Span<const LegacyRecord> records);

}  // namespace ringbroker::protocol
