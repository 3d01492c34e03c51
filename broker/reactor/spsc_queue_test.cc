#include "broker/reactor/spsc_queue.h"

#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace ringbroker::reactor {
namespace {

TEST(SpscQueueTest, CapacityRoundsUpToPowerOfTwo) {
  SpscQueue<int> queue(5);
  EXPECT_EQ(queue.capacity(), 8u);
}

TEST(SpscQueueTest, PushFailsWhenFullAndRecoversAfterPop) {
  SpscQueue<int> queue(4);
  int values[5] = {0, 1, 2, 3, 4};
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(queue.Push(&values[i]));
  EXPECT_FALSE(queue.Push(&values[4]));
  EXPECT_EQ(queue.Pop(), &values[0]);
  EXPECT_TRUE(queue.Push(&values[4]));
  for (int i = 1; i < 5; ++i) EXPECT_EQ(queue.Pop(), &values[i]);
  EXPECT_EQ(queue.Pop(), nullptr);
  EXPECT_TRUE(queue.EmptyApprox());
}

TEST(SpscQueueTest, TwoThreadsPassEveryItemInOrder) {
  constexpr int kItems = 200000;
  std::vector<int> values(kItems);
  for (int i = 0; i < kItems; ++i) values[i] = i;
  SpscQueue<int> queue(64);
  std::thread producer([&] {
    for (int i = 0; i < kItems; ++i) {
      while (!queue.Push(&values[i])) std::this_thread::yield();
    }
  });
  int expected = 0;
  while (expected < kItems) {
    int* item = queue.Pop();
    if (item == nullptr) {
      std::this_thread::yield();
      continue;
    }
    ASSERT_EQ(*item, expected);
    ++expected;
  }
  producer.join();
  EXPECT_EQ(queue.Pop(), nullptr);
}

}  // namespace
}  // namespace ringbroker::reactor
