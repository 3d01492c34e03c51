#include "protocol/wire/writer.h"

#include <cstdio>
#include <cstdlib>

namespace ringbroker::protocol::wire {
namespace {

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "ringbroker wire::Writer: %s\n", what);
  std::abort();
}

}  // namespace

void Writer::PatchInt32(size_t offset, int32_t v) {
  if (offset + 4 > buf_.size()) Die("PatchInt32 past the end of the buffer");
  const auto u = static_cast<uint32_t>(v);
  for (size_t i = 0; i < 4; ++i) buf_[offset + i] = static_cast<uint8_t>(u >> (8 * (3 - i)));
}

void Writer::Length(int64_t length, bool flexible, bool int32_classic) {
  if (flexible) {
    if (length + 1 > UINT32_MAX) Die("compact length over 2^32-2");
    Uvarint(static_cast<uint32_t>(length + 1));
  } else if (int32_classic) {
    if (length > INT32_MAX) Die("length over INT32_MAX");
    Int32(static_cast<int32_t>(length));
  } else {
    if (length > INT16_MAX) Die("classic string over 32767 bytes");
    Int16(static_cast<int16_t>(length));
  }
}

void Writer::String(std::string_view s, bool flexible) {
  Length(static_cast<int64_t>(s.size()), flexible, /*int32_classic=*/false);
  buf_.insert(buf_.end(), s.begin(), s.end());
}

void Writer::NullableString(const std::optional<std::string_view>& s, bool flexible,
                            bool nullable) {
  if (s) return String(*s, flexible);
  Length(nullable ? -1 : 0, flexible, /*int32_classic=*/false);
}

void Writer::WriteBytes(Bytes b, bool flexible) {
  Length(static_cast<int64_t>(b.size()), flexible, /*int32_classic=*/true);
  const uintptr_t at = reinterpret_cast<uintptr_t>(b.data());
  if (!b.empty() && at >= defer_begin_ && at < defer_end_) {
    deferred_.push_back(Deferred{buf_.size(), b});
    return;
  }
  Raw(b);
}

void Writer::NullableBytes(const std::optional<Bytes>& b, bool flexible, bool nullable) {
  if (b) return WriteBytes(*b, flexible);
  Length(nullable ? -1 : 0, flexible, /*int32_classic=*/true);
}

void Writer::ArrayLength(size_t count, bool flexible) {
  Length(static_cast<int64_t>(count), flexible, /*int32_classic=*/true);
}

void Writer::NullArray(bool flexible, bool nullable) {
  Length(nullable ? -1 : 0, flexible, /*int32_classic=*/true);
}

}  // namespace ringbroker::protocol::wire
