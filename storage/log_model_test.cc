// Model-based test: random appends, reads, truncations, DeleteRecords, retention, clean restarts
// and crashes against a plain in-memory model of the log, on the in-memory file system (sometimes
// with deferred completions). Fixed seeds keep failures reproducible.
#include <map>
#include <random>

#include "gtest/gtest.h"
#include "storage/log_test_harness.h"

namespace ringbroker::storage {
namespace {

using testing::LogHarness;
using testing::MakeSimpleBatch;

struct ModelBatch {
  int64_t base;
  int64_t last;
  int64_t timestamp;
  std::vector<uint8_t> bytes;  // as written, offsets patched
};

class Model {
 public:
  std::vector<ModelBatch> batches;
  int64_t start = 0;
  int64_t end = 0;

  void DropBelow(int64_t offset) {
    std::erase_if(batches, [&](const ModelBatch& b) { return b.last < offset; });
  }
  void TruncateFrom(int64_t offset) {
    int64_t new_end = offset;
    for (const auto& b : batches) {
      if (b.last >= offset) {
        new_end = std::min(offset, b.base);
        break;
      }
    }
    std::erase_if(batches, [&](const ModelBatch& b) { return b.last >= offset; });
    end = std::max(new_end, start);
  }
  // Index of the first batch whose last offset >= offset.
  size_t Find(int64_t offset) const {
    size_t i = 0;
    while (i < batches.size() && batches[i].last < offset) ++i;
    return i;
  }
};

void RunModel(uint32_t seed, int steps) {
  std::mt19937 rng(seed);
  auto pick = [&](int64_t lo, int64_t hi) {  // inclusive
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  LogConfig config;
  config.segment_bytes = 2048 + 1024 * pick(0, 4);
  config.index_interval_bytes = int32_t(pick(0, 600));
  config.retention_ms = -1;
  config.retention_bytes = -1;
  LogHarness h(config);
  h.fs.set_deferred(pick(0, 1) == 1);
  ASSERT_TRUE(h.Open().ok());
  Model model;
  int64_t timestamp = 1000;

  for (int step = 0; step < steps; ++step) {
    SCOPED_TRACE(::testing::Message() << "seed " << seed << " step " << step);
    int64_t op = pick(0, 99);
    if (op < 45) {
      int count = int(pick(1, 5));
      size_t value = size_t(pick(0, 400));
      timestamp += pick(0, 3);
      auto result = h.Append(MakeSimpleBatch(count, value, timestamp, char('a' + step % 26)));
      ASSERT_TRUE(result.ok()) << result.status();
      ASSERT_EQ(result->base_offset, model.end);
      ASSERT_EQ(result->last_offset, model.end + count - 1);
      // Read the batch back as written to keep the exact bytes in the model.
      auto read = h.Read(result->base_offset, 1);
      ASSERT_TRUE(read.ok()) << read.status();
      model.batches.push_back({result->base_offset, result->last_offset, timestamp,
                               LogHarness::Bytes(read->slice)});
      model.end = result->last_offset + 1;
    } else if (op < 75) {
      int64_t offset = pick(model.start, model.end);
      size_t bytes_max = size_t(pick(1, 3000));
      auto read = h.Read(offset, bytes_max);
      ASSERT_TRUE(read.ok()) << read.status() << " offset " << offset;
      std::vector<uint8_t> got = LogHarness::Bytes(read->slice);
      size_t i = model.Find(offset);
      if (i == model.batches.size()) {
        ASSERT_EQ(got.size(), 0u);
        continue;
      }
      ASSERT_GT(got.size(), 0u);
      // The slice is a run of the model's batches starting at the one holding `offset`.
      size_t at = 0;
      while (at < got.size()) {
        ASSERT_LT(i, model.batches.size());
        const auto& b = model.batches[i];
        ASSERT_LE(at + b.bytes.size(), got.size());
        ASSERT_TRUE(std::equal(b.bytes.begin(), b.bytes.end(), got.begin() + at))
            << "batch " << b.base << " differs";
        at += b.bytes.size();
        ++i;
      }
      // Never more than the limit unless it is a single batch; never stopping early either
      // unless the next batch would not fit or lives in the next segment.
      if (at > bytes_max) {
        ASSERT_EQ(got.size(), model.batches[model.Find(offset)].bytes.size());
      }
    } else if (op < 80) {
      int64_t offset = pick(model.start, model.end);
      absl::Status truncated = h.Truncate(offset);
      ASSERT_TRUE(truncated.ok()) << truncated;
      if (offset <= model.start) {
        model.batches.clear();
        model.start = model.end = offset;
      } else {
        model.TruncateFrom(offset);
      }
      ASSERT_EQ(h.log().log_end_offset(), model.end);
    } else if (op < 84) {
      h.log().set_high_watermark(model.end);
      int64_t offset = pick(model.start, model.end);
      auto start = h.log().DeleteRecords(offset);
      ASSERT_TRUE(start.ok()) << start.status();
      model.start = std::max(model.start, offset);
      model.DropBelow(model.start);
    } else if (op < 88) {
      // Retention by size: the log decides what to delete; the model follows its start offset.
      h.log().set_high_watermark(model.end);
      LogConfig c = config;
      (void)c;
      ASSERT_TRUE(h.log().Maintain(h.now_ms).ok());
      model.start = h.log().log_start_offset();
      model.DropBelow(model.start);
    } else if (op < 92) {
      int64_t target = pick(900, timestamp + 2);
      auto found = h.FindByTime(target);
      ASSERT_TRUE(found.ok());
      const ModelBatch* expected = nullptr;
      for (const auto& b : model.batches) {
        if (b.timestamp >= target && b.last >= model.start) {
          expected = &b;
          break;
        }
      }
      if (expected == nullptr) {
        ASSERT_FALSE(found->has_value());
      } else {
        ASSERT_TRUE(found->has_value());
        ASSERT_EQ((*found)->offset, std::max(expected->base, model.start));
      }
    } else if (op < 96) {
      h.fs.Poll();
      ASSERT_TRUE(h.CloseAndReopen().ok());
    } else {
      // Every append was acknowledged after a sync, so a crash loses nothing.
      ASSERT_TRUE(h.CrashAndReopen().ok());
      model.start = std::max(model.start, h.log().log_start_offset());
    }
    ASSERT_EQ(h.log().log_end_offset(), model.end) << "op " << op;
    ASSERT_EQ(h.log().log_start_offset(), model.start) << "op " << op;
  }
}

TEST(LogModelTest, Seed1) { RunModel(1, 2500); }
TEST(LogModelTest, Seed2) { RunModel(2, 2500); }
TEST(LogModelTest, Seed3) { RunModel(3, 2500); }
TEST(LogModelTest, Seed4) { RunModel(4, 2500); }

}  // namespace
}  // namespace ringbroker::storage
