#include "protocol/wire/reader.h"

#include <bit>
#include <cstdio>

#include "absl/strings/str_cat.h"

namespace ringbroker::protocol::wire {

absl::Status Reader::status() const {
  if (ok()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(failure_, " at byte ", failure_pos_));
}

void Reader::Fail(const char* reason) {
  if (failure_ != nullptr) return;
  failure_ = reason;
  failure_pos_ = pos_;
  // Inert from here on: nothing remains to be read.
  pos_ = size_;
}

double Reader::Float64() { return std::bit_cast<double>(Fixed<uint64_t>()); }

Uuid Reader::ReadUuid() {
  Uuid id;
  absl::Span<const uint8_t> raw = Raw(id.bytes.size());
  if (!raw.empty()) std::memcpy(id.bytes.data(), raw.data(), id.bytes.size());
  return id;
}

uint64_t Reader::Uvarlong() {
  uint64_t value = 0;
  for (size_t i = 0; i < kVarint64BytesMax; ++i) {
    if (ABSL_PREDICT_FALSE(pos_ >= size_)) {
      Fail("truncated varint");
      return 0;
    }
    const uint8_t b = data_[pos_++];
    // The tenth byte carries only the top bit of a 64-bit value.
    if (ABSL_PREDICT_FALSE(i == kVarint64BytesMax - 1 && b > 0x01)) {
      Fail("varlong overflows 64 bits");
      return 0;
    }
    value |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) return value;
  }
  return 0;  // unreachable: the tenth byte either returned or failed
}

uint32_t Reader::Uvarint() {
  uint32_t value = 0;
  for (size_t i = 0; i < kVarint32BytesMax; ++i) {
    if (ABSL_PREDICT_FALSE(pos_ >= size_)) {
      Fail("truncated varint");
      return 0;
    }
    const uint8_t b = data_[pos_++];
    // The fifth byte carries only the top four bits of a 32-bit value, and no continuation.
    if (ABSL_PREDICT_FALSE(i == kVarint32BytesMax - 1 && b > 0x0f)) {
      Fail("varint longer than 5 bytes or overflows 32 bits");
      return 0;
    }
    value |= static_cast<uint32_t>(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) return value;
  }
  return 0;  // unreachable
}

int32_t Reader::Varint() {
  const uint32_t z = Uvarint();
  return static_cast<int32_t>((z >> 1) ^ (~(z & 1) + 1));
}

int64_t Reader::Varlong() {
  const uint64_t z = Uvarlong();
  return static_cast<int64_t>((z >> 1) ^ (~(z & 1) + 1));
}

absl::Span<const uint8_t> Reader::Raw(size_t n) {
  if (ABSL_PREDICT_FALSE(remaining() < n)) {
    Fail("truncated field");
    return {};
  }
  absl::Span<const uint8_t> out(data_ + pos_, n);
  pos_ += n;
  return out;
}

Reader Reader::Sub(size_t n) {
  absl::Span<const uint8_t> span = Raw(n);
  Reader child(span);
  if (!ok()) child.Fail("truncated field");
  return child;
}

void Reader::Adopt(const Reader& child) {
  if (!child.ok()) Fail(child.failure_);
}

int64_t Reader::Length(bool flexible, bool int32_classic, const char* what) {
  int64_t length;
  if (flexible) {
    length = static_cast<int64_t>(Uvarint()) - 1;
  } else {
    length = int32_classic ? Int32() : Int16();
    if (ABSL_PREDICT_FALSE(length < -1)) {
      Fail(what);
      return 0;
    }
  }
  if (!ok()) return 0;
  if (ABSL_PREDICT_FALSE(length > static_cast<int64_t>(remaining()))) {
    Fail("length exceeds frame");
    return 0;
  }
  return length;
}

std::string_view Reader::String(bool flexible) {
  std::optional<std::string_view> s = NullableString(flexible, /*nullable=*/false);
  return s.value_or(std::string_view());
}

std::optional<std::string_view> Reader::NullableString(bool flexible, bool nullable) {
  const int64_t length = Length(flexible, /*int32_classic=*/false, "negative string length");
  if (length < 0) {
    if (!nullable) Fail("null for a non-nullable string");
    if (!ok()) return std::string_view();
    return std::nullopt;
  }
  absl::Span<const uint8_t> raw = Raw(static_cast<size_t>(length));
  return std::string_view(reinterpret_cast<const char*>(raw.data()), raw.size());
}

Bytes Reader::ReadBytes(bool flexible) {
  std::optional<Bytes> b = NullableBytes(flexible, /*nullable=*/false);
  return b.value_or(Bytes());
}

std::optional<Bytes> Reader::NullableBytes(bool flexible, bool nullable) {
  const int64_t length = Length(flexible, /*int32_classic=*/true, "negative bytes length");
  if (length < 0) {
    if (!nullable) Fail("null for non-nullable bytes");
    if (!ok()) return Bytes();
    return std::nullopt;
  }
  return Raw(static_cast<size_t>(length));
}

int32_t Reader::ArrayLength(bool flexible, bool nullable, size_t element_bytes_min) {
  int64_t count;
  if (flexible) {
    count = static_cast<int64_t>(Uvarint()) - 1;
  } else {
    count = Int32();
    if (ABSL_PREDICT_FALSE(count < -1)) {
      Fail("negative array length");
      return 0;
    }
  }
  if (!ok()) return 0;
  if (count < 0) {
    if (!nullable) {
      Fail("null for a non-nullable array");
      return 0;
    }
    return -1;
  }
  if (element_bytes_min == 0) element_bytes_min = 1;
  if (ABSL_PREDICT_FALSE(count > INT32_MAX ||
                         static_cast<uint64_t>(count) > remaining() / element_bytes_min)) {
    Fail("array length exceeds frame");
    return 0;
  }
  return static_cast<int32_t>(count);
}

}  // namespace ringbroker::protocol::wire
