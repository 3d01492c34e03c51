#include "timeline.h"

#include <gtest/gtest.h>

namespace ringbroker::bench {
namespace {

TEST(LatencyTimelineTest, OffRecordsNothing) {
  LatencyTimeline timeline;
  EXPECT_FALSE(timeline.enabled());
  timeline.Record(5, 7);
  EXPECT_TRUE(timeline.windows().empty());
}

TEST(LatencyTimelineTest, WindowsByTimeSentKeepCountAndWorst) {
  LatencyTimeline timeline(100);
  timeline.Record(0, 3);
  timeline.Record(99, 9);
  timeline.Record(99, 4);
  timeline.Record(350, 1);
  ASSERT_EQ(timeline.windows().size(), 4u);
  EXPECT_EQ(timeline.windows()[0].count, 3u);
  EXPECT_EQ(timeline.windows()[0].max_ns, 9u);
  EXPECT_EQ(timeline.windows()[1].count, 0u);
  EXPECT_EQ(timeline.windows()[2].count, 0u);
  EXPECT_EQ(timeline.windows()[3].count, 1u);
  EXPECT_EQ(timeline.windows()[3].max_ns, 1u);
}

TEST(LatencyTimelineTest, MergeAddsCountsAndKeepsTheWorse) {
  LatencyTimeline a(10), b(10);
  a.Record(5, 50);
  b.Record(7, 70);
  b.Record(25, 2);
  a.Merge(b);
  ASSERT_EQ(a.windows().size(), 3u);
  EXPECT_EQ(a.windows()[0].count, 2u);
  EXPECT_EQ(a.windows()[0].max_ns, 70u);
  EXPECT_EQ(a.windows()[2].count, 1u);
  LatencyTimeline none;
  a.Merge(none);
  EXPECT_EQ(a.windows().size(), 3u);
}

TEST(LatencyTimelineTest, FarFutureIsDroppedNotAllocated) {
  LatencyTimeline timeline(1);
  timeline.Record(LatencyTimeline::kMaxWindows, 1);
  timeline.Record(UINT64_MAX, 1);
  EXPECT_TRUE(timeline.windows().empty());
}

}  // namespace
}  // namespace ringbroker::bench
