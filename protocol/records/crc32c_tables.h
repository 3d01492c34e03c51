// Compile-time tables for CRC-32C, shared by the portable and the SSE4.2 implementations.
// Internal to crc32c*.cc.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace ringbroker::protocol::crc32c_internal {

// The reflected Castagnoli polynomial.
inline constexpr uint32_t kPolynomial = 0x82F63B78;

// Slicing-by-8 tables: kSlice[0][b] advances the CRC register over byte b; kSlice[k][b] over
// byte b followed by k zero bytes.
inline constexpr std::array<std::array<uint32_t, 256>, 8> MakeSliceTables() {
  std::array<std::array<uint32_t, 256>, 8> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t r = i;
    for (int bit = 0; bit < 8; ++bit) r = (r >> 1) ^ ((r & 1) ? kPolynomial : 0);
    t[0][i] = r;
  }
  for (size_t k = 1; k < 8; ++k) {
    for (size_t i = 0; i < 256; ++i) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xff];
  }
  return t;
}
inline constexpr auto kSlice = MakeSliceTables();

// The CRC register update is linear over GF(2): advancing a register over `n` zero bytes is a
// 32x32 bit matrix, stored here as its 32 columns (column i = image of register bit i).
using Gf2Matrix = std::array<uint32_t, 32>;

inline constexpr uint32_t Apply(const Gf2Matrix& m, uint32_t v) {
  uint32_t r = 0;
  for (int i = 0; v != 0; ++i, v >>= 1) {
    if (v & 1) r ^= m[size_t(i)];
  }
  return r;
}

inline constexpr Gf2Matrix Multiply(const Gf2Matrix& a, const Gf2Matrix& b) {
  Gf2Matrix r{};
  for (size_t i = 0; i < 32; ++i) r[i] = Apply(a, b[i]);
  return r;
}

// Matrix that advances the register over 2^log2_bits zero bits.
inline constexpr Gf2Matrix ZeroBitsOperator(int log2_bits) {
  Gf2Matrix m{};
  m[0] = kPolynomial;  // one zero bit: r' = (r >> 1) ^ (r & 1 ? P : 0)
  for (size_t i = 1; i < 32; ++i) m[i] = uint32_t(1) << (i - 1);
  for (int k = 0; k < log2_bits; ++k) m = Multiply(m, m);
  return m;
}

// Byte-indexed tables for one zero-run operator: shift(r) = t[0][r & 0xff] ^ ... ^ t[3][r >> 24].
using ShiftTables = std::array<std::array<uint32_t, 256>, 4>;

inline constexpr ShiftTables MakeShiftTables(int log2_bytes) {
  Gf2Matrix m = ZeroBitsOperator(log2_bytes + 3);
  ShiftTables t{};
  for (size_t k = 0; k < 4; ++k) {
    for (uint32_t v = 0; v < 256; ++v) t[k][v] = Apply(m, v << (8 * k));
  }
  return t;
}

inline uint32_t Shift(const ShiftTables& t, uint32_t r) {
  return t[0][r & 0xff] ^ t[1][(r >> 8) & 0xff] ^ t[2][(r >> 16) & 0xff] ^ t[3][r >> 24];
}

}  // namespace ringbroker::protocol::crc32c_internal
