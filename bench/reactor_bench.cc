// Reactor microbenchmarks: the cross-shard mailbox, the timer heap, the SPSC ring.
#include <benchmark/benchmark.h>

#include <atomic>
#include <memory>

#include "absl/synchronization/notification.h"
#include "broker/reactor/reactor.h"
#include "broker/reactor/spsc_queue.h"
#include "broker/reactor/timer_queue.h"

namespace ringbroker::reactor {
namespace {

// Round trips shard 0 -> shard 1 -> shard 0, `batch` in flight at once.
void BM_CrossShardRoundTrip(benchmark::State& state) {
  ReactorOptions options;
  options.smp = 2;
  options.recv_slot_count = 16;
  auto reactor = Reactor::Start(options);
  if (!reactor.ok()) {
    state.SkipWithError("reactor failed to start");
    return;
  }
  const int batch = static_cast<int>(state.range(0));
  for (auto _ : state) {
    absl::Notification done;
    auto remaining = std::make_shared<int>(batch);
    bool posted = (*reactor)
                      ->Post(0,
                             [&, remaining](Shard& shard) {
                               for (int i = 0; i < batch; ++i) {
                                 absl::Status status = shard.SubmitTo<int>(
                                     1, [] { return 1; },
                                     [&, remaining](int) {
                                       if (--*remaining == 0) done.Notify();
                                     });
                                 benchmark::DoNotOptimize(status);
                               }
                             })
                      .ok();
    if (!posted) {
      state.SkipWithError("post failed");
      break;
    }
    done.WaitForNotification();
  }
  state.SetItemsProcessed(state.iterations() * batch);
}
BENCHMARK(BM_CrossShardRoundTrip)->Arg(1)->Arg(64)->Arg(1024)->UseRealTime();

void BM_TimerScheduleCancel(benchmark::State& state) {
  TimerQueue timers(1 << 20);
  int64_t deadline = 0;
  for (auto _ : state) {
    absl::StatusOr<TimerId> id = timers.Schedule(++deadline % 1000, [] {});
    timers.Cancel(*id);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TimerScheduleCancel);

void BM_SpscPushPop(benchmark::State& state) {
  SpscQueue<int> queue(1024);
  int value = 0;
  for (auto _ : state) {
    queue.Push(&value);
    benchmark::DoNotOptimize(queue.Pop());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SpscPushPop);

}  // namespace
}  // namespace ringbroker::reactor

BENCHMARK_MAIN();
