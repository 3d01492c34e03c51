// CRC32C for checking record batches during recovery. Uses protocol/records' implementation when
// that library is part of the build (RINGBROKER_STORAGE_PROTOCOL_CRC), else a small table-driven one.
#pragma once

#include <cstdint>

#include "absl/types/span.h"

namespace ringbroker::storage {

// Crc32cExtend(Crc32cExtend(0, a), b) == CRC32C of a followed by b.
uint32_t Crc32cExtend(uint32_t crc, absl::Span<const uint8_t> data);
inline uint32_t Crc32c(absl::Span<const uint8_t> data) { return Crc32cExtend(0, data); }

}  // namespace ringbroker::storage
