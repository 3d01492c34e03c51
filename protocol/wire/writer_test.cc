#include "protocol/wire/writer.h"

#include <cstdint>
#include <limits>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "protocol/wire/reader.h"

namespace ringbroker::protocol::wire {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;

std::vector<uint8_t> Bytes(const Writer& w) { return {w.data().begin(), w.data().end()}; }

TEST(WriterTest, FixedWidthIntegersAreBigEndian) {
  Writer w;
  w.Int8(-1);
  w.Int16(0x0102);
  w.Int32(-2);
  w.Int64(0x0102030405060708);
  w.Uint16(0xabcd);
  w.Bool(true);
  EXPECT_THAT(Bytes(w), ElementsAre(0xff, 0x01, 0x02, 0xff, 0xff, 0xff, 0xfe, 1, 2, 3, 4, 5, 6, 7,
                                    8, 0xab, 0xcd, 0x01));
}

TEST(WriterTest, Varints) {
  Writer w;
  w.Uvarint(0);
  w.Uvarint(300);
  w.Uvarint(std::numeric_limits<uint32_t>::max());
  w.Varint(-1);
  w.Varint(1);
  w.Varlong(std::numeric_limits<int64_t>::min());
  EXPECT_THAT(Bytes(w), ElementsAre(0x00, 0xac, 0x02, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02,
                                    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01));
  EXPECT_EQ(UvarintSize(0), 1u);
  EXPECT_EQ(UvarintSize(127), 1u);
  EXPECT_EQ(UvarintSize(128), 2u);
  EXPECT_EQ(UvarintSize(std::numeric_limits<uint32_t>::max()), 5u);
}

TEST(WriterTest, VarintsRoundTripAtBoundaries) {
  const int64_t values[] = {0,         1,          -1,         63,         -64,       64,
                            -65,       8191,       -8192,      1LL << 31,  -(1LL << 31),
                            INT64_MAX, INT64_MIN};
  Writer w;
  for (int64_t v : values) w.Varlong(v);
  for (int64_t v : values) {
    if (v >= INT32_MIN && v <= INT32_MAX) w.Varint(static_cast<int32_t>(v));
  }
  Reader r(w.data());
  for (int64_t v : values) EXPECT_EQ(r.Varlong(), v);
  for (int64_t v : values) {
    if (v >= INT32_MIN && v <= INT32_MAX) {
      EXPECT_EQ(r.Varint(), v);
    }
  }
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(WriterTest, StringsBytesAndArrays) {
  Writer w;
  w.String("ab", false);
  w.String("ab", true);
  w.NullableString(std::nullopt, false, true);
  w.NullableString(std::nullopt, true, true);
  w.NullableString(std::nullopt, true, false);  // not nullable at this version: empty string
  const uint8_t raw[] = {9, 8};
  w.WriteBytes(raw, false);
  w.NullableBytes(std::nullopt, true, true);
  w.ArrayLength(2, false);
  w.ArrayLength(2, true);
  w.NullArray(false, true);
  w.NullArray(true, true);
  EXPECT_THAT(Bytes(w), ElementsAreArray<uint8_t>({0, 2, 'a', 'b', 3, 'a', 'b', 0xff, 0xff, 0x00,
                                                   0x01, 0, 0, 0, 2, 9, 8, 0x00, 0, 0, 0, 2, 0x03,
                                                   0xff, 0xff, 0xff, 0xff, 0x00}));
  EXPECT_EQ(StringSize("ab", false), 4u);
  EXPECT_EQ(StringSize("ab", true), 3u);
  EXPECT_EQ(NullableStringSize(std::nullopt, false), 2u);
  EXPECT_EQ(NullableBytesSize(std::nullopt, false), 4u);
  EXPECT_EQ(ArrayLengthSize(200, true), 2u);
}

TEST(WriterTest, AppendsToAHandedInBufferAndPatches) {
  Writer w(std::vector<uint8_t>{0, 0, 0, 0});
  w.Int16(7);
  w.PatchInt32(0, static_cast<int32_t>(w.size() - 4));
  EXPECT_THAT(w.Release(), ElementsAre(0, 0, 0, 2, 0, 7));
  EXPECT_EQ(w.size(), 0u);
}

TEST(WriterDeathTest, ClassicStringOverInt16Aborts) {
  const std::string big(40000, 'x');
  Writer w;
  EXPECT_DEATH(w.String(big, false), "32767");
}

}  // namespace
}  // namespace ringbroker::protocol::wire
