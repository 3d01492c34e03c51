#include "protocol/records/crc32c.h"

#include "protocol/records/crc32c_tables.h"

namespace ringbroker::protocol {
namespace crc32c_internal {

namespace {
inline uint32_t LoadLittleEndian32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
}  // namespace

uint32_t ExtendPortable(uint32_t crc, const uint8_t* p, size_t n) {
  const auto& t = kSlice;
  uint32_t r = ~crc;
  // Byte at a time until 8 bytes remain in whole words; alignment does not matter for byte loads.
  while (n >= 8) {
    uint32_t lo = LoadLittleEndian32(p) ^ r;
    uint32_t hi = LoadLittleEndian32(p + 4);
    r = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^
        t[3][hi & 0xff] ^ t[2][(hi >> 8) & 0xff] ^ t[1][(hi >> 16) & 0xff] ^ t[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n > 0) {
    r = (r >> 8) ^ t[0][(r ^ *p) & 0xff];
    ++p;
    --n;
  }
  return ~r;
}

bool HardwareAvailable() {
#if defined(__x86_64__) || defined(__i386__)
  static const bool available = __builtin_cpu_supports("sse4.2");
  return available;
#else
  return false;
#endif
}

}  // namespace crc32c_internal

uint32_t Crc32cExtend(uint32_t crc, absl::Span<const uint8_t> data) {
  using Fn = uint32_t (*)(uint32_t, const uint8_t*, size_t);
  static const Fn fn = crc32c_internal::HardwareAvailable() ? &crc32c_internal::ExtendHardware
                                                            : &crc32c_internal::ExtendPortable;
  return fn(crc, data.data(), data.size());
}

}  // namespace ringbroker::protocol
