// A log-linear latency histogram in the manner of HdrHistogram, small enough to read in one sitting.
//
// Debian bookworm packages HdrHistogram only for Java and Go, so the load tool carries its own.
// Values are unsigned 64-bit integers (the load tool records nanoseconds). Values below
// 2 * kSubBucketCount are counted exactly; above that, every power-of-two range [2^k, 2^(k+1)) is cut
// into kSubBucketCount equal buckets, so a bucket is never wider than 1/kSubBucketCount of the values
// it holds: any value read back (a bucket's upper bound) is within 1/128 < 0.8% of a recorded one.
//
// The counts live in a fixed array (a bounded 7,424 buckets, ~58 KiB), so recording never allocates
// and never fails. One histogram belongs to one thread; threads merge theirs at the end.
#ifndef RINGBROKER_BENCH_LOAD_HISTOGRAM_H_
#define RINGBROKER_BENCH_LOAD_HISTOGRAM_H_

#include <algorithm>
#include <array>
#include <bit>
#include <cassert>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace ringbroker::bench {

class LatencyHistogram {
 public:
  // 2^7 sub-buckets per power of two bound the relative error by 1/128.
  static constexpr int kSubBucketBits = 7;
  static constexpr uint64_t kSubBucketCount = uint64_t{1} << kSubBucketBits;
  // Values below this are their own bucket.
  static constexpr uint64_t kLinearLimit = 2 * kSubBucketCount;
  // Shifts 1..(64 - kSubBucketBits - 1) cover every value up to 2^64 - 1.
  static constexpr size_t kShiftCount = 64 - kSubBucketBits - 1;
  static constexpr size_t kBucketCount = kLinearLimit + kShiftCount * kSubBucketCount;

  struct Bucket {
    uint64_t upper_bound;  // the largest value that falls in this bucket
    uint64_t count;
  };

  static size_t BucketIndex(uint64_t value) {
    if (value < kLinearLimit) return static_cast<size_t>(value);
    // The most significant bit is at least kSubBucketBits + 1 here, so shift >= 1 and
    // value >> shift lies in [kSubBucketCount, 2 * kSubBucketCount).
    const int most_significant_bit = 63 - std::countl_zero(value);
    const int shift = most_significant_bit - kSubBucketBits;
    const uint64_t sub_bucket = (value >> shift) - kSubBucketCount;
    return static_cast<size_t>(kLinearLimit + static_cast<uint64_t>(shift - 1) * kSubBucketCount +
                               sub_bucket);
  }

  static uint64_t BucketLowerBound(size_t index) {
    assert(index < kBucketCount);
    if (index < kLinearLimit) return index;
    const size_t offset = index - kLinearLimit;
    const int shift = static_cast<int>(offset / kSubBucketCount) + 1;
    const uint64_t sub_bucket = kSubBucketCount + offset % kSubBucketCount;
    return sub_bucket << shift;
  }

  static uint64_t BucketUpperBound(size_t index) {
    assert(index < kBucketCount);
    if (index + 1 == kBucketCount) return std::numeric_limits<uint64_t>::max();
    return BucketLowerBound(index + 1) - 1;
  }

  void Record(uint64_t value) {
    ++counts_[BucketIndex(value)];
    ++count_;
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
  }

  void Merge(const LatencyHistogram& other) {
    for (size_t i = 0; i < kBucketCount; ++i) counts_[i] += other.counts_[i];
    count_ += other.count_;
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
  }

  uint64_t count() const { return count_; }
  // Exact extremes, kept beside the buckets; both are 0 while the histogram is empty.
  uint64_t min() const { return count_ == 0 ? 0 : min_; }
  uint64_t max() const { return max_; }

  // The smallest recorded-bucket bound at or below which `percentile` percent of the values lie,
  // reported as the bucket's upper bound (as HdrHistogram's highest equivalent value) but never above
  // the exact maximum. `percentile` is in [0, 100]; an empty histogram answers 0.
  uint64_t ValueAtPercentile(double percentile) const {
    if (count_ == 0) return 0;
    percentile = std::clamp(percentile, 0.0, 100.0);
    // The rank of the wanted value, 1-based: at least one value, at most all of them. The small
    // allowance keeps binary rounding (99.9 / 100 * 1000 = 999.0000000000001) from adding a rank.
    const double count = static_cast<double>(count_);
    const double exact_rank = std::ceil(percentile / 100.0 * count - 1e-9 * count);
    const uint64_t rank = std::clamp<uint64_t>(static_cast<uint64_t>(exact_rank), 1, count_);
    uint64_t seen = 0;
    for (size_t i = 0; i < kBucketCount; ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::clamp(BucketUpperBound(i), min(), max_);
    }
    return max_;  // unreachable: the counts add up to count_
  }

  std::vector<Bucket> NonEmptyBuckets() const {
    std::vector<Bucket> buckets;
    for (size_t i = 0; i < kBucketCount; ++i) {
      if (counts_[i] != 0) buckets.push_back(Bucket{.upper_bound = BucketUpperBound(i), .count = counts_[i]});
    }
    return buckets;
  }

 private:
  std::array<uint64_t, kBucketCount> counts_{};
  uint64_t count_ = 0;
  uint64_t min_ = std::numeric_limits<uint64_t>::max();
  uint64_t max_ = 0;
};

}  // namespace ringbroker::bench

#endif  // RINGBROKER_BENCH_LOAD_HISTOGRAM_H_
