// Helpers for storage tests: builds small but valid v2 record batches (header, records, CRC32C)
// without depending on protocol/records' builder. Test-only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "protocol/records/batch_header.h"
#include "storage/crc.h"

namespace ringbroker::storage::testing {

struct TestRecord {
  std::optional<std::string> key;
  std::optional<std::string> value;  // nullopt: a tombstone
};

inline void PutVarlong(std::vector<uint8_t>& out, int64_t v) {
  uint64_t z = (uint64_t(v) << 1) ^ uint64_t(v >> 63);
  while (z >= 0x80) {
    out.push_back(uint8_t(z) | 0x80);
    z >>= 7;
  }
  out.push_back(uint8_t(z));
}

// A batch of `records` with base offset 0 (the log assigns it), all records at `timestamp`.
inline std::vector<uint8_t> MakeBatch(const std::vector<TestRecord>& records, int64_t timestamp) {
  namespace layout = protocol::batch_layout;
  std::vector<uint8_t> out(layout::kHeaderSize, 0);
  for (size_t i = 0; i < records.size(); ++i) {
    std::vector<uint8_t> body;
    body.push_back(0);      // attributes
    PutVarlong(body, 0);    // timestamp delta
    PutVarlong(body, int64_t(i));  // offset delta
    const auto& r = records[i];
    if (r.key) {
      PutVarlong(body, int64_t(r.key->size()));
      body.insert(body.end(), r.key->begin(), r.key->end());
    } else {
      PutVarlong(body, -1);
    }
    if (r.value) {
      PutVarlong(body, int64_t(r.value->size()));
      body.insert(body.end(), r.value->begin(), r.value->end());
    } else {
      PutVarlong(body, -1);
    }
    PutVarlong(body, 0);  // headers
    PutVarlong(out, int64_t(body.size()));
    out.insert(out.end(), body.begin(), body.end());
  }
  uint8_t* p = out.data();
  protocol::StoreBigEndian32(p + layout::kBatchLength, uint32_t(out.size() - layout::kLogOverhead));
  protocol::StoreBigEndian32(p + layout::kPartitionLeaderEpoch, uint32_t(-1));
  p[layout::kMagic] = 2;
  protocol::StoreBigEndian32(p + layout::kLastOffsetDelta, uint32_t(records.size() - 1));
  protocol::StoreBigEndian64(p + layout::kBaseTimestamp, uint64_t(timestamp));
  protocol::StoreBigEndian64(p + layout::kMaxTimestamp, uint64_t(timestamp));
  protocol::StoreBigEndian64(p + layout::kProducerId, uint64_t(-1));
  p[layout::kProducerEpoch] = 0xff;
  p[layout::kProducerEpoch + 1] = 0xff;
  protocol::StoreBigEndian32(p + layout::kBaseSequence, uint32_t(-1));
  protocol::StoreBigEndian32(p + layout::kRecordCount, uint32_t(records.size()));
  uint32_t crc = Crc32c(absl::MakeConstSpan(out).subspan(layout::kAttributes));
  protocol::StoreBigEndian32(p + layout::kCrc, crc);
  return out;
}

// `count` records with distinct keys "k<i>" and `value_bytes`-byte values.
inline std::vector<uint8_t> MakeSimpleBatch(int count, size_t value_bytes, int64_t timestamp,
                                            char fill = 'v') {
  std::vector<TestRecord> records;
  for (int i = 0; i < count; ++i) {
    // StrCat, not "k" + to_string: GCC 12 at -O3 warns (-Wrestrict) about the latter.
    records.push_back(TestRecord{absl::StrCat("k", i), std::string(value_bytes, fill)});
  }
  return MakeBatch(records, timestamp);
}

}  // namespace ringbroker::storage::testing
