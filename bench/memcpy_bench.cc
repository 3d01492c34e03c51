// memcpy bandwidth: the machine limit the benchmark command (bench/run) holds the broker's CPU cost
// against. A buffer that fits in L2 shows the cache-resident copy rate; buffers well beyond the last
// level cache show the main-memory rate, which is what copying a gigabyte of records costs.
// Bytes per second count the bytes copied (one read and one write of each byte).
#include <cstdint>
#include <cstring>
#include <vector>

#include "benchmark/benchmark.h"

namespace {

void BM_MemcpyBandwidth(benchmark::State& state) {
  const size_t bytes = size_t(state.range(0));
  // Filled with a pattern so every page is really mapped before timing starts.
  std::vector<uint8_t> src(bytes);
  for (size_t i = 0; i < bytes; ++i) src[i] = uint8_t(i * 131);
  std::vector<uint8_t> dst(bytes, 0);
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), bytes);
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(bytes));
}

constexpr int64_t kMiB = int64_t{1} << 20;
// 1 MiB stays in L2; 256 MiB is far beyond any last-level cache this project runs on.
BENCHMARK(BM_MemcpyBandwidth)->Arg(kMiB)->Arg(256 * kMiB)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
