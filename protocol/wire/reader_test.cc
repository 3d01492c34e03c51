#include "protocol/wire/reader.h"

#include <cstdint>
#include <limits>
#include <vector>

#include "gtest/gtest.h"
#include "protocol/wire/writer.h"

namespace ringbroker::protocol::wire {
namespace {

Reader Over(const std::vector<uint8_t>& bytes) { return Reader(absl::MakeConstSpan(bytes)); }

TEST(ReaderTest, FixedWidthIntegersAreBigEndian) {
  const std::vector<uint8_t> bytes = {0x81, 0x01, 0x02, 0xff, 0xff, 0xff, 0xfe,
                                      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0xab, 0xcd};
  Reader r = Over(bytes);
  EXPECT_EQ(r.Int8(), -127);
  EXPECT_EQ(r.Int16(), 0x0102);
  EXPECT_EQ(r.Int32(), -2);
  EXPECT_EQ(r.Int64(), 256);
  EXPECT_EQ(r.Uint16(), 0xabcd);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(ReaderTest, BoolIsAnyNonZeroByte) {
  const std::vector<uint8_t> bytes = {0x00, 0x01, 0x02};
  Reader r = Over(bytes);
  EXPECT_FALSE(r.Bool());
  EXPECT_TRUE(r.Bool());
  EXPECT_TRUE(r.Bool());
}

TEST(ReaderTest, Float64IsIeeeBigEndian) {
  const std::vector<uint8_t> bytes = {0x3f, 0xf8, 0, 0, 0, 0, 0, 0};  // 1.5
  Reader r = Over(bytes);
  EXPECT_EQ(r.Float64(), 1.5);
}

TEST(ReaderTest, TruncatedIntegerFailsAndGoesInert) {
  const std::vector<uint8_t> bytes = {0x01, 0x02, 0x03};
  Reader r = Over(bytes);
  EXPECT_EQ(r.Int32(), 0);
  EXPECT_FALSE(r.ok());
  // Inert: later reads return zero values and never touch memory.
  EXPECT_EQ(r.Int8(), 0);
  EXPECT_EQ(r.String(false), "");
  EXPECT_EQ(r.ArrayLength(false, false, 1), 0);
  EXPECT_EQ(r.remaining(), 0u);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("at byte 0"), std::string_view::npos);
}

TEST(ReaderTest, FirstFailureWins) {
  const std::vector<uint8_t> bytes = {0xff, 0xfe};  // int16 length -2
  Reader r = Over(bytes);
  r.String(false);
  const std::string first(r.status().message());
  r.Fail("something else");
  EXPECT_EQ(r.status().message(), first);
}

TEST(ReaderTest, UnsignedVarints) {
  const std::vector<uint8_t> bytes = {0x00, 0x7f, 0x80, 0x01, 0xff, 0xff, 0xff, 0xff, 0x0f};
  Reader r = Over(bytes);
  EXPECT_EQ(r.Uvarint(), 0u);
  EXPECT_EQ(r.Uvarint(), 127u);
  EXPECT_EQ(r.Uvarint(), 128u);
  EXPECT_EQ(r.Uvarint(), 0xffffffffu);
  EXPECT_TRUE(r.ok());
}

TEST(ReaderTest, VarintLongerThanFiveBytesFails) {
  const std::vector<uint8_t> bytes = {0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
  Reader r = Over(bytes);
  r.Uvarint();
  EXPECT_FALSE(r.ok());
}

TEST(ReaderTest, VarintOverflowingThirtyTwoBitsFails) {
  const std::vector<uint8_t> bytes = {0xff, 0xff, 0xff, 0xff, 0x1f};
  Reader r = Over(bytes);
  r.Uvarint();
  EXPECT_FALSE(r.ok());
}

TEST(ReaderTest, TruncatedVarintFails) {
  const std::vector<uint8_t> bytes = {0x80, 0x80};
  Reader r = Over(bytes);
  r.Uvarint();
  EXPECT_FALSE(r.ok());
}

TEST(ReaderTest, VarlongLimits) {
  std::vector<uint8_t> max(9, 0xff);
  max.push_back(0x01);
  Reader ok = Over(max);
  EXPECT_EQ(ok.Uvarlong(), std::numeric_limits<uint64_t>::max());
  EXPECT_TRUE(ok.ok());

  std::vector<uint8_t> overflow(9, 0xff);
  overflow.push_back(0x02);
  Reader bad = Over(overflow);
  bad.Uvarlong();
  EXPECT_FALSE(bad.ok());

  std::vector<uint8_t> eleven(10, 0x80);
  eleven.push_back(0x00);
  Reader too_long = Over(eleven);
  too_long.Uvarlong();
  EXPECT_FALSE(too_long.ok());
}

TEST(ReaderTest, ZigzagVarints) {
  const std::vector<uint8_t> bytes = {0x00, 0x01, 0x02, 0x03, 0xfe, 0xff, 0xff, 0xff, 0x0f,
                                      0xff, 0xff, 0xff, 0xff, 0x0f};
  Reader r = Over(bytes);
  EXPECT_EQ(r.Varint(), 0);
  EXPECT_EQ(r.Varint(), -1);
  EXPECT_EQ(r.Varint(), 1);
  EXPECT_EQ(r.Varint(), -2);
  EXPECT_EQ(r.Varint(), std::numeric_limits<int32_t>::max());
  EXPECT_EQ(r.Varint(), std::numeric_limits<int32_t>::min());
  EXPECT_TRUE(r.ok());
}

TEST(ReaderTest, ClassicAndCompactStrings) {
  const std::vector<uint8_t> bytes = {0x00, 0x02, 'h', 'i', 0xff, 0xff, 0x03, 'y', 'o', 0x00};
  Reader r = Over(bytes);
  EXPECT_EQ(r.String(false), "hi");
  EXPECT_EQ(r.NullableString(false, true), std::nullopt);
  EXPECT_EQ(r.String(true), "yo");
  EXPECT_EQ(r.NullableString(true, true), std::nullopt);
  EXPECT_TRUE(r.ok());
}

TEST(ReaderTest, StringIsAViewIntoTheFrame) {
  const std::vector<uint8_t> bytes = {0x00, 0x02, 'h', 'i'};
  Reader r = Over(bytes);
  std::string_view s = r.String(false);
  EXPECT_EQ(reinterpret_cast<const uint8_t*>(s.data()), bytes.data() + 2);
}

TEST(ReaderTest, NullWhereNotNullableFails) {
  const std::vector<uint8_t> bytes = {0xff, 0xff};
  Reader r = Over(bytes);
  r.String(false);
  EXPECT_FALSE(r.ok());
  const std::vector<uint8_t> compact = {0x00};
  Reader c = Over(compact);
  c.ReadBytes(true);
  EXPECT_FALSE(c.ok());
}

TEST(ReaderTest, NegativeStringLengthFails) {
  const std::vector<uint8_t> bytes = {0x80, 0x00, 'x'};
  Reader r = Over(bytes);
  r.NullableString(false, true);
  EXPECT_FALSE(r.ok());
}

TEST(ReaderTest, LengthBeyondFrameFails) {
  const std::vector<uint8_t> bytes = {0x00, 0x05, 'a', 'b'};
  Reader r = Over(bytes);
  r.String(false);
  EXPECT_FALSE(r.ok());
  const std::vector<uint8_t> huge = {0x7f, 0xff, 0xff, 0xff, 0x00};
  Reader h = Over(huge);
  h.ReadBytes(false);
  EXPECT_FALSE(h.ok());
  const std::vector<uint8_t> compact_huge = {0xff, 0xff, 0xff, 0xff, 0x0f, 'a'};
  Reader ch = Over(compact_huge);
  ch.String(true);
  EXPECT_FALSE(ch.ok());
}

TEST(ReaderTest, ArrayLengthIsCheckedAgainstMinimumElementSize) {
  // Four bytes remain after the count: two int16 elements fit, three do not.
  const std::vector<uint8_t> bytes = {0x00, 0x00, 0x00, 0x03, 0, 1, 0, 2};
  Reader r = Over(bytes);
  EXPECT_EQ(r.ArrayLength(false, false, 2), 0);
  EXPECT_FALSE(r.ok());
  Reader fits = Over(bytes);
  EXPECT_EQ(fits.ArrayLength(false, false, 1), 3);
  EXPECT_TRUE(fits.ok());
}

TEST(ReaderTest, HugeArrayCountFailsWithoutAllocating) {
  const std::vector<uint8_t> bytes = {0x7f, 0xff, 0xff, 0xff};
  Reader r = Over(bytes);
  EXPECT_EQ(r.ArrayLength(false, false, 1), 0);
  EXPECT_FALSE(r.ok());
  const std::vector<uint8_t> negative = {0xff, 0xff, 0xff, 0xfe};
  Reader n = Over(negative);
  n.ArrayLength(false, true, 1);
  EXPECT_FALSE(n.ok());
}

TEST(ReaderTest, NullArray) {
  const std::vector<uint8_t> bytes = {0xff, 0xff, 0xff, 0xff, 0x00};
  Reader r = Over(bytes);
  EXPECT_EQ(r.ArrayLength(false, true, 1), -1);
  EXPECT_EQ(r.ArrayLength(true, true, 1), -1);
  EXPECT_TRUE(r.ok());
  Reader strict = Over(bytes);
  strict.ArrayLength(false, false, 1);
  EXPECT_FALSE(strict.ok());
}

TEST(ReaderTest, SubReaderIsBoundedAndSkipped) {
  const std::vector<uint8_t> bytes = {0x00, 0x01, 0x00, 0x02, 0x09};
  Reader r = Over(bytes);
  Reader sub = r.Sub(4);
  EXPECT_EQ(sub.Int16(), 1);
  EXPECT_EQ(sub.Int16(), 2);
  EXPECT_EQ(sub.Int8(), 0);  // past the sub-frame although the parent has more
  EXPECT_FALSE(sub.ok());
  EXPECT_EQ(r.Int8(), 9);
  r.Adopt(sub);
  EXPECT_FALSE(r.ok());
}

TEST(ReaderTest, SubReaderBeyondFrameFails) {
  const std::vector<uint8_t> bytes = {0x00, 0x01};
  Reader r = Over(bytes);
  Reader sub = r.Sub(3);
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(sub.ok());
}

TEST(ReaderTest, UuidRoundTrip) {
  Uuid id;
  for (size_t i = 0; i < id.bytes.size(); ++i) id.bytes[i] = static_cast<uint8_t>(i * 17);
  Writer w;
  w.WriteUuid(id);
  Reader r(w.data());
  EXPECT_EQ(r.ReadUuid(), id);
  EXPECT_EQ(id.ToString(), "00112233-4455-6677-8899-aabbccddeeff");
  EXPECT_TRUE(Uuid{}.IsZero());
}

}  // namespace
}  // namespace ringbroker::protocol::wire
