// Buffer: a move-only, reference-counted view of bytes, the currency of the reactor's data path.
//
// A Buffer points into memory owned by a BufferOwner. Received data arrives as Buffers that point
// straight into a slot of the shard's provided-buffer ring (no copy); sends take Buffers built from
// heap memory or strings. Share() makes another Buffer over the same bytes (a reference-count
// increment, no copy), so a parser can keep a request's bytes alive while another part is handed
// on, and a Buffer may be moved into a cross-shard message and released on the other shard.
//
// Lifetime: the bytes stay valid while any Buffer sharing them exists. Releasing the last Buffer
// returns the memory to its owner: a receive slot goes back to its shard's buffer ring (from any
// thread; see buffer_ring.h), heap memory is freed.
//
// Threading: one Buffer object is used by one thread at a time; different Buffers over the same
// bytes may be released concurrently on different threads (the count is atomic). The bytes
// themselves are not synchronised: treat shared bytes as read-only.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ringbroker::reactor {

// Owns the memory behind one or more Buffers. Starts with one reference; Free() runs once when the
// last reference is dropped, on whichever thread drops it.
class BufferOwner {
 public:
  void Ref() { refs_.fetch_add(1, std::memory_order_relaxed); }
  void Unref() {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) Free();
  }
  uint32_t refs_for_testing() const { return refs_.load(std::memory_order_relaxed); }

 protected:
  BufferOwner() = default;
  virtual ~BufferOwner() = default;
  // Releases the memory (and usually the owner itself). Must be callable from any thread.
  virtual void Free() = 0;
  // Re-arms the count for owners that are recycled rather than deleted (ring slots).
  void ResetRefs() { refs_.store(1, std::memory_order_relaxed); }

 private:
  std::atomic<uint32_t> refs_{1};
};

class Buffer {
 public:
  Buffer() = default;
  // Adopts one reference of `owner` (which must already count it) for [data, data + size).
  Buffer(char* data, size_t size, BufferOwner* owner) : data_(data), size_(size), owner_(owner) {}

  // Uninitialised writable heap memory of `size_bytes`.
  static Buffer Allocate(size_t size_bytes);
  // A heap copy of `bytes`.
  static Buffer CopyOf(std::string_view bytes);
  // Takes over `bytes` without copying its contents.
  static Buffer FromString(std::string bytes);

  Buffer(Buffer&& other) noexcept
      : data_(other.data_), size_(other.size_), owner_(other.owner_) {
    other.data_ = nullptr;
    other.size_ = 0;
    other.owner_ = nullptr;
  }
  Buffer& operator=(Buffer&& other) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() { Release(); }

  const char* data() const { return data_; }
  // Writable access; only meaningful while this Buffer is the sole reference (e.g. after Allocate).
  char* mutable_data() { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Valid while this Buffer (or any Buffer sharing its bytes) is alive.
  std::string_view view() const { return std::string_view(data_, size_); }

  // Another Buffer over the same bytes, or over [offset, offset + length) of them. Requires
  // offset + length <= size().
  Buffer Share() const { return Share(0, size_); }
  Buffer Share(size_t offset, size_t length) const;

  // Narrows this view; the memory is kept until the last sharing Buffer goes.
  void RemovePrefix(size_t n);
  void RemoveSuffix(size_t n);

  // Drops this reference now; leaves the Buffer empty.
  void Release();

 private:
  char* data_ = nullptr;
  size_t size_ = 0;
  BufferOwner* owner_ = nullptr;
};

}  // namespace ringbroker::reactor
