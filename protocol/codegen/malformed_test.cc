// Hostile input: lying lengths and counts, bad varints, oversized tagged fields, and every byte
// of valid frames overwritten. Each must give an error (or a clean decode), never a crash or a
// read outside the frame; run under ASan.
#include <cstdint>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "protocol/messages/all.h"
#include "protocol/messages/sample.h"
#include "protocol/wire/reader.h"
#include "protocol/wire/request_frame.h"
#include "protocol/wire/writer.h"

namespace ringbroker::protocol {
namespace {

template <typename M>
absl::Status DecodeBytes(const std::vector<uint8_t>& bytes, int16_t version, M* out = nullptr) {
  wire::Reader r(bytes);
  M m;
  absl::Status s = m.Decode(r, version);
  if (out != nullptr) *out = m;
  return s;
}

TEST(MalformedTest, HugeTopicCountFails) {
  // ProduceRequest v3: null transactional id, acks, timeout, then a topic count of 2^31-1.
  const std::vector<uint8_t> bytes = {0xff, 0xff, 0x00, 0x01, 0x00, 0x00, 0x00, 0x10,
                                      0x7f, 0xff, 0xff, 0xff, 0x00, 0x01, 'a'};
  EXPECT_FALSE(DecodeBytes<ProduceRequest>(bytes, 3).ok());
}

TEST(MalformedTest, CountThatFitsBytesButNotElementsFails) {
  // Six bytes follow the count, but one topic needs at least 2 + 4.
  const std::vector<uint8_t> bytes = {0xff, 0xff, 0x00, 0x01, 0x00, 0x00, 0x00, 0x10,
                                      0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  EXPECT_FALSE(DecodeBytes<ProduceRequest>(bytes, 3).ok());
}

TEST(MalformedTest, NegativeArrayCountFails) {
  const std::vector<uint8_t> bytes = {0xff, 0xff, 0x00, 0x01, 0x00, 0x00, 0x00, 0x10,
                                      0xff, 0xff, 0xff, 0xfe};
  EXPECT_FALSE(DecodeBytes<ProduceRequest>(bytes, 3).ok());
}

TEST(MalformedTest, NullForNonNullableArrayFails) {
  const std::vector<uint8_t> bytes = {0xff, 0xff, 0x00, 0x01, 0x00, 0x00, 0x00, 0x10,
                                      0xff, 0xff, 0xff, 0xff};
  EXPECT_FALSE(DecodeBytes<ProduceRequest>(bytes, 3).ok());
}

TEST(MalformedTest, NegativeStringLengthFails) {
  // Topic name with length -2.
  const std::vector<uint8_t> bytes = {0xff, 0xff, 0x00, 0x01, 0x00, 0x00, 0x00, 0x10, 0x00,
                                      0x00, 0x00, 0x01, 0xff, 0xfe, 0x00, 0x00, 0x00, 0x00};
  EXPECT_FALSE(DecodeBytes<ProduceRequest>(bytes, 3).ok());
}

TEST(MalformedTest, HugeStringLengthFails) {
  const std::vector<uint8_t> bytes = {0xff, 0xff, 0x00, 0x01, 0x00, 0x00, 0x00, 0x10, 0x00,
                                      0x00, 0x00, 0x01, 0x7f, 0xff, 0x00, 0x00, 0x00, 0x00};
  EXPECT_FALSE(DecodeBytes<ProduceRequest>(bytes, 3).ok());
}

TEST(MalformedTest, HugeRecordsLengthFails) {
  const std::vector<uint8_t> bytes = {0xff, 0xff, 0x00, 0x01, 0x00, 0x00, 0x00, 0x10,
                                      0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',  0x00,
                                      0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x7f,
                                      0xff, 0xff, 0xff, 0x01, 0x02};
  EXPECT_FALSE(DecodeBytes<ProduceRequest>(bytes, 3).ok());
}

TEST(MalformedTest, OverlongCompactLengthVarintFails) {
  // ApiVersionsRequest v3: the software name length is a 6-byte varint.
  const std::vector<uint8_t> bytes = {0x81, 0x80, 0x80, 0x80, 0x80, 0x00, 0x01, 0x00};
  EXPECT_FALSE(DecodeBytes<ApiVersionsRequest>(bytes, 3).ok());
}

TEST(MalformedTest, TaggedFieldSizeBeyondFrameFails) {
  // Empty name and version, then one tagged field (tag 5) claiming 127 bytes.
  const std::vector<uint8_t> bytes = {0x01, 0x01, 0x01, 0x05, 0x7f, 0x00};
  EXPECT_FALSE(DecodeBytes<ApiVersionsRequest>(bytes, 3).ok());
}

TEST(MalformedTest, HugeTaggedFieldCountFails) {
  const std::vector<uint8_t> bytes = {0x01, 0x01, 0xff, 0xff, 0xff, 0xff, 0x0f};
  EXPECT_FALSE(DecodeBytes<ApiVersionsRequest>(bytes, 3).ok());
}

TEST(MalformedTest, UnknownTaggedFieldIsSkipped) {
  const std::vector<uint8_t> bytes = {0x02, 'n', 0x02, 'v', 0x01, 0x09, 0x02, 'x', 'y'};
  ApiVersionsRequest req;
  ASSERT_TRUE(DecodeBytes<ApiVersionsRequest>(bytes, 3, &req).ok());
  EXPECT_EQ(req.client_software_name, "n");
  wire::Writer w;
  req.Encode(w, 3);
  EXPECT_EQ(w.size(), 5u);  // re-encoded without the unknown field
}

TEST(MalformedTest, KnownTaggedFieldWithTrailingBytesFails) {
  // ApiVersionsResponse v3 whose FinalizedFeaturesEpoch (tag 1, int64) claims 9 bytes.
  const std::vector<uint8_t> bytes = {0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01,
                                      0x01, 0x09, 0, 0, 0, 0, 0, 0, 0, 5, 0};
  EXPECT_FALSE(DecodeBytes<ApiVersionsResponse>(bytes, 3).ok());
}

TEST(MalformedTest, KnownTaggedFieldShorterThanItsTypeFails) {
  const std::vector<uint8_t> bytes = {0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
                                      0x01, 0x01, 0x04, 0, 0, 0, 5};
  EXPECT_FALSE(DecodeBytes<ApiVersionsResponse>(bytes, 3).ok());
}

TEST(MalformedTest, UnknownApiKeyInHeaderFails) {
  const std::vector<uint8_t> bytes = {0x7f, 0x00, 0x00, 0x00, 0, 0, 0, 1, 0xff, 0xff};
  wire::Reader r(bytes);
  EXPECT_FALSE(DecodeRequestHeader(r).ok());
}

TEST(MalformedTest, TruncatedHeaderFails) {
  const std::vector<uint8_t> bytes = {0x00, 0x12, 0x00};
  wire::Reader r(bytes);
  EXPECT_FALSE(DecodeRequestHeader(r).ok());
}

TEST(MalformedTest, UnsupportedVersionHeaderStillDecodes) {
  // ApiVersions v99: flexible like v3, so request header v2; the body version is the
  // broker's problem (it answers UNSUPPORTED_VERSION with this correlation id).
  const std::vector<uint8_t> bytes = {0x00, 0x12, 0x00, 0x63, 0, 0, 0, 4, 0xff, 0xff, 0x00};
  wire::Reader r(bytes);
  absl::StatusOr<RequestHeader> header = DecodeRequestHeader(r);
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_EQ(header->correlation_id, 4);
  ApiVersionsRequest req;
  EXPECT_FALSE(req.Decode(r, header->request_api_version).ok());
}

// Overwrites each byte of a valid encoding with a few hostile values and decodes the result:
// whatever comes out, it must not crash, and a successful decode must re-encode consistently.
template <typename M>
void MutateEveryByte() {
  for (int16_t v = M::kMinVersion; v <= M::kMaxVersion; ++v) {
    SCOPED_TRACE(absl::StrCat(std::string(M::kName), " v", static_cast<int>(v)));
    M sample;
    FillSample(sample, v);
    wire::Writer w;
    sample.Encode(w, v);
    const std::vector<uint8_t> bytes = w.Release();
    for (size_t i = 0; i < bytes.size(); ++i) {
      for (uint8_t value : {uint8_t{0x00}, uint8_t{0x7f}, uint8_t{0x80}, uint8_t{0xff}}) {
        std::vector<uint8_t> mutated = bytes;
        mutated[i] = value;
        wire::Reader r(mutated);
        M m;
        if (!m.Decode(r, v).ok()) continue;
        wire::Writer again;
        m.Encode(again, v);
        ASSERT_EQ(again.size(), m.EncodedSize(v));
        wire::Reader r2(again.data());
        M m2;
        ASSERT_TRUE(m2.Decode(r2, v).ok()) << r2.status();
        // Compared as bytes, not values: a mutated float64 may have become NaN.
        wire::Writer third;
        m2.Encode(third, v);
        EXPECT_TRUE(third.data() == again.data());
      }
    }
  }
}

#define RB_MUTATION_TESTS(Name, key, lo, hi)                                    \
  TEST(MutationTest, Name##Request) { MutateEveryByte<Name##Request>(); }      \
  TEST(MutationTest, Name##Response) { MutateEveryByte<Name##Response>(); }
RINGBROKER_FOR_EACH_API(RB_MUTATION_TESTS)
#undef RB_MUTATION_TESTS

}  // namespace
}  // namespace ringbroker::protocol
