// Batches and message sets written by kafka-python's own encoders (testdata/make_vectors.py):
// proof that we read what a real client writes, for every codec and message format.
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "protocol/records/legacy_message_set.h"
#include "protocol/records/record_batch.h"

namespace ringbroker::protocol {
namespace {

constexpr int kCount = 5;
constexpr int64_t kBaseTimestamp = 1700000000000;

// Mirrors record() in make_vectors.py.
struct Expected {
  int64_t timestamp;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
};
Expected ExpectedRecord(int i) {
  Expected e;
  e.timestamp = kBaseTimestamp + 1000 * i;
  if (i != 2) e.key = "key-" + std::to_string(i);
  if (i != 3) {
    e.value = "";
    for (int k = 0; k < i * 40 + 1; ++k) *e.value += "value-" + std::to_string(i) + ";";
  }
  e.headers.push_back({"idx", std::to_string(i)});
  if (i == 1) e.headers.push_back({"nul", std::nullopt});
  return e;
}

std::optional<std::string> Str(const NullableBytes& b) {
  if (!b) return std::nullopt;
  return std::string(AsStringView(*b));
}

std::vector<uint8_t> ReadVector(const std::string& name) {
  std::string path = std::string(RINGBROKER_RECORDS_TESTDATA_DIR) + "/" + name;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void ExpectV2Batch(absl::Span<const uint8_t> bytes, bool with_headers, bool with_timestamps) {
  absl::StatusOr<BatchSummary> summary = ValidateBatch(bytes);
  ASSERT_TRUE(summary.ok()) << summary.status();
  absl::StatusOr<RecordBatchView> view = RecordBatchView::Parse(bytes);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->header().record_count, kCount);
  EXPECT_EQ(view->header().last_offset_delta, kCount - 1);
  absl::StatusOr<DecodedRecords> decoded = view->Decode(1 << 20);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  RecordReader reader = decoded->reader();
  for (int i = 0; i < kCount; ++i) {
    absl::StatusOr<RecordView> r = reader.Next();
    ASSERT_TRUE(r.ok()) << r.status();
    Expected e = ExpectedRecord(i);
    EXPECT_EQ(r->offset_delta, i);
    EXPECT_EQ(RecordTimestamp(view->header(), *r), with_timestamps ? e.timestamp : -1);
    EXPECT_EQ(Str(r->key), e.key) << i;
    EXPECT_EQ(Str(r->value), e.value) << i;
    if (with_headers) {
      std::vector<std::pair<std::string, std::optional<std::string>>> headers;
      for (const RecordHeaderView& h : r->headers)
        headers.push_back({std::string(h.key), Str(h.value)});
      EXPECT_EQ(headers, e.headers) << i;
    } else {
      EXPECT_TRUE(r->headers.empty());
    }
  }
  EXPECT_TRUE(reader.Finish().ok());
}

class KafkaPythonV2 : public ::testing::TestWithParam<std::string> {};

TEST_P(KafkaPythonV2, BatchParsesValidatesAndMatches) {
  std::vector<uint8_t> bytes = ReadVector("v2_" + GetParam() + ".bin");
  ASSERT_FALSE(bytes.empty());
  ExpectV2Batch(bytes, /*with_headers=*/true, /*with_timestamps=*/true);
  absl::StatusOr<RecordBatchView> view = RecordBatchView::Parse(bytes);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->header().base_timestamp, kBaseTimestamp);
  EXPECT_EQ(view->header().max_timestamp, kBaseTimestamp + 4000);
  EXPECT_EQ(view->header().producer_id, -1);
}

INSTANTIATE_TEST_SUITE_P(Codecs, KafkaPythonV2,
                         ::testing::Values("none", "gzip", "snappy", "lz4", "zstd"));

TEST(KafkaPython, IdempotentTransactionalBatchKeepsProducerFields) {
  std::vector<uint8_t> bytes = ReadVector("v2_idempotent_gzip.bin");
  ExpectV2Batch(bytes, true, true);
  absl::StatusOr<RecordBatchView> view = RecordBatchView::Parse(bytes);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->header().producer_id, 123);
  EXPECT_EQ(view->header().producer_epoch, 4);
  EXPECT_EQ(view->header().base_sequence, 10);
  EXPECT_TRUE(view->header().is_transactional());
}

struct LegacyCase {
  int magic;
  std::string codec;
};

class KafkaPythonLegacy : public ::testing::TestWithParam<LegacyCase> {};

TEST_P(KafkaPythonLegacy, MessageSetDecodesAndConverts) {
  const LegacyCase& c = GetParam();
  std::vector<uint8_t> bytes = ReadVector("v" + std::to_string(c.magic) + "_" + c.codec + ".bin");
  ASSERT_FALSE(bytes.empty());
  ASSERT_TRUE(ValidateLegacyMessageSet(bytes, 1 << 20).ok())
      << ValidateLegacyMessageSet(bytes, 1 << 20);

  // kafka-python numbers messages 0..4; a magic-1 wrapper keeps them relative and has offset 0
  // itself, so there they come out as -4..0 (the broker reassigns them anyway).
  int64_t first_offset = (c.magic == 1 && c.codec != "none") ? -(kCount - 1) : 0;
  int i = 0;
  absl::Status s = ForEachLegacyRecord(bytes, 1 << 20, [&](const LegacyRecord& r) {
    Expected e = ExpectedRecord(i);
    EXPECT_EQ(r.magic, c.magic);
    EXPECT_EQ(r.offset, first_offset + i);
    EXPECT_EQ(r.timestamp, c.magic == 0 ? -1 : e.timestamp);
    EXPECT_FALSE(r.log_append_time);
    EXPECT_EQ(Str(r.key), e.key) << i;
    EXPECT_EQ(Str(r.value), e.value) << i;
    ++i;
    return absl::OkStatus();
  });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(i, kCount);

  for (Compression out : {Compression::kNone, Compression::kZstd}) {
    absl::StatusOr<std::vector<uint8_t>> batch =
        ConvertLegacyMessageSet(bytes, {.compression = out});
    ASSERT_TRUE(batch.ok()) << batch.status();
    ExpectV2Batch(*batch, /*with_headers=*/false, /*with_timestamps=*/c.magic == 1);
  }
}

INSTANTIATE_TEST_SUITE_P(Codecs, KafkaPythonLegacy,
                         ::testing::Values(LegacyCase{0, "none"}, LegacyCase{0, "gzip"},
                                           LegacyCase{0, "snappy"}, LegacyCase{0, "lz4"},
                                           LegacyCase{1, "none"}, LegacyCase{1, "gzip"},
                                           LegacyCase{1, "snappy"}, LegacyCase{1, "lz4"}),
                         [](const auto& info) {
                           return "v" + std::to_string(info.param.magic) + "_" + info.param.codec;
                         });

// kafka-python's magic-0 LZ4 carries Kafka's historic wrong header checksum: read under magic 0
// only. The same frame under magic 1 must be rejected, as Kafka does.
TEST(KafkaPython, MagicZeroLz4HeaderChecksumIsTheBrokenOne) {
  std::vector<uint8_t> bytes = ReadVector("v0_lz4.bin");
  absl::StatusOr<LegacyMessageView> wrapper = LegacyMessageSetReader(bytes).Next();
  ASSERT_TRUE(wrapper.ok());
  ASSERT_TRUE(wrapper->value.has_value());
  EXPECT_FALSE(
      Decompress(Compression::kLz4, *wrapper->value, 1 << 20, Lz4HeaderChecksum::kVerify).ok());
  EXPECT_TRUE(
      Decompress(Compression::kLz4, *wrapper->value, 1 << 20, Lz4HeaderChecksum::kIgnore).ok());
}

TEST(KafkaPython, ConcatenatedMessageSetsReadInOrder) {
  std::vector<uint8_t> both = ReadVector("v1_gzip.bin");
  std::vector<uint8_t> second = ReadVector("v1_none.bin");
  both.insert(both.end(), second.begin(), second.end());
  int n = 0;
  ASSERT_TRUE(ForEachLegacyRecord(both, 1 << 20, [&](const LegacyRecord&) {
                ++n;
                return absl::OkStatus();
              }).ok());
  EXPECT_EQ(n, 2 * kCount);
}

}  // namespace
}  // namespace ringbroker::protocol
