// Recovery from damage: flipped bits and truncated files in the middle and at the tail of segments
// and of their indexes, after clean and unclean shutdowns.
#include "gtest/gtest.h"
#include "storage/format.h"
#include "storage/log_test_harness.h"

namespace ringbroker::storage {
namespace {

using testing::BatchInfo;
using testing::LogHarness;
using testing::MakeSimpleBatch;

LogConfig SmallSegments() {
  LogConfig config;
  config.segment_bytes = 4096;
  config.index_interval_bytes = 256;
  return config;
}

// Appends `count` batches of 2 records, 200-byte values; returns their sizes (all equal).
size_t Fill(LogHarness& h, int count) {
  for (int i = 0; i < count; ++i) EXPECT_TRUE(h.Append(MakeSimpleBatch(2, 200, h.now_ms + i)).ok());
  return MakeSimpleBatch(2, 200, 0).size();
}

std::string Path(LogHarness& h, int64_t base, const char* suffix) {
  return h.dir + "/" + format::SegmentBaseName(base) + suffix;
}

// Reads the whole log; every batch must be intact and offsets contiguous.
std::vector<BatchInfo> ReadAll(LogHarness& h) {
  std::vector<BatchInfo> all;
  int64_t offset = h.log().log_start_offset();
  while (offset < h.log().log_end_offset()) {
    auto read = h.Read(offset, 1 << 20);
    EXPECT_TRUE(read.ok()) << read.status();
    if (!read.ok() || read->slice.size == 0) break;
    for (const BatchInfo& b : LogHarness::Batches(read->slice)) {
      EXPECT_EQ(b.base_offset, offset);
      offset = b.last_offset + 1;
      all.push_back(b);
    }
  }
  return all;
}

TEST(RecoveryTest, TornTailIsTruncatedAtLastValidBatch) {
  LogHarness h;
  ASSERT_TRUE(h.Open().ok());
  size_t size = Fill(h, 5);
  h.Drop();
  std::string log = Path(h, 0, ".log");
  std::string bytes = h.fs.Contents(log).value();
  ASSERT_TRUE(h.fs.SetContents(log, bytes.substr(0, 4 * size + size / 2)).ok());
  ASSERT_TRUE(h.Open().ok());
  EXPECT_EQ(h.log().log_end_offset(), 8);
  EXPECT_EQ(h.fs.Contents(log)->size(), 4 * size);
  EXPECT_EQ(ReadAll(h).size(), 4u);
  ASSERT_TRUE(h.Append(MakeSimpleBatch(1, 10, h.now_ms)).ok());
  EXPECT_EQ(ReadAll(h).size(), 5u);
}

TEST(RecoveryTest, PartialHeaderAtTailIsDropped) {
  LogHarness h;
  ASSERT_TRUE(h.Open().ok());
  size_t size = Fill(h, 3);
  h.Drop();
  std::string log = Path(h, 0, ".log");
  std::string bytes = h.fs.Contents(log).value();
  ASSERT_TRUE(h.fs.SetContents(log, bytes + std::string(30, '\x7f')).ok());
  ASSERT_TRUE(h.Open().ok());
  EXPECT_EQ(h.log().log_end_offset(), 6);
  EXPECT_EQ(h.fs.Contents(log)->size(), 3 * size);
}

TEST(RecoveryTest, FlippedBitInTailBatchDropsOnlyThatBatch) {
  LogHarness h;
  ASSERT_TRUE(h.Open().ok());
  size_t size = Fill(h, 5);
  h.Drop();
  ASSERT_TRUE(h.fs.FlipBit(Path(h, 0, ".log"), 4 * size + 100, 3).ok());
  ASSERT_TRUE(h.Open().ok());
  EXPECT_EQ(h.log().log_end_offset(), 8);
  EXPECT_EQ(ReadAll(h).size(), 4u);
}

TEST(RecoveryTest, FlippedBitInMiddleOfActiveSegmentTruncatesThere) {
  LogHarness h;
  ASSERT_TRUE(h.Open().ok());
  size_t size = Fill(h, 10);
  h.Drop();
  // A bit in the CRC-covered part of batch 3, and one in its length field for good measure.
  ASSERT_TRUE(h.fs.FlipBit(Path(h, 0, ".log"), 3 * size + 70, 0).ok());
  ASSERT_TRUE(h.Open().ok());
  EXPECT_EQ(h.log().log_end_offset(), 6);
  EXPECT_EQ(ReadAll(h).size(), 3u);
}

TEST(RecoveryTest, DamagedBatchLengthTruncatesThere) {
  LogHarness h;
  ASSERT_TRUE(h.Open().ok());
  size_t size = Fill(h, 4);
  h.Drop();
  ASSERT_TRUE(h.fs.FlipBit(Path(h, 0, ".log"), 2 * size + protocol::batch_layout::kBatchLength, 6)
                  .ok());
  ASSERT_TRUE(h.Open().ok());
  EXPECT_EQ(h.log().log_end_offset(), 4);
}

TEST(RecoveryTest, TruncatedSealedSegmentDropsEverythingAfterTheDamage) {
  LogHarness h(SmallSegments());
  ASSERT_TRUE(h.Open().ok());
  size_t size = Fill(h, 40);
  std::vector<int64_t> bases = h.log().segment_bases();
  ASSERT_GE(bases.size(), 4u);
  h.Drop();  // unclean
  // Cut the second segment in the middle of its second batch.
  std::string log = Path(h, bases[1], ".log");
  std::string bytes = h.fs.Contents(log).value();
  ASSERT_TRUE(h.fs.SetContents(log, bytes.substr(0, size + 10)).ok());
  ASSERT_TRUE(h.Open().ok());
  EXPECT_EQ(h.log().log_end_offset(), bases[1] + 2);
  EXPECT_EQ(h.log().segment_count(), 2u);
  EXPECT_FALSE(h.fs.Exists(Path(h, bases[2], ".log")));
  EXPECT_EQ(ReadAll(h).size(), size_t(bases[1] / 2 + 1));
}

TEST(RecoveryTest, DamagedOrMissingIndexesAreRebuiltAfterCleanShutdown) {
  for (int damage = 0; damage < 5; ++damage) {
    SCOPED_TRACE(damage);
    LogHarness h(SmallSegments());
    ASSERT_TRUE(h.Open().ok());
    Fill(h, 40);
    std::vector<BatchInfo> before = ReadAll(h);
    int64_t base = h.log().segment_bases()[1];
    ASSERT_TRUE(h.log().Close().ok());
    h.Drop();
    std::string index = Path(h, base, ".index");
    std::string times = Path(h, base, ".timeindex");
    std::string bytes = h.fs.Contents(index).value();
    ASSERT_GE(bytes.size(), 16u);
    switch (damage) {
      case 0:  // torn last entry
        ASSERT_TRUE(h.fs.SetContents(index, bytes.substr(0, bytes.size() - 3)).ok());
        break;
      case 1:  // a position in the middle pointing nowhere
        ASSERT_TRUE(h.fs.FlipBit(index, 4, 6).ok());
        break;
      case 2:  // last entry past the end of the log
        ASSERT_TRUE(h.fs.FlipBit(index, bytes.size() - 2, 7).ok());
        break;
      case 3:
        ASSERT_TRUE(h.fs.Remove(times).ok());
        break;
      case 4:  // time index entry out of order
        ASSERT_TRUE(h.fs.FlipBit(times, 0, 7).ok());
        break;
    }
    ASSERT_TRUE(h.Open().ok());
    EXPECT_EQ(ReadAll(h), before);
    auto found = h.FindByTime(h.now_ms + 25);
    ASSERT_TRUE(found.ok() && found->has_value());
    EXPECT_EQ((*found)->offset, 50);
    // And the rebuilt index was written back.
    EXPECT_TRUE(h.fs.Exists(times));
  }
}

TEST(RecoveryTest, DamagedMetaForcesFullScanAndKeepsData) {
  LogHarness h(SmallSegments());
  ASSERT_TRUE(h.Open().ok());
  Fill(h, 30);
  std::vector<BatchInfo> before = ReadAll(h);
  h.Drop();
  ASSERT_TRUE(h.fs.FlipBit(h.dir + "/log-meta", 10, 1).ok());
  ASSERT_TRUE(h.Open().ok());
  EXPECT_EQ(ReadAll(h), before);
}

TEST(RecoveryTest, FullScanFindsCorruptionInOldSegmentWhenNothingIsTrusted) {
  LogHarness h(SmallSegments());
  ASSERT_TRUE(h.Open().ok());
  size_t size = Fill(h, 30);
  std::vector<int64_t> bases = h.log().segment_bases();
  h.Drop();
  ASSERT_TRUE(h.fs.Remove(h.dir + "/log-meta").ok());  // no recovery point: scan everything
  ASSERT_TRUE(h.fs.FlipBit(Path(h, bases[0], ".log"), 2 * size + 100, 2).ok());
  ASSERT_TRUE(h.Open().ok());
  EXPECT_EQ(h.log().log_end_offset(), 4);
  EXPECT_EQ(h.log().segment_count(), 1u);
}

TEST(RecoveryTest, LeftoverFilesAreRemoved) {
  LogHarness h(SmallSegments());
  ASSERT_TRUE(h.Open().ok());
  Fill(h, 3);
  h.Drop();
  ASSERT_TRUE(h.fs.SetContents(h.dir + "/00000000000000000000.log.cleaned", "junk").ok());
  ASSERT_TRUE(h.fs.SetContents(h.dir + "/00000000000000000999.index", "junk").ok());
  ASSERT_TRUE(h.fs.SetContents(h.dir + "/log-meta.tmp", "junk").ok());
  ASSERT_TRUE(h.fs.SetContents(h.dir + "/log-meta.checkpoint", "junk").ok());
  ASSERT_TRUE(h.Open().ok());
  EXPECT_FALSE(h.fs.Exists(h.dir + "/00000000000000000000.log.cleaned"));
  EXPECT_FALSE(h.fs.Exists(h.dir + "/00000000000000000999.index"));
  EXPECT_FALSE(h.fs.Exists(h.dir + "/log-meta.tmp"));
  EXPECT_FALSE(h.fs.Exists(h.dir + "/log-meta.checkpoint"));
  EXPECT_EQ(h.log().log_end_offset(), 6);
}

TEST(RecoveryTest, UnreadableSegmentIsAnErrorNotACrash) {
  LogHarness h;
  ASSERT_TRUE(h.Open().ok());
  Fill(h, 3);
  h.Drop();
  h.fs.InjectFault(MemoryFileSystem::Op::kRead, ".log", absl::DataLossError("EIO"), 100);
  auto opened = h.Open();
  EXPECT_EQ(opened.code(), absl::StatusCode::kDataLoss);
  h.fs.ClearFaults();
  ASSERT_TRUE(h.Open().ok());
  EXPECT_EQ(h.log().log_end_offset(), 6);
}

}  // namespace
}  // namespace ringbroker::storage
