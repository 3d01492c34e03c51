#include "storage/log.h"

#include <stdlib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "protocol/records/batch_header.h"
#include "storage/format.h"
#include "storage/io/memory_file.h"
#include "storage/io/posix_file.h"
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

TEST(LogTest, AppendAssignsOffsetsAndPatchesInPlace) {
  LogHarness h;
  ASSERT_TRUE(h.Open().ok());
  auto first = h.Append(MakeSimpleBatch(3, 10, h.now_ms));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->base_offset, 0);
  EXPECT_EQ(first->last_offset, 2);
  EXPECT_EQ(first->log_end_offset, 3);
  std::vector<uint8_t> batch = MakeSimpleBatch(2, 10, h.now_ms);
  std::optional<absl::StatusOr<AppendResult>> result;
  h.log().Append(absl::MakeSpan(batch), AppendOptions{.leader_epoch = 7},
                 [&](absl::StatusOr<AppendResult> r) { result = r; });
  ASSERT_TRUE(result && result->ok());
  EXPECT_EQ((*result)->base_offset, 3);
  // The caller's buffer now carries the assigned offset and epoch: it was written, not copied.
  auto header = protocol::ParseBatchHeader(batch);
  EXPECT_EQ(header->base_offset, 3);
  EXPECT_EQ(header->partition_leader_epoch, 7);
  EXPECT_EQ(h.log().log_end_offset(), 5);
}

TEST(LogTest, ReadReturnsWholeBatchesWithinByteLimit) {
  LogHarness h;
  ASSERT_TRUE(h.Open().ok());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(h.Append(MakeSimpleBatch(2, 100, h.now_ms)).ok());
  size_t batch_size = MakeSimpleBatch(2, 100, 0).size();
  auto read = h.Read(4, 3 * batch_size + batch_size / 2);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->slice.size, 3 * batch_size);
  auto batches = LogHarness::Batches(read->slice);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0].base_offset, 4);
  EXPECT_EQ(read->next_offset, 10);
}

TEST(LogTest, ReadOfOffsetInsideBatchReturnsThatBatch) {
  LogHarness h;
  ASSERT_TRUE(h.Open().ok());
  ASSERT_TRUE(h.Append(MakeSimpleBatch(5, 10, h.now_ms)).ok());
  ASSERT_TRUE(h.Append(MakeSimpleBatch(5, 10, h.now_ms)).ok());
  auto read = h.Read(7, 1 << 20);
  ASSERT_TRUE(read.ok());
  auto batches = LogHarness::Batches(read->slice);
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].base_offset, 5);
}

TEST(LogTest, FirstBatchComesWholeEvenWhenLargerThanLimit) {
  LogHarness h;
  ASSERT_TRUE(h.Open().ok());
  ASSERT_TRUE(h.Append(MakeSimpleBatch(1, 5000, h.now_ms)).ok());
  ASSERT_TRUE(h.Append(MakeSimpleBatch(1, 10, h.now_ms)).ok());
  auto read = h.Read(0, 100);
  ASSERT_TRUE(read.ok());
  auto batches = LogHarness::Batches(read->slice);
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_GT(read->slice.size, 5000u);
}

TEST(LogTest, ReadStopsAtMaxOffsetAndOutOfRangeIsAnError) {
  LogHarness h;
  ASSERT_TRUE(h.Open().ok());
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(h.Append(MakeSimpleBatch(1, 10, h.now_ms)).ok());
  auto read = h.Read(0, 1 << 20, 2);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(LogHarness::Batches(read->slice).size(), 2u);
  auto at_end = h.Read(4, 1 << 20);
  ASSERT_TRUE(at_end.ok());
  EXPECT_EQ(at_end->slice.size, 0u);
  EXPECT_EQ(h.Read(5, 100).status().code(), absl::StatusCode::kOutOfRange);
}

TEST(LogTest, ReadsAtTheTailFindTheirBatchesWithoutReadingTheFile) {
  // The segment remembers the headers of its last batches: a consumer that keeps up is served
  // without a header read. While reads fail, only lookups that read nothing succeed; the slices
  // they return are checked once reads work again.
  LogHarness h;
  ASSERT_TRUE(h.Open().ok());
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(h.Append(MakeSimpleBatch(1 + i % 3, 50, h.now_ms)).ok());
  const int64_t end = h.log().log_end_offset();
  std::vector<std::pair<int64_t, ReadResult>> reads;
  h.fs.InjectFault(MemoryFileSystem::Op::kRead, ".log", absl::DataLossError("EIO"), 1 << 20);
  for (int64_t offset = end - 20; offset < end; ++offset) {
    auto read = h.Read(offset, 1 << 20);
    ASSERT_TRUE(read.ok()) << "offset " << offset << ": " << read.status();
    EXPECT_EQ(read->next_offset, end);
    reads.emplace_back(offset, *read);
  }
  auto capped = h.Read(end - 10, 1 << 20, end - 5);  // bounded by offset
  ASSERT_TRUE(capped.ok()) << capped.status();
  auto one_batch = h.Read(end - 10, 1);  // bounded by bytes: the first batch comes whole
  ASSERT_TRUE(one_batch.ok()) << one_batch.status();
  // The first batches are not among the recent ones: finding them reads the file.
  EXPECT_EQ(h.Read(0, 1 << 20).status().code(), absl::StatusCode::kDataLoss);
  h.fs.ClearFaults();

  for (const auto& [offset, read] : reads) {
    std::vector<BatchInfo> got = LogHarness::Batches(read.slice);
    ASSERT_FALSE(got.empty());
    EXPECT_LE(got.front().base_offset, offset);
    EXPECT_GE(got.front().last_offset, offset);
    EXPECT_EQ(read.first_offset, got.front().base_offset);
    EXPECT_EQ(got.back().last_offset, end - 1);
  }
  std::vector<BatchInfo> got = LogHarness::Batches(capped->slice);
  ASSERT_FALSE(got.empty());
  EXPECT_LT(got.back().last_offset, end - 5);
  EXPECT_EQ(capped->next_offset, got.back().last_offset + 1);
  got = LogHarness::Batches(one_batch->slice);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(one_batch->next_offset, got[0].last_offset + 1);
  auto first = h.Read(0, 1 << 20);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(LogHarness::Batches(first->slice).front().base_offset, 0);

  // After a cut among the recent batches, lookups see only what remains, then the new appends.
  ASSERT_TRUE(h.Truncate(end - 5).ok());
  const int64_t cut_end = h.log().log_end_offset();
  ASSERT_LE(cut_end, end - 5);
  ASSERT_TRUE(h.Append(MakeSimpleBatch(4, 70, h.now_ms)).ok());
  h.fs.InjectFault(MemoryFileSystem::Op::kRead, ".log", absl::DataLossError("EIO"), 1 << 20);
  auto tail = h.Read(cut_end - 1, 1 << 20);
  ASSERT_TRUE(tail.ok()) << tail.status();
  h.fs.ClearFaults();
  got = LogHarness::Batches(tail->slice);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_LE(got[0].base_offset, cut_end - 1);
  EXPECT_EQ(got[0].last_offset, cut_end - 1);
  EXPECT_EQ(got[1].base_offset, cut_end);
  EXPECT_EQ(got[1].last_offset, cut_end + 3);
  EXPECT_EQ(tail->next_offset, cut_end + 4);
}

TEST(LogTest, RollsOnSegmentBytesAndReadsAcrossSegments) {
  LogHarness h(SmallSegments());
  ASSERT_TRUE(h.Open().ok());
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(h.Append(MakeSimpleBatch(2, 200, h.now_ms)).ok());
  EXPECT_GT(h.log().segment_count(), 3u);
  int64_t offset = 0;
  int batches = 0;
  while (offset < h.log().log_end_offset()) {
    auto read = h.Read(offset, 1000);
    ASSERT_TRUE(read.ok()) << read.status();
    ASSERT_GT(read->slice.size, 0u);
    for (const BatchInfo& b : LogHarness::Batches(read->slice)) {
      EXPECT_EQ(b.base_offset, offset);
      offset = b.last_offset + 1;
      ++batches;
    }
  }
  EXPECT_EQ(batches, 40);
  // Rolled segments get sealed: their index files exist and the recovery point moved on.
  EXPECT_EQ(h.log().recovery_point(), h.log().segment_bases().back());
  EXPECT_TRUE(h.fs.Exists(h.dir + "/" + format::SegmentBaseName(0) + ".index"));
}

// The trace events of one file, in order, with `path` shortened to "<file>".
// The seal's events of one file, its path replaced by <file>. Blocks reserved ahead of the writes
// are left out: the reservation has tests of its own (Reserve... below).
std::vector<std::string> EventsOf(const std::vector<std::string>& trace, const std::string& path) {
  std::vector<std::string> out;
  for (const std::string& event : trace) {
    if (event.starts_with("allocate ")) continue;
    if (event.starts_with("pause ")) {
      out.push_back(event);
      continue;
    }
    const size_t at = event.find(path);
    if (at == std::string::npos) continue;
    out.push_back(event.substr(0, at) + "<file>" + event.substr(at + path.size()));
  }
  return out;
}

// The writebacks and pauses of a seal that paces: `size` bytes in `step` steps, a pause between two.
std::vector<std::string> PacedSeal(uint64_t size, uint64_t step, int pause_ms) {
  std::vector<std::string> out;
  for (uint64_t at = 0; at < size; at += step) {
    if (at > 0) out.push_back(absl::StrCat("pause ", pause_ms));
    out.push_back(absl::StrCat("writeback <file> ", at, " ", std::min(step, size - at)));
  }
  out.push_back("datasync <file>");
  return out;
}

// Small segments written back in steps of 1000 bytes with a 7 ms pause between two.
LogConfig PacedSmallSegments() {
  LogConfig config = SmallSegments();
  config.seal_writeback_step_bytes = 1000;
  config.seal_writeback_pause_ms = 7;
  return config;
}

// With the file system's completions held (deferred), appends acks=1 batches until the log has
// `segments` segments; `acked` counts their completions. Returns the batches, which must outlive them.
std::vector<std::vector<uint8_t>> HeldAppendsUntilSegments(LogHarness& h, size_t segments, int& acked) {
  h.fs.set_deferred(true);
  std::vector<std::vector<uint8_t>> buffers;
  buffers.reserve(64);
  while (h.log().segment_count() < segments && buffers.size() < 64) {
    buffers.push_back(MakeSimpleBatch(2, 200, h.now_ms));
    h.log().Append(absl::MakeSpan(buffers.back()), AppendOptions{.durable = false},
                   [&acked](absl::StatusOr<AppendResult> r) {
                     EXPECT_TRUE(r.ok()) << r.status();
                     ++acked;
                   });
  }
  return buffers;
}

TEST(LogTest, ARolledSegmentIsWrittenBackInPacedStepsBeforeItsSync) {
  LogHarness h(PacedSmallSegments());
  h.fs.set_tracing(true);
  ASSERT_TRUE(h.Open().ok());
  while (h.log().segment_count() < 2) ASSERT_TRUE(h.Append(MakeSimpleBatch(2, 200, h.now_ms), false).ok());
  EXPECT_EQ(h.log().recovery_point(), h.log().segment_bases().back()) << "sealed";
  const std::string log_path = h.dir + "/" + format::SegmentBaseName(0) + ".log";
  auto size = h.fs.Contents(log_path);
  ASSERT_TRUE(size.ok());
  ASSERT_GT(size->size(), 3000u);
  // Only pauses of this seal are in the trace: nothing else pauses.
  EXPECT_EQ(EventsOf(h.fs.trace(), log_path), PacedSeal(size->size(), 1000, 7));
  // The indexes were synced before the log file was written back.
  const auto first_writeback = std::find_if(h.fs.trace().begin(), h.fs.trace().end(),
                                            [](const std::string& e) { return e.starts_with("writeback"); });
  EXPECT_NE(std::find(h.fs.trace().begin(), first_writeback,
                      "datasync " + h.dir + "/" + format::SegmentBaseName(0) + ".index"),
            first_writeback);
  EXPECT_TRUE(h.CloseAndReopen().ok());
}

TEST(LogTest, ASealDoesNotPauseWhileAnotherSegmentWaitsToBeSealed) {
  LogHarness h(PacedSmallSegments());
  h.fs.set_tracing(true);
  ASSERT_TRUE(h.Open().ok());
  // With completions held, two segments roll before the first seal gets anywhere.
  int acked = 0;
  const auto buffers = HeldAppendsUntilSegments(h, 3, acked);
  ASSERT_EQ(h.log().segment_count(), 3u);
  while (h.fs.Poll() > 0) {
  }
  EXPECT_EQ(acked, int(buffers.size()));
  EXPECT_TRUE(h.log().idle());
  const std::vector<int64_t> bases = h.log().segment_bases();
  EXPECT_EQ(h.log().recovery_point(), bases.back());
  const std::string first = h.dir + "/" + format::SegmentBaseName(bases[0]) + ".log";
  const std::string second = h.dir + "/" + format::SegmentBaseName(bases[1]) + ".log";
  auto first_size = h.fs.Contents(first);
  auto second_size = h.fs.Contents(second);
  ASSERT_TRUE(first_size.ok() && second_size.ok());
  // The first seal ran while the second segment waited: no pause. The second paces as usual.
  std::vector<std::string> expected_first;
  for (const std::string& event : PacedSeal(first_size->size(), 1000, 7)) {
    if (!event.starts_with("pause")) expected_first.push_back(event);
  }
  std::vector<std::string> first_events = EventsOf(h.fs.trace(), first);
  std::erase_if(first_events, [](const std::string& e) { return e.starts_with("pause"); });
  EXPECT_EQ(first_events, expected_first);
  const size_t pauses = std::count_if(h.fs.trace().begin(), h.fs.trace().end(),
                                      [](const std::string& e) { return e.starts_with("pause"); });
  EXPECT_EQ(pauses, (second_size->size() + 999) / 1000 - 1);
  h.fs.set_deferred(false);
  EXPECT_TRUE(h.CloseAndReopen().ok());
}

TEST(LogTest, HurrySealsEndsThePausesOfASealInFlight) {
  LogHarness h(PacedSmallSegments());
  h.fs.set_tracing(true);
  ASSERT_TRUE(h.Open().ok());
  int acked = 0;
  const auto buffers = HeldAppendsUntilSegments(h, 2, acked);
  ASSERT_EQ(h.log().segment_count(), 2u);
  auto paused = [&] {
    return std::count_if(h.fs.trace().begin(), h.fs.trace().end(),
                         [](const std::string& e) { return e.starts_with("pause"); });
  };
  while (paused() == 0 && h.fs.Poll(1) > 0) {
  }
  ASSERT_EQ(paused(), 1) << "the seal is under way, pausing";
  // The owner wants to close the log (its topic was deleted, say).
  h.log().HurrySeals();
  while (h.fs.Poll() > 0) {
  }
  EXPECT_EQ(paused(), 1) << "no pause after HurrySeals";
  EXPECT_TRUE(h.log().idle());
  EXPECT_EQ(h.log().recovery_point(), h.log().segment_bases().back()) << "sealed";
  h.fs.set_deferred(false);
  EXPECT_TRUE(h.log().Close().ok());
}

TEST(LogTest, AFailedWriteBackLeavesTheSealToItsSync) {
  LogConfig config = SmallSegments();
  config.seal_writeback_step_bytes = 1000;
  LogHarness h(config);
  h.fs.set_tracing(true);
  ASSERT_TRUE(h.Open().ok());
  h.fs.InjectFault(MemoryFileSystem::Op::kWriteBack, ".log", absl::InvalidArgumentError("EINVAL"));
  while (h.log().segment_count() < 2) ASSERT_TRUE(h.Append(MakeSimpleBatch(2, 200, h.now_ms), false).ok());
  EXPECT_TRUE(h.log().status().ok());
  EXPECT_EQ(h.log().recovery_point(), h.log().segment_bases().back()) << "sealed all the same";
  const std::string log_path = h.dir + "/" + format::SegmentBaseName(0) + ".log";
  // The failed first step ends the stepping; the sync still runs.
  EXPECT_EQ(EventsOf(h.fs.trace(), log_path), std::vector<std::string>{"datasync <file>"});
  // But a failed sync fails the log, as before.
  h.fs.InjectFault(MemoryFileSystem::Op::kDatasync, ".log", absl::DataLossError("EIO"));
  const size_t segments = h.log().segment_count();
  while (h.log().segment_count() == segments && h.log().status().ok()) {
    (void)h.Append(MakeSimpleBatch(2, 200, h.now_ms), false);
  }
  EXPECT_FALSE(h.log().status().ok());
}

// The log start offset and recovery point stored in log-meta, as the next open would read them
// (format.h: magic, version, then the two offsets big-endian).
std::pair<int64_t, int64_t> StoredMeta(LogHarness& h) {
  auto bytes = h.fs.Contents(h.dir + "/" + format::kMetaName);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  if (!bytes.ok() || bytes->size() != format::kMetaSize) return {-2, -2};
  auto at = [&](size_t offset) {
    return int64_t(protocol::LoadBigEndian64(reinterpret_cast<const uint8_t*>(bytes->data()) + offset));
  };
  return {at(6), at(14)};
}

// Runs the held completions one at a time until the first rolled segment is sealed, and returns
// the recovery point that seal moved to: the checkpoint it starts is then only in flight.
int64_t PollUntilTheSealMovesTheRecoveryPoint(LogHarness& h) {
  const int64_t sealed_up_to = h.log().segment_bases().back();
  while (h.log().recovery_point() != sealed_up_to && h.fs.Poll(1) > 0) {
  }
  return sealed_up_to;
}

TEST(LogTest, TheRecoveryPointASealMovesIsCheckpointedWithoutBlockingTheOwner) {
  LogHarness h(SmallSegments());
  h.fs.set_tracing(true);
  ASSERT_TRUE(h.Open().ok());
  const int64_t start = StoredMeta(h).first;
  EXPECT_EQ(StoredMeta(h).second, 0);
  int acked = 0;
  const auto buffers = HeldAppendsUntilSegments(h, 2, acked);
  const int64_t sealed_up_to = PollUntilTheSealMovesTheRecoveryPoint(h);
  ASSERT_EQ(h.log().recovery_point(), sealed_up_to);
  EXPECT_EQ(StoredMeta(h).second, 0) << "written only as the owner's loop runs its completions";
  EXPECT_FALSE(h.log().idle()) << "the checkpoint is in flight";
  while (h.fs.Poll() > 0) {
  }
  EXPECT_TRUE(h.log().idle());
  EXPECT_EQ(StoredMeta(h), std::make_pair(start, sealed_up_to));
  EXPECT_FALSE(h.fs.Exists(h.dir + "/" + format::kMetaCheckpointName));
  // Written and synced under its own name before it replaced log-meta.
  EXPECT_NE(std::find(h.fs.trace().begin(), h.fs.trace().end(),
                      "datasync " + h.dir + "/" + format::kMetaCheckpointName),
            h.fs.trace().end());
  h.fs.set_deferred(false);
  EXPECT_TRUE(h.CloseAndReopen().ok());
}

TEST(LogTest, ACheckpointOvertakenByABlockingMetaWriteDoesNotReplaceIt) {
  LogHarness h(SmallSegments());
  ASSERT_TRUE(h.Open().ok());
  int acked = 0;
  const auto buffers = HeldAppendsUntilSegments(h, 2, acked);
  const int64_t sealed_up_to = PollUntilTheSealMovesTheRecoveryPoint(h);
  ASSERT_FALSE(h.log().idle()) << "the checkpoint is in flight";
  // DeleteRecords writes log-meta at once (its caller is told the new start only once it is
  // durable); the checkpoint started before holds the old start and must not be renamed over it.
  h.log().set_high_watermark(4);
  auto start = h.log().DeleteRecords(4);
  ASSERT_TRUE(start.ok()) << start.status();
  EXPECT_EQ(StoredMeta(h), std::make_pair(int64_t{4}, sealed_up_to));
  while (h.fs.Poll() > 0) {
  }
  EXPECT_TRUE(h.log().idle());
  EXPECT_TRUE(h.log().status().ok()) << h.log().status();
  EXPECT_EQ(StoredMeta(h), std::make_pair(int64_t{4}, sealed_up_to));
  EXPECT_FALSE(h.fs.Exists(h.dir + "/" + format::kMetaCheckpointName));
  h.fs.set_deferred(false);
  ASSERT_TRUE(h.CloseAndReopen().ok());
  EXPECT_EQ(h.log().log_start_offset(), 4);
}

TEST(LogTest, SealsThatCompleteWhileACheckpointIsInFlightAreCheckpointedAfterIt) {
  LogHarness h(SmallSegments());
  ASSERT_TRUE(h.Open().ok());
  int acked = 0;
  const auto buffers = HeldAppendsUntilSegments(h, 4, acked);
  ASSERT_EQ(h.log().segment_count(), 4u);
  while (h.fs.Poll() > 0) {
  }
  EXPECT_EQ(acked, int(buffers.size()));
  EXPECT_TRUE(h.log().idle());
  EXPECT_EQ(h.log().recovery_point(), h.log().segment_bases().back());
  EXPECT_EQ(StoredMeta(h).second, h.log().segment_bases().back());
  h.fs.set_deferred(false);
  EXPECT_TRUE(h.CloseAndReopen().ok());
}

TEST(LogTest, AFailedCheckpointFailsTheLog) {
  LogHarness h(SmallSegments());
  ASSERT_TRUE(h.Open().ok());
  h.fs.InjectFault(MemoryFileSystem::Op::kDatasync, format::kMetaCheckpointName,
                   absl::DataLossError("fdatasync: EIO"));
  for (int i = 0; i < 64 && h.log().segment_count() < 2; ++i) {
    (void)h.Append(MakeSimpleBatch(2, 200, h.now_ms), false);
  }
  ASSERT_EQ(h.log().segment_count(), 2u);
  // As a failed log-meta write always did: the disk said it is failing.
  EXPECT_TRUE(absl::IsDataLoss(h.log().status())) << h.log().status();
  EXPECT_TRUE(h.log().idle());
  EXPECT_EQ(StoredMeta(h).second, 0);
}

// The "allocate <path> <offset> <length>" events of one file, as (offset, length).
std::vector<std::pair<uint64_t, uint64_t>> Reservations(const std::vector<std::string>& trace,
                                                        const std::string& path) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  const std::string prefix = "allocate " + path + " ";
  for (const std::string& event : trace) {
    if (!event.starts_with(prefix)) continue;
    uint64_t offset = 0, length = 0;
    EXPECT_EQ(std::sscanf(event.c_str() + prefix.size(), "%lu %lu", &offset, &length), 2) << event;
    out.emplace_back(offset, length);
  }
  return out;
}

TEST(LogTest, ReservesTheActiveSegmentsBlocksAheadOfItsWrites) {
  LogConfig config;
  config.preallocate_step_bytes = 4 << 20;
  LogHarness h(config);
  h.fs.set_tracing(true);
  ASSERT_TRUE(h.Open().ok());
  const std::string log_path = h.dir + "/" + format::SegmentBaseName(0) + ".log";
  auto size = [&] { return h.fs.Contents(log_path)->size(); };
  // About 100 KB a batch, to 12 MiB.
  while (size() < (12u << 20)) ASSERT_TRUE(h.Append(MakeSimpleBatch(50, 2000, h.now_ms), false).ok());
  const auto reserved = Reservations(h.fs.trace(), log_path);
  ASSERT_FALSE(reserved.empty());
  // The first, right after the first write: as much again as the segment holds, 1 MiB at least.
  EXPECT_EQ(reserved.front().second, uint64_t{1} << 20);
  uint64_t end = 0;
  for (const auto& [offset, length] : reserved) {
    EXPECT_GE(offset, end) << "each reservation starts past the previous one";
    EXPECT_LE(length, uint64_t{4} << 20) << "at most a step";
    end = offset + length;
  }
  // Ahead of the writes, by less than a step; and not one per write (about 120 of them) but
  // fewer than one per MiB written.
  EXPECT_GE(end, size());
  EXPECT_LE(end, size() + (4u << 20));
  EXPECT_LE(reserved.size(), 12u);
  EXPECT_EQ(size(), h.log().size_bytes()) << "a reservation does not change the file's size";
}

TEST(LogTest, ReservationsStopAtSegmentBytesAndFollowTheRoll) {
  LogConfig config = SmallSegments();
  config.preallocate_step_bytes = 32 << 20;
  LogHarness h(config);
  h.fs.set_tracing(true);
  ASSERT_TRUE(h.Open().ok());
  while (h.log().segment_count() < 3) ASSERT_TRUE(h.Append(MakeSimpleBatch(2, 200, h.now_ms), false).ok());
  for (int64_t base : h.log().segment_bases()) {
    const auto reserved = Reservations(h.fs.trace(), h.dir + "/" + format::SegmentBaseName(base) + ".log");
    ASSERT_FALSE(reserved.empty()) << "segment " << base;
    for (const auto& [offset, length] : reserved) {
      EXPECT_LE(offset + length, uint64_t(config.segment_bytes)) << "segment " << base;
    }
  }
}

TEST(LogTest, NoReservationsWithAStepOfZero) {
  LogConfig config;
  config.preallocate_step_bytes = 0;
  LogHarness h(config);
  h.fs.set_tracing(true);
  ASSERT_TRUE(h.Open().ok());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(h.Append(MakeSimpleBatch(50, 2000, h.now_ms), false).ok());
  for (const std::string& event : h.fs.trace()) EXPECT_FALSE(event.starts_with("allocate ")) << event;
}

TEST(LogTest, AFilesystemWithoutFallocateIsNotAskedAgain) {
  LogConfig config = SmallSegments();
  config.preallocate_step_bytes = 32 << 20;
  LogHarness h(config);
  h.fs.set_tracing(true);
  ASSERT_TRUE(h.Open().ok());
  h.fs.InjectFault(MemoryFileSystem::Op::kAllocate, ".log", absl::UnimplementedError("EOPNOTSUPP"));
  while (h.log().segment_count() < 3) ASSERT_TRUE(h.Append(MakeSimpleBatch(2, 200, h.now_ms), false).ok());
  EXPECT_TRUE(h.log().status().ok()) << h.log().status();
  for (const std::string& event : h.fs.trace()) EXPECT_FALSE(event.starts_with("allocate ")) << event;
}

TEST(LogTest, AFailedReservationFailsNothingAndTheNextRangeIsStillReserved) {
  LogConfig config;
  config.preallocate_step_bytes = 4 << 20;
  LogHarness h(config);
  h.fs.set_tracing(true);
  ASSERT_TRUE(h.Open().ok());
  const std::string log_path = h.dir + "/" + format::SegmentBaseName(0) + ".log";
  h.fs.InjectFault(MemoryFileSystem::Op::kAllocate, ".log", absl::ResourceExhaustedError("ENOSPC"));
  while (h.fs.Contents(log_path)->size() < (3u << 20)) {
    ASSERT_TRUE(h.Append(MakeSimpleBatch(50, 2000, h.now_ms), false).ok());
  }
  EXPECT_TRUE(h.log().status().ok()) << h.log().status();
  const auto reserved = Reservations(h.fs.trace(), log_path);
  ASSERT_FALSE(reserved.empty()) << "the first failed, the ones after it were made";
  EXPECT_GT(reserved.front().first, uint64_t{1} << 20) << "past the range that failed";
}

// Delegates to a MemoryFileSystem but holds every SyncDirAsync until the test releases it, so that a
// roll's directory sync can be ordered after the data syncs that follow it.
class HeldDirSyncs final : public FileSystem {
 public:
  absl::StatusOr<std::unique_ptr<File>> Open(std::string_view path, OpenMode mode) override {
    return memory.Open(path, mode);
  }
  absl::Status Remove(std::string_view path) override { return memory.Remove(path); }
  absl::Status Rename(std::string_view from, std::string_view to) override { return memory.Rename(from, to); }
  absl::StatusOr<std::vector<std::string>> List(std::string_view dir) override { return memory.List(dir); }
  absl::Status Mkdir(std::string_view dir) override { return memory.Mkdir(dir); }
  absl::Status SyncDir(std::string_view dir) override { return memory.SyncDir(dir); }
  void SyncDirAsync(std::string_view, StatusCallback done) override { held.push_back(std::move(done)); }
  bool Exists(std::string_view path) override { return memory.Exists(path); }

  void Release(absl::Status status) {
    std::vector<StatusCallback> callbacks = std::move(held);
    held.clear();
    for (auto& callback : callbacks) callback(status);
  }

  MemoryFileSystem memory;
  std::vector<StatusCallback> held;
};

// Appends acks=1 batches until the log rolls (they complete inline: the files are not deferred);
// returns their buffers.
std::vector<std::vector<uint8_t>> FillUntilRoll(Log& log) {
  std::vector<std::vector<uint8_t>> buffers;
  buffers.reserve(64);
  while (log.segment_count() < 2 && buffers.size() < 64) {
    buffers.push_back(MakeSimpleBatch(2, 200, 0));
    log.Append(absl::MakeSpan(buffers.back()), AppendOptions{.durable = false},
               [](absl::StatusOr<AppendResult> r) { ASSERT_TRUE(r.ok()) << r.status(); });
  }
  return buffers;
}

TEST(LogTest, ADurableAppendInANewSegmentWaitsForItsNameToBeSynced) {
  HeldDirSyncs fs;
  auto log = Log::Open(fs, "/log", SmallSegments(), LogOptions{});
  ASSERT_TRUE(log.ok()) << log.status();
  auto buffers = FillUntilRoll(**log);
  ASSERT_EQ((*log)->segment_count(), 2u);
  // The roll's directory sync is in flight, and the recovery-point checkpoint's after it (the
  // rolled segment was sealed inline).
  ASSERT_EQ(fs.held.size(), 2u);

  // acks=1 appends do not wait for it...
  std::vector<uint8_t> quick = MakeSimpleBatch(1, 10, 0);
  bool quick_acked = false;
  (*log)->Append(absl::MakeSpan(quick), AppendOptions{.durable = false},
                 [&](absl::StatusOr<AppendResult> r) { quick_acked = r.ok(); });
  EXPECT_TRUE(quick_acked);
  // ...acks=all ones do: their bytes are synced, the segment's name is not yet.
  std::vector<uint8_t> durable = MakeSimpleBatch(1, 10, 0);
  std::optional<absl::StatusOr<AppendResult>> result;
  (*log)->Append(absl::MakeSpan(durable), AppendOptions{},
                 [&](absl::StatusOr<AppendResult> r) { result = std::move(r); });
  EXPECT_FALSE(result.has_value());
  EXPECT_FALSE((*log)->idle());
  fs.Release(absl::OkStatus());
  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(result->ok()) << result->status();
  EXPECT_TRUE((*log)->idle());
  EXPECT_TRUE((*log)->Close().ok());
}

TEST(LogTest, AFailedDirectorySyncAtARollAcknowledgesNothingInTheNewSegment) {
  HeldDirSyncs fs;
  auto log = Log::Open(fs, "/log", SmallSegments(), LogOptions{});
  ASSERT_TRUE(log.ok()) << log.status();
  auto buffers = FillUntilRoll(**log);
  ASSERT_EQ(fs.held.size(), 2u);  // the roll's, and the checkpoint's after the seal
  std::vector<uint8_t> durable = MakeSimpleBatch(1, 10, 0);
  std::optional<absl::StatusOr<AppendResult>> result;
  (*log)->Append(absl::MakeSpan(durable), AppendOptions{},
                 [&](absl::StatusOr<AppendResult> r) { result = std::move(r); });
  EXPECT_FALSE(result.has_value());
  fs.Release(absl::DataLossError("fsync: EIO"));
  ASSERT_TRUE(result.has_value());
  EXPECT_FALSE(result->ok());
  EXPECT_FALSE((*log)->status().ok());
  // The log takes no more appends.
  std::vector<uint8_t> later = MakeSimpleBatch(1, 10, 0);
  std::optional<absl::StatusOr<AppendResult>> later_result;
  (*log)->Append(absl::MakeSpan(later), AppendOptions{.durable = false},
                 [&](absl::StatusOr<AppendResult> r) { later_result = std::move(r); });
  ASSERT_TRUE(later_result.has_value());
  EXPECT_FALSE(later_result->ok());
  // Nothing is left in flight: the owner can close (and so delete) the failed log.
  EXPECT_TRUE((*log)->idle());
  EXPECT_FALSE(absl::IsFailedPrecondition((*log)->Close()));
}

TEST(LogTest, ADirectorySyncThatFailsInsideTheRollFailsOnlyThatAppend) {
  LogHarness h(SmallSegments());
  ASSERT_TRUE(h.Open().ok());
  ASSERT_TRUE(h.Append(MakeSimpleBatch(2, 200, h.now_ms)).ok());
  h.fs.InjectFault(MemoryFileSystem::Op::kSyncDir, "", absl::DataLossError("fsync: EIO"));
  std::optional<absl::Status> failure;
  for (int i = 0; i < 64 && !failure; ++i) {
    auto r = h.Append(MakeSimpleBatch(2, 200, h.now_ms));
    if (!r.ok()) failure = r.status();
  }
  ASSERT_TRUE(failure.has_value()) << "no roll was attempted";
  EXPECT_EQ(h.log().segment_count(), 1u) << "the roll was undone";
  EXPECT_TRUE(h.log().status().ok());
  EXPECT_TRUE(h.log().idle());
  // The next append rolls again, and is acknowledged.
  auto next = h.Append(MakeSimpleBatch(2, 200, h.now_ms));
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(h.log().segment_count(), 2u);
  EXPECT_TRUE(h.CloseAndReopen().ok());
}

TEST(LogTest, RollsOnSegmentMsAndOnFullIndex) {
  LogConfig config;
  config.segment_ms = 1000;
  config.index_interval_bytes = 0;  // an index entry for every batch after the first
  config.segment_index_bytes = 4 * 12;  // 4 time index entries, 6 offset index entries
  LogHarness h(config);
  ASSERT_TRUE(h.Open().ok());
  ASSERT_TRUE(h.Append(MakeSimpleBatch(1, 10, h.now_ms)).ok());
  h.now_ms += 2000;
  ASSERT_TRUE(h.Append(MakeSimpleBatch(1, 10, h.now_ms)).ok());
  EXPECT_EQ(h.log().segment_count(), 2u);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(h.Append(MakeSimpleBatch(1, 10, h.now_ms + i)).ok());
  }
  EXPECT_GE(h.log().segment_count(), 5u);
  // Maintain() rolls an idle segment too.
  h.now_ms += 5000;
  size_t before = h.log().segment_count();
  ASSERT_TRUE(h.log().Maintain(h.now_ms).ok());
  EXPECT_EQ(h.log().segment_count(), before + 1);
}

TEST(LogTest, FindOffsetByTimestamp) {
  LogConfig config = SmallSegments();
  LogHarness h(config);
  ASSERT_TRUE(h.Open().ok());
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(h.Append(MakeSimpleBatch(2, 100, 1000 + 10 * i)).ok());
  }
  auto found = h.FindByTime(1255);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->offset, 52);  // batch 26, timestamp 1260
  EXPECT_EQ((*found)->timestamp, 1260);
  auto first = h.FindByTime(0);
  ASSERT_TRUE(first.ok() && first->has_value());
  EXPECT_EQ((*first)->offset, 0);
  auto none = h.FindByTime(5000);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST(LogTest, TruncateDropsBatchesFromOffset) {
  LogHarness h(SmallSegments());
  ASSERT_TRUE(h.Open().ok());
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(h.Append(MakeSimpleBatch(2, 200, h.now_ms + i)).ok());
  ASSERT_TRUE(h.Truncate(31).ok());  // inside batch [30, 31]
  EXPECT_EQ(h.log().log_end_offset(), 30);
  ASSERT_TRUE(h.Truncate(10).ok());
  EXPECT_EQ(h.log().log_end_offset(), 10);
  auto appended = h.Append(MakeSimpleBatch(1, 10, h.now_ms));
  ASSERT_TRUE(appended.ok());
  EXPECT_EQ(appended->base_offset, 10);
  auto read = h.Read(8, 1 << 20);
  ASSERT_TRUE(read.ok());
  auto batches = LogHarness::Batches(read->slice);
  ASSERT_FALSE(batches.empty());
  EXPECT_EQ(batches[0].base_offset, 8);
  // The truncation survives a crash.
  ASSERT_TRUE(h.CrashAndReopen().ok());
  EXPECT_EQ(h.log().log_end_offset(), 11);
}

TEST(LogTest, DeleteRecordsAdvancesStartAndDropsSegments) {
  LogHarness h(SmallSegments());
  ASSERT_TRUE(h.Open().ok());
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(h.Append(MakeSimpleBatch(2, 200, h.now_ms)).ok());
  EXPECT_EQ(h.log().DeleteRecords(100).status().code(), absl::StatusCode::kOutOfRange);
  h.log().set_high_watermark(80);
  size_t segments = h.log().segment_count();
  auto start = h.log().DeleteRecords(41);
  ASSERT_TRUE(start.ok());
  EXPECT_EQ(*start, 41);
  EXPECT_LT(h.log().segment_count(), segments);
  EXPECT_EQ(h.Read(40, 100).status().code(), absl::StatusCode::kOutOfRange);
  auto read = h.Read(41, 100);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(LogHarness::Batches(read->slice)[0].base_offset, 40);
  ASSERT_TRUE(h.CloseAndReopen().ok());
  EXPECT_EQ(h.log().log_start_offset(), 41);
}

TEST(LogTest, RetentionByTimeAndBytesDeletesOldSealedSegments) {
  LogConfig config = SmallSegments();
  config.retention_ms = 10'000;
  LogHarness h(config);
  ASSERT_TRUE(h.Open().ok());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(h.Append(MakeSimpleBatch(2, 200, h.now_ms)).ok());
  h.now_ms += 20'000;
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(h.Append(MakeSimpleBatch(2, 200, h.now_ms)).ok());
  h.log().set_high_watermark(h.log().log_end_offset());
  ASSERT_TRUE(h.log().Maintain(h.now_ms).ok());
  // Everything before the second round of appends expired; the segment straddling both stays.
  EXPECT_GT(h.log().log_start_offset(), 20);
  EXPECT_LE(h.log().log_start_offset(), 40);

  LogConfig by_bytes = SmallSegments();
  by_bytes.retention_bytes = 8192;
  LogHarness b(by_bytes);
  ASSERT_TRUE(b.Open().ok());
  for (int i = 0; i < 60; ++i) ASSERT_TRUE(b.Append(MakeSimpleBatch(2, 200, b.now_ms)).ok());
  b.log().set_high_watermark(b.log().log_end_offset());
  ASSERT_TRUE(b.log().Maintain(b.now_ms).ok());
  EXPECT_LE(b.log().size_bytes(), 8192u + 4096u);
  EXPECT_GT(b.log().log_start_offset(), 0);
}

TEST(LogTest, RetentionKeepsSegmentsAboveHighWatermark) {
  LogConfig config = SmallSegments();
  config.retention_bytes = 0;
  LogHarness h(config);
  ASSERT_TRUE(h.Open().ok());
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(h.Append(MakeSimpleBatch(2, 200, h.now_ms)).ok());
  h.log().set_high_watermark(0);
  ASSERT_TRUE(h.log().Maintain(h.now_ms).ok());
  EXPECT_EQ(h.log().log_start_offset(), 0);
}

TEST(LogTest, GroupCommitSharesOneSyncAmongWaitingAppends) {
  LogHarness h;
  h.fs.set_deferred(true);
  ASSERT_TRUE(h.Open().ok());
  std::vector<std::vector<uint8_t>> batches;
  for (int i = 0; i < 10; ++i) batches.push_back(MakeSimpleBatch(1, 10, h.now_ms));
  int acked = 0;
  uint64_t syncs_before = h.fs.datasync_count();
  for (auto& b : batches) {
    h.log().Append(absl::MakeSpan(b), AppendOptions{}, [&](absl::StatusOr<AppendResult> r) {
      ASSERT_TRUE(r.ok());
      EXPECT_EQ(r->base_offset, acked);  // in order
      ++acked;
    });
  }
  EXPECT_EQ(acked, 0);
  // Reads see nothing before the writes complete.
  EXPECT_EQ(h.log().readable_end_offset(), 0);
  h.fs.Poll();
  EXPECT_EQ(acked, 10);
  // The first write's completion starts a sync that cannot cover the nine writes still in flight;
  // those nine share the second one.
  EXPECT_EQ(h.fs.datasync_count() - syncs_before, 2u);
  EXPECT_TRUE(h.log().idle());
}

TEST(LogTest, AcksWithoutSyncAndFlushMessages) {
  LogConfig config;
  config.sync_before_ack = false;
  config.flush_messages = 5;
  LogHarness h(config);
  ASSERT_TRUE(h.Open().ok());
  uint64_t before = h.fs.datasync_count();
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(h.Append(MakeSimpleBatch(1, 10, h.now_ms)).ok());
  EXPECT_EQ(h.fs.datasync_count(), before);
  ASSERT_TRUE(h.Append(MakeSimpleBatch(1, 10, h.now_ms)).ok());
  EXPECT_EQ(h.fs.datasync_count(), before + 1);
}

TEST(LogTest, FlushMsSyncsFromMaintain) {
  LogConfig config;
  config.sync_before_ack = false;
  config.flush_ms = 100;
  LogHarness h(config);
  ASSERT_TRUE(h.Open().ok());
  uint64_t before = h.fs.datasync_count();
  ASSERT_TRUE(h.Append(MakeSimpleBatch(1, 10, h.now_ms)).ok());
  ASSERT_TRUE(h.log().Maintain(h.now_ms + 50).ok());
  EXPECT_EQ(h.fs.datasync_count(), before);
  ASSERT_TRUE(h.log().Maintain(h.now_ms + 150).ok());
  EXPECT_EQ(h.fs.datasync_count(), before + 1);
}

TEST(LogTest, WriteErrorFailsLogUntilReopened) {
  LogHarness h;
  ASSERT_TRUE(h.Open().ok());
  ASSERT_TRUE(h.Append(MakeSimpleBatch(1, 10, h.now_ms)).ok());
  h.fs.InjectFault(MemoryFileSystem::Op::kWrite, ".log", absl::DataLossError("EIO"));
  auto failed = h.Append(MakeSimpleBatch(1, 10, h.now_ms));
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kDataLoss);
  // The fault is gone, but the log refuses appends: a later success would follow a hole.
  auto refused = h.Append(MakeSimpleBatch(1, 10, h.now_ms));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_FALSE(h.log().status().ok());
  // Reads of what was acknowledged still work.
  auto read = h.Read(0, 1 << 20);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(LogHarness::Batches(read->slice).size(), 1u);
  h.Drop();
  ASSERT_TRUE(h.Open().ok());
  EXPECT_EQ(h.log().log_end_offset(), 1);
  ASSERT_TRUE(h.Append(MakeSimpleBatch(1, 10, h.now_ms)).ok());
}

TEST(LogTest, AppendsMadeWhileAWriteIsInFlightAreGatheredIntoOneWrite) {
  LogConfig config;
  config.preallocate_step_bytes = 0;  // only the writes are counted below
  LogHarness h(config);
  ASSERT_TRUE(h.Open().ok());
  h.fs.set_deferred(true);
  std::deque<std::vector<uint8_t>> batches;
  std::vector<int64_t> acked;
  for (int i = 0; i < 10; ++i) {
    batches.push_back(MakeSimpleBatch(2, 10 + i, h.now_ms));
    h.log().Append(absl::MakeSpan(batches.back()), AppendOptions{.durable = false},
                   [&](absl::StatusOr<AppendResult> r) {
                     ASSERT_TRUE(r.ok()) << r.status();
                     acked.push_back(r->base_offset);
                   });
  }
  // The first append's write, and nothing else: the other nine wait for it.
  EXPECT_EQ(h.fs.pending(), 1u);
  EXPECT_EQ(h.fs.Poll(), 2u);  // that write, then one write of the nine
  EXPECT_EQ(acked, (std::vector<int64_t>{0, 2, 4, 6, 8, 10, 12, 14, 16, 18}));
  auto read = h.Read(0, 1 << 20);
  ASSERT_TRUE(read.ok());
  std::vector<BatchInfo> got = LogHarness::Batches(read->slice);
  ASSERT_EQ(got.size(), 10u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(got[i].base_offset, 2 * i);
}

TEST(LogTest, FailedWriteFailsTheAppendsQueuedBehindIt) {
  LogHarness h;
  ASSERT_TRUE(h.Open().ok());
  ASSERT_TRUE(h.Append(MakeSimpleBatch(1, 10, h.now_ms)).ok());
  h.fs.set_deferred(true);
  h.fs.InjectFault(MemoryFileSystem::Op::kWrite, ".log", absl::DataLossError("EIO"));
  std::deque<std::vector<uint8_t>> batches;
  std::vector<absl::StatusCode> codes;
  for (int i = 0; i < 4; ++i) {
    batches.push_back(MakeSimpleBatch(1, 10, h.now_ms));
    h.log().Append(absl::MakeSpan(batches.back()), AppendOptions{.durable = false},
                   [&](absl::StatusOr<AppendResult> r) { codes.push_back(r.status().code()); });
  }
  h.fs.Poll();
  // The failed write's append, and the three that were never written, in order.
  EXPECT_EQ(codes, std::vector<absl::StatusCode>(4, absl::StatusCode::kDataLoss));
  EXPECT_TRUE(h.log().idle());
  EXPECT_EQ(h.log().readable_end_offset(), 1);
  h.Drop();
  ASSERT_TRUE(h.Open().ok());
  EXPECT_EQ(h.log().log_end_offset(), 1);
}

TEST(LogTest, ReadsOfRealFilesAgreeAcrossSealedAndActiveSegmentsAndTruncation) {
  // On real files the active segment is scanned through a memory mapping and sealed ones through
  // reads: every offset must be found the same way, before and after a truncation of the mapped
  // file and appends that regrow it.
  char tmpl[] = "/tmp/rb_log_test_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  PosixFileSystem fs;
  LogConfig config;
  config.segment_bytes = 16 << 10;
  config.index_interval_bytes = 256;
  config.sync_before_ack = false;
  auto log = Log::Open(fs, std::string(tmpl) + "/t-0", config);
  ASSERT_TRUE(log.ok()) << log.status();
  std::deque<std::vector<uint8_t>> buffers;
  auto append = [&](int i) {
    buffers.push_back(MakeSimpleBatch(1 + i % 3, 20 + (i * 37) % 200, 1000 + i));
    bool ok = false;
    (*log)->Append(absl::MakeSpan(buffers.back()), AppendOptions{.durable = false},
                   [&](absl::StatusOr<AppendResult> r) { ok = r.ok(); });
    return ok;
  };
  auto check_every_offset = [&] {
    for (int64_t offset = 0; offset < (*log)->log_end_offset(); ++offset) {
      std::optional<absl::StatusOr<ReadResult>> read;
      (*log)->Read(offset, 1, INT64_MAX, [&](auto r) { read = std::move(r); });
      ASSERT_TRUE(read && read->ok()) << "offset " << offset;
      std::vector<BatchInfo> got = LogHarness::Batches((*read)->slice);
      ASSERT_EQ(got.size(), 1u) << "offset " << offset;
      EXPECT_LE(got[0].base_offset, offset);
      EXPECT_GE(got[0].last_offset, offset);
      EXPECT_EQ((*read)->first_offset, got[0].base_offset);
    }
  };
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(append(i));
  ASSERT_GT((*log)->segment_count(), 3u);
  check_every_offset();
  // Cut the active segment in the middle, then grow it past its old end.
  int64_t active_base = (*log)->segment_bases().back();
  int64_t cut = active_base + ((*log)->log_end_offset() - active_base) / 2;
  std::optional<absl::Status> truncated;
  (*log)->Truncate(cut, [&](absl::Status s) { truncated = s; });
  ASSERT_TRUE(truncated && truncated->ok()) << *truncated;
  ASSERT_LE((*log)->log_end_offset(), cut);
  check_every_offset();
  for (int i = 300; i < 400; ++i) ASSERT_TRUE(append(i));
  check_every_offset();
  std::optional<absl::StatusOr<std::optional<TimestampLookup>>> by_time;
  (*log)->FindOffsetByTimestamp(1350, [&](auto r) { by_time = std::move(r); });
  ASSERT_TRUE(by_time && by_time->ok() && by_time->value().has_value());
  ASSERT_TRUE((*log)->Close().ok());
  std::filesystem::remove_all(tmpl);
}

TEST(LogTest, SyncErrorFailsWaitingAppends) {
  LogHarness h;
  ASSERT_TRUE(h.Open().ok());
  h.fs.InjectFault(MemoryFileSystem::Op::kDatasync, ".log", absl::DataLossError("EIO"));
  EXPECT_EQ(h.Append(MakeSimpleBatch(1, 10, h.now_ms)).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_FALSE(h.Append(MakeSimpleBatch(1, 10, h.now_ms)).ok());
}

TEST(LogTest, FullDiskIsResourceExhaustedAndRecoveryDropsPartialTail) {
  LogHarness h;
  ASSERT_TRUE(h.Open().ok());
  ASSERT_TRUE(h.Append(MakeSimpleBatch(1, 100, h.now_ms)).ok());
  h.fs.set_capacity_bytes(h.fs.total_bytes() + 50);
  auto full = h.Append(MakeSimpleBatch(1, 100, h.now_ms));
  EXPECT_EQ(full.status().code(), absl::StatusCode::kResourceExhausted);
  h.fs.set_capacity_bytes(0);
  h.Drop();
  ASSERT_TRUE(h.Open().ok());
  EXPECT_EQ(h.log().log_end_offset(), 1);
  auto read = h.Read(0, 1 << 20);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(LogHarness::Batches(read->slice).size(), 1u);
}

TEST(LogTest, RejectsMalformedAppendsWithoutSideEffects) {
  LogHarness h;
  ASSERT_TRUE(h.Open().ok());
  std::vector<uint8_t> batch = MakeSimpleBatch(1, 10, h.now_ms);
  std::vector<uint8_t> truncated(batch.begin(), batch.end() - 1);
  EXPECT_FALSE(h.Append(truncated).ok());
  std::vector<uint8_t> bad_magic = batch;
  bad_magic[protocol::batch_layout::kMagic] = 1;
  EXPECT_FALSE(h.Append(bad_magic).ok());
  EXPECT_EQ(h.log().log_end_offset(), 0);
  EXPECT_TRUE(h.log().status().ok());
  // Two batches in one append.
  std::vector<uint8_t> two = batch;
  two.insert(two.end(), batch.begin(), batch.end());
  auto r = h.Append(two);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->last_offset, 1);
}

TEST(LogTest, FollowerAppendKeepsOffsets) {
  LogHarness h;
  ASSERT_TRUE(h.Open().ok());
  std::vector<uint8_t> batch = MakeSimpleBatch(3, 10, h.now_ms);
  protocol::PatchBaseOffset(batch.data(), 0);
  std::optional<absl::StatusOr<AppendResult>> result;
  h.log().Append(absl::MakeSpan(batch), AppendOptions{.assign_offsets = false},
                 [&](auto r) { result = r; });
  ASSERT_TRUE(result && result->ok());
  EXPECT_EQ(h.log().log_end_offset(), 3);
  result.reset();
  h.log().Append(absl::MakeSpan(batch), AppendOptions{.assign_offsets = false},
                 [&](auto r) { result = r; });
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(LogTest, CleanShutdownReopenTrustsIndexes) {
  LogHarness h(SmallSegments());
  ASSERT_TRUE(h.Open().ok());
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(h.Append(MakeSimpleBatch(2, 200, h.now_ms + i)).ok());
  ASSERT_TRUE(h.CloseAndReopen().ok());
  EXPECT_EQ(h.log().log_end_offset(), 80);
  EXPECT_FALSE(h.fs.Exists(h.dir + "/.clean_shutdown"));  // removed by open
  auto read = h.Read(57, 1 << 20);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(LogHarness::Batches(read->slice)[0].base_offset, 56);
  auto found = h.FindByTime(h.now_ms + 30);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->offset, 60);
  ASSERT_TRUE(h.Append(MakeSimpleBatch(1, 10, h.now_ms)).ok());
  EXPECT_EQ(h.log().log_end_offset(), 81);
}

TEST(LogTest, CrashLosesOnlyUnsyncedAppends) {
  LogConfig config = SmallSegments();
  config.sync_before_ack = false;
  LogHarness h(config);
  ASSERT_TRUE(h.Open().ok());
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(h.Append(MakeSimpleBatch(2, 200, h.now_ms)).ok());
  // Sealed segments were synced by their roll; the active one was never synced.
  int64_t active_base = h.log().segment_bases().back();
  ASSERT_TRUE(h.CrashAndReopen().ok());
  EXPECT_EQ(h.log().log_end_offset(), active_base);
}

}  // namespace
}  // namespace ringbroker::storage
