// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of v2 record batches.
// The SSE4.2 crc32 instruction computes it at several bytes per cycle; other CPUs use a portable
// slicing-by-8 table. The choice is made once, at first use, from what the running CPU supports,
// so the build itself needs no -msse4.2.
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/types/span.h"

namespace ringbroker::protocol {

// Returns the CRC of `data` continued from `crc`, the CRC of the bytes before it:
// Crc32cExtend(Crc32c(a), b) == Crc32c(a + b). Crc32cExtend(0, data) == Crc32c(data).
uint32_t Crc32cExtend(uint32_t crc, absl::Span<const uint8_t> data);

inline uint32_t Crc32c(absl::Span<const uint8_t> data) { return Crc32cExtend(0, data); }

namespace crc32c_internal {
// Both implementations, exposed so tests can compare them and benchmarks can time them.
uint32_t ExtendPortable(uint32_t crc, const uint8_t* data, size_t size);
// Must only be called when HardwareAvailable() is true.
uint32_t ExtendHardware(uint32_t crc, const uint8_t* data, size_t size);
bool HardwareAvailable();
}  // namespace crc32c_internal

}  // namespace ringbroker::protocol
