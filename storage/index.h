// The two sparse indexes of a segment, held in memory and written to their files when the segment is
// sealed (rolled) or the log closes cleanly. Between those moments the files are stale, which is why
// an unclean open rebuilds the indexes of unsealed segments from the log itself.
//
// Memory is bounded by segment.index.bytes per index; a full index makes the log roll.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace ringbroker::storage {

// Offset -> byte position of the batch that starts there (see format.h).
class OffsetIndex {
 public:
  struct Entry {
    int64_t offset;
    uint32_t position;
  };

  OffsetIndex(int64_t base_offset, size_t entries_max)
      : base_offset_(base_offset), entries_max_(entries_max) {}

  bool full() const { return entries_.size() >= entries_max_; }
  size_t size() const { return entries_.size(); }
  // Requires !full(), offset/position beyond the last entry's, and offset - base offset within
  // int32 (as in the file).
  void Append(int64_t offset, uint32_t position);
  // The last entry whose offset <= `offset`; nullopt when there is none (start at position 0).
  std::optional<Entry> LookupOffset(int64_t offset) const;
  // The last entry whose position <= `position`.
  std::optional<Entry> LookupPosition(uint64_t position) const;
  std::optional<Entry> last() const;
  // Drops the entries whose offset >= `offset`.
  void TruncateFromOffset(int64_t offset);

  std::vector<uint8_t> Encode() const;
  // Decodes a file's bytes; InvalidArgument (damage) unless the size is a whole number of entries,
  // both fields strictly increase, relative offsets are >= 0 and positions < `log_size`.
  absl::Status Decode(absl::Span<const uint8_t> bytes, uint64_t log_size);

 private:
  // Kept as in the file, relative to the base offset: 8 bytes an entry, half the cache lines a
  // lookup's binary search touches with the 16-byte Entry.
  struct Packed {
    uint32_t relative_offset;
    uint32_t position;
  };
  Entry Unpack(const Packed& p) const {
    return Entry{base_offset_ + p.relative_offset, p.position};
  }
  // `offset` relative to the base, clamped to the range relative offsets can take.
  uint32_t Relative(int64_t offset) const;

  int64_t base_offset_;
  size_t entries_max_;
  std::vector<Packed> entries_;
};

// Timestamp -> offset where a scan for that timestamp may start (see format.h).
class TimeIndex {
 public:
  struct Entry {
    int64_t timestamp;
    int64_t offset;
  };

  TimeIndex(int64_t base_offset, size_t entries_max)
      : base_offset_(base_offset), entries_max_(entries_max) {}

  bool full() const { return entries_.size() >= entries_max_; }
  size_t size() const { return entries_.size(); }
  // Adds the entry when `timestamp` is above the last entry's (and the index is not full).
  void MaybeAppend(int64_t timestamp, int64_t offset);
  // The last entry whose timestamp < `timestamp`: every batch before its offset is older than
  // `timestamp`, so a scan can start there.
  std::optional<Entry> LookupBefore(int64_t timestamp) const;
  std::optional<Entry> last() const;
  void TruncateFromOffset(int64_t offset);

  std::vector<uint8_t> Encode() const;
  // As OffsetIndex::Decode; offsets must be >= base and < `next_offset`.
  absl::Status Decode(absl::Span<const uint8_t> bytes, int64_t next_offset);

 private:
  int64_t base_offset_;
  size_t entries_max_;
  std::vector<Entry> entries_;
};

}  // namespace ringbroker::storage
