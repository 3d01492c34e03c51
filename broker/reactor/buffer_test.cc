#include "broker/reactor/buffer.h"

#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace ringbroker::reactor {
namespace {

// Counts frees so tests can see exactly when the last reference went.
class CountingOwner final : public BufferOwner {
 public:
  explicit CountingOwner(int* frees) : frees_(frees) {}
  char bytes[16] = "0123456789abcde";

 private:
  void Free() override { ++*frees_; }
  int* frees_;
};

TEST(BufferTest, CopyOfHoldsItsOwnBytes) {
  std::string source = "hello";
  Buffer buffer = Buffer::CopyOf(source);
  source[0] = 'j';
  EXPECT_EQ(buffer.view(), "hello");
  EXPECT_EQ(buffer.size(), 5u);
}

TEST(BufferTest, FromStringKeepsContents) {
  Buffer buffer = Buffer::FromString(std::string(1000, 'x'));
  ASSERT_EQ(buffer.size(), 1000u);
  EXPECT_EQ(buffer.view(), std::string(1000, 'x'));
}

TEST(BufferTest, EmptyBufferIsHarmless) {
  Buffer empty;
  EXPECT_TRUE(empty.empty());
  Buffer shared = empty.Share();
  EXPECT_TRUE(shared.empty());
  empty.Release();
}

TEST(BufferTest, ShareKeepsMemoryUntilLastReference) {
  int frees = 0;
  auto* owner = new CountingOwner(&frees);
  {
    Buffer a(owner->bytes, 15, owner);
    Buffer b = a.Share(2, 3);
    EXPECT_EQ(b.view(), "234");
    EXPECT_EQ(owner->refs_for_testing(), 2u);
    a.Release();
    EXPECT_EQ(frees, 0);
    EXPECT_EQ(b.view(), "234");
  }
  EXPECT_EQ(frees, 1);
  delete owner;
}

TEST(BufferTest, MoveTransfersTheReference) {
  int frees = 0;
  auto* owner = new CountingOwner(&frees);
  {
    Buffer a(owner->bytes, 15, owner);
    Buffer b(std::move(a));
    EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
    Buffer c;
    c = std::move(b);
    EXPECT_EQ(owner->refs_for_testing(), 1u);
    EXPECT_EQ(c.size(), 15u);
  }
  EXPECT_EQ(frees, 1);
  delete owner;
}

TEST(BufferTest, PrefixAndSuffixNarrowTheView) {
  Buffer buffer = Buffer::CopyOf("abcdefgh");
  buffer.RemovePrefix(2);
  buffer.RemoveSuffix(3);
  EXPECT_EQ(buffer.view(), "cde");
}

TEST(BufferTest, SharesReleasedOnManyThreadsFreeOnce) {
  int frees = 0;
  auto* owner = new CountingOwner(&frees);
  Buffer original(owner->bytes, 15, owner);
  std::vector<Buffer> shares;
  for (int i = 0; i < 64; ++i) shares.push_back(original.Share());
  original.Release();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    std::vector<Buffer> mine;
    for (int i = t; i < 64; i += 4) mine.push_back(std::move(shares[i]));
    threads.emplace_back([mine = std::move(mine)]() mutable { mine.clear(); });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(frees, 1);
  delete owner;
}

}  // namespace
}  // namespace ringbroker::reactor
