#include "broker/reactor/buffer_ring.h"

#include <sys/mman.h>

#include <cassert>
#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ringbroker::reactor {

absl::StatusOr<BufferRing*> BufferRing::Create(io_uring* ring, uint16_t group_id,
                                               uint32_t slot_count, uint32_t slot_bytes) {
  if (slot_count == 0 || slot_count > 32768 || (slot_count & (slot_count - 1)) != 0) {
    return absl::InvalidArgumentError("buffer ring slot count must be a power of two <= 32768");
  }
  if (slot_bytes == 0) return absl::InvalidArgumentError("buffer ring slot size must be positive");
  // The constructor only records sizes; every step below can fail, and the destructor undoes
  // exactly the steps that succeeded.
  auto* self = new BufferRing(group_id, slot_count, slot_bytes);
  self->kernel_ring_bytes_ = sizeof(io_uring_buf) * slot_count;
  void* mem = mmap(nullptr, self->kernel_ring_bytes_, PROT_READ | PROT_WRITE,
                   MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (mem == MAP_FAILED) {
    int err = errno;
    self->Detach();
    return absl::ResourceExhaustedError(absl::StrCat("mmap buffer ring: ", strerror(err)));
  }
  self->kernel_ring_ = static_cast<io_uring_buf_ring*>(mem);
  self->slab_bytes_ = size_t{slot_count} * slot_bytes;
  mem = mmap(nullptr, self->slab_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (mem == MAP_FAILED) {
    int err = errno;
    self->Detach();
    return absl::ResourceExhaustedError(absl::StrCat("mmap receive slots: ", strerror(err)));
  }
  self->slab_ = static_cast<char*>(mem);
  io_uring_buf_ring_init(self->kernel_ring_);

  io_uring_buf_reg reg;
  std::memset(&reg, 0, sizeof(reg));
  reg.ring_addr = reinterpret_cast<uintptr_t>(self->kernel_ring_);
  reg.ring_entries = slot_count;
  reg.bgid = group_id;
  int rc = io_uring_register_buf_ring(ring, &reg, 0);
  if (rc < 0) {
    self->Detach();
    return absl::UnavailableError(absl::StrCat("register buffer ring: ", strerror(-rc)));
  }
  self->registered_ = true;

  self->slots_ = std::make_unique<Slot[]>(slot_count);
  const int mask = io_uring_buf_ring_mask(slot_count);
  for (uint32_t i = 0; i < slot_count; ++i) {
    Slot& slot = self->slots_[i];
    slot.ring = self;
    slot.id = static_cast<uint16_t>(i);
    slot.bytes = self->slab_ + size_t{i} * slot_bytes;
    io_uring_buf_ring_add(self->kernel_ring_, slot.bytes, slot_bytes, slot.id, mask,
                          static_cast<int>(i));
  }
  io_uring_buf_ring_advance(self->kernel_ring_, static_cast<int>(slot_count));
  self->slots_in_kernel_ = slot_count;
  return self;
}

BufferRing::BufferRing(uint16_t group_id, uint32_t slot_count, uint32_t slot_bytes)
    : group_id_(group_id),
      slot_count_(slot_count),
      slot_bytes_(slot_bytes),
      owner_thread_(std::this_thread::get_id()) {}

BufferRing::~BufferRing() {
  // The kernel pinned the pages it was given; unmapping only drops our mapping, so this is safe
  // even though io_uring's own teardown may finish later.
  if (slab_ != nullptr) munmap(slab_, slab_bytes_);
  if (kernel_ring_ != nullptr) munmap(kernel_ring_, kernel_ring_bytes_);
}

Buffer BufferRing::Take(uint16_t slot_id, uint32_t length) {
  assert(std::this_thread::get_id() == owner_thread_);
  assert(slot_id < slot_count_ && length <= slot_bytes_);
  assert(slots_in_kernel_ > 0);
  --slots_in_kernel_;
  Slot* slot = &slots_[slot_id];
  if (slots_in_kernel_ < slot_count_ / 4) {
    Buffer copy = Buffer::CopyOf(std::string_view(slot->bytes, length));
    Recycle(slot);
    return copy;
  }
  slot->ResetRefs();
  refs_.fetch_add(1, std::memory_order_relaxed);
  return Buffer(slot->bytes, length, slot);
}

void BufferRing::Slot::Free() { ring->ReleaseFromAnyThread(this); }

void BufferRing::ReleaseFromAnyThread(Slot* slot) {
  if (std::this_thread::get_id() == owner_thread_ && !detached_.load(std::memory_order_acquire)) {
    Recycle(slot);
  } else {
    // Pushing only (never popping singly) keeps this Treiber stack free of ABA: the owner takes
    // the whole stack at once in DrainRemoteFrees.
    Slot* head = remote_free_.load(std::memory_order_relaxed);
    do {
      slot->next_free = head;
    } while (!remote_free_.compare_exchange_weak(head, slot, std::memory_order_release,
                                                 std::memory_order_relaxed));
  }
  Unref();
}

void BufferRing::DrainRemoteFrees() {
  if (remote_free_.load(std::memory_order_relaxed) == nullptr) return;
  Slot* slot = remote_free_.exchange(nullptr, std::memory_order_acquire);
  while (slot != nullptr) {
    Slot* next = slot->next_free;
    Recycle(slot);
    slot = next;
  }
}

void BufferRing::Recycle(Slot* slot) {
  if (!registered_ || detached_.load(std::memory_order_relaxed)) return;
  io_uring_buf_ring_add(kernel_ring_, slot->bytes, slot_bytes_, slot->id,
                        io_uring_buf_ring_mask(slot_count_), 0);
  io_uring_buf_ring_advance(kernel_ring_, 1);
  ++slots_in_kernel_;
}

void BufferRing::Detach() {
  detached_.store(true, std::memory_order_release);
  Unref();
}

void BufferRing::Unref() {
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
}

}  // namespace ringbroker::reactor
