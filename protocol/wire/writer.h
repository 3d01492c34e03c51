// Writer: encodes Kafka's wire primitives by appending to a growable byte buffer.
//
// Encoding cannot fail on well-formed input, so the writer has no error state. Values that
// cannot be represented (a classic string over 32767 bytes) are programmer errors and abort,
// because writing a wrong length would silently corrupt the stream for the peer.
//
// Typical use: Writer w; w.Reserve(msg.EncodedSize(v)); msg.Encode(w, v); send(w.data()).
// The buffer may be handed in (to reuse its capacity or to append after a frame prefix that
// is patched later with PatchInt32) and taken back with Release().
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/types/span.h"
#include "protocol/wire/types.h"

namespace ringbroker::protocol::wire {

class Writer {
 public:
  Writer() = default;
  // Appends after whatever `buffer` already holds.
  explicit Writer(std::vector<uint8_t> buffer) : buf_(std::move(buffer)) {}
  Writer(Writer&&) = default;
  Writer& operator=(Writer&&) = default;
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  void Reserve(size_t bytes) { buf_.reserve(buf_.size() + bytes); }
  size_t size() const { return buf_.size(); }
  absl::Span<const uint8_t> data() const { return buf_; }
  std::vector<uint8_t> Release() { return std::exchange(buf_, {}); }

  void Int8(int8_t v) { buf_.push_back(static_cast<uint8_t>(v)); }
  void Int16(int16_t v) { Fixed(static_cast<uint16_t>(v)); }
  void Int32(int32_t v) { Fixed(static_cast<uint32_t>(v)); }
  void Int64(int64_t v) { Fixed(static_cast<uint64_t>(v)); }
  void Uint16(uint16_t v) { Fixed(v); }
  void Uint32(uint32_t v) { Fixed(v); }
  void Float64(double v) { Fixed(std::bit_cast<uint64_t>(v)); }
  void Bool(bool v) { buf_.push_back(v ? 1 : 0); }
  void WriteUuid(const Uuid& id) { Raw(id.bytes); }

  void Uvarint(uint32_t v) { Uvarlong(v); }
  void Uvarlong(uint64_t v) {
    while (v >= 0x80) {
      buf_.push_back(static_cast<uint8_t>(v) | 0x80);
      v >>= 7;
    }
    buf_.push_back(static_cast<uint8_t>(v));
  }
  void Varint(int32_t v) { Uvarint((static_cast<uint32_t>(v) << 1) ^ static_cast<uint32_t>(v >> 31)); }
  void Varlong(int64_t v) {
    Uvarlong((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
  }

  void Raw(absl::Span<const uint8_t> bytes) { buf_.insert(buf_.end(), bytes.begin(), bytes.end()); }
  // Overwrites 4 bytes written earlier (a frame size, once the frame is complete).
  void PatchInt32(size_t offset, int32_t v);

  void String(std::string_view s, bool flexible);
  // A null written where the version does not allow null (`nullable` false) goes out as the
  // empty string; Kafka's Java client would throw instead. See protocol/README.md.
  void NullableString(const std::optional<std::string_view>& s, bool flexible, bool nullable);
  void WriteBytes(Bytes b, bool flexible);
  void NullableBytes(const std::optional<Bytes>& b, bool flexible, bool nullable);

  // Zero-copy sends. A `bytes` or `records` value whose data pointer lies inside
  // [base, base + size) is not copied: its length prefix is written, and the writer notes where
  // its bytes belong, so that the caller can send them from their real source (a file range
  // spliced to the socket) between the pieces of data(). The range is only compared with, never
  // read: callers pass address tokens that stand for data kept elsewhere.
  struct Deferred {
    size_t position;  // in data(), where the bytes would have started
    Bytes bytes;      // the token span the message held
  };
  void DeferBytesWithin(const void* base, size_t size) {
    defer_begin_ = reinterpret_cast<uintptr_t>(base);
    defer_end_ = defer_begin_ + size;
  }
  const std::vector<Deferred>& deferred() const { return deferred_; }
  void ArrayLength(size_t count, bool flexible);
  // Null array (or, when the version does not allow null, an empty one).
  void NullArray(bool flexible, bool nullable);

 private:
  template <typename T>
  void Fixed(T v) {
    for (size_t i = sizeof(T); i-- > 0;) buf_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  void Length(int64_t length, bool flexible, bool int32_classic);

  std::vector<uint8_t> buf_;
  uintptr_t defer_begin_ = 0;
  uintptr_t defer_end_ = 0;
  std::vector<Deferred> deferred_;
};

// Encoded sizes, mirroring the Writer, for EncodedSize().
inline constexpr size_t UvarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}
inline constexpr size_t StringSize(std::string_view s, bool flexible) {
  return (flexible ? UvarintSize(s.size() + 1) : 2) + s.size();
}
inline constexpr size_t NullableStringSize(const std::optional<std::string_view>& s,
                                           bool flexible) {
  return s ? StringSize(*s, flexible) : (flexible ? 1 : 2);
}
inline constexpr size_t BytesSize(Bytes b, bool flexible) {
  return (flexible ? UvarintSize(b.size() + 1) : 4) + b.size();
}
inline constexpr size_t NullableBytesSize(const std::optional<Bytes>& b, bool flexible) {
  return b ? BytesSize(*b, flexible) : (flexible ? 1 : 4);
}
inline constexpr size_t ArrayLengthSize(size_t count, bool flexible) {
  return flexible ? UvarintSize(count + 1) : 4;
}
inline constexpr size_t NullArraySize(bool flexible) { return flexible ? 1 : 4; }

}  // namespace ringbroker::protocol::wire
