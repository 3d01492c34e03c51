#include "storage/index.h"

#include "gtest/gtest.h"
#include "storage/format.h"

namespace ringbroker::storage {
namespace {

TEST(OffsetIndexTest, LookupFindsLastEntryAtOrBelow) {
  OffsetIndex index(100, 10);
  index.Append(110, 400);
  index.Append(120, 900);
  EXPECT_FALSE(index.LookupOffset(105).has_value());
  EXPECT_EQ(index.LookupOffset(110)->position, 400u);
  EXPECT_EQ(index.LookupOffset(119)->position, 400u);
  EXPECT_EQ(index.LookupOffset(1000)->position, 900u);
  EXPECT_EQ(index.LookupPosition(899)->offset, 110);
  EXPECT_EQ(index.LookupPosition(900)->offset, 120);
  index.TruncateFromOffset(120);
  EXPECT_EQ(index.size(), 1u);
}

TEST(OffsetIndexTest, LookupsAndTruncationOutsideTheSegmentRange) {
  OffsetIndex index(1'000'000'000'000, 10);
  index.Append(1'000'000'000'010, 400);
  index.Append(1'000'000'000'000 + INT32_MAX, 900);  // the largest relative offset the file holds
  EXPECT_FALSE(index.LookupOffset(0).has_value());
  EXPECT_FALSE(index.LookupOffset(1'000'000'000'009).has_value());
  EXPECT_EQ(index.LookupOffset(1'000'000'000'010)->offset, 1'000'000'000'010);
  EXPECT_EQ(index.LookupOffset(INT64_MAX)->position, 900u);
  EXPECT_EQ(index.last()->offset, 1'000'000'000'000 + INT32_MAX);
  index.TruncateFromOffset(INT64_MAX);
  EXPECT_EQ(index.size(), 2u);
  index.TruncateFromOffset(1'000'000'000'000);
  EXPECT_EQ(index.size(), 0u);
}

TEST(OffsetIndexTest, EncodesKafkaLayoutAndDecodesBack) {
  OffsetIndex index(100, 10);
  index.Append(110, 400);
  index.Append(120, 900);
  std::vector<uint8_t> bytes = index.Encode();
  ASSERT_EQ(bytes.size(), 2 * format::kOffsetIndexEntrySize);
  // Relative offset 10, position 400, big-endian.
  EXPECT_EQ(bytes[3], 10);
  EXPECT_EQ(bytes[6], 400 >> 8);
  EXPECT_EQ(bytes[7], 400 & 0xff);
  OffsetIndex decoded(100, 10);
  ASSERT_TRUE(decoded.Decode(bytes, 1000).ok());
  EXPECT_EQ(decoded.LookupOffset(125)->position, 900u);
}

TEST(OffsetIndexTest, DecodeRejectsDamage) {
  OffsetIndex index(100, 10);
  index.Append(110, 400);
  index.Append(120, 900);
  std::vector<uint8_t> bytes = index.Encode();
  OffsetIndex d(100, 10);
  EXPECT_FALSE(d.Decode(absl::MakeConstSpan(bytes).subspan(0, 12), 1000).ok());  // torn entry
  EXPECT_FALSE(d.Decode(bytes, 900).ok());  // position past the log
  std::vector<uint8_t> swapped(bytes.begin() + 8, bytes.end());
  swapped.insert(swapped.end(), bytes.begin(), bytes.begin() + 8);
  EXPECT_FALSE(d.Decode(swapped, 1000).ok());  // out of order
  OffsetIndex small(100, 1);
  EXPECT_FALSE(small.Decode(bytes, 1000).ok());  // more entries than allowed
  EXPECT_EQ(d.size(), 0u);
}

TEST(TimeIndexTest, AppendsOnlyIncreasingTimestampsAndLooksUpStrictlyBefore) {
  TimeIndex index(0, 10);
  index.MaybeAppend(100, 5);
  index.MaybeAppend(100, 8);  // not newer: skipped
  index.MaybeAppend(200, 12);
  EXPECT_EQ(index.size(), 2u);
  EXPECT_FALSE(index.LookupBefore(100).has_value());
  EXPECT_EQ(index.LookupBefore(101)->offset, 5);
  EXPECT_EQ(index.LookupBefore(201)->offset, 12);
  std::vector<uint8_t> bytes = index.Encode();
  ASSERT_EQ(bytes.size(), 2 * format::kTimeIndexEntrySize);
  TimeIndex decoded(0, 10);
  ASSERT_TRUE(decoded.Decode(bytes, 20).ok());
  EXPECT_FALSE(decoded.Decode(bytes, 12).ok());  // entry at or past the log end
  index.TruncateFromOffset(12);
  EXPECT_EQ(index.size(), 1u);
}

TEST(FormatTest, SegmentNames) {
  EXPECT_EQ(format::SegmentBaseName(12345), "00000000000000012345");
  EXPECT_EQ(format::ParseSegmentName("00000000000000012345.log", format::kLogSuffix), 12345);
  EXPECT_FALSE(format::ParseSegmentName("0000000000000012345.log", format::kLogSuffix));
  EXPECT_FALSE(format::ParseSegmentName("00000000000000012345.index", format::kLogSuffix));
  EXPECT_FALSE(format::ParseSegmentName("0000000000000001234x.log", format::kLogSuffix));
  EXPECT_FALSE(format::ParseSegmentName("99999999999999999999.log", format::kLogSuffix));
}

}  // namespace
}  // namespace ringbroker::storage
