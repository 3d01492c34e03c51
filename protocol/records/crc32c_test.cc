#include "protocol/records/crc32c.h"

#include <cstring>
#include <random>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"

namespace ringbroker::protocol {
namespace {

absl::Span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(Crc32c, CheckValue) { EXPECT_EQ(Crc32c(Bytes("123456789")), 0xE3069283u); }

TEST(Crc32c, EmptyIsZero) { EXPECT_EQ(Crc32c({}), 0u); }

// The test vectors of RFC 3720 (iSCSI), appendix B.4.
TEST(Crc32c, Rfc3720Vectors) {
  std::vector<uint8_t> buf(32, 0);
  EXPECT_EQ(Crc32c(buf), 0x8A9136AAu);
  std::fill(buf.begin(), buf.end(), 0xff);
  EXPECT_EQ(Crc32c(buf), 0x62A8AB43u);
  for (size_t i = 0; i < 32; ++i) buf[i] = uint8_t(i);
  EXPECT_EQ(Crc32c(buf), 0x46DD794Eu);
  for (size_t i = 0; i < 32; ++i) buf[i] = uint8_t(31 - i);
  EXPECT_EQ(Crc32c(buf), 0x113FDB5Cu);
  const uint8_t scsi_read[48] = {0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00,
                                 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00,
                                 0x00, 0x18, 0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  EXPECT_EQ(Crc32c(scsi_read), 0xD9963A56u);
}

TEST(Crc32c, ExtendEqualsWhole) {
  std::string_view s = "The quick brown fox jumps over the lazy dog";
  for (size_t cut = 0; cut <= s.size(); ++cut) {
    uint32_t first = Crc32c(Bytes(s.substr(0, cut)));
    EXPECT_EQ(Crc32cExtend(first, Bytes(s.substr(cut))), Crc32c(Bytes(s))) << cut;
  }
}

TEST(Crc32c, PortableMatchesKnownVector) {
  const char* s = "123456789";
  EXPECT_EQ(crc32c_internal::ExtendPortable(0, reinterpret_cast<const uint8_t*>(s), 9),
            0xE3069283u);
}

// Sizes around every stripe and block boundary of the hardware path, at every alignment.
TEST(Crc32c, HardwareMatchesPortableOnRandomBuffers) {
  if (!crc32c_internal::HardwareAvailable()) GTEST_SKIP() << "no SSE4.2 on this CPU";
  std::mt19937_64 rng(42);
  std::vector<uint8_t> buf(3 * 4096 * 3 + 64);
  for (auto& b : buf) b = uint8_t(rng());
  std::vector<size_t> sizes;
  for (size_t n = 0; n <= 80; ++n) sizes.push_back(n);
  for (size_t base : {768u, 1536u, 4096u, 12288u, 24576u, 36864u}) {
    for (size_t d = 0; d < 20; ++d) {
      sizes.push_back(base - 10 + d);
    }
  }
  for (int i = 0; i < 200; ++i) sizes.push_back(size_t(rng() % (buf.size() - 16)));
  for (size_t size : sizes) {
    for (size_t align = 0; align < 16; ++align) {
      uint32_t seed = uint32_t(rng());
      ASSERT_EQ(crc32c_internal::ExtendHardware(seed, buf.data() + align, size),
                crc32c_internal::ExtendPortable(seed, buf.data() + align, size))
          << "size " << size << " align " << align;
    }
  }
}

TEST(Crc32c, HardwareKnownVectors) {
  if (!crc32c_internal::HardwareAvailable()) GTEST_SKIP() << "no SSE4.2 on this CPU";
  std::vector<uint8_t> zeros(32, 0);
  EXPECT_EQ(crc32c_internal::ExtendHardware(0, zeros.data(), zeros.size()), 0x8A9136AAu);
  // A megabyte of zeros crosses every block path; checked against the portable path.
  std::vector<uint8_t> big(1 << 20, 0);
  EXPECT_EQ(crc32c_internal::ExtendHardware(0, big.data(), big.size()),
            crc32c_internal::ExtendPortable(0, big.data(), big.size()));
}

}  // namespace
}  // namespace ringbroker::protocol
