#include "storage/index.h"

#include <algorithm>
#include <cstdint>

#include "protocol/records/batch_header.h"
#include "storage/format.h"

namespace ringbroker::storage {

using protocol::LoadBigEndian32;
using protocol::LoadBigEndian64;
using protocol::StoreBigEndian32;
using protocol::StoreBigEndian64;

uint32_t OffsetIndex::Relative(int64_t offset) const {
  if (offset <= base_offset_) return 0;
  return uint32_t(std::min<int64_t>(offset - base_offset_, UINT32_MAX));
}

void OffsetIndex::Append(int64_t offset, uint32_t position) {
  entries_.push_back(Packed{uint32_t(offset - base_offset_), position});
}

std::optional<OffsetIndex::Entry> OffsetIndex::LookupOffset(int64_t offset) const {
  if (offset < base_offset_) return std::nullopt;
  uint32_t relative = Relative(offset);
  auto it = std::upper_bound(entries_.begin(), entries_.end(), relative,
                             [](uint32_t r, const Packed& e) { return r < e.relative_offset; });
  if (it == entries_.begin()) return std::nullopt;
  return Unpack(*std::prev(it));
}

std::optional<OffsetIndex::Entry> OffsetIndex::LookupPosition(uint64_t position) const {
  auto it = std::upper_bound(entries_.begin(), entries_.end(), position,
                             [](uint64_t p, const Packed& e) { return p < e.position; });
  if (it == entries_.begin()) return std::nullopt;
  return Unpack(*std::prev(it));
}

std::optional<OffsetIndex::Entry> OffsetIndex::last() const {
  if (entries_.empty()) return std::nullopt;
  return Unpack(entries_.back());
}

void OffsetIndex::TruncateFromOffset(int64_t offset) {
  if (offset <= base_offset_) {
    entries_.clear();
    return;
  }
  uint32_t relative = Relative(offset);
  auto it = std::lower_bound(entries_.begin(), entries_.end(), relative,
                             [](const Packed& e, uint32_t r) { return e.relative_offset < r; });
  entries_.erase(it, entries_.end());
}

std::vector<uint8_t> OffsetIndex::Encode() const {
  std::vector<uint8_t> out(entries_.size() * format::kOffsetIndexEntrySize);
  uint8_t* p = out.data();
  for (const Packed& e : entries_) {
    StoreBigEndian32(p, e.relative_offset);
    StoreBigEndian32(p + 4, e.position);
    p += format::kOffsetIndexEntrySize;
  }
  return out;
}

absl::Status OffsetIndex::Decode(absl::Span<const uint8_t> bytes, uint64_t log_size) {
  entries_.clear();
  if (bytes.size() % format::kOffsetIndexEntrySize != 0) {
    return absl::InvalidArgumentError("offset index size is not a whole number of entries");
  }
  size_t count = bytes.size() / format::kOffsetIndexEntrySize;
  if (count > entries_max_) return absl::InvalidArgumentError("offset index larger than allowed");
  entries_.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    const uint8_t* p = bytes.data() + i * format::kOffsetIndexEntrySize;
    int32_t relative = int32_t(LoadBigEndian32(p));
    uint32_t position = LoadBigEndian32(p + 4);
    if (relative < 0 || position >= log_size ||
        (!entries_.empty() && (uint32_t(relative) <= entries_.back().relative_offset ||
                               position <= entries_.back().position))) {
      entries_.clear();
      return absl::InvalidArgumentError("offset index entries out of order or out of range");
    }
    entries_.push_back(Packed{uint32_t(relative), position});
  }
  return absl::OkStatus();
}

void TimeIndex::MaybeAppend(int64_t timestamp, int64_t offset) {
  if (full()) return;
  if (!entries_.empty() && timestamp <= entries_.back().timestamp) return;
  entries_.push_back(Entry{timestamp, offset});
}

std::optional<TimeIndex::Entry> TimeIndex::LookupBefore(int64_t timestamp) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), timestamp,
                             [](const Entry& e, int64_t t) { return e.timestamp < t; });
  if (it == entries_.begin()) return std::nullopt;
  return *std::prev(it);
}

std::optional<TimeIndex::Entry> TimeIndex::last() const {
  if (entries_.empty()) return std::nullopt;
  return entries_.back();
}

void TimeIndex::TruncateFromOffset(int64_t offset) {
  // Offsets increase along with timestamps, so the entries to drop form a suffix.
  while (!entries_.empty() && entries_.back().offset >= offset) entries_.pop_back();
}

std::vector<uint8_t> TimeIndex::Encode() const {
  std::vector<uint8_t> out(entries_.size() * format::kTimeIndexEntrySize);
  uint8_t* p = out.data();
  for (const Entry& e : entries_) {
    StoreBigEndian64(p, uint64_t(e.timestamp));
    StoreBigEndian32(p + 8, uint32_t(e.offset - base_offset_));
    p += format::kTimeIndexEntrySize;
  }
  return out;
}

absl::Status TimeIndex::Decode(absl::Span<const uint8_t> bytes, int64_t next_offset) {
  entries_.clear();
  if (bytes.size() % format::kTimeIndexEntrySize != 0) {
    return absl::InvalidArgumentError("time index size is not a whole number of entries");
  }
  size_t count = bytes.size() / format::kTimeIndexEntrySize;
  if (count > entries_max_) return absl::InvalidArgumentError("time index larger than allowed");
  entries_.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    const uint8_t* p = bytes.data() + i * format::kTimeIndexEntrySize;
    int64_t timestamp = int64_t(LoadBigEndian64(p));
    int32_t relative = int32_t(LoadBigEndian32(p + 8));
    int64_t offset = base_offset_ + relative;
    if (relative < 0 || offset >= next_offset ||
        (!entries_.empty() &&
         (timestamp <= entries_.back().timestamp || offset <= entries_.back().offset))) {
      entries_.clear();
      return absl::InvalidArgumentError("time index entries out of order or out of range");
    }
    entries_.push_back(Entry{timestamp, offset});
  }
  return absl::OkStatus();
}

}  // namespace ringbroker::storage
