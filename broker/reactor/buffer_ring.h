// BufferRing: a shard's provided-buffer ring (io_uring "pbuf ring"), from which the kernel picks a
// slot for each received chunk, so no memory is committed to an idle connection.
//
// A received chunk is handed on as a Buffer pointing into its slot (zero-copy). The slot returns
// to the kernel when the last Buffer over it is released: directly when that happens on the owning
// shard's thread, or through a lock-free stack that the shard drains on its next loop iteration
// when it happens on another thread. Because a connection may keep slots for as long as it likes,
// the ring protects itself: once fewer than a quarter of the slots are left with the kernel,
// chunks are copied to the heap and their slot is given back at once (TakeCopy), so parsers that
// hold on to data cannot starve the shard's other connections.
//
// Lifetime: the ring object outlives the shard if Buffers over its slots are still alive; the last
// of {shard, outstanding slot} to let go deletes it. Created, drained and detached on the shard
// thread only.
#pragma once

#include <liburing.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <thread>

#include "absl/status/statusor.h"
#include "broker/reactor/buffer.h"

namespace ringbroker::reactor {

class BufferRing {
 public:
  // Registers `slot_count` slots (a power of two, at most 32768) of `slot_bytes` each with `ring`
  // as buffer group `group_id`. Fails when the kernel lacks buffer rings (pre-5.19).
  static absl::StatusOr<BufferRing*> Create(io_uring* ring, uint16_t group_id, uint32_t slot_count,
                                            uint32_t slot_bytes);
  BufferRing(const BufferRing&) = delete;
  BufferRing& operator=(const BufferRing&) = delete;

  uint16_t group_id() const { return group_id_; }
  uint32_t slot_bytes() const { return slot_bytes_; }
  uint32_t slot_count() const { return slot_count_; }
  // Slots currently available to the kernel.
  uint32_t slots_in_kernel() const { return slots_in_kernel_; }

  // For a completion that consumed slot `slot_id` with `length` bytes: a zero-copy Buffer over
  // the slot, or, when the ring runs low, a heap copy (and the slot goes straight back).
  Buffer Take(uint16_t slot_id, uint32_t length);

  // Gives back slots released on other threads since the last call.
  void DrainRemoteFrees();

  // Called by the shard when it goes away (after its io_uring is gone); deletes the ring now or
  // when the last outstanding Buffer is released.
  void Detach();

 private:
  struct Slot final : BufferOwner {
    BufferRing* ring = nullptr;
    Slot* next_free = nullptr;  // link in the remote-free stack
    char* bytes = nullptr;
    uint16_t id = 0;
    void Free() override;
    using BufferOwner::ResetRefs;
  };

  BufferRing(uint16_t group_id, uint32_t slot_count, uint32_t slot_bytes);
  ~BufferRing();
  void Recycle(Slot* slot);
  void ReleaseFromAnyThread(Slot* slot);
  void Unref();

  const uint16_t group_id_;
  const uint32_t slot_count_;
  const uint32_t slot_bytes_;
  const std::thread::id owner_thread_;
  io_uring_buf_ring* kernel_ring_ = nullptr;  // mmap'ed, shared with the kernel
  size_t kernel_ring_bytes_ = 0;
  char* slab_ = nullptr;  // slot_count_ * slot_bytes_, mmap'ed
  size_t slab_bytes_ = 0;
  std::unique_ptr<Slot[]> slots_;
  uint32_t slots_in_kernel_ = 0;
  bool registered_ = false;
  std::atomic<bool> detached_{false};
  // 1 for the shard plus 1 per slot held by Buffers.
  std::atomic<uint32_t> refs_{1};
  std::atomic<Slot*> remote_free_{nullptr};
};

}  // namespace ringbroker::reactor
