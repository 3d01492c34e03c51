// CRC-32C throughput beside memcpy of the same buffer, in one run, so the ratio is meaningful on
// whatever machine runs it. Target: the hardware path at >= 50% of memcpy bandwidth for 1 MiB.
#include <cstring>
#include <random>
#include <vector>

#include "benchmark/benchmark.h"
#include "protocol/records/crc32c.h"

namespace {

using ringbroker::protocol::Crc32c;
namespace crc32c_internal = ringbroker::protocol::crc32c_internal;

std::vector<uint8_t> RandomBuffer(size_t n) {
  std::mt19937_64 rng(1);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = uint8_t(rng());
  return v;
}

void BM_Memcpy(benchmark::State& state) {
  std::vector<uint8_t> src = RandomBuffer(size_t(state.range(0)));
  std::vector<uint8_t> dst(src.size());
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), src.size());
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * state.range(0));
}

void BM_Crc32cHardware(benchmark::State& state) {
  if (!crc32c_internal::HardwareAvailable()) {
    state.SkipWithError("no SSE4.2");
    return;
  }
  std::vector<uint8_t> src = RandomBuffer(size_t(state.range(0)));
  for (auto _ : state) {
    benchmark::DoNotOptimize(crc32c_internal::ExtendHardware(0, src.data(), src.size()));
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * state.range(0));
}

void BM_Crc32cPortable(benchmark::State& state) {
  std::vector<uint8_t> src = RandomBuffer(size_t(state.range(0)));
  for (auto _ : state) {
    benchmark::DoNotOptimize(crc32c_internal::ExtendPortable(0, src.data(), src.size()));
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * state.range(0));
}

// What callers get: the run-time dispatch.
void BM_Crc32c(benchmark::State& state) {
  std::vector<uint8_t> src = RandomBuffer(size_t(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(Crc32c(src));
  state.SetBytesProcessed(int64_t(state.iterations()) * state.range(0));
}

constexpr int64_t kMiB = 1 << 20;
BENCHMARK(BM_Memcpy)->Arg(kMiB);
BENCHMARK(BM_Crc32cHardware)->Arg(kMiB)->Arg(16 << 10)->Arg(1 << 10)->Arg(64);
BENCHMARK(BM_Crc32cPortable)->Arg(kMiB)->Arg(16 << 10);
BENCHMARK(BM_Crc32c)->Arg(kMiB);

}  // namespace

BENCHMARK_MAIN();
