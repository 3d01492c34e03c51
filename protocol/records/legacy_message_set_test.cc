#include "protocol/records/legacy_message_set.h"

#include <zlib.h>

#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace ringbroker::protocol {
namespace {

// Hand-written per implementation.html, independently of the library's builder:
//   offset int64, message_size int32, crc int32 (CRC-32 of magic..end), magic int8,
//   attributes int8, [timestamp int64 if magic 1], key bytes, value bytes.
class MessageSetWriter {
 public:
  MessageSetWriter& Message(int8_t magic, int64_t offset, int8_t attributes, int64_t timestamp,
                            const char* key, const std::vector<uint8_t>& value,
                            bool null_value = false) {
    std::vector<uint8_t> body;  // from magic on
    body.push_back(uint8_t(magic));
    body.push_back(uint8_t(attributes));
    if (magic == 1) Put64(body, uint64_t(timestamp));
    if (key == nullptr) {
      Put32(body, 0xffffffffu);
    } else {
      Put32(body, uint32_t(strlen(key)));
      body.insert(body.end(), key, key + strlen(key));
    }
    if (null_value) {
      Put32(body, 0xffffffffu);
    } else {
      Put32(body, uint32_t(value.size()));
      body.insert(body.end(), value.begin(), value.end());
    }
    Put64(out_, uint64_t(offset));
    Put32(out_, uint32_t(4 + body.size()));
    Put32(out_, uint32_t(crc32(0, body.data(), uInt(body.size()))));
    out_.insert(out_.end(), body.begin(), body.end());
    return *this;
  }
  MessageSetWriter& Message(int8_t magic, int64_t offset, int64_t timestamp, const char* key,
                            const std::string& value) {
    return Message(magic, offset, 0, timestamp, key,
                   std::vector<uint8_t>(value.begin(), value.end()));
  }
  std::vector<uint8_t> bytes() const { return out_; }

 private:
  static void Put32(std::vector<uint8_t>& v, uint32_t x) {
    for (int s = 24; s >= 0; s -= 8) v.push_back(uint8_t(x >> s));
  }
  static void Put64(std::vector<uint8_t>& v, uint64_t x) {
    Put32(v, uint32_t(x >> 32));
    Put32(v, uint32_t(x));
  }
  std::vector<uint8_t> out_;
};

std::optional<std::string> Str(const NullableBytes& b) {
  if (!b) return std::nullopt;
  return std::string(AsStringView(*b));
}

std::vector<LegacyRecord> Collect(absl::Span<const uint8_t> set, absl::Status* status,
                                  std::vector<std::string>* values) {
  std::vector<LegacyRecord> out;
  *status = ForEachLegacyRecord(set, 1 << 20, [&](const LegacyRecord& r) {
    out.push_back(r);
    values->push_back(Str(r.value).value_or("<null>"));
    out.back().key.reset();  // views die after the callback; keep only the scalars
    out.back().value.reset();
    return absl::OkStatus();
  });
  return out;
}

TEST(LegacyMessageSet, ReadsHandBuiltMagicZeroMessages) {
  std::vector<uint8_t> set = MessageSetWriter()
                                 .Message(0, 10, -1, "k0", "v0")
                                 .Message(0, 11, -1, nullptr, "v1")
                                 .Message(0, 12, 0, -1, "k2", {}, /*null_value=*/true)
                                 .bytes();
  LegacyMessageSetReader reader(set);
  auto a = reader.Next();
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->offset, 10);
  EXPECT_EQ(a->magic, 0);
  EXPECT_EQ(a->timestamp, -1);
  EXPECT_EQ(Str(a->key), "k0");
  EXPECT_EQ(Str(a->value), "v0");
  EXPECT_EQ(a->bytes.size(), 12u + 4 + 1 + 1 + 4 + 2 + 4 + 2);
  auto b = reader.Next();
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->key.has_value());
  auto c = reader.Next();
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->value.has_value());
  EXPECT_TRUE(reader.Done());
  EXPECT_EQ(reader.Next().status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(ValidateLegacyMessageSet(set, 1 << 20).ok());
}

TEST(LegacyMessageSet, ReadsHandBuiltMagicOneTimestampsAndLogAppendTime) {
  std::vector<uint8_t> set = MessageSetWriter()
                                 .Message(1, 0, 0, 1111, "k", std::vector<uint8_t>{'a'})
                                 .Message(1, 1, 0x08, 2222, "k", std::vector<uint8_t>{'b'})
                                 .bytes();
  absl::Status s;
  std::vector<std::string> values;
  std::vector<LegacyRecord> records = Collect(set, &s, &values);
  ASSERT_TRUE(s.ok()) << s;
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].timestamp, 1111);
  EXPECT_FALSE(records[0].log_append_time);
  EXPECT_EQ(records[1].timestamp, 2222);
  EXPECT_TRUE(records[1].log_append_time);
  EXPECT_EQ(values, (std::vector<std::string>{"a", "b"}));
}

TEST(LegacyMessageSet, LibraryBuilderMatchesHandBuiltBytes) {
  std::string v0 = "first", v1 = "second";
  std::vector<LegacyRecord> records = {
      {.offset = 5, .timestamp = 77, .key = AsBytes("k"), .value = AsBytes(v0)},
      {.offset = 6, .timestamp = 78, .key = std::nullopt, .value = AsBytes(v1)}};
  for (int8_t magic : {0, 1}) {
    auto built = BuildLegacyMessageSet(magic, Compression::kNone, records);
    ASSERT_TRUE(built.ok());
    std::vector<uint8_t> hand = MessageSetWriter()
                                    .Message(magic, 5, magic ? 77 : -1, "k", v0)
                                    .Message(magic, 6, magic ? 78 : -1, nullptr, v1)
                                    .bytes();
    EXPECT_EQ(*built, hand) << int(magic);
  }
}

// A magic-1 wrapper: inner offsets are relative, the wrapper holds the last inner's absolute
// offset, and its log-append-time timestamp overrides the inner ones.
TEST(LegacyMessageSet, MagicOneGzipWrapperResolvesRelativeOffsets) {
  std::vector<uint8_t> inner = MessageSetWriter()
                                   .Message(1, 0, 500, "a", "x")
                                   .Message(1, 1, 501, "b", "y")
                                   .Message(1, 2, 502, "c", "z")
                                   .bytes();
  auto packed = Compress(Compression::kGzip, inner);
  ASSERT_TRUE(packed.ok());
  for (bool append_time : {false, true}) {
    int8_t attributes = int8_t(1 | (append_time ? 0x08 : 0));
    std::vector<uint8_t> set =
        MessageSetWriter().Message(1, 102, attributes, 9000, nullptr, *packed).bytes();
    absl::Status s;
    std::vector<std::string> values;
    std::vector<LegacyRecord> records = Collect(set, &s, &values);
    ASSERT_TRUE(s.ok()) << s;
    ASSERT_EQ(records.size(), 3u);
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(records[size_t(i)].offset, 100 + i);
      EXPECT_EQ(records[size_t(i)].timestamp, append_time ? 9000 : 500 + i);
      EXPECT_EQ(records[size_t(i)].log_append_time, append_time);
    }
    EXPECT_EQ(values, (std::vector<std::string>{"x", "y", "z"}));

    auto batch = ConvertLegacyMessageSet(set);
    ASSERT_TRUE(batch.ok()) << batch.status();
    auto summary = ValidateBatch(*batch);
    ASSERT_TRUE(summary.ok()) << summary.status();
    EXPECT_EQ(summary->header.base_offset, 100);
    EXPECT_EQ(summary->header.record_count, 3);
    EXPECT_EQ(summary->max_record_timestamp, append_time ? 9000 : 502);
    EXPECT_EQ((summary->header.attributes & batch_attributes::kTimestampLogAppendTime) != 0,
              append_time);
  }
}

TEST(LegacyMessageSet, MagicZeroSnappyWrapperKeepsAbsoluteOffsets) {
  std::vector<uint8_t> inner =
      MessageSetWriter().Message(0, 40, -1, "a", "x").Message(0, 41, -1, "b", "y").bytes();
  auto packed = Compress(Compression::kSnappy, inner);
  ASSERT_TRUE(packed.ok());
  std::vector<uint8_t> set = MessageSetWriter().Message(0, 41, 2, -1, nullptr, *packed).bytes();
  absl::Status s;
  std::vector<std::string> values;
  std::vector<LegacyRecord> records = Collect(set, &s, &values);
  ASSERT_TRUE(s.ok()) << s;
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].offset, 40);
  EXPECT_EQ(records[1].offset, 41);
  EXPECT_EQ(records[0].timestamp, -1);
}

TEST(LegacyMessageSet, EveryCodecRoundTripsThroughTheBuilder) {
  std::vector<std::string> payloads = {"alpha", std::string(5000, 'b'), ""};
  std::vector<LegacyRecord> records;
  for (size_t i = 0; i < payloads.size(); ++i) {
    records.push_back({.offset = int64_t(7 + i),
                       .timestamp = int64_t(100 + i),
                       .key = AsBytes("key"),
                       .value = AsBytes(payloads[i])});
  }
  for (int8_t magic : {0, 1}) {
    for (Compression c :
         {Compression::kNone, Compression::kGzip, Compression::kSnappy, Compression::kLz4}) {
      auto set = BuildLegacyMessageSet(magic, c, records);
      ASSERT_TRUE(set.ok()) << set.status();
      absl::Status s;
      std::vector<std::string> values;
      std::vector<LegacyRecord> got = Collect(*set, &s, &values);
      ASSERT_TRUE(s.ok()) << int(magic) << " " << CompressionName(c) << ": " << s;
      EXPECT_EQ(values, payloads);
      ASSERT_EQ(got.size(), 3u);
      for (size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(got[i].offset, int64_t(7 + i));
        EXPECT_EQ(got[i].timestamp, magic ? int64_t(100 + i) : -1);
      }
    }
  }
  EXPECT_FALSE(BuildLegacyMessageSet(1, Compression::kZstd, records).ok());
  EXPECT_FALSE(BuildLegacyMessageSet(2, Compression::kNone, records).ok());
}

TEST(LegacyMessageSet, MagicZeroLz4WithBrokenHeaderChecksumIsRead_MagicOneIsNot) {
  std::vector<LegacyRecord> records = {{.offset = 0, .value = AsBytes("payload")}};
  auto v0 = BuildLegacyMessageSet(0, Compression::kLz4, records);
  ASSERT_TRUE(v0.ok());
  EXPECT_TRUE(ValidateLegacyMessageSet(*v0, 1 << 20).ok());
  // Rewrap the same (broken-checksum) frame in a magic-1 wrapper.
  auto wrapper = LegacyMessageSetReader(*v0).Next();
  ASSERT_TRUE(wrapper.ok());
  std::vector<uint8_t> frame(wrapper->value->begin(), wrapper->value->end());
  std::vector<uint8_t> inner_v1 = MessageSetWriter().Message(1, 0, 5, nullptr, "payload").bytes();
  auto good_frame = Compress(Compression::kLz4, inner_v1);
  ASSERT_TRUE(good_frame.ok());
  // Give the magic-1 frame the magic-0 style checksum.
  uint8_t flags = (*good_frame)[4];
  size_t descriptor = 2 + ((flags & 0x08) ? 8 : 0) + ((flags & 0x01) ? 4 : 0);
  (*good_frame)[4 + descriptor] = uint8_t(
      compression_internal::XxHash32(absl::MakeConstSpan(good_frame->data(), 4 + descriptor), 0) >>
      8);
  std::vector<uint8_t> v1 = MessageSetWriter().Message(1, 0, 3, 5, nullptr, *good_frame).bytes();
  EXPECT_FALSE(ValidateLegacyMessageSet(v1, 1 << 20).ok());
}

TEST(LegacyMessageSet, CorruptCrcIsDataLoss) {
  std::vector<uint8_t> good = MessageSetWriter().Message(1, 0, 5, "k", "value").bytes();
  for (size_t i = 12; i < good.size(); ++i) {
    std::vector<uint8_t> bad = good;
    bad[i] ^= 0x20;
    if (i == legacy_layout::kMagic) {  // an unknown magic is reported before the CRC is checked
      EXPECT_EQ(ValidateLegacyMessageSet(bad, 1 << 20).code(), absl::StatusCode::kInvalidArgument);
      continue;
    }
    EXPECT_EQ(ValidateLegacyMessageSet(bad, 1 << 20).code(), absl::StatusCode::kDataLoss) << i;
  }
}

TEST(LegacyMessageSet, TruncatedAtEveryLengthIsRejected) {
  std::vector<uint8_t> good =
      MessageSetWriter().Message(1, 0, 5, "k", "value").Message(1, 1, 6, "k", "v").bytes();
  size_t first = good.size() - (12 + 4 + 1 + 1 + 8 + 4 + 1 + 4 + 1);
  for (size_t n = 0; n < good.size(); ++n) {
    absl::Status s = ValidateLegacyMessageSet(absl::MakeConstSpan(good.data(), n), 1 << 20);
    EXPECT_FALSE(s.ok() && n != first) << n;
  }
}

TEST(LegacyMessageSet, LyingMessageSizeIsRejected) {
  std::vector<uint8_t> good = MessageSetWriter().Message(0, 0, -1, "k", "value").bytes();
  for (uint32_t size : {0u, 1u, 13u, 0x7fffffffu, 0xffffffffu, uint32_t(good.size() - 12 + 1)}) {
    std::vector<uint8_t> bad = good;
    StoreBigEndian32(bad.data() + 8, size);
    EXPECT_FALSE(ValidateLegacyMessageSet(bad, 1 << 20).ok()) << size;
  }
}

// Builds a message whose CRC is right but whose fields are not, to reach the field checks.
std::vector<uint8_t> WithBody(std::vector<uint8_t> body) {
  std::vector<uint8_t> out(12, 0);
  StoreBigEndian32(out.data() + 8, uint32_t(4 + body.size()));
  uint8_t crc[4];
  StoreBigEndian32(crc, uint32_t(crc32(0, body.data(), uInt(body.size()))));
  out.insert(out.end(), crc, crc + 4);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

TEST(LegacyMessageSet, MalformedFieldsAreRejected) {
  // magic 2 is not a legacy message
  EXPECT_FALSE(ValidateLegacyMessageSet(
                   WithBody({2, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}), 100)
                   .ok());
  // key length beyond the message
  EXPECT_FALSE(
      ValidateLegacyMessageSet(WithBody({0, 0, 0, 0, 0, 9, 'a', 0xff, 0xff, 0xff, 0xff}), 100)
          .ok());
  // key length -2
  EXPECT_FALSE(ValidateLegacyMessageSet(
                   WithBody({0, 0, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xff}), 100)
                   .ok());
  // a byte left over after the value
  EXPECT_FALSE(ValidateLegacyMessageSet(
                   WithBody({0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0}), 100)
                   .ok());
  // magic 1 too short for its timestamp
  EXPECT_FALSE(ValidateLegacyMessageSet(
                   WithBody({1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}), 100)
                   .ok());
  // and the well-formed one is accepted
  EXPECT_TRUE(ValidateLegacyMessageSet(
                  WithBody({0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}), 100)
                  .ok());
}

TEST(LegacyMessageSet, BadWrappersAreRejected) {
  std::vector<uint8_t> plain = MessageSetWriter().Message(1, 0, 5, "k", "v").bytes();
  auto gz = [](const std::vector<uint8_t>& v) { return *Compress(Compression::kGzip, v); };
  // nested compression
  std::vector<uint8_t> nested = MessageSetWriter().Message(1, 0, 1, 5, nullptr, gz(plain)).bytes();
  EXPECT_FALSE(ValidateLegacyMessageSet(
                   MessageSetWriter().Message(1, 0, 1, 5, nullptr, gz(nested)).bytes(), 1 << 20)
                   .ok());
  // inner magic differs from the wrapper's
  EXPECT_FALSE(ValidateLegacyMessageSet(
                   MessageSetWriter().Message(0, 0, 1, -1, nullptr, gz(plain)).bytes(), 1 << 20)
                   .ok());
  // empty inner set
  EXPECT_FALSE(ValidateLegacyMessageSet(
                   MessageSetWriter().Message(1, 0, 1, 5, nullptr, gz({})).bytes(), 1 << 20)
                   .ok());
  // null wrapper value
  EXPECT_FALSE(ValidateLegacyMessageSet(
                   MessageSetWriter().Message(1, 0, 1, 5, nullptr, {}, true).bytes(), 1 << 20)
                   .ok());
  // zstd and undefined codecs
  auto zs = Compress(Compression::kZstd, plain);
  EXPECT_FALSE(ValidateLegacyMessageSet(
                   MessageSetWriter().Message(1, 0, 4, 5, nullptr, *zs).bytes(), 1 << 20)
                   .ok());
  EXPECT_FALSE(ValidateLegacyMessageSet(
                   MessageSetWriter().Message(1, 0, 6, 5, nullptr, gz(plain)).bytes(), 1 << 20)
                   .ok());
  // inner set cut short
  std::vector<uint8_t> cut(plain.begin(), plain.end() - 1);
  EXPECT_FALSE(ValidateLegacyMessageSet(
                   MessageSetWriter().Message(1, 0, 1, 5, nullptr, gz(cut)).bytes(), 1 << 20)
                   .ok());
  // empty set
  EXPECT_FALSE(ValidateLegacyMessageSet({}, 1 << 20).ok());
  EXPECT_FALSE(ConvertLegacyMessageSet({}).ok());
}

TEST(LegacyMessageSet, CompressedWrapperBombIsBounded) {
  std::vector<uint8_t> zeros(16 << 20, 0);
  for (Compression c : {Compression::kGzip, Compression::kSnappy, Compression::kLz4}) {
    auto packed = Compress(c, zeros);
    ASSERT_TRUE(packed.ok());
    std::vector<uint8_t> set =
        MessageSetWriter().Message(1, 0, int8_t(c), 5, nullptr, *packed).bytes();
    EXPECT_EQ(ValidateLegacyMessageSet(set, 1 << 20).code(), absl::StatusCode::kResourceExhausted)
        << CompressionName(c);
  }
}

TEST(LegacyMessageSet, ConversionRespectsTheRecordsBound) {
  std::string big(1000, 'x');
  MessageSetWriter w;
  for (int i = 0; i < 10; ++i) w.Message(1, i, 5, "k", big);
  EXPECT_TRUE(ConvertLegacyMessageSet(w.bytes(), {.records_bytes_max = 20000}).ok());
  EXPECT_EQ(ConvertLegacyMessageSet(w.bytes(), {.records_bytes_max = 5000}).status().code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(LegacyMessageSet, CallbackErrorStopsIteration) {
  std::vector<uint8_t> set =
      MessageSetWriter().Message(0, 0, -1, "a", "1").Message(0, 1, -1, "b", "2").bytes();
  int calls = 0;
  absl::Status s = ForEachLegacyRecord(set, 100, [&](const LegacyRecord&) {
    ++calls;
    return absl::CancelledError("stop");
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(calls, 1);
}

TEST(LegacyMessageSet, RandomEditsNeverCrash) {
  std::vector<LegacyRecord> records;
  std::string v = "some value bytes";
  for (int i = 0; i < 4; ++i)
    records.push_back({.offset = i, .timestamp = i, .key = AsBytes("k"), .value = AsBytes(v)});
  std::vector<std::vector<uint8_t>> goods;
  for (Compression c :
       {Compression::kNone, Compression::kGzip, Compression::kSnappy, Compression::kLz4}) {
    goods.push_back(*BuildLegacyMessageSet(1, c, records));
  }
  std::mt19937 rng(99);
  for (int round = 0; round < 2000; ++round) {
    std::vector<uint8_t> bad = goods[size_t(round) % goods.size()];
    size_t at = 16 + rng() % (bad.size() - 16);
    bad[at] = uint8_t(rng());
    // Reseal the first message's CRC so the edit reaches the field and wrapper checks.
    uint32_t size = LoadBigEndian32(bad.data() + 8);
    if (size >= 4 && 12 + size_t(size) <= bad.size()) {
      StoreBigEndian32(bad.data() + 12, uint32_t(crc32(0, bad.data() + 16, uInt(size - 4))));
    }
    (void)ValidateLegacyMessageSet(bad, 1 << 16);
    (void)ConvertLegacyMessageSet(bad, {.decompressed_bytes_max = 1 << 16});
  }
}

}  // namespace
}  // namespace ringbroker::protocol
