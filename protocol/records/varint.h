// Zigzag varints as record batches (magic 2) use them: the protobuf base-128 encoding of
// zigzag-mapped signed integers, at most 5 bytes for 32-bit values and 10 for 64-bit ones.
// protocol/wire/ has its own copy for the request codec; records keep this small one so the
// record-batch library depends on nothing else in protocol/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/types/span.h"

namespace ringbroker::protocol::records {

inline constexpr size_t kVarint32BytesMax = 5;
inline constexpr size_t kVarint64BytesMax = 10;

inline constexpr uint32_t ZigZagEncode32(int32_t v) {
  return (uint32_t(v) << 1) ^ uint32_t(v >> 31);
}
inline constexpr int32_t ZigZagDecode32(uint32_t v) { return int32_t((v >> 1) ^ (~(v & 1) + 1)); }
inline constexpr uint64_t ZigZagEncode64(int64_t v) {
  return (uint64_t(v) << 1) ^ uint64_t(v >> 63);
}
inline constexpr int64_t ZigZagDecode64(uint64_t v) { return int64_t((v >> 1) ^ (~(v & 1) + 1)); }

// Number of bytes the unsigned varint encoding of `v` takes.
inline constexpr size_t UnsignedVarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}
inline constexpr size_t VarintSize(int32_t v) { return UnsignedVarintSize(ZigZagEncode32(v)); }
inline constexpr size_t VarlongSize(int64_t v) { return UnsignedVarintSize(ZigZagEncode64(v)); }

inline void AppendUnsignedVarint(std::vector<uint8_t>& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(uint8_t(v) | 0x80);
    v >>= 7;
  }
  out.push_back(uint8_t(v));
}
inline void AppendVarint(std::vector<uint8_t>& out, int32_t v) {
  AppendUnsignedVarint(out, ZigZagEncode32(v));
}
inline void AppendVarlong(std::vector<uint8_t>& out, int64_t v) {
  AppendUnsignedVarint(out, ZigZagEncode64(v));
}

// A bounds-checked cursor over a byte span. After the first failed read it is inert: every later
// read fails too and returns zero/empty, so a decoder can read a whole structure and check ok()
// once at the end. It never reads outside the span it was given; the views it returns point into
// that span and stay valid as long as the span's owner keeps the bytes alive.
class ByteReader {
 public:
  explicit ByteReader(absl::Span<const uint8_t> bytes)
      : p_(bytes.data()), end_(p_ + bytes.size()) {}

  bool ok() const { return ok_; }
  size_t remaining() const { return ok_ ? size_t(end_ - p_) : 0; }
  const uint8_t* position() const { return p_; }

  // Varints of more than 5 (10) bytes, or whose last byte carries bits beyond 32 (64), are
  // malformed.
  int32_t ReadVarint() {
    uint64_t v = ReadUnsigned(kVarint32BytesMax, 32);
    return ZigZagDecode32(uint32_t(v));
  }
  int64_t ReadVarlong() { return ZigZagDecode64(ReadUnsigned(kVarint64BytesMax, 64)); }

  int8_t ReadInt8() {
    if (!Need(1)) return 0;
    return int8_t(*p_++);
  }
  int16_t ReadInt16() {
    if (!Need(2)) return 0;
    int16_t v = int16_t(uint16_t(p_[0]) << 8 | p_[1]);
    p_ += 2;
    return v;
  }
  int32_t ReadInt32() {
    if (!Need(4)) return 0;
    uint32_t v = uint32_t(p_[0]) << 24 | uint32_t(p_[1]) << 16 | uint32_t(p_[2]) << 8 | p_[3];
    p_ += 4;
    return int32_t(v);
  }
  int64_t ReadInt64() {
    uint64_t hi = uint32_t(ReadInt32());
    uint64_t lo = uint32_t(ReadInt32());
    return int64_t(hi << 32 | lo);
  }

  // Returns the next `n` bytes, or fails.
  absl::Span<const uint8_t> ReadBytes(size_t n) {
    if (!Need(n)) return {};
    absl::Span<const uint8_t> s(p_, n);
    p_ += n;
    return s;
  }

  // A length-prefixed nullable byte field: length -1 means null, other negative lengths fail.
  std::optional<absl::Span<const uint8_t>> ReadNullableBytes(int64_t length) {
    if (length == -1) return std::nullopt;
    if (length < 0) {
      Fail();
      return std::nullopt;
    }
    return ReadBytes(size_t(length));
  }

  void Fail() { ok_ = false; }

 private:
  bool Need(size_t n) {
    if (!ok_ || size_t(end_ - p_) < n) {
      ok_ = false;
      return false;
    }
    return true;
  }

  uint64_t ReadUnsigned(size_t bytes_max, unsigned value_bits) {
    uint64_t v = 0;
    for (size_t i = 0; i < bytes_max; ++i) {
      if (!Need(1)) return 0;
      uint8_t b = *p_++;
      unsigned shift = unsigned(7 * i);
      if (i + 1 == bytes_max && (uint64_t(b) >> (value_bits - shift)) != 0) break;  // bits overflow
      v |= uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    ok_ = false;
    return 0;
  }

  const uint8_t* p_;
  const uint8_t* end_;
  bool ok_ = true;
};

}  // namespace ringbroker::protocol::records
