#include "broker/reactor/timer_queue.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"

namespace ringbroker::reactor {

absl::StatusOr<TimerId> TimerQueue::Schedule(int64_t deadline_ns, Callback callback) {
  if (callbacks_.size() >= timers_max_) {
    return absl::ResourceExhaustedError("too many pending timers on this shard");
  }
  const TimerId id = next_id_++;
  heap_.push_back(Entry{deadline_ns, id});
  std::push_heap(heap_.begin(), heap_.end(), Later());
  callbacks_.emplace(id, std::move(callback));
  return id;
}

bool TimerQueue::Cancel(TimerId id) {
  if (callbacks_.erase(id) == 0) return false;
  CompactIfSparse();
  return true;
}

std::optional<int64_t> TimerQueue::NextDeadline() {
  DropTombstonesAtTop();
  if (heap_.empty()) return std::nullopt;
  return heap_.front().deadline_ns;
}

size_t TimerQueue::RunExpired(int64_t now_ns) {
  const TimerId id_limit = next_id_;
  size_t ran = 0;
  // Entries scheduled during this call are held aside so the heap top stays meaningful.
  std::vector<Entry> deferred;
  while (!heap_.empty() && heap_.front().deadline_ns <= now_ns) {
    const Entry top = heap_.front();
    std::pop_heap(heap_.begin(), heap_.end(), Later());
    heap_.pop_back();
    if (top.id >= id_limit) {
      deferred.push_back(top);
      continue;
    }
    auto it = callbacks_.find(top.id);
    if (it == callbacks_.end()) continue;  // cancelled
    Callback callback = std::move(it->second);
    callbacks_.erase(it);
    callback();  // may Schedule or Cancel
    ++ran;
  }
  for (const Entry& entry : deferred) {
    heap_.push_back(entry);
    std::push_heap(heap_.begin(), heap_.end(), Later());
  }
  return ran;
}

void TimerQueue::Clear() {
  heap_.clear();
  callbacks_.clear();
}

void TimerQueue::DropTombstonesAtTop() {
  while (!heap_.empty() && !callbacks_.contains(heap_.front().id)) {
    std::pop_heap(heap_.begin(), heap_.end(), Later());
    heap_.pop_back();
  }
}

void TimerQueue::CompactIfSparse() {
  // Tombstones beyond half the heap are swept so the heap never grows far past the live count.
  if (heap_.size() < 64 || heap_.size() <= 2 * callbacks_.size()) return;
  std::erase_if(heap_, [this](const Entry& e) { return !callbacks_.contains(e.id); });
  std::make_heap(heap_.begin(), heap_.end(), Later());
}

}  // namespace ringbroker::reactor
