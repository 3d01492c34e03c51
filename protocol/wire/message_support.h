// Helpers the generated message code (build tree, protocol/messages/) is written against:
// array and tagged-field loops that would otherwise be repeated thousands of times.
// Not meant for hand-written code; use the generated Decode/Encode/EncodedSize instead.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "protocol/wire/reader.h"
#include "protocol/wire/types.h"
#include "protocol/wire/writer.h"

namespace ringbroker::protocol::wire {

// Elements reserved up front for a decoded array. The count was already checked against the
// bytes left in the frame, but an in-memory element can be much larger than its minimum wire
// size, so beyond this the vector grows only as elements actually decode.
inline constexpr size_t kArrayReserveMax = 256;

// Decodes `count` elements (count from Reader::ArrayLength) with read_one(Reader&, T&),
// stopping early once the reader has failed.
template <typename T, typename ReadOne>
void ReadArray(Reader& r, int32_t count, std::vector<T>& out, ReadOne&& read_one) {
  out.clear();
  if (count <= 0) return;
  out.reserve(std::min<size_t>(static_cast<size_t>(count), kArrayReserveMax));
  for (int32_t i = 0; i < count && r.ok(); ++i) read_one(r, out.emplace_back());
}

template <typename T, typename ReadOne>
void ReadNullableArray(Reader& r, int32_t count, std::optional<std::vector<T>>& out,
                       ReadOne&& read_one) {
  if (count < 0) {
    out.reset();
    return;
  }
  ReadArray(r, count, out.emplace(), read_one);
}

template <typename T, typename WriteOne>
void WriteArray(Writer& w, const std::vector<T>& in, bool flexible, WriteOne&& write_one) {
  w.ArrayLength(in.size(), flexible);
  for (const T& e : in) write_one(w, e);
}

template <typename T, typename WriteOne>
void WriteNullableArray(Writer& w, const std::optional<std::vector<T>>& in, bool flexible,
                        bool nullable, WriteOne&& write_one) {
  if (!in) return w.NullArray(flexible, nullable);
  WriteArray(w, *in, flexible, write_one);
}

template <typename T, typename SizeOne>
size_t ArraySize(const std::vector<T>& in, bool flexible, SizeOne&& size_one) {
  size_t n = ArrayLengthSize(in.size(), flexible);
  for (const T& e : in) n += size_one(e);
  return n;
}

template <typename T, typename SizeOne>
size_t NullableArraySize(const std::optional<std::vector<T>>& in, bool flexible,
                         SizeOne&& size_one) {
  if (!in) return NullArraySize(flexible);
  return ArraySize(*in, flexible, size_one);
}

// Reads a tagged-field section. For each field, known(tag, Reader& field) decodes a field it
// knows from a reader bounded to that field's declared size and returns true; unknown tags
// return false and are skipped. A known field must fill its declared size exactly.
template <typename Known>
void ReadTaggedFields(Reader& r, Known&& known) {
  const uint32_t count = r.Uvarint();
  // Each field takes at least two bytes (tag and size), so a lying count ends at the frame end.
  for (uint32_t i = 0; i < count && r.ok(); ++i) {
    const uint32_t tag = r.Uvarint();
    const uint32_t size = r.Uvarint();
    if (!r.ok()) return;
    if (size > r.remaining()) return r.Fail("tagged field size exceeds frame");
    Reader field = r.Sub(size);
    if (known(tag, field)) {
      r.Adopt(field);
      if (r.ok() && field.remaining() != 0) r.Fail("tagged field has trailing bytes");
    }
  }
}

// Writes one tagged field's prefix: its tag and its encoded size.
inline void WriteTagHeader(Writer& w, uint32_t tag, size_t size) {
  w.Uvarint(tag);
  w.Uvarint(static_cast<uint32_t>(size));
}
inline size_t TaggedFieldSize(uint32_t tag, size_t size) {
  return UvarintSize(tag) + UvarintSize(size) + size;
}

}  // namespace ringbroker::protocol::wire
