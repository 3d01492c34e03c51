#include "broker/reactor/timer_queue.h"

#include <vector>

#include "gtest/gtest.h"

namespace ringbroker::reactor {
namespace {

TEST(TimerQueueTest, RunsDueTimersInDeadlineOrderTiesInScheduleOrder) {
  TimerQueue timers(100);
  std::vector<int> ran;
  ASSERT_TRUE(timers.Schedule(30, [&] { ran.push_back(3); }).ok());
  ASSERT_TRUE(timers.Schedule(10, [&] { ran.push_back(1); }).ok());
  ASSERT_TRUE(timers.Schedule(20, [&] { ran.push_back(2); }).ok());
  ASSERT_TRUE(timers.Schedule(20, [&] { ran.push_back(22); }).ok());
  ASSERT_TRUE(timers.Schedule(50, [&] { ran.push_back(5); }).ok());
  EXPECT_EQ(timers.NextDeadline(), 10);
  EXPECT_EQ(timers.RunExpired(30), 4u);
  EXPECT_EQ(ran, (std::vector<int>{1, 2, 22, 3}));
  EXPECT_EQ(timers.NextDeadline(), 50);
  EXPECT_EQ(timers.size(), 1u);
}

TEST(TimerQueueTest, CancelledTimerNeverRuns) {
  TimerQueue timers(100);
  bool ran = false;
  TimerId id = *timers.Schedule(5, [&] { ran = true; });
  EXPECT_TRUE(timers.Cancel(id));
  EXPECT_FALSE(timers.Cancel(id));
  EXPECT_EQ(timers.NextDeadline(), std::nullopt);
  EXPECT_EQ(timers.RunExpired(100), 0u);
  EXPECT_FALSE(ran);
}

TEST(TimerQueueTest, CancelOfUnknownOrFiredIdIsFalse) {
  TimerQueue timers(100);
  EXPECT_FALSE(timers.Cancel(12345));
  TimerId id = *timers.Schedule(1, [] {});
  timers.RunExpired(1);
  EXPECT_FALSE(timers.Cancel(id));
}

TEST(TimerQueueTest, TimerScheduledByCallbackWaitsForNextRun) {
  TimerQueue timers(100);
  int runs = 0;
  std::function<void()> again;
  again = [&] {
    ++runs;
    ASSERT_TRUE(timers.Schedule(0, again).ok());
  };
  ASSERT_TRUE(timers.Schedule(0, again).ok());
  EXPECT_EQ(timers.RunExpired(10), 1u);
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(timers.RunExpired(10), 1u);
  EXPECT_EQ(runs, 2);
}

TEST(TimerQueueTest, CallbackMayCancelALaterTimer) {
  TimerQueue timers(100);
  bool second_ran = false;
  TimerId second = 0;
  ASSERT_TRUE(timers.Schedule(1, [&] { EXPECT_TRUE(timers.Cancel(second)); }).ok());
  second = *timers.Schedule(2, [&] { second_ran = true; });
  timers.RunExpired(5);
  EXPECT_FALSE(second_ran);
}

TEST(TimerQueueTest, LimitIsEnforced) {
  TimerQueue timers(2);
  ASSERT_TRUE(timers.Schedule(1, [] {}).ok());
  ASSERT_TRUE(timers.Schedule(1, [] {}).ok());
  EXPECT_EQ(timers.Schedule(1, [] {}).status().code(), absl::StatusCode::kResourceExhausted);
}

TEST(TimerQueueTest, ManyCancelsKeepHeapBounded) {
  TimerQueue timers(1 << 20);
  for (int round = 0; round < 10000; ++round) {
    TimerId id = *timers.Schedule(1000 + round, [] {});
    ASSERT_TRUE(timers.Cancel(id));
    ASSERT_LE(timers.heap_size_for_testing(), 64u);
  }
  EXPECT_EQ(timers.size(), 0u);
  EXPECT_EQ(timers.NextDeadline(), std::nullopt);
}

TEST(TimerQueueTest, ClearDropsWithoutRunning) {
  TimerQueue timers(10);
  bool ran = false;
  ASSERT_TRUE(timers.Schedule(1, [&] { ran = true; }).ok());
  timers.Clear();
  EXPECT_EQ(timers.RunExpired(100), 0u);
  EXPECT_FALSE(ran);
}

}  // namespace
}  // namespace ringbroker::reactor
