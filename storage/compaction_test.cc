#include "storage/compaction.h"

#include <map>
#include <deque>
#include <filesystem>
#include <thread>

#include "gtest/gtest.h"
#include "protocol/records/compression.h"
#include "storage/format.h"
#include "storage/io/posix_file.h"
#include "storage/log_test_harness.h"

namespace ringbroker::storage {
namespace {

using testing::LogHarness;
using testing::MakeBatch;
using testing::TestRecord;

struct KeyValue {
  int64_t offset;
  std::string key;
  std::optional<std::string> value;
};

std::optional<int64_t> Varlong(const uint8_t*& p) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    uint8_t b = *p++;
    v |= uint64_t(b & 0x7f) << shift;
    if (!(b & 0x80)) return int64_t((v >> 1) ^ (~(v & 1) + 1));
  }
  return std::nullopt;
}

// Every record of the log, read back through Log::Read.
std::vector<KeyValue> ReadRecords(LogHarness& h) {
  std::vector<KeyValue> out;
  int64_t offset = h.log().log_start_offset();
  while (offset < h.log().log_end_offset()) {
    auto read = h.Read(offset, 1 << 20);
    EXPECT_TRUE(read.ok()) << read.status();
    if (!read.ok() || read->slice.size == 0) break;
    std::vector<uint8_t> bytes = LogHarness::Bytes(read->slice);
    LogHarness::Batches(read->slice);  // checks CRCs
    for (size_t at = 0; at < bytes.size();) {
      auto hd = protocol::ParseBatchHeader(absl::MakeConstSpan(bytes).subspan(at));
      const uint8_t* p = bytes.data() + at + protocol::batch_layout::kHeaderSize;
      std::vector<uint8_t> plain;
      if (hd->compression() != 0) {
        auto section = absl::MakeConstSpan(bytes).subspan(at + protocol::batch_layout::kHeaderSize,
                                                          hd->total_size() - protocol::batch_layout::kHeaderSize);
        auto decompressed = protocol::Decompress(*protocol::CompressionFromId(hd->compression()), section, 1 << 24);
        EXPECT_TRUE(decompressed.ok()) << decompressed.status();
        if (!decompressed.ok()) return out;
        plain = *std::move(decompressed);
        p = plain.data();
      }
      for (int i = 0; i < hd->record_count; ++i) {
        Varlong(p);  // length
        ++p;         // attributes
        Varlong(p);  // timestamp delta
        int64_t delta = *Varlong(p);
        int64_t key_length = *Varlong(p);
        std::string key(reinterpret_cast<const char*>(p), size_t(key_length));
        p += key_length;
        int64_t value_length = *Varlong(p);
        std::optional<std::string> value;
        if (value_length >= 0) {
          value = std::string(reinterpret_cast<const char*>(p), size_t(value_length));
          p += value_length;
        }
        Varlong(p);  // headers
        out.push_back({hd->base_offset + delta, key, value});
      }
      offset = hd->last_offset() + 1;
      at += hd->total_size();
    }
  }
  return out;
}

LogConfig CompactConfig() {
  LogConfig config;
  config.segment_bytes = 2048;
  config.index_interval_bytes = 200;
  config.cleanup_compact = true;
  config.cleanup_delete = false;
  config.delete_retention_ms = 60'000;
  return config;
}

void RunToCompletion(CompactionJob& job) {
  int steps = 0;
  while (!job.Step(700)) ++steps;
  EXPECT_GT(steps, 1);  // it really works in slices
}

TEST(CompactionTest, KeepsLatestValuePerKeyAndOffsets) {
  LogHarness h(CompactConfig());
  ASSERT_TRUE(h.Open().ok());
  std::map<std::string, std::pair<int64_t, std::string>> latest;
  for (int i = 0; i < 60; ++i) {
    std::vector<TestRecord> records;
    for (int r = 0; r < 3; ++r) {
      std::string key = "key" + std::to_string((i * 3 + r) % 7);
      records.push_back(TestRecord{key, "value-" + std::to_string(i) + "-" + std::to_string(r)});
    }
    auto result = h.Append(MakeBatch(records, h.now_ms));
    ASSERT_TRUE(result.ok());
    for (int r = 0; r < 3; ++r) latest[*records[r].key] = {result->base_offset + r, *records[r].value};
  }
  std::vector<KeyValue> before = ReadRecords(h);
  uint64_t size_before = h.log().size_bytes();
  auto job = h.log().StartCompaction(h.now_ms);
  ASSERT_NE(job, nullptr);
  RunToCompletion(*job);
  ASSERT_TRUE(job->status().ok()) << job->status();
  EXPECT_GT(job->records_removed(), 0u);
  ASSERT_TRUE(h.log().InstallCompaction(*job).ok());
  job.reset();
  EXPECT_LT(h.log().size_bytes(), size_before);

  std::vector<KeyValue> after = ReadRecords(h);
  // Every record still there is one of the originals, at its original offset.
  std::map<int64_t, KeyValue> original;
  for (const auto& kv : before) original[kv.offset] = kv;
  for (const auto& kv : after) {
    ASSERT_TRUE(original.contains(kv.offset));
    EXPECT_EQ(original[kv.offset].value, kv.value);
  }
  // The latest value of every key survives; in the sealed part no key appears twice.
  int64_t active_base = h.log().segment_bases().back();
  std::map<std::string, int> sealed_count;
  std::map<std::string, std::string> last_seen;
  for (const auto& kv : after) {
    last_seen[kv.key] = *kv.value;
    if (kv.offset < active_base) ++sealed_count[kv.key];
  }
  for (const auto& [key, offset_value] : latest) EXPECT_EQ(last_seen[key], offset_value.second);
  for (const auto& [key, count] : sealed_count) EXPECT_EQ(count, 1) << key;
  EXPECT_EQ(h.log().log_end_offset(), 180);

  // The compacted log survives both kinds of restart, and reads by offset still find batches.
  ASSERT_TRUE(h.CloseAndReopen().ok());
  EXPECT_EQ(ReadRecords(h).size(), after.size());
  ASSERT_TRUE(h.CrashAndReopen().ok());
  EXPECT_EQ(ReadRecords(h).size(), after.size());
  std::vector<std::string> names = h.fs.List(h.dir).value();
  for (const auto& name : names) EXPECT_FALSE(name.ends_with(".cleaned"));
}

// MakeBatch's batch with its records compressed by `codec`, as a producer would send it.
std::vector<uint8_t> Compressed(std::vector<uint8_t> batch, protocol::Compression codec) {
  namespace layout = protocol::batch_layout;
  auto body = protocol::Compress(codec, absl::MakeConstSpan(batch).subspan(layout::kHeaderSize));
  EXPECT_TRUE(body.ok());
  batch.resize(layout::kHeaderSize);
  batch.insert(batch.end(), body->begin(), body->end());
  uint8_t* p = batch.data();
  protocol::StoreBigEndian32(p + layout::kBatchLength, uint32_t(batch.size() - layout::kLogOverhead));
  protocol::StoreBigEndian16(p + layout::kAttributes, uint16_t(static_cast<int>(codec)));
  protocol::StoreBigEndian32(p + layout::kCrc, Crc32c(absl::MakeConstSpan(batch).subspan(layout::kAttributes)));
  return batch;
}

TEST(CompactionTest, CompressedBatchesAreCleanedAndCompressedAgain) {
  for (auto codec : {protocol::Compression::kGzip, protocol::Compression::kSnappy, protocol::Compression::kLz4,
                     protocol::Compression::kZstd}) {
    SCOPED_TRACE(protocol::CompressionName(codec));
    LogHarness h(CompactConfig());
    ASSERT_TRUE(h.Open().ok());
    std::map<std::string, std::string> latest;
    for (int i = 0; i < 80; ++i) {
      std::vector<TestRecord> records;
      for (int r = 0; r < 3; ++r) {
        std::string key = "key" + std::to_string((i * 3 + r) % 5);
        records.push_back(TestRecord{key, "value-" + std::to_string(i) + "-" + std::to_string(r) + std::string(40, 'z')});
        latest[key] = *records.back().value;
      }
      ASSERT_TRUE(h.Append(Compressed(MakeBatch(records, h.now_ms), codec)).ok());
    }
    const size_t records_before = ReadRecords(h).size();
    auto job = h.log().StartCompaction(h.now_ms);
    ASSERT_NE(job, nullptr);
    while (!job->Step(1 << 20)) {
    }
    ASSERT_TRUE(job->status().ok()) << job->status();
    EXPECT_GT(job->records_removed(), 0u);
    ASSERT_TRUE(h.log().InstallCompaction(*job).ok());
    std::vector<KeyValue> after = ReadRecords(h);  // decompresses, so CRCs and codec frames are checked
    EXPECT_LT(after.size(), records_before);
    std::map<std::string, std::string> last_seen;
    int64_t previous = -1;
    for (const auto& kv : after) {
      EXPECT_GT(kv.offset, previous);  // offsets kept, in order
      previous = kv.offset;
      last_seen[kv.key] = *kv.value;
    }
    EXPECT_EQ(last_seen, latest);
    // Every batch kept its codec.
    auto read = h.Read(h.log().log_start_offset(), 1 << 20);
    ASSERT_TRUE(read.ok());
    std::vector<uint8_t> bytes = LogHarness::Bytes(read->slice);
    for (size_t at = 0; at < bytes.size();) {
      auto hd = protocol::ParseBatchHeader(absl::MakeConstSpan(bytes).subspan(at));
      ASSERT_TRUE(hd.ok());
      EXPECT_EQ(hd->compression(), static_cast<int>(codec));
      at += hd->total_size();
    }
  }
}

TEST(CompactionTest, TombstonesStayUntilDeleteRetentionPasses) {
  for (bool expired : {false, true}) {
    SCOPED_TRACE(expired);
    LogHarness h(CompactConfig());
    ASSERT_TRUE(h.Open().ok());
    ASSERT_TRUE(h.Append(MakeBatch({{"gone", "v1"}, {"kept", "v1"}}, h.now_ms)).ok());
    ASSERT_TRUE(h.Append(MakeBatch({{"gone", std::nullopt}}, h.now_ms)).ok());
    for (int i = 0; i < 30; ++i) {
      ASSERT_TRUE(h.Append(MakeBatch({{"other" + std::to_string(i), std::string(100, 'x')}},
                                     h.now_ms)).ok());
    }
    auto job = h.log().StartCompaction(h.now_ms + (expired ? 120'000 : 1'000));
    ASSERT_NE(job, nullptr);
    while (!job->Step(1 << 20)) {
    }
    ASSERT_TRUE(h.log().InstallCompaction(*job).ok());
    std::vector<KeyValue> after = ReadRecords(h);
    int gone = 0, kept = 0;
    for (const auto& kv : after) {
      if (kv.key == "gone") {
        ++gone;
        EXPECT_FALSE(kv.value.has_value());  // only the tombstone may remain
      }
      if (kv.key == "kept") ++kept;
    }
    EXPECT_EQ(gone, expired ? 0 : 1);
    EXPECT_EQ(kept, 1);
  }
}

TEST(CompactionTest, StaleSegmentsAreNotInstalled) {
  LogConfig config = CompactConfig();
  config.cleanup_delete = true;
  config.retention_bytes = 0;
  LogHarness h(config);
  ASSERT_TRUE(h.Open().ok());
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(h.Append(MakeBatch({{"same", std::string(100, char('a' + i % 26))}}, h.now_ms)).ok());
  }
  auto job = h.log().StartCompaction(h.now_ms);
  ASSERT_NE(job, nullptr);
  while (!job->Step(1 << 20)) {
  }
  // Retention deletes the sealed segments before the swap.
  h.log().set_high_watermark(h.log().log_end_offset());
  ASSERT_TRUE(h.log().Maintain(h.now_ms).ok());
  ASSERT_EQ(h.log().segment_count(), 1u);
  ASSERT_TRUE(h.log().InstallCompaction(*job).ok());
  job.reset();
  std::vector<std::string> names = h.fs.List(h.dir).value();
  for (const auto& name : names) EXPECT_FALSE(name.ends_with(".cleaned"));
  EXPECT_EQ(h.log().log_end_offset(), 40);
}

TEST(CompactionTest, StepsRunOnAnotherThreadWhileTheOwnerAppends) {
  // Real files: the POSIX file system keeps no state of its own, so a helper thread may use it.
  char tmpl[] = "/tmp/rb_compaction_test_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  PosixFileSystem fs;
  LogConfig config = CompactConfig();
  config.sync_before_ack = false;
  config.segment_bytes = 4096;  // each roll costs a few fsyncs on a real disk
  auto log = Log::Open(fs, std::string(tmpl) + "/t-0", config);
  ASSERT_TRUE(log.ok());
  std::deque<std::vector<uint8_t>> buffers;
  auto append = [&](int i) {
    buffers.push_back(MakeBatch({{absl::StrCat("k", i % 5), std::string(100, char('a' + i % 26))}},
                                1000));
    bool ok = false;
    (*log)->Append(absl::MakeSpan(buffers.back()), AppendOptions{},
                   [&](absl::StatusOr<AppendResult> r) { ok = r.ok(); });
    return ok;
  };
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(append(i));
  auto job = (*log)->StartCompaction(2000);
  ASSERT_NE(job, nullptr);
  std::thread helper([&] {
    while (!job->Step(1024)) {
    }
  });
  for (int i = 100; i < 200; ++i) ASSERT_TRUE(append(i));
  helper.join();
  ASSERT_TRUE(job->status().ok()) << job->status();
  ASSERT_TRUE((*log)->InstallCompaction(*job).ok());
  EXPECT_GT(job->records_removed(), 50u);
  EXPECT_EQ((*log)->log_end_offset(), 200);
  std::optional<absl::StatusOr<ReadResult>> read;
  (*log)->Read(0, 1 << 20, INT64_MAX, [&](auto r) { read = std::move(r); });
  ASSERT_TRUE(read && read->ok());
  EXPECT_GT((*read)->first_offset, 0);  // the first records were superseded
  job.reset();
  ASSERT_TRUE((*log)->Close().ok());
  std::filesystem::remove_all(tmpl);
}

TEST(CompactionTest, NothingToDoWithoutCompactPolicy) {
  LogConfig config = CompactConfig();
  config.cleanup_compact = false;
  LogHarness h(config);
  ASSERT_TRUE(h.Open().ok());
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(h.Append(MakeBatch({{"k", "v"}}, h.now_ms)).ok());
  EXPECT_EQ(h.log().StartCompaction(h.now_ms), nullptr);
}

}  // namespace
}  // namespace ringbroker::storage
