#include "histogram.h"

#include <cstdint>
#include <limits>
#include <random>

#include <gtest/gtest.h>

namespace ringbroker::bench {
namespace {

using H = LatencyHistogram;

TEST(LatencyHistogramTest, EmptyHistogramAnswersZero) {
  H histogram;
  EXPECT_EQ(histogram.count(), 0u);
  EXPECT_EQ(histogram.min(), 0u);
  EXPECT_EQ(histogram.max(), 0u);
  EXPECT_EQ(histogram.ValueAtPercentile(50), 0u);
  EXPECT_TRUE(histogram.NonEmptyBuckets().empty());
}

TEST(LatencyHistogramTest, SmallValuesAreExact) {
  for (uint64_t value = 0; value < H::kLinearLimit; ++value) {
    EXPECT_EQ(H::BucketIndex(value), value);
    EXPECT_EQ(H::BucketLowerBound(value), value);
    EXPECT_EQ(H::BucketUpperBound(value), value);
  }
}

TEST(LatencyHistogramTest, BucketsTileTheWholeRangeWithoutGaps) {
  EXPECT_EQ(H::BucketLowerBound(0), 0u);
  for (size_t i = 0; i + 1 < H::kBucketCount; ++i) {
    ASSERT_EQ(H::BucketUpperBound(i) + 1, H::BucketLowerBound(i + 1)) << "bucket " << i;
    ASSERT_EQ(H::BucketIndex(H::BucketLowerBound(i)), i);
    ASSERT_EQ(H::BucketIndex(H::BucketUpperBound(i)), i);
  }
  EXPECT_EQ(H::BucketIndex(std::numeric_limits<uint64_t>::max()), H::kBucketCount - 1);
  EXPECT_EQ(H::BucketUpperBound(H::kBucketCount - 1), std::numeric_limits<uint64_t>::max());
}

TEST(LatencyHistogramTest, BucketWidthIsWithinOnePercentOfItsValues) {
  for (size_t i = H::kLinearLimit; i < H::kBucketCount; ++i) {
    const double lower = static_cast<double>(H::BucketLowerBound(i));
    const double upper = static_cast<double>(H::BucketUpperBound(i));
    ASSERT_LE((upper - lower) / lower, 1.0 / H::kSubBucketCount) << "bucket " << i;
  }
}

TEST(LatencyHistogramTest, PercentilesOfAUniformSequenceAreWithinTheRelativeError) {
  H histogram;
  constexpr uint64_t kValues = 1'000'000;
  for (uint64_t value = 1; value <= kValues; ++value) histogram.Record(value);
  EXPECT_EQ(histogram.count(), kValues);
  EXPECT_EQ(histogram.min(), 1u);
  EXPECT_EQ(histogram.max(), kValues);
  for (double percentile : {1.0, 50.0, 90.0, 99.0, 99.9}) {
    const double exact = percentile / 100.0 * kValues;
    const double reported = static_cast<double>(histogram.ValueAtPercentile(percentile));
    EXPECT_GE(reported, exact) << percentile;  // an upper bound is never below the true value
    EXPECT_LE(reported, exact * (1.0 + 1.0 / H::kSubBucketCount)) << percentile;
  }
  EXPECT_EQ(histogram.ValueAtPercentile(100), kValues);
  EXPECT_EQ(histogram.ValueAtPercentile(0), 1u);
}

TEST(LatencyHistogramTest, PercentileNeverExceedsTheExactMaximum) {
  H histogram;
  histogram.Record(1'000'001);  // lands in a bucket whose upper bound is larger
  EXPECT_EQ(histogram.ValueAtPercentile(99.9), 1'000'001u);
  EXPECT_EQ(histogram.ValueAtPercentile(50), 1'000'001u);
}

TEST(LatencyHistogramTest, OutlierShowsOnlyInTheTail) {
  H histogram;
  for (int i = 0; i < 999; ++i) histogram.Record(100);
  histogram.Record(5'000'000);
  EXPECT_EQ(histogram.ValueAtPercentile(50), 100u);
  EXPECT_EQ(histogram.ValueAtPercentile(99.9), 100u);  // the 999th of 1000 values
  EXPECT_EQ(histogram.ValueAtPercentile(99.95), 5'000'000u);
  EXPECT_EQ(histogram.max(), 5'000'000u);
}

TEST(LatencyHistogramTest, MergeEqualsRecordingEverythingInOne) {
  std::mt19937_64 random(42);
  std::lognormal_distribution<double> latency_ns(10.0, 1.5);
  H all, first, second;
  for (int i = 0; i < 100'000; ++i) {
    const auto value = static_cast<uint64_t>(latency_ns(random));
    all.Record(value);
    (i % 3 == 0 ? first : second).Record(value);
  }
  first.Merge(second);
  EXPECT_EQ(first.count(), all.count());
  EXPECT_EQ(first.min(), all.min());
  EXPECT_EQ(first.max(), all.max());
  for (double percentile : {50.0, 90.0, 99.0, 99.9}) {
    EXPECT_EQ(first.ValueAtPercentile(percentile), all.ValueAtPercentile(percentile));
  }
  const auto merged_buckets = first.NonEmptyBuckets();
  const auto all_buckets = all.NonEmptyBuckets();
  ASSERT_EQ(merged_buckets.size(), all_buckets.size());
  uint64_t total = 0;
  for (size_t i = 0; i < all_buckets.size(); ++i) {
    EXPECT_EQ(merged_buckets[i].upper_bound, all_buckets[i].upper_bound);
    EXPECT_EQ(merged_buckets[i].count, all_buckets[i].count);
    total += all_buckets[i].count;
  }
  EXPECT_EQ(total, all.count());
}

}  // namespace
}  // namespace ringbroker::bench
