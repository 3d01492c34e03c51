// TimerQueue: one shard's pending timers, ordered by deadline, as a binary heap.
//
// This is only the bookkeeping; the Shard arms a single io_uring timeout for NextDeadline() and
// calls RunExpired() when it fires (see shard.h). Not thread-safe: owned and used by one shard.
//
// Order: timers run in deadline order; timers with the same deadline run in the order they were
// scheduled. Cancel is O(1): the heap entry stays behind as a tombstone and is skipped, and the
// heap is rebuilt without tombstones once they outnumber live timers, so memory stays
// proportional to the live timer count.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"

namespace ringbroker::reactor {

// Identifies a scheduled timer; never reused within a shard. 0 is never a valid id.
using TimerId = uint64_t;

class TimerQueue {
 public:
  using Callback = absl::AnyInvocable<void()>;

  explicit TimerQueue(size_t timers_max) : timers_max_(timers_max) {}
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;

  // Adds a timer due at `deadline_ns` (on the steady clock). ResourceExhaustedError when
  // timers_max timers are already pending.
  absl::StatusOr<TimerId> Schedule(int64_t deadline_ns, Callback callback);

  // True when the timer was pending and now never runs; false when it already ran, was cancelled,
  // or never existed.
  bool Cancel(TimerId id);

  // The earliest pending deadline, if any.
  std::optional<int64_t> NextDeadline();

  // Runs, in order, every timer due at or before `now_ns` that was scheduled before this call
  // began (timers scheduled by the callbacks wait for the next call, so a callback that
  // reschedules itself with no delay cannot spin here). Returns how many ran.
  size_t RunExpired(int64_t now_ns);

  // Drops every pending timer without running it.
  void Clear();

  size_t size() const { return callbacks_.size(); }
  size_t heap_size_for_testing() const { return heap_.size(); }

 private:
  struct Entry {
    int64_t deadline_ns;
    TimerId id;  // ids grow, so they break deadline ties in scheduling order
  };
  struct Later {
    bool operator()(const Entry& a, const Entry& b) const {
      return a.deadline_ns != b.deadline_ns ? a.deadline_ns > b.deadline_ns : a.id > b.id;
    }
  };

  void DropTombstonesAtTop();
  void CompactIfSparse();

  const size_t timers_max_;
  TimerId next_id_ = 1;
  std::vector<Entry> heap_;  // std::push_heap/pop_heap with Later: a min-heap
  absl::flat_hash_map<TimerId, Callback> callbacks_;
};

}  // namespace ringbroker::reactor
