#include "protocol/records/record_batch.h"

#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "protocol/records/crc32c.h"
#include "protocol/records/record_batch_builder.h"
#include "protocol/records/varint.h"

namespace ringbroker::protocol {
namespace {

using records::AppendVarint;

constexpr Compression kCodecs[] = {Compression::kNone, Compression::kGzip, Compression::kSnappy,
                                   Compression::kLz4, Compression::kZstd};

std::string Str(const NullableBytes& b) { return b ? std::string(AsStringView(*b)) : "<null>"; }

struct SampleRecord {
  int64_t timestamp;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
};

NullableBytes Opt(const std::optional<std::string>& s) {
  if (!s) return std::nullopt;
  return AsBytes(*s);
}

std::vector<SampleRecord> SampleRecords() {
  return {
      {1700000000000, "key-0", "value-0", {}},
      {1700000000005, std::nullopt, "value with null key", {{"trace", "abc"}, {"empty", ""}}},
      {1699999999990, "", std::nullopt, {{"null-valued", std::nullopt}}},  // earlier than base
      {1700000000100, "k", std::string(3000, 'x'), {{"h1", "v1"}, {"h2", "v2"}, {"h3", "v3"}}},
      {1700000000050, "last", "", {}},
  };
}

std::vector<uint8_t> BuildSample(RecordBatchOptions options,
                                 const std::vector<SampleRecord>& records = SampleRecords()) {
  RecordBatchBuilder builder(options);
  for (const SampleRecord& r : records) {
    std::vector<RecordHeaderInput> headers;
    for (const auto& [k, v] : r.headers) headers.push_back({k, Opt(v)});
    absl::Status s = builder.Add(
        {.timestamp = r.timestamp, .key = Opt(r.key), .value = Opt(r.value), .headers = headers});
    EXPECT_TRUE(s.ok()) << s;
  }
  absl::StatusOr<std::vector<uint8_t>> batch = builder.Build();
  EXPECT_TRUE(batch.ok()) << batch.status();
  return batch.ok() ? *batch : std::vector<uint8_t>{};
}

// After editing a batch by hand, make its length and CRC consistent again, so the edit reaches
// the record-level checks instead of failing on the CRC.
void Reseal(std::vector<uint8_t>& batch) {
  StoreBigEndian32(batch.data() + batch_layout::kBatchLength,
                   uint32_t(batch.size() - batch_layout::kLogOverhead));
  absl::StatusOr<BatchHeader> h = ParseBatchHeader(batch);
  ASSERT_TRUE(h.ok());
  StoreBigEndian32(batch.data() + batch_layout::kCrc, ComputeBatchCrc(*h, batch));
}

// A batch whose records section is `records` verbatim, declaring `count` records.
std::vector<uint8_t> RawBatch(const std::vector<uint8_t>& records, int32_t count,
                              int32_t last_offset_delta) {
  std::vector<uint8_t> batch(batch_layout::kHeaderSize);
  BatchHeader h;
  h.record_count = count;
  h.last_offset_delta = last_offset_delta;
  WriteBatchHeader(h, batch.data());
  batch.insert(batch.end(), records.begin(), records.end());
  Reseal(batch);
  return batch;
}

// One well-formed record body, to be framed by a length varint.
std::vector<uint8_t> RecordBody(int32_t offset_delta, int32_t key_length, std::string key) {
  std::vector<uint8_t> body = {0};  // attributes
  records::AppendVarlong(body, 0);  // timestamp delta
  AppendVarint(body, offset_delta);
  AppendVarint(body, key_length);
  body.insert(body.end(), key.begin(), key.end());
  AppendVarint(body, -1);  // null value
  AppendVarint(body, 0);   // no headers
  return body;
}

std::vector<uint8_t> Framed(const std::vector<uint8_t>& body) {
  std::vector<uint8_t> out;
  AppendVarint(out, int32_t(body.size()));
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

// Reads every record of `batch` (decompressing if needed); returns the first error.
absl::Status ReadAll(absl::Span<const uint8_t> batch) {
  absl::StatusOr<RecordBatchView> view = RecordBatchView::Parse(batch);
  if (!view.ok()) return view.status();
  absl::StatusOr<DecodedRecords> decoded = view->Decode(1 << 20);
  if (!decoded.ok()) return decoded.status();
  RecordReader reader = decoded->reader();
  while (!reader.Done()) {
    absl::StatusOr<RecordView> r = reader.Next();
    if (!r.ok()) return r.status();
    for (const RecordHeaderView& h : r->headers) (void)h;
  }
  return reader.Finish();
}

class RoundTripTest : public ::testing::TestWithParam<Compression> {};

TEST_P(RoundTripTest, BuilderOutputReadsBackField_for_field) {
  RecordBatchOptions options{.compression = GetParam(),
                             .base_offset = 1000,
                             .partition_leader_epoch = 7,
                             .producer_id = 4242,
                             .producer_epoch = 3,
                             .base_sequence = 17,
                             .transactional = true};
  std::vector<SampleRecord> expected = SampleRecords();
  std::vector<uint8_t> batch = BuildSample(options, expected);

  absl::StatusOr<BatchSummary> summary = ValidateBatch(batch);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->max_record_timestamp, 1700000000100);
  EXPECT_TRUE(summary->has_null_key);

  absl::StatusOr<RecordBatchView> view = RecordBatchView::Parse(batch);
  ASSERT_TRUE(view.ok());
  const BatchHeader& h = view->header();
  EXPECT_EQ(h.base_offset, 1000);
  EXPECT_EQ(h.total_size(), batch.size());
  EXPECT_EQ(h.partition_leader_epoch, 7);
  EXPECT_EQ(h.compression(), int(GetParam()));
  EXPECT_TRUE(h.is_transactional());
  EXPECT_FALSE(h.is_control());
  EXPECT_EQ(h.last_offset_delta, 4);
  EXPECT_EQ(h.last_offset(), 1004);
  EXPECT_EQ(h.base_timestamp, 1700000000000);
  EXPECT_EQ(h.max_timestamp, 1700000000100);
  EXPECT_EQ(h.producer_id, 4242);
  EXPECT_EQ(h.producer_epoch, 3);
  EXPECT_EQ(h.base_sequence, 17);
  EXPECT_EQ(h.record_count, 5);
  EXPECT_TRUE(view->VerifyCrc().ok());
  EXPECT_EQ(view->records().ok(), GetParam() == Compression::kNone);

  absl::StatusOr<DecodedRecords> decoded = view->Decode(1 << 20);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  DecodedRecords moved = std::move(*decoded);  // views must survive the move
  RecordReader reader = moved.reader();
  for (size_t i = 0; i < expected.size(); ++i) {
    ASSERT_FALSE(reader.Done());
    absl::StatusOr<RecordView> r = reader.Next();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->offset_delta, int32_t(i));
    EXPECT_EQ(RecordTimestamp(h, *r), expected[i].timestamp);
    EXPECT_EQ(Str(r->key), expected[i].key.value_or("<null>"));
    EXPECT_EQ(Str(r->value), expected[i].value.value_or("<null>"));
    ASSERT_EQ(r->headers.size(), int32_t(expected[i].headers.size()));
    size_t j = 0;
    for (const RecordHeaderView& header : r->headers) {
      EXPECT_EQ(header.key, expected[i].headers[j].first);
      EXPECT_EQ(Str(header.value), expected[i].headers[j].second.value_or("<null>"));
      ++j;
    }
    EXPECT_EQ(j, expected[i].headers.size());
  }
  EXPECT_TRUE(reader.Done());
  EXPECT_TRUE(reader.Finish().ok());
  EXPECT_FALSE(reader.Next().ok());
}

TEST(RecordBatch, DecodeOfCompressedBatchIsBoundedByTheCallersLimit) {
  std::vector<SampleRecord> big;
  for (int i = 0; i < 100; ++i) big.push_back({i, "k", std::string(10000, 'z'), {}});
  for (Compression c :
       {Compression::kGzip, Compression::kSnappy, Compression::kLz4, Compression::kZstd}) {
    std::vector<uint8_t> batch = BuildSample({.compression = c}, big);
    EXPECT_LT(batch.size(), 100000u);
    absl::StatusOr<RecordBatchView> view = RecordBatchView::Parse(batch);
    ASSERT_TRUE(view.ok());
    EXPECT_EQ(view->Decode(100000).status().code(), absl::StatusCode::kResourceExhausted);
    EXPECT_EQ(ValidateBatch(batch, {.decompressed_bytes_max = 100000}).status().code(),
              absl::StatusCode::kResourceExhausted);
    EXPECT_TRUE(ValidateBatch(batch, {.decompressed_bytes_max = 2000000}).ok());
  }
}

// An uncompressed batch is read in place, so the decompression bound does not apply to it.
TEST(RecordBatch, UncompressedBatchIsNotCopiedByDecode) {
  std::vector<uint8_t> batch = BuildSample({});
  absl::StatusOr<RecordBatchView> view = RecordBatchView::Parse(batch);
  ASSERT_TRUE(view.ok());
  absl::StatusOr<DecodedRecords> decoded = view->Decode(1);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->bytes().data(), batch.data() + batch_layout::kHeaderSize);
}

TEST_P(RoundTripTest, FlippedByteInCompressedBatchWithResealedCrcNeverCrashes) {
  std::vector<uint8_t> good = BuildSample({.compression = GetParam()});
  for (size_t i = batch_layout::kHeaderSize; i < good.size(); ++i) {
    std::vector<uint8_t> bad = good;
    bad[i] ^= 0x5a;
    Reseal(bad);
    absl::StatusOr<BatchSummary> s = ValidateBatch(bad, {.decompressed_bytes_max = 1 << 16});
    absl::Status read = ReadAll(bad);
    if (s.ok()) {
      EXPECT_TRUE(read.ok());
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllCodecs, RoundTripTest, ::testing::ValuesIn(kCodecs),
                         [](const auto& info) { return std::string(CompressionName(info.param)); });

TEST(RecordBatch, EveryHeaderBitFlipIsRejectedExceptInFieldsOutsideTheCrc) {
  std::vector<uint8_t> good = BuildSample({});
  ASSERT_TRUE(ValidateBatch(good).ok());
  for (size_t byte = 0; byte < batch_layout::kHeaderSize; ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::vector<uint8_t> bad = good;
      bad[byte] ^= uint8_t(1 << bit);
      absl::StatusOr<BatchSummary> s = ValidateBatch(bad);
      // baseOffset and partitionLeaderEpoch precede the CRC'd range on purpose: the broker
      // assigns them without recomputing the CRC.
      bool outside_crc =
          byte < batch_layout::kBatchLength ||
          (byte >= batch_layout::kPartitionLeaderEpoch && byte < batch_layout::kMagic);
      EXPECT_EQ(s.ok(), outside_crc) << "byte " << byte << " bit " << bit;
    }
  }
}

TEST(RecordBatch, EveryRecordByteFlipIsCaughtByTheCrc) {
  std::vector<uint8_t> good = BuildSample({});
  for (size_t i = batch_layout::kHeaderSize; i < good.size(); ++i) {
    std::vector<uint8_t> bad = good;
    bad[i] ^= 0x01;
    EXPECT_EQ(ValidateBatch(bad).status().code(), absl::StatusCode::kDataLoss) << i;
  }
}

TEST(RecordBatch, TruncatedAtEveryLengthIsRejected) {
  for (Compression c : kCodecs) {
    std::vector<uint8_t> good = BuildSample({.compression = c});
    for (size_t n = 0; n < good.size(); ++n) {
      absl::Span<const uint8_t> cut(good.data(), n);
      EXPECT_FALSE(ValidateBatch(cut).ok()) << n;
      EXPECT_FALSE(RecordBatchView::Parse(cut).ok()) << n;
      EXPECT_FALSE(VerifyBatchCrc(cut).ok()) << n;
    }
  }
}

TEST(RecordBatch, TruncatedWithResealedLengthIsRejected) {
  std::vector<uint8_t> good = BuildSample({});
  for (size_t n = batch_layout::kHeaderSize; n < good.size(); ++n) {
    std::vector<uint8_t> bad(good.begin(), good.begin() + n);
    Reseal(bad);
    EXPECT_EQ(ValidateBatch(bad).status().code(), absl::StatusCode::kInvalidArgument) << n;
    EXPECT_FALSE(ReadAll(bad).ok()) << n;
  }
}

TEST(RecordBatch, TrailingBytesAfterTheBatchAreNotPartOfIt) {
  std::vector<uint8_t> batch = BuildSample({});
  size_t size = batch.size();
  batch.push_back(0xAB);
  absl::StatusOr<RecordBatchView> view = RecordBatchView::Parse(batch);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->bytes().size(), size);
  EXPECT_TRUE(view->VerifyCrc().ok());
  EXPECT_EQ(ValidateBatch(batch).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(RecordBatch, RecordCountThatLiesIsRejected) {
  std::vector<uint8_t> good = BuildSample({});
  for (int32_t count : {0, 4, 6, 100, -1, std::numeric_limits<int32_t>::max(),
                        std::numeric_limits<int32_t>::min()}) {
    std::vector<uint8_t> bad = good;
    StoreBigEndian32(bad.data() + batch_layout::kRecordCount, uint32_t(count));
    // Keep lastOffsetDelta consistent so the count check itself is what fails.
    if (count > 0)
      StoreBigEndian32(bad.data() + batch_layout::kLastOffsetDelta, uint32_t(count - 1));
    Reseal(bad);
    EXPECT_FALSE(ValidateBatch(bad).ok()) << count;
    EXPECT_FALSE(
        ValidateBatch(bad, {.require_contiguous_offsets = false, .allow_empty = true}).ok())
        << count;
  }
}

TEST(RecordBatch, RecordCountThatLiesInCompressedBatchIsRejected) {
  for (Compression c : kCodecs) {
    std::vector<uint8_t> good = BuildSample({.compression = c});
    for (int32_t count : {4, 6, std::numeric_limits<int32_t>::max()}) {
      std::vector<uint8_t> bad = good;
      StoreBigEndian32(bad.data() + batch_layout::kRecordCount, uint32_t(count));
      StoreBigEndian32(bad.data() + batch_layout::kLastOffsetDelta, uint32_t(count - 1));
      Reseal(bad);
      EXPECT_EQ(ValidateBatch(bad).status().code(), absl::StatusCode::kInvalidArgument)
          << CompressionName(c) << " " << count;
    }
  }
}

TEST(RecordBatch, LastOffsetDeltaThatLiesIsRejected) {
  std::vector<uint8_t> good = BuildSample({});
  for (int32_t delta : {-1, 0, 3, 5, 1000}) {
    std::vector<uint8_t> bad = good;
    StoreBigEndian32(bad.data() + batch_layout::kLastOffsetDelta, uint32_t(delta));
    Reseal(bad);
    EXPECT_FALSE(ValidateBatch(bad).ok()) << delta;
  }
}

TEST(RecordBatch, BatchLengthThatLiesIsRejected) {
  std::vector<uint8_t> good = BuildSample({});
  for (int64_t length : {int64_t(0), int64_t(48), int64_t(49), int64_t(good.size() - 13),
                         int64_t(good.size() - 11), int64_t(0x7fffffff), int64_t(-1)}) {
    std::vector<uint8_t> bad = good;
    StoreBigEndian32(bad.data() + batch_layout::kBatchLength, uint32_t(length));
    EXPECT_FALSE(ValidateBatch(bad).ok()) << length;
    EXPECT_FALSE(ReadAll(bad).ok() && length != int64_t(good.size() - 12)) << length;
  }
}

TEST(RecordBatch, UndefinedCompressionCodecIsRejected) {
  std::vector<uint8_t> bad = BuildSample({});
  bad[batch_layout::kAttributes + 1] |= 0x05;
  Reseal(bad);
  EXPECT_EQ(ValidateBatch(bad).status().code(), absl::StatusCode::kUnimplemented);
}

TEST(RecordBatch, HandMadeRecordsAreAccepted) {
  std::vector<uint8_t> records = Framed(RecordBody(0, 3, "abc"));
  std::vector<uint8_t> second = Framed(RecordBody(1, -1, ""));
  records.insert(records.end(), second.begin(), second.end());
  std::vector<uint8_t> batch = RawBatch(records, 2, 1);
  EXPECT_TRUE(ValidateBatch(batch).ok()) << ValidateBatch(batch).status();
}

TEST(RecordBatch, RecordLengthLongerThanTheBatchIsRejected) {
  std::vector<uint8_t> body = RecordBody(0, 3, "abc");
  std::vector<uint8_t> records;
  AppendVarint(records, int32_t(body.size() + 1));
  records.insert(records.end(), body.begin(), body.end());
  EXPECT_EQ(ValidateBatch(RawBatch(records, 1, 0)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(RecordBatch, RecordLengthShorterThanItsFieldsIsRejected) {
  std::vector<uint8_t> body = RecordBody(0, 3, "abc");
  std::vector<uint8_t> records;
  AppendVarint(records, int32_t(body.size() - 1));
  records.insert(records.end(), body.begin(), body.end());
  EXPECT_FALSE(ValidateBatch(RawBatch(records, 1, 0)).ok());
}

TEST(RecordBatch, NegativeRecordLengthIsRejected) {
  std::vector<uint8_t> records;
  AppendVarint(records, -5);
  records.resize(20, 0);
  EXPECT_FALSE(ValidateBatch(RawBatch(records, 1, 0)).ok());
}

TEST(RecordBatch, KeyLengthBeyondTheRecordIsRejected) {
  EXPECT_FALSE(ValidateBatch(RawBatch(Framed(RecordBody(0, 4, "abc")), 1, 0)).ok());
  EXPECT_FALSE(ValidateBatch(RawBatch(Framed(RecordBody(0, 1 << 30, "abc")), 1, 0)).ok());
  EXPECT_FALSE(ValidateBatch(RawBatch(Framed(RecordBody(0, -2, "")), 1, 0)).ok());
}

TEST(RecordBatch, OverlongVarintIsRejected) {
  // Offset delta encoded in six bytes.
  std::vector<uint8_t> body = {0, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 1, 1, 0};
  EXPECT_FALSE(ValidateBatch(RawBatch(Framed(body), 1, 0)).ok());
  // Record length varint running off the end of the batch.
  std::vector<uint8_t> records = {0xff, 0xff, 0xff};
  EXPECT_FALSE(ValidateBatch(RawBatch(records, 1, 0)).ok());
}

TEST(RecordBatch, HeaderCountThatLiesIsRejected) {
  for (int32_t count : {1, 1000000, -1}) {
    std::vector<uint8_t> body = {0, 0, 0, 1, 'k', 1};  // attrs, ts, offset, key "k", value null
    AppendVarint(body, count);
    EXPECT_FALSE(ValidateBatch(RawBatch(Framed(body), 1, 0)).ok()) << count;
  }
  // A header with a null key.
  std::vector<uint8_t> body = {0, 0, 0, 1, 1};
  AppendVarint(body, 1);
  AppendVarint(body, -1);
  AppendVarint(body, -1);
  EXPECT_FALSE(ValidateBatch(RawBatch(Framed(body), 1, 0)).ok());
}

TEST(RecordBatch, BytesAfterTheLastRecordAreRejected) {
  std::vector<uint8_t> records = Framed(RecordBody(0, 1, "a"));
  records.push_back(0);
  EXPECT_FALSE(ValidateBatch(RawBatch(records, 1, 0)).ok());
}

TEST(RecordBatch, OffsetDeltasMustMatchPositionsOnProduce) {
  RecordBatchBuilder builder({});
  ASSERT_TRUE(builder.Add({.timestamp = 1, .offset_delta = 0}).ok());
  ASSERT_TRUE(builder.Add({.timestamp = 2, .offset_delta = 5}).ok());
  EXPECT_FALSE(builder.Add({.timestamp = 3, .offset_delta = 5}).ok());
  auto batch = builder.Build();
  ASSERT_TRUE(batch.ok());
  EXPECT_FALSE(ValidateBatch(*batch).ok());
  auto compacted = ValidateBatch(*batch, {.require_contiguous_offsets = false});
  ASSERT_TRUE(compacted.ok()) << compacted.status();
  EXPECT_EQ(compacted->header.last_offset_delta, 5);
}

TEST(RecordBatch, DecreasingOffsetDeltasAreRejectedEvenForCompactedBatches) {
  std::vector<uint8_t> records = Framed(RecordBody(3, 1, "a"));
  std::vector<uint8_t> second = Framed(RecordBody(2, 1, "b"));
  records.insert(records.end(), second.begin(), second.end());
  EXPECT_FALSE(ValidateBatch(RawBatch(records, 2, 3), {.require_contiguous_offsets = false}).ok());
}

TEST(RecordBatch, EmptyBatchOnlyWhenAllowed) {
  RecordBatchBuilder builder({});
  auto batch = builder.Build();
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(batch->size(), batch_layout::kHeaderSize);
  EXPECT_FALSE(ValidateBatch(*batch).ok());
  EXPECT_TRUE(ValidateBatch(*batch, {.allow_empty = true}).ok());
}

TEST(RecordBatch, ControlBatchesRoundTrip) {
  for (ControlRecordType type : {ControlRecordType::kAbort, ControlRecordType::kCommit}) {
    auto batch = BuildControlBatch({.producer_id = 9, .producer_epoch = 1}, type, 12, 555);
    ASSERT_TRUE(batch.ok());
    ASSERT_TRUE(ValidateBatch(*batch).ok());
    auto view = RecordBatchView::Parse(*batch);
    ASSERT_TRUE(view.ok());
    EXPECT_TRUE(view->header().is_control());
    EXPECT_TRUE(view->header().is_transactional());
    auto reader = view->records();
    ASSERT_TRUE(reader.ok());
    auto record = reader->Next();
    ASSERT_TRUE(record.ok());
    auto parsed = ParseControlRecordKey(record->key);
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, type);
    ASSERT_TRUE(record->value.has_value());
    ASSERT_EQ(record->value->size(), 6u);
    EXPECT_EQ(LoadBigEndian32(record->value->data() + 2), 12u);
  }
}

TEST(RecordBatch, ControlBatchWithoutAControlKeyIsRejected) {
  RecordBatchBuilder builder({.control = true});
  ASSERT_TRUE(builder.Add({.timestamp = 1, .key = AsBytes("ab")}).ok());
  auto batch = builder.Build();
  ASSERT_TRUE(batch.ok());
  EXPECT_FALSE(ValidateBatch(*batch).ok());
  EXPECT_FALSE(ParseControlRecordKey(std::nullopt).ok());
  const uint8_t negative_version[4] = {0xff, 0xff, 0, 0};
  EXPECT_FALSE(ParseControlRecordKey(absl::MakeConstSpan(negative_version)).ok());
}

TEST(RecordBatch, LogAppendTimeUsesMaxTimestamp) {
  RecordBatchBuilder builder({.log_append_time = true, .max_timestamp_override = 99999});
  ASSERT_TRUE(builder.Add({.timestamp = 5}).ok());
  ASSERT_TRUE(builder.Add({.timestamp = 7}).ok());
  auto batch = builder.Build();
  ASSERT_TRUE(batch.ok());
  auto summary = ValidateBatch(*batch);
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(summary->max_record_timestamp, 99999);
}

TEST(RecordBatch, BuilderEnforcesItsBound) {
  RecordBatchBuilder builder({.records_bytes_max = 100});
  std::string value(60, 'v');
  ASSERT_TRUE(builder.Add({.value = AsBytes(value)}).ok());
  EXPECT_EQ(builder.Add({.value = AsBytes(value)}).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(builder.record_count(), 1);
  auto batch = builder.Build();
  ASSERT_TRUE(batch.ok());
  EXPECT_TRUE(ValidateBatch(*batch).ok());
  // The builder starts over after Build.
  EXPECT_EQ(builder.record_count(), 0);
  ASSERT_TRUE(builder.Add({.value = AsBytes(value)}).ok());
}

TEST(RecordBatch, ExtremeTimestampsRoundTrip) {
  RecordBatchBuilder builder({});
  const int64_t lo = std::numeric_limits<int64_t>::min(), hi = std::numeric_limits<int64_t>::max();
  ASSERT_TRUE(builder.Add({.timestamp = hi}).ok());
  ASSERT_TRUE(builder.Add({.timestamp = lo}).ok());
  auto batch = builder.Build();
  ASSERT_TRUE(batch.ok());
  ASSERT_TRUE(ValidateBatch(*batch).ok());
  auto view = RecordBatchView::Parse(*batch);
  auto reader = view->records();
  auto a = reader->Next();
  auto b = reader->Next();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(RecordTimestamp(view->header(), *a), hi);
  EXPECT_EQ(RecordTimestamp(view->header(), *b), lo);
}

// Random edits to the records section, resealed so they get past the CRC: validation and
// reading must agree and must stay in bounds (the sanitizers watch).
TEST(RecordBatch, RandomRecordEditsNeverCrash) {
  std::vector<uint8_t> good = BuildSample({});
  std::mt19937 rng(1234);
  for (int round = 0; round < 3000; ++round) {
    std::vector<uint8_t> bad = good;
    int edits = 1 + int(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t at = batch_layout::kHeaderSize + rng() % (bad.size() - batch_layout::kHeaderSize);
      switch (rng() % 3) {
        case 0: bad[at] = uint8_t(rng()); break;
        case 1: bad.erase(bad.begin() + long(at)); break;
        case 2: bad.insert(bad.begin() + long(at), uint8_t(rng())); break;
      }
    }
    Reseal(bad);
    absl::StatusOr<BatchSummary> s = ValidateBatch(bad);
    absl::Status read = ReadAll(bad);
    if (s.ok()) {
      EXPECT_TRUE(read.ok());
    }
  }
}

TEST(RecordBatch, CrcCoversAttributesToTheEnd) {
  std::vector<uint8_t> batch = BuildSample({});
  absl::StatusOr<BatchHeader> h = ParseBatchHeader(batch);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->crc, Crc32c(absl::MakeConstSpan(batch).subspan(21)));
}

}  // namespace
}  // namespace ringbroker::protocol
