// The SSE4.2 path of CRC-32C. Only these functions are compiled for SSE4.2 (target attribute),
// and they run only after crc32c_internal::HardwareAvailable() said the CPU has it.
//
// The crc32 instruction has a latency of about three cycles but can start one per cycle, so one
// dependency chain leaves two thirds of the unit idle. Long inputs are therefore cut into blocks
// of three equal stripes whose CRCs run as three independent chains; the stripe CRCs are then
// joined using the linearity of CRC: crc(A||B) = shift_len(B)(crc(A)) ^ crc0(B), where shift is
// the register advanced over len(B) zero bytes (a fixed GF(2) matrix, applied by table lookup).
#include <cstring>

#include "protocol/records/crc32c.h"
#include "protocol/records/crc32c_tables.h"

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace ringbroker::protocol::crc32c_internal {

#if defined(__x86_64__)

namespace {

// Stripe lengths; both powers of two so their shift operators come from repeated squaring.
constexpr int kLongLog2 = 12;  // 4 KiB stripes, 12 KiB blocks
constexpr int kShortLog2 = 8;  // 256-byte stripes, 768-byte blocks
constexpr size_t kLong = size_t(1) << kLongLog2;
constexpr size_t kShort = size_t(1) << kShortLog2;
constexpr ShiftTables kLongShift = MakeShiftTables(kLongLog2);
constexpr ShiftTables kShortShift = MakeShiftTables(kShortLog2);

inline uint64_t Load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Consumes whole blocks of three `stripe`-byte stripes; returns the updated register.
__attribute__((target("sse4.2"))) uint32_t StripedBlocks(uint32_t r, const uint8_t*& p, size_t& n,
                                                         size_t stripe, const ShiftTables& shift) {
  while (n >= 3 * stripe) {
    uint64_t a = r, b = 0, c = 0;
    const uint8_t* pa = p;
    const uint8_t* pb = p + stripe;
    const uint8_t* pc = p + 2 * stripe;
    for (size_t i = 0; i < stripe; i += 8) {
      a = _mm_crc32_u64(a, Load64(pa + i));
      b = _mm_crc32_u64(b, Load64(pb + i));
      c = _mm_crc32_u64(c, Load64(pc + i));
    }
    r = Shift(shift, Shift(shift, uint32_t(a)) ^ uint32_t(b)) ^ uint32_t(c);
    p += 3 * stripe;
    n -= 3 * stripe;
  }
  return r;
}

}  // namespace

__attribute__((target("sse4.2"))) uint32_t ExtendHardware(uint32_t crc, const uint8_t* p,
                                                          size_t n) {
  uint32_t r = ~crc;
  // Align so the 8-byte loads below do not straddle cache lines needlessly.
  while (n > 0 && (reinterpret_cast<uintptr_t>(p) & 7) != 0) {
    r = _mm_crc32_u8(r, *p++);
    --n;
  }
  r = StripedBlocks(r, p, n, kLong, kLongShift);
  r = StripedBlocks(r, p, n, kShort, kShortShift);
  uint64_t r64 = r;
  while (n >= 8) {
    r64 = _mm_crc32_u64(r64, Load64(p));
    p += 8;
    n -= 8;
  }
  r = uint32_t(r64);
  while (n > 0) {
    r = _mm_crc32_u8(r, *p++);
    --n;
  }
  return ~r;
}

#else  // !__x86_64__

uint32_t ExtendHardware(uint32_t crc, const uint8_t* p, size_t n) {
  return ExtendPortable(crc, p, n);
}

#endif

}  // namespace ringbroker::protocol::crc32c_internal
