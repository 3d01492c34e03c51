#include "storage/recent_batches.h"

#include "gtest/gtest.h"

namespace ringbroker::storage {
namespace {

protocol::BatchHeader Header(int64_t base_offset, int32_t records, int32_t total_size) {
  protocol::BatchHeader h;
  h.base_offset = base_offset;
  h.last_offset_delta = records - 1;
  h.record_count = records;
  h.batch_length = total_size - int32_t(protocol::batch_layout::kLogOverhead);
  return h;
}

// Appends `n` batches of 2 records and 100 bytes each after the newest entry (or at 0).
void AddBatches(RecentBatches& recent, int n, int64_t* next_offset, uint64_t* position) {
  for (int i = 0; i < n; ++i) {
    recent.Add(Header(*next_offset, 2, 100), *position);
    *next_offset += 2;
    *position += 100;
  }
}

TEST(RecentBatchesTest, KeepsTheNewestAndFindsByOffsetAndPosition) {
  RecentBatches recent(4);
  EXPECT_EQ(recent.size(), 0u);
  EXPECT_FALSE(recent.PositionAtOrBefore(0));
  EXPECT_FALSE(recent.IndexOf(0));
  int64_t next = 10;
  uint64_t position = 0;
  AddBatches(recent, 6, &next, &position);  // batches at 0..500, offsets 10..21; keeps the last 4
  ASSERT_EQ(recent.size(), 4u);
  EXPECT_EQ(recent.at(0).position, 200u);
  EXPECT_EQ(recent.at(3).position, 500u);
  EXPECT_EQ(recent.at(3).header.base_offset, 20);
  // Offsets from the oldest entry's base on map to the batch at or before them.
  EXPECT_FALSE(recent.PositionAtOrBefore(13));
  EXPECT_EQ(recent.PositionAtOrBefore(14), 200u);
  EXPECT_EQ(recent.PositionAtOrBefore(15), 200u);
  EXPECT_EQ(recent.PositionAtOrBefore(21), 500u);
  EXPECT_EQ(recent.PositionAtOrBefore(1000), 500u);
  // Only exact batch boundaries among the entries.
  EXPECT_FALSE(recent.IndexOf(100));
  EXPECT_EQ(recent.IndexOf(200), 0u);
  EXPECT_EQ(recent.IndexOf(400), 2u);
  EXPECT_FALSE(recent.IndexOf(450));
  EXPECT_FALSE(recent.IndexOf(600));
}

TEST(RecentBatchesTest, DropFromForgetsTheCutBatchesAndAddsContinueAfterTheCut) {
  RecentBatches recent(4);
  int64_t next = 0;
  uint64_t position = 0;
  AddBatches(recent, 5, &next, &position);  // keeps 100..400
  recent.DropFrom(300);                     // the segment was cut at the batch at 300
  ASSERT_EQ(recent.size(), 2u);
  EXPECT_EQ(recent.at(1).position, 200u);
  EXPECT_FALSE(recent.IndexOf(300));
  next = 6;
  position = 300;
  AddBatches(recent, 3, &next, &position);  // 300, 400, 500: the oldest (100) falls out
  ASSERT_EQ(recent.size(), 4u);
  EXPECT_EQ(recent.at(0).position, 200u);
  EXPECT_EQ(recent.IndexOf(500), 3u);
  EXPECT_EQ(recent.PositionAtOrBefore(7), 300u);
  recent.DropFrom(0);
  EXPECT_EQ(recent.size(), 0u);
  recent.Clear();
  EXPECT_FALSE(recent.IndexOf(0));
  AddBatches(recent, 1, &next, &position);
  EXPECT_EQ(recent.size(), 1u);
}

}  // namespace
}  // namespace ringbroker::storage
