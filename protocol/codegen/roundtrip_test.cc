// Every message at every version: fill every present field with a non-default value, encode,
// check the size, decode, compare, re-encode and byte-compare. Also truncation at every byte.
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "protocol/codegen/layout.h"
#include "protocol/messages/all.h"
#include "protocol/messages/sample.h"
#include "protocol/wire/reader.h"
#include "protocol/wire/writer.h"

namespace ringbroker::protocol {
namespace {

// Whether the message has any field at `version`, according to the layout table.
bool HasFieldsAt(std::string_view name, int16_t version) {
  for (const MessageLayout& m : AllMessageLayouts()) {
    if (m.name != name) continue;
    for (const FieldLayout& f : m.fields) {
      if (f.versions.Contains(version)) return true;
    }
    return false;
  }
  ADD_FAILURE() << "no layout for " << name;
  return false;
}

template <typename M>
std::vector<uint8_t> EncodeToBytes(const M& m, int16_t version) {
  wire::Writer w;
  m.Encode(w, version);
  return w.Release();
}

template <typename M>
void RoundTripEveryVersion() {
  for (int16_t v = M::kMinVersion; v <= M::kMaxVersion; ++v) {
    SCOPED_TRACE(absl::StrCat(std::string(M::kName), " v", static_cast<int>(v)));
    M sample;
    FillSample(sample, v);
    const std::vector<uint8_t> bytes = EncodeToBytes(sample, v);
    ASSERT_EQ(bytes.size(), sample.EncodedSize(v));
    // The sample really differs from the defaults on the wire, so every field is exercised
    // (a few messages have no fields at all in some versions: ApiVersionsRequest v0-2).
    if (HasFieldsAt(M::kName, v)) {
      EXPECT_NE(bytes, EncodeToBytes(M{}, v));
    }

    wire::Reader r(bytes);
    M decoded;
    ASSERT_TRUE(decoded.Decode(r, v).ok()) << r.status();
    EXPECT_EQ(r.remaining(), 0u) << "decode left bytes unread";
    EXPECT_TRUE(decoded == sample) << "decoded value differs from what was encoded";
    EXPECT_EQ(EncodeToBytes(decoded, v), bytes);

    // Every strict prefix is a truncated frame: decoding it must fail, never overrun.
    for (size_t cut = 0; cut < bytes.size(); ++cut) {
      const std::vector<uint8_t> prefix(bytes.begin(), bytes.begin() + cut);
      wire::Reader pr(prefix);
      M partial;
      EXPECT_FALSE(partial.Decode(pr, v).ok()) << "prefix of " << cut << " bytes decoded";
    }
  }
}

template <typename M>
void DefaultsRoundTrip() {
  for (int16_t v = M::kMinVersion; v <= M::kMaxVersion; ++v) {
    SCOPED_TRACE(absl::StrCat(std::string(M::kName), " v", static_cast<int>(v)));
    const M empty;
    const std::vector<uint8_t> bytes = EncodeToBytes(empty, v);
    ASSERT_EQ(bytes.size(), empty.EncodedSize(v));
    wire::Reader r(bytes);
    M decoded;
    ASSERT_TRUE(decoded.Decode(r, v).ok()) << r.status();
    EXPECT_EQ(r.remaining(), 0u);
    EXPECT_EQ(EncodeToBytes(decoded, v), bytes);
  }
}

#define RB_ROUND_TRIP_TESTS(Name, key, lo, hi)                               \
  TEST(RoundTripTest, Name##Request) { RoundTripEveryVersion<Name##Request>(); }    \
  TEST(RoundTripTest, Name##Response) { RoundTripEveryVersion<Name##Response>(); }  \
  TEST(DefaultsTest, Name##Request) { DefaultsRoundTrip<Name##Request>(); }         \
  TEST(DefaultsTest, Name##Response) { DefaultsRoundTrip<Name##Response>(); }
RINGBROKER_FOR_EACH_API(RB_ROUND_TRIP_TESTS)
#undef RB_ROUND_TRIP_TESTS

TEST(RoundTripTest, RequestHeader) { RoundTripEveryVersion<RequestHeader>(); }
TEST(RoundTripTest, ResponseHeader) { RoundTripEveryVersion<ResponseHeader>(); }

TEST(RoundTripTest, UnsupportedVersionIsRejected) {
  const std::vector<uint8_t> bytes(64, 0);
  wire::Reader r(bytes);
  ProduceRequest req;
  EXPECT_FALSE(req.Decode(r, ProduceRequest::kMaxVersion + 1).ok());
  wire::Reader r2(bytes);
  EXPECT_FALSE(req.Decode(r2, -1).ok());
}

TEST(RoundTripTest, FieldsAbsentAtAVersionAreSkippedAndDecodeToDefaults) {
  // TransactionalId only exists from v3: a v2 encode drops it, a v2 decode leaves the default.
  ProduceRequest req;
  req.transactional_id = "txn";
  req.acks = -1;
  const std::vector<uint8_t> v2 = EncodeToBytes(req, 2);
  wire::Reader r(v2);
  ProduceRequest back;
  ASSERT_TRUE(back.Decode(r, 2).ok());
  EXPECT_EQ(back.transactional_id, std::nullopt);
  EXPECT_EQ(back.acks, -1);
}

}  // namespace
}  // namespace ringbroker::protocol
