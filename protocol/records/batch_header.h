// The fixed 61-byte header of a v2 record batch (magic 2), as Kafka lays it on the wire and on disk.
// This header is the contract between protocol/ and storage/: storage reads and patches batch
// headers through it and never parses records itself.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace ringbroker::protocol {

// Byte offsets of the header fields. All integers are big-endian.
namespace batch_layout {
inline constexpr size_t kBaseOffset = 0;             // int64
inline constexpr size_t kBatchLength = 8;            // int32: bytes after this field
inline constexpr size_t kPartitionLeaderEpoch = 12;  // int32
inline constexpr size_t kMagic = 16;                 // int8
inline constexpr size_t kCrc = 17;                   // uint32, CRC32C of [kAttributes, end)
inline constexpr size_t kAttributes = 21;            // int16
inline constexpr size_t kLastOffsetDelta = 23;       // int32
inline constexpr size_t kBaseTimestamp = 27;         // int64
inline constexpr size_t kMaxTimestamp = 35;          // int64
inline constexpr size_t kProducerId = 43;            // int64
inline constexpr size_t kProducerEpoch = 51;         // int16
inline constexpr size_t kBaseSequence = 53;          // int32
inline constexpr size_t kRecordCount = 57;           // int32
inline constexpr size_t kHeaderSize = 61;
// baseOffset and batchLength precede the part that batchLength counts.
inline constexpr size_t kLogOverhead = 12;
}  // namespace batch_layout

// Attribute bits (int16 attributes field).
namespace batch_attributes {
inline constexpr int16_t kCompressionMask = 0x07;  // 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd
inline constexpr int16_t kTimestampLogAppendTime = 0x08;
inline constexpr int16_t kTransactional = 0x10;
inline constexpr int16_t kControl = 0x20;
inline constexpr int16_t kDeleteHorizon = 0x40;
}  // namespace batch_attributes

inline uint16_t LoadBigEndian16(const uint8_t* p) { return uint16_t(p[0]) << 8 | uint16_t(p[1]); }
inline uint32_t LoadBigEndian32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}
inline uint64_t LoadBigEndian64(const uint8_t* p) {
  return uint64_t(LoadBigEndian32(p)) << 32 | LoadBigEndian32(p + 4);
}
inline void StoreBigEndian16(uint8_t* p, uint16_t v) {
  p[0] = uint8_t(v >> 8); p[1] = uint8_t(v);
}
inline void StoreBigEndian32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24); p[1] = uint8_t(v >> 16); p[2] = uint8_t(v >> 8); p[3] = uint8_t(v);
}
inline void StoreBigEndian64(uint8_t* p, uint64_t v) {
  StoreBigEndian32(p, uint32_t(v >> 32));
  StoreBigEndian32(p + 4, uint32_t(v));
}

// The decoded header of one batch. A plain value: it does not point into the buffer it came from.
struct BatchHeader {
  int64_t base_offset = 0;
  int32_t batch_length = 0;  // bytes after the batchLength field; total size is this + kLogOverhead
  int32_t partition_leader_epoch = -1;
  int8_t magic = 2;
  uint32_t crc = 0;
  int16_t attributes = 0;
  int32_t last_offset_delta = 0;
  int64_t base_timestamp = -1;
  int64_t max_timestamp = -1;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t base_sequence = -1;
  int32_t record_count = 0;

  size_t total_size() const { return size_t(batch_length) + batch_layout::kLogOverhead; }
  int64_t last_offset() const { return base_offset + last_offset_delta; }
  int compression() const { return attributes & batch_attributes::kCompressionMask; }
  bool is_control() const { return attributes & batch_attributes::kControl; }
  bool is_transactional() const { return attributes & batch_attributes::kTransactional; }
};

// Decodes the header at the start of `bytes`. Checks only what the header itself can show:
// enough bytes for a header, magic 2, and a batchLength that covers at least the header.
// It does not check the CRC (see VerifyBatchCrc in record_batch.h) nor that the whole batch
// is present: callers compare total_size() with what they hold.
inline absl::StatusOr<BatchHeader> ParseBatchHeader(absl::Span<const uint8_t> bytes) {
  using namespace batch_layout;
  if (bytes.size() < kHeaderSize) return absl::OutOfRangeError("record batch header truncated");
  const uint8_t* p = bytes.data();
  BatchHeader h;
  h.magic = int8_t(p[kMagic]);
  if (h.magic != 2) return absl::InvalidArgumentError("record batch magic is not 2");
  h.base_offset = int64_t(LoadBigEndian64(p + kBaseOffset));
  h.batch_length = int32_t(LoadBigEndian32(p + kBatchLength));
  if (h.batch_length < int32_t(kHeaderSize - kLogOverhead)) {
    return absl::InvalidArgumentError("record batch length shorter than its header");
  }
  h.partition_leader_epoch = int32_t(LoadBigEndian32(p + kPartitionLeaderEpoch));
  h.crc = LoadBigEndian32(p + kCrc);
  h.attributes = int16_t(LoadBigEndian16(p + kAttributes));
  h.last_offset_delta = int32_t(LoadBigEndian32(p + kLastOffsetDelta));
  h.base_timestamp = int64_t(LoadBigEndian64(p + kBaseTimestamp));
  h.max_timestamp = int64_t(LoadBigEndian64(p + kMaxTimestamp));
  h.producer_id = int64_t(LoadBigEndian64(p + kProducerId));
  h.producer_epoch = int16_t(LoadBigEndian16(p + kProducerEpoch));
  h.base_sequence = int32_t(LoadBigEndian32(p + kBaseSequence));
  h.record_count = int32_t(LoadBigEndian32(p + kRecordCount));
  return h;
}

// Writes `h` as the first kHeaderSize bytes at `out`, exactly as given (magic included; the CRC
// is whatever h.crc holds: record_batch.h's ComputeBatchCrc computes the right one once the
// records follow the header).
inline void WriteBatchHeader(const BatchHeader& h, uint8_t* out) {
  using namespace batch_layout;
  StoreBigEndian64(out + kBaseOffset, uint64_t(h.base_offset));
  StoreBigEndian32(out + kBatchLength, uint32_t(h.batch_length));
  StoreBigEndian32(out + kPartitionLeaderEpoch, uint32_t(h.partition_leader_epoch));
  out[kMagic] = uint8_t(h.magic);
  StoreBigEndian32(out + kCrc, h.crc);
  StoreBigEndian16(out + kAttributes, uint16_t(h.attributes));
  StoreBigEndian32(out + kLastOffsetDelta, uint32_t(h.last_offset_delta));
  StoreBigEndian64(out + kBaseTimestamp, uint64_t(h.base_timestamp));
  StoreBigEndian64(out + kMaxTimestamp, uint64_t(h.max_timestamp));
  StoreBigEndian64(out + kProducerId, uint64_t(h.producer_id));
  StoreBigEndian16(out + kProducerEpoch, uint16_t(h.producer_epoch));
  StoreBigEndian32(out + kBaseSequence, uint32_t(h.base_sequence));
  StoreBigEndian32(out + kRecordCount, uint32_t(h.record_count));
}

// Patches the fields the log leader assigns. Neither is covered by the CRC, so the batch stays
// valid and no byte past the first 16 is touched.
inline void PatchBaseOffset(uint8_t* batch, int64_t base_offset) {
  StoreBigEndian64(batch + batch_layout::kBaseOffset, uint64_t(base_offset));
}
inline void PatchPartitionLeaderEpoch(uint8_t* batch, int32_t epoch) {
  StoreBigEndian32(batch + batch_layout::kPartitionLeaderEpoch, uint32_t(epoch));
}

}  // namespace ringbroker::protocol
