// The headers and positions of the last batches appended to a segment, newest last.
//
// Consumers that keep up fetch from the tail of the log, within the last few batches. Finding
// their batch in the file means parsing headers the broker wrote moments ago — through the
// segment's mapping, where every page newly written costs a page fault, or through a read. The
// segment keeps what it already knew when it appended them here instead, so a tail fetch reads
// nothing to find its bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "protocol/records/batch_header.h"

namespace ringbroker::storage {

class RecentBatches {
 public:
  struct Entry {
    protocol::BatchHeader header;
    uint64_t position = 0;
  };

  // Keeps at most `capacity` (> 0) entries; memory is taken at the first Add.
  explicit RecentBatches(size_t capacity) : capacity_(capacity) {}

  // A batch appended at `position`, right after the newest entry (or the first one).
  void Add(const protocol::BatchHeader& header, uint64_t position) {
    if (ring_.empty()) ring_.resize(capacity_);
    ring_[(begin_ + count_) % capacity_] = Entry{header, position};
    if (count_ < capacity_) {
      ++count_;
    } else {
      begin_ = (begin_ + 1) % capacity_;
    }
  }

  // Forgets the entries at or past `position` (the segment was cut there).
  void DropFrom(uint64_t position) {
    while (count_ > 0 && at(count_ - 1).position >= position) --count_;
  }

  // Forgets everything and gives the memory back.
  void Clear() {
    std::vector<Entry>().swap(ring_);
    begin_ = count_ = 0;
  }

  size_t size() const { return count_; }
  const Entry& at(size_t i) const { return ring_[(begin_ + i) % capacity_]; }

  // The position of the newest batch whose base offset is <= `offset`, when `offset` lies at or
  // after the oldest entry's base offset: a batch boundary at or before the batch holding it.
  std::optional<uint64_t> PositionAtOrBefore(int64_t offset) const {
    for (size_t i = count_; i > 0; --i) {  // tail lookups end within the first few steps
      if (at(i - 1).header.base_offset <= offset) return at(i - 1).position;
    }
    return std::nullopt;
  }

  // The index of the entry at exactly `position`, if it is one of them.
  std::optional<size_t> IndexOf(uint64_t position) const {
    if (count_ == 0 || position < at(0).position || position > at(count_ - 1).position) {
      return std::nullopt;
    }
    size_t lo = 0, hi = count_;  // positions increase with the index
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      if (at(mid).position < position) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    if (lo < count_ && at(lo).position == position) return lo;
    return std::nullopt;
  }

 private:
  size_t capacity_;
  std::vector<Entry> ring_;
  size_t begin_ = 0;
  size_t count_ = 0;
};

}  // namespace ringbroker::storage
