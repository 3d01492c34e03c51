// Building and validating a 16 KiB v2 batch of 1 KiB records, per codec.
#include <random>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "protocol/records/record_batch.h"
#include "protocol/records/record_batch_builder.h"

namespace {

using namespace ringbroker::protocol;

constexpr int kRecords = 16;
constexpr size_t kValueBytes = 1024;

// Text-like values: compressible, but not trivially.
std::vector<std::string> Values() {
  std::mt19937 rng(7);
  const char* words[] = {"kafka ",  "record ",  "batch ",   "offset ", "partition ",
                         "leader ", "replica ", "segment ", "index ",  "consumer "};
  std::vector<std::string> values;
  for (int i = 0; i < kRecords; ++i) {
    std::string v;
    while (v.size() < kValueBytes) v += words[rng() % 10];
    v.resize(kValueBytes);
    values.push_back(v);
  }
  return values;
}

std::vector<uint8_t> Build(Compression codec, const std::vector<std::string>& values) {
  RecordBatchBuilder builder(
      {.compression = codec, .producer_id = 1, .producer_epoch = 0, .base_sequence = 0});
  std::string key = "key-0000";
  RecordHeaderInput header{"trace-id", AsBytes("0123456789abcdef")};
  for (int i = 0; i < kRecords; ++i) {
    key[4 + i % 4] = char('0' + i % 10);
    absl::Status s = builder.Add({.timestamp = 1700000000000 + i,
                                  .key = AsBytes(key),
                                  .value = AsBytes(values[size_t(i)]),
                                  .headers = absl::MakeConstSpan(&header, 1)});
    if (!s.ok()) return {};
  }
  absl::StatusOr<std::vector<uint8_t>> batch = builder.Build();
  return batch.ok() ? *std::move(batch) : std::vector<uint8_t>{};
}

void BM_BuildBatch(benchmark::State& state) {
  Compression codec = Compression(state.range(0));
  std::vector<std::string> values = Values();
  for (auto _ : state) {
    std::vector<uint8_t> batch = Build(codec, values);
    if (batch.empty()) {
      state.SkipWithError("build failed");
      return;
    }
    benchmark::DoNotOptimize(batch.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * kRecords * int64_t(kValueBytes));
  state.SetLabel(std::string(CompressionName(codec)));
}

void BM_ValidateBatch(benchmark::State& state) {
  Compression codec = Compression(state.range(0));
  std::vector<uint8_t> batch = Build(codec, Values());
  for (auto _ : state) {
    absl::StatusOr<BatchSummary> summary = ValidateBatch(batch);
    if (!summary.ok()) {
      state.SkipWithError("validation failed");
      return;
    }
    benchmark::DoNotOptimize(summary->max_record_timestamp);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * kRecords * int64_t(kValueBytes));
  state.SetLabel(std::string(CompressionName(codec)) + ", " + std::to_string(batch.size()) +
                 " bytes on the wire");
}

BENCHMARK(BM_BuildBatch)->DenseRange(0, 4);
BENCHMARK(BM_ValidateBatch)->DenseRange(0, 4);

}  // namespace

BENCHMARK_MAIN();
