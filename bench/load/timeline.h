// Latency over the run: the messages sent in each fixed window of time, and the worst latency among
// them. A histogram says how long the tail is; this says when it happened, so that a tail can be
// laid beside what else went on at that moment (a segment roll, a stall of the machine).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace ringbroker::bench {

class LatencyTimeline {
 public:
  struct Window {
    uint64_t count = 0;
    uint64_t max_ns = 0;
  };

  // A run of days at 1 ms windows stays under this; anything later is not recorded.
  static constexpr size_t kMaxWindows = size_t{1} << 24;

  LatencyTimeline() = default;
  explicit LatencyTimeline(uint64_t window_ns) : window_ns_(window_ns) {}

  bool enabled() const { return window_ns_ > 0; }
  uint64_t window_ns() const { return window_ns_; }
  const std::vector<Window>& windows() const { return windows_; }

  // `sent_ns` is the message's send time counted from the start of the run.
  void Record(uint64_t sent_ns, uint64_t latency_ns) {
    if (window_ns_ == 0) return;
    const uint64_t index = sent_ns / window_ns_;
    if (index >= kMaxWindows) return;
    if (index >= windows_.size()) windows_.resize(static_cast<size_t>(index) + 1);
    Window& window = windows_[static_cast<size_t>(index)];
    ++window.count;
    window.max_ns = std::max(window.max_ns, latency_ns);
  }

  // Both timelines must have the same window (or `other` none).
  void Merge(const LatencyTimeline& other) {
    if (other.windows_.size() > windows_.size()) windows_.resize(other.windows_.size());
    for (size_t i = 0; i < other.windows_.size(); ++i) {
      windows_[i].count += other.windows_[i].count;
      windows_[i].max_ns = std::max(windows_[i].max_ns, other.windows_[i].max_ns);
    }
  }

 private:
  uint64_t window_ns_ = 0;  // 0 = off
  std::vector<Window> windows_;
};

}  // namespace ringbroker::bench
