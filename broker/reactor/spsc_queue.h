// SpscQueue: a bounded, lock-free, single-producer single-consumer ring of pointers.
//
// The reactor keeps one per ordered pair of shards (from -> to): only shard `from` pushes and only
// shard `to` pops, so neither side ever takes a lock or blocks. The queue carries pointers, never
// copies of what they point at; ownership of the pointee passes with the pointer.
#pragma once

#include <atomic>
#include <cassert>
#include <cstddef>
#include <memory>

namespace ringbroker::reactor {

template <typename T>
class SpscQueue {
 public:
  // `capacity` is rounded up to a power of two (at least 2).
  explicit SpscQueue(size_t capacity) {
    size_t rounded = 2;
    while (rounded < capacity) rounded <<= 1;
    mask_ = rounded - 1;
    slots_ = std::make_unique<T*[]>(rounded);
  }
  SpscQueue(const SpscQueue&) = delete;
  SpscQueue& operator=(const SpscQueue&) = delete;

  size_t capacity() const { return mask_ + 1; }

  // Producer only. False when full (nothing is enqueued then).
  bool Push(T* item) {
    const size_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - head_cache_ > mask_) {
      head_cache_ = head_.load(std::memory_order_acquire);
      if (tail - head_cache_ > mask_) return false;
    }
    slots_[tail & mask_] = item;
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }

  // Consumer only. Null when empty.
  T* Pop() {
    const size_t head = head_.load(std::memory_order_relaxed);
    if (head == tail_cache_) {
      tail_cache_ = tail_.load(std::memory_order_acquire);
      if (head == tail_cache_) return nullptr;
    }
    T* item = slots_[head & mask_];
    head_.store(head + 1, std::memory_order_release);
    return item;
  }

  // Either side; a snapshot that may be stale by the time it is used.
  bool EmptyApprox() const {
    return head_.load(std::memory_order_acquire) == tail_.load(std::memory_order_acquire);
  }

 private:
  // Producer and consumer indices on separate cache lines so the two shards do not false-share.
  alignas(64) std::atomic<size_t> tail_{0};
  size_t head_cache_ = 0;  // producer's last view of head_
  alignas(64) std::atomic<size_t> head_{0};
  size_t tail_cache_ = 0;  // consumer's last view of tail_
  alignas(64) size_t mask_ = 0;
  std::unique_ptr<T*[]> slots_;
};

}  // namespace ringbroker::reactor
