#include "protocol/records/varint.h"

#include <limits>
#include <vector>

#include "gtest/gtest.h"

namespace ringbroker::protocol::records {
namespace {

TEST(Varint, ZigZagMapsSmallMagnitudesToSmallCodes) {
  EXPECT_EQ(ZigZagEncode32(0), 0u);
  EXPECT_EQ(ZigZagEncode32(-1), 1u);
  EXPECT_EQ(ZigZagEncode32(1), 2u);
  EXPECT_EQ(ZigZagEncode32(-2), 3u);
  EXPECT_EQ(ZigZagEncode32(std::numeric_limits<int32_t>::max()), 0xFFFFFFFEu);
  EXPECT_EQ(ZigZagEncode32(std::numeric_limits<int32_t>::min()), 0xFFFFFFFFu);
  EXPECT_EQ(ZigZagEncode64(std::numeric_limits<int64_t>::min()), ~uint64_t(0));
}

TEST(Varint, RoundTripsBoundaryValues) {
  std::vector<int64_t> values = {0,
                                 1,
                                 -1,
                                 63,
                                 -64,
                                 64,
                                 -65,
                                 8191,
                                 8192,
                                 -8193,
                                 std::numeric_limits<int32_t>::max(),
                                 std::numeric_limits<int32_t>::min(),
                                 std::numeric_limits<int64_t>::max(),
                                 std::numeric_limits<int64_t>::min()};
  for (int64_t v : values) {
    std::vector<uint8_t> buf;
    AppendVarlong(buf, v);
    EXPECT_EQ(buf.size(), VarlongSize(v));
    ByteReader r(buf);
    EXPECT_EQ(r.ReadVarlong(), v);
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.remaining(), 0u);
    if (v >= std::numeric_limits<int32_t>::min() && v <= std::numeric_limits<int32_t>::max()) {
      buf.clear();
      AppendVarint(buf, int32_t(v));
      EXPECT_EQ(buf.size(), VarintSize(int32_t(v)));
      ByteReader r32(buf);
      EXPECT_EQ(r32.ReadVarint(), int32_t(v));
      EXPECT_TRUE(r32.ok());
    }
  }
}

TEST(Varint, SixByteVarintIsMalformed) {
  std::vector<uint8_t> buf = {0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
  ByteReader r(buf);
  r.ReadVarint();
  EXPECT_FALSE(r.ok());
}

TEST(Varint, FifthByteBitsBeyond32AreMalformed) {
  std::vector<uint8_t> ok = {0xff, 0xff, 0xff, 0xff, 0x0f};
  ByteReader a(ok);
  EXPECT_EQ(a.ReadVarint(), std::numeric_limits<int32_t>::min());
  EXPECT_TRUE(a.ok());
  std::vector<uint8_t> bad = {0xff, 0xff, 0xff, 0xff, 0x1f};
  ByteReader b(bad);
  b.ReadVarint();
  EXPECT_FALSE(b.ok());
}

TEST(Varint, ElevenByteVarlongIsMalformed) {
  std::vector<uint8_t> buf(10, 0x80);
  buf.push_back(0x00);
  ByteReader r(buf);
  r.ReadVarlong();
  EXPECT_FALSE(r.ok());
  std::vector<uint8_t> tenth_too_big(9, 0xff);
  tenth_too_big.push_back(0x02);
  ByteReader r2(tenth_too_big);
  r2.ReadVarlong();
  EXPECT_FALSE(r2.ok());
}

TEST(Varint, TruncatedVarintFailsAndReaderStaysFailed) {
  std::vector<uint8_t> buf = {0x80, 0x80};
  ByteReader r(buf);
  EXPECT_EQ(r.ReadVarint(), 0);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
  EXPECT_EQ(r.ReadInt8(), 0);
  EXPECT_TRUE(r.ReadBytes(0).empty());
  EXPECT_FALSE(r.ok());
}

TEST(ByteReader, NullableBytesRejectsNegativeLengthsOtherThanMinusOne) {
  std::vector<uint8_t> buf = {1, 2, 3};
  ByteReader r(buf);
  EXPECT_FALSE(r.ReadNullableBytes(-1).has_value());
  EXPECT_TRUE(r.ok());
  r.ReadNullableBytes(-2);
  EXPECT_FALSE(r.ok());
  ByteReader r2(buf);
  r2.ReadNullableBytes(4);
  EXPECT_FALSE(r2.ok());
}

TEST(ByteReader, BigEndianIntegers) {
  std::vector<uint8_t> buf = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0xff, 0xfe};
  ByteReader r(buf);
  EXPECT_EQ(r.ReadInt64(), 0x0102030405060708);
  EXPECT_EQ(r.ReadInt16(), -2);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.ReadInt32(), 0);
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace ringbroker::protocol::records
