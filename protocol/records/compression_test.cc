#include "protocol/records/compression.h"

#include <snappy.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"

namespace ringbroker::protocol {
namespace {

constexpr Compression kCodecs[] = {Compression::kNone, Compression::kGzip, Compression::kSnappy,
                                   Compression::kLz4, Compression::kZstd};
constexpr Compression kRealCodecs[] = {Compression::kGzip, Compression::kSnappy, Compression::kLz4,
                                       Compression::kZstd};

std::vector<uint8_t> Bytes(std::string_view s) { return {s.begin(), s.end()}; }

// Half random, half repetitive: compressible but not trivially so.
std::vector<uint8_t> SampleData(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = (i / 64) % 2 ? uint8_t(rng()) : uint8_t('a' + i % 7);
  return v;
}

class CodecTest : public ::testing::TestWithParam<Compression> {};

TEST_P(CodecTest, RoundTripsManySizes) {
  for (size_t n : {0u, 1u, 2u, 63u, 1000u, 32768u, 32769u, 65536u, 200000u}) {
    std::vector<uint8_t> data = SampleData(n, n);
    absl::StatusOr<std::vector<uint8_t>> packed = Compress(GetParam(), data);
    ASSERT_TRUE(packed.ok()) << packed.status();
    absl::StatusOr<std::vector<uint8_t>> unpacked = Decompress(GetParam(), *packed, n);
    ASSERT_TRUE(unpacked.ok()) << n << ": " << unpacked.status();
    EXPECT_EQ(*unpacked, data) << n;
  }
}

TEST_P(CodecTest, OutputExactlyAtLimitIsAcceptedOneOverIsNot) {
  std::vector<uint8_t> data = SampleData(5000, 7);
  auto packed = Compress(GetParam(), data);
  ASSERT_TRUE(packed.ok());
  EXPECT_TRUE(Decompress(GetParam(), *packed, 5000).ok());
  EXPECT_EQ(Decompress(GetParam(), *packed, 4999).status().code(),
            absl::StatusCode::kResourceExhausted);
}

TEST_P(CodecTest, TruncatedInputFailsOrYieldsAPrefix) {
  std::vector<uint8_t> data = SampleData(3000, 3);
  auto packed = Compress(GetParam(), data);
  ASSERT_TRUE(packed.ok());
  for (size_t cut = 0; cut < packed->size(); ++cut) {
    std::vector<uint8_t> prefix(packed->begin(), packed->begin() + cut);
    auto r = Decompress(GetParam(), prefix, 1 << 20);
    if (GetParam() == Compression::kNone || GetParam() == Compression::kSnappy) {
      // Neither has an end marker: a cut at a block boundary is a shorter valid stream.
      if (r.ok()) {
        ASSERT_LE(r->size(), data.size());
        EXPECT_TRUE(std::equal(r->begin(), r->end(), data.begin())) << cut;
      }
    } else {
      EXPECT_FALSE(r.ok()) << "cut at " << cut;
    }
  }
}

TEST_P(CodecTest, CorruptBytesNeverCrashAndStayBounded) {
  std::vector<uint8_t> data = SampleData(3000, 5);
  auto packed = Compress(GetParam(), data);
  ASSERT_TRUE(packed.ok());
  std::mt19937 rng(11);
  for (size_t i = 0; i < packed->size(); ++i) {
    std::vector<uint8_t> bad = *packed;
    bad[i] ^= uint8_t(1 + rng() % 255);
    auto r = Decompress(GetParam(), bad, 4096);
    if (r.ok()) {
      EXPECT_LE(r->size(), 4096u);
    }
  }
}

// A compression bomb: 32 MiB of zeros squeezes into a few KiB; decoding it under a 1 MiB bound
// must fail with ResourceExhausted (the bound holds for kNone too).
TEST_P(CodecTest, DecompressionBombIsBounded) {
  std::vector<uint8_t> zeros(32 << 20, 0);
  auto packed = Compress(GetParam(), zeros);
  ASSERT_TRUE(packed.ok());
  if (GetParam() != Compression::kNone) {
    EXPECT_LT(packed->size(), zeros.size() / 10);
  }
  auto r = Decompress(GetParam(), *packed, 1 << 20);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted) << r.status();
}

INSTANTIATE_TEST_SUITE_P(AllCodecs, CodecTest, ::testing::ValuesIn(kCodecs),
                         [](const auto& info) { return std::string(CompressionName(info.param)); });

TEST(Compression, CodecIdsBeyondZstdAreUnknown) {
  for (int id = 0; id <= 4; ++id) EXPECT_TRUE(CompressionFromId(id).ok());
  for (int id : {5, 6, 7, -1}) {
    EXPECT_EQ(CompressionFromId(id).status().code(), absl::StatusCode::kUnimplemented);
  }
}

TEST(Compression, EmptyInputIsNotAValidCompressedStream) {
  for (Compression c : kRealCodecs) {
    EXPECT_FALSE(Decompress(c, {}, 100).ok()) << CompressionName(c);
  }
}

TEST(Compression, GzipConcatenatedMembersAreJoined) {
  auto a = Compress(Compression::kGzip, Bytes("hello, "));
  auto b = Compress(Compression::kGzip, Bytes("world"));
  ASSERT_TRUE(a.ok() && b.ok());
  std::vector<uint8_t> both = *a;
  both.insert(both.end(), b->begin(), b->end());
  auto r = Decompress(Compression::kGzip, both, 100);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, Bytes("hello, world"));
}

TEST(Compression, GzipTrailingGarbageIsRejected) {
  auto a = Compress(Compression::kGzip, Bytes("hello"));
  ASSERT_TRUE(a.ok());
  a->push_back(0x42);
  a->push_back(0x43);
  EXPECT_FALSE(Decompress(Compression::kGzip, *a, 100).ok());
}

TEST(Compression, SnappyWritesXerialFramingInBlocksOf32KiB) {
  std::vector<uint8_t> data = SampleData(70000, 1);
  auto packed = Compress(Compression::kSnappy, data);
  ASSERT_TRUE(packed.ok());
  const uint8_t header[16] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1};
  ASSERT_GE(packed->size(), 16u);
  EXPECT_TRUE(std::equal(header, header + 16, packed->begin()));
  // Walk the blocks: 32768 + 32768 + 4464 bytes of input.
  size_t pos = 16;
  std::vector<size_t> block_lengths;
  while (pos < packed->size()) {
    uint32_t n = uint32_t((*packed)[pos]) << 24 | uint32_t((*packed)[pos + 1]) << 16 |
                 uint32_t((*packed)[pos + 2]) << 8 | (*packed)[pos + 3];
    size_t raw = 0;
    ASSERT_TRUE(snappy::GetUncompressedLength(
        reinterpret_cast<const char*>(packed->data() + pos + 4), n, &raw));
    block_lengths.push_back(raw);
    pos += 4 + n;
  }
  EXPECT_EQ(block_lengths, (std::vector<size_t>{32768, 32768, 4464}));
}

TEST(Compression, SnappyRawBlockWithoutFramingIsRead) {
  std::string raw;
  std::string input = "raw snappy as librdkafka writes it to non-Java peers";
  snappy::Compress(input.data(), input.size(), &raw);
  auto r = Decompress(Compression::kSnappy, Bytes(raw), 1000);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, Bytes(input));
  EXPECT_EQ(Decompress(Compression::kSnappy, Bytes(raw), 10).status().code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(Compression, SnappyXerialBlockLengthOverrunIsRejected) {
  auto packed = Compress(Compression::kSnappy, Bytes("some bytes to frame"));
  ASSERT_TRUE(packed.ok());
  (*packed)[16] = 0x7f;  // block length now far beyond the input
  EXPECT_EQ(Decompress(Compression::kSnappy, *packed, 1000).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(Compression, XxHash32KnownVectors) {
  EXPECT_EQ(compression_internal::XxHash32({}, 0), 0x02CC5D05u);
  std::vector<uint8_t> s = Bytes("Nobody inspects the spammish repetition");
  EXPECT_EQ(compression_internal::XxHash32(s, 0), 0xE2293B2Fu);
}

// Rewrites an LZ4 frame's header checksum the way Kafka's magic-0 writer computed it: over the
// frame magic and the descriptor, instead of over the descriptor alone.
std::vector<uint8_t> WithKafkaLegacyHeaderChecksum(std::vector<uint8_t> frame) {
  uint8_t flags = frame[4];
  size_t descriptor = 2 + ((flags & 0x08) ? 8 : 0) + ((flags & 0x01) ? 4 : 0);
  uint32_t h = compression_internal::XxHash32(absl::MakeConstSpan(frame.data(), 4 + descriptor), 0);
  frame[4 + descriptor] = uint8_t(h >> 8);
  return frame;
}

TEST(Compression, Lz4HeaderChecksumIsComputedLikeLibLz4) {
  auto packed = Compress(Compression::kLz4, Bytes("checksum me"));
  ASSERT_TRUE(packed.ok());
  uint8_t flags = (*packed)[4];
  size_t descriptor = 2 + ((flags & 0x08) ? 8 : 0) + ((flags & 0x01) ? 4 : 0);
  EXPECT_EQ((*packed)[4 + descriptor],
            uint8_t(compression_internal::XxHash32(
                        absl::MakeConstSpan(packed->data() + 4, descriptor), 0) >>
                    8));
}

TEST(Compression, Lz4KafkaLegacyHeaderChecksumNeedsIgnore) {
  std::vector<uint8_t> data = SampleData(1000, 9);
  auto packed = Compress(Compression::kLz4, data);
  ASSERT_TRUE(packed.ok());
  std::vector<uint8_t> legacy = WithKafkaLegacyHeaderChecksum(*packed);
  ASSERT_NE(legacy, *packed) << "the two checksums happen to agree; pick other data";
  EXPECT_FALSE(Decompress(Compression::kLz4, legacy, 2000, Lz4HeaderChecksum::kVerify).ok());
  auto r = Decompress(Compression::kLz4, legacy, 2000, Lz4HeaderChecksum::kIgnore);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, data);
  // A correct checksum is fine in either mode.
  auto again = Decompress(Compression::kLz4, *packed, 2000, Lz4HeaderChecksum::kIgnore);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, data);
  // Truncated headers are rejected, not read past.
  for (size_t cut = 0; cut < 8; ++cut) {
    std::vector<uint8_t> prefix(legacy.begin(), legacy.begin() + cut);
    EXPECT_FALSE(Decompress(Compression::kLz4, prefix, 2000, Lz4HeaderChecksum::kIgnore).ok());
  }
}

}  // namespace
}  // namespace ringbroker::protocol
