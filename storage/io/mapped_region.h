// A read-only, shared memory mapping of the start of a file: lets the owner read bytes the page
// cache holds without a system call per read (the log's header scans use it; see segment.h).
//
// What the mapping does not protect against, and so what its users must guarantee:
//  - Touching a page past the current end of the file raises SIGBUS: read only bytes known to be
//    in the file (written, and not cut by a truncation since).
//  - A page not in the page cache is read from disk by a page fault, which blocks the calling
//    thread; an I/O error there raises SIGBUS instead of returning an error.
// The mapping may be longer than the file: bytes the file gains later become readable through it.
#pragma once

#include <cstdint>
#include <utility>

#include "absl/status/statusor.h"

namespace ringbroker::storage {

class MappedRegion {
 public:
  // Maps the first `length` bytes of `fd` (length > 0) read-only. The descriptor may be closed
  // afterwards; the mapping keeps the file alive until unmapped.
  static absl::StatusOr<MappedRegion> Map(int fd, uint64_t length);

  MappedRegion() = default;
  MappedRegion(MappedRegion&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  MappedRegion& operator=(MappedRegion&& other) noexcept;
  MappedRegion(const MappedRegion&) = delete;
  MappedRegion& operator=(const MappedRegion&) = delete;
  ~MappedRegion() { Unmap(); }

  // Unmaps `region` on a thread of its own (inline when that cannot be started). Unmapping is CPU
  // work in proportion to the pages the mapping has touched: 40-60 ms for a 1 GiB segment scanned
  // to its end, measured on the shard thread as the tail of produce latency at every roll. The
  // kernel tears page tables down holding the address-space lock only for reading, so the
  // caller's own page faults and mappings go on meanwhile.
  static void ReleaseInBackground(MappedRegion region);

  // Null and 0 when nothing is mapped. Valid until this object is destroyed or assigned to.
  const uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }

 private:
  MappedRegion(const uint8_t* data, uint64_t size) : data_(data), size_(size) {}
  void Unmap();

  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
};

}  // namespace ringbroker::storage
