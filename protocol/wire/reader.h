// Reader: bounds-checked decoding of Kafka's wire primitives from one frame.
//
// The reader never reads outside the span it was given. After its first failure it goes inert
// (franz-go's kbin style): every later read returns a zero value and consumes nothing, so a
// generated decoder reads all its fields without checking and asks status() once at the end.
// Length prefixes (strings, bytes, arrays, tagged fields) are validated against the bytes that
// remain before anything is allocated, so a lying length costs no memory.
//
// Views returned by the reader (string_view, Bytes) point into the frame and are valid as long
// as the frame buffer is; the reader itself holds no ownership.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

#include "absl/base/optimization.h"
#include "absl/status/status.h"
#include "absl/types/span.h"
#include "protocol/wire/types.h"

namespace ringbroker::protocol::wire {

inline constexpr size_t kVarint32BytesMax = 5;
inline constexpr size_t kVarint64BytesMax = 10;

class Reader {
 public:
  explicit Reader(absl::Span<const uint8_t> frame) : data_(frame.data()), size_(frame.size()) {}

  bool ok() const { return failure_ == nullptr; }
  // OkStatus, or InvalidArgument naming the first failure and the byte offset it happened at.
  absl::Status status() const;
  // Records a failure (the first one wins) and makes the reader inert.
  void Fail(const char* reason);

  size_t position() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }
  // The unread part of the frame (empty once failed).
  absl::Span<const uint8_t> rest() const { return {data_ + pos_, remaining()}; }

  // Fixed-width big-endian integers, as Kafka writes them.
  int8_t Int8() { return static_cast<int8_t>(Fixed<uint8_t>()); }
  int16_t Int16() { return static_cast<int16_t>(Fixed<uint16_t>()); }
  int32_t Int32() { return static_cast<int32_t>(Fixed<uint32_t>()); }
  int64_t Int64() { return static_cast<int64_t>(Fixed<uint64_t>()); }
  uint16_t Uint16() { return Fixed<uint16_t>(); }
  uint32_t Uint32() { return Fixed<uint32_t>(); }
  double Float64();
  // Any non-zero byte is true, as in Kafka's readers.
  bool Bool() { return Fixed<uint8_t>() != 0; }
  Uuid ReadUuid();

  // Unsigned base-128 varints. More than 5 bytes (32-bit) or 10 bytes (64-bit), or bits beyond
  // the type's width in the last byte, fail as malformed.
  uint32_t Uvarint();
  uint64_t Uvarlong();
  // Zigzag-encoded signed varints.
  int32_t Varint();
  int64_t Varlong();

  // The next n bytes as a view; fails (returning an empty view) if fewer remain.
  absl::Span<const uint8_t> Raw(size_t n);
  // A child reader over the next n bytes, which this reader skips. The child fails on its own;
  // the caller folds a child failure back with Adopt().
  Reader Sub(size_t n);
  void Adopt(const Reader& child);

  // Strings: INT16 length (-1 null) classic, or UNSIGNED_VARINT length+1 (0 null) compact.
  // String() fails on null; NullableString() fails on null only when `nullable` is false.
  std::string_view String(bool flexible);
  std::optional<std::string_view> NullableString(bool flexible, bool nullable);
  // Bytes/records: INT32 length (-1 null) classic, or compact like strings.
  Bytes ReadBytes(bool flexible);
  std::optional<Bytes> NullableBytes(bool flexible, bool nullable);
  // An array's element count: -1 for null (only when `nullable`), else 0..n. The count must fit
  // in what remains at `element_bytes_min` bytes per element, so a lying count fails here
  // before the caller reserves anything.
  int32_t ArrayLength(bool flexible, bool nullable, size_t element_bytes_min);

 private:
  template <typename T>
  T Fixed() {
    if (ABSL_PREDICT_FALSE(remaining() < sizeof(T))) {
      Fail("truncated integer");
      return 0;
    }
    T value = 0;
    for (size_t i = 0; i < sizeof(T); ++i) value = static_cast<T>((value << 8) | data_[pos_ + i]);
    pos_ += sizeof(T);
    return value;
  }
  // Reads a length prefix: -1 for null, else the length (checked against `remaining`).
  int64_t Length(bool flexible, bool int32_classic, const char* what);

  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  const char* failure_ = nullptr;
  size_t failure_pos_ = 0;
};

}  // namespace ringbroker::protocol::wire
