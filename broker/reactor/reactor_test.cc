// Shard lifecycle, timers and cross-shard messages on real rings.
#include "broker/reactor/reactor.h"

#include <signal.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace ringbroker::reactor {
namespace {

using std::chrono::steady_clock;

ReactorOptions Options(uint32_t smp) {
  ReactorOptions options;
  options.smp = smp;
  options.recv_slot_count = 64;
  options.recv_slot_bytes = 4096;
  return options;
}

// Runs `fn` on shard `id` and waits for it (test-thread helper).
void RunOn(Reactor& reactor, uint32_t id, std::function<void(Shard&)> fn) {
  absl::Notification done;
  ASSERT_TRUE(reactor
                  .Post(id,
                        [&](Shard& shard) {
                          fn(shard);
                          done.Notify();
                        })
                  .ok());
  done.WaitForNotification();
}

TEST(ReactorTest, StartsOneThreadPerShardAndRunsOnStartOnEach) {
  std::mutex mu;
  std::vector<uint32_t> seen;
  std::vector<std::thread::id> threads;
  auto reactor = Reactor::Start(Options(3), [&](Shard& shard) {
    EXPECT_EQ(Shard::Current(), &shard);
    std::lock_guard<std::mutex> lock(mu);
    seen.push_back(shard.id());
    threads.push_back(std::this_thread::get_id());
  });
  ASSERT_TRUE(reactor.ok()) << reactor.status();
  EXPECT_EQ((*reactor)->shard_count(), 3u);
  (*reactor)->RequestStop();
  (*reactor)->Join();
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<uint32_t>{0, 1, 2}));
  EXPECT_NE(threads[0], threads[1]);
  EXPECT_NE(threads[1], threads[2]);
  EXPECT_EQ(Shard::Current(), nullptr);
}

TEST(ReactorTest, DefaultShardCountFollowsAffinity) {
  ReactorOptions options = Options(0);
  auto reactor = Reactor::Start(options);
  ASSERT_TRUE(reactor.ok()) << reactor.status();
  cpu_set_t set;
  CPU_ZERO(&set);
  ASSERT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
  EXPECT_EQ((*reactor)->shard_count(), static_cast<uint32_t>(CPU_COUNT(&set)));
}

TEST(ReactorTest, ReportsKernelFeatures) {
  auto reactor = Reactor::Start(Options(1));
  ASSERT_TRUE(reactor.ok()) << reactor.status();
  RingFeatures features;
  RunOn(**reactor, 0, [&](Shard& shard) { features = shard.features(); });
  // The CI kernel is recent; these are what the fast paths need.
  EXPECT_TRUE(features.msg_ring);
  EXPECT_TRUE(features.buf_ring);
  EXPECT_TRUE(features.splice);
}

// sendfile and splice to a reset socket raise SIGPIPE: shard threads keep it blocked, so the call
// fails with EPIPE instead of the signal ending the process.
TEST(ReactorTest, ShardThreadsBlockSigpipe) {
  auto reactor = Reactor::Start(Options(2));
  ASSERT_TRUE(reactor.ok()) << reactor.status();
  for (uint32_t shard_id = 0; shard_id < 2; ++shard_id) {
    bool blocked = false;
    RunOn(**reactor, shard_id, [&](Shard&) {
      sigset_t mask;
      pthread_sigmask(SIG_BLOCK, nullptr, &mask);
      blocked = sigismember(&mask, SIGPIPE) == 1;
    });
    EXPECT_TRUE(blocked) << "shard " << shard_id;
  }
}

TEST(ReactorTest, DisabledFeaturesAreNotUsed) {
  ReactorOptions options = Options(1);
  options.disabled_features = kFeatureMsgRing | kFeatureBufRing | kFeatureSplice |
                              kFeatureDeferTaskrun | kFeatureMultishotAccept | kFeatureDirectSend;
  auto reactor = Reactor::Start(options);
  ASSERT_TRUE(reactor.ok()) << reactor.status();
  RingFeatures features;
  RunOn(**reactor, 0, [&](Shard& shard) { features = shard.features(); });
  EXPECT_FALSE(features.msg_ring);
  EXPECT_FALSE(features.buf_ring);
  EXPECT_FALSE(features.multishot_recv);  // needs the buffer ring
  EXPECT_FALSE(features.splice);
  EXPECT_FALSE(features.defer_taskrun);
  EXPECT_FALSE(features.multishot_accept);
  EXPECT_FALSE(features.direct_send);
}

TEST(ReactorTest, BadOptionsFailToStartAndLeaveNothingRunning) {
  ReactorOptions options = Options(2);
  options.recv_slot_count = 100;  // not a power of two
  auto reactor = Reactor::Start(options);
  EXPECT_EQ(reactor.status().code(), absl::StatusCode::kInvalidArgument) << reactor.status();
}

TEST(ReactorTest, DestructorStopsRunningShards) {
  auto reactor = Reactor::Start(Options(2));
  ASSERT_TRUE(reactor.ok());
  reactor->reset();  // must not hang
}

TEST(ReactorTest, TimersFireInDeadlineOrderAndNotEarly) {
  auto reactor = Reactor::Start(Options(1));
  ASSERT_TRUE(reactor.ok());
  struct Fired {
    int index;
    steady_clock::time_point at;
  };
  std::vector<Fired> fired;  // touched on the shard thread only until `done`
  // Each timer's deadline is the shard's clock at Schedule plus its delay: somewhere between
  // due[i] (the clock just before the call) and latest[i] (just after). Scheduling 20 timers can
  // take milliseconds on a loaded machine, so the delays alone do not give the order.
  std::vector<steady_clock::time_point> due(20);
  std::vector<steady_clock::time_point> latest(20);
  absl::Notification done;
  const int delays_ms[20] = {40, 5, 25, 5, 60, 15, 1, 35, 20, 10, 0, 45, 30, 5, 50, 2, 8, 12, 55, 3};
  RunOn(**reactor, 0, [&](Shard& shard) {
    for (int i = 0; i < 20; ++i) {
      due[i] = steady_clock::now() + std::chrono::milliseconds(delays_ms[i]);
      ASSERT_TRUE(shard
                      .Schedule(delays_ms[i],
                                [&, i] {
                                  fired.push_back({i, steady_clock::now()});
                                  if (fired.size() == 20) done.Notify();
                                })
                      .ok());
      latest[i] = steady_clock::now() + std::chrono::milliseconds(delays_ms[i]);
    }
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_EQ(fired.size(), 20u);
  for (size_t k = 0; k < fired.size(); ++k) {
    EXPECT_GE(fired[k].at, due[fired[k].index]) << "timer " << fired[k].index << " fired early";
    if (k > 0) {
      const int prev = fired[k - 1].index;
      const int cur = fired[k].index;
      // Deadline order: the earlier-fired timer's deadline cannot be after the later one's.
      EXPECT_LE(due[prev], latest[cur]) << prev << " before " << cur;
    }
  }
}

TEST(ReactorTest, CancelledTimersDoNotFireAndEarlierTimerRearms) {
  auto reactor = Reactor::Start(Options(1));
  ASSERT_TRUE(reactor.ok());
  std::atomic<int> cancelled_ran{0};
  std::atomic<int> kept_ran{0};
  absl::Notification done;
  RunOn(**reactor, 0, [&](Shard& shard) {
    // A far timer first, so the near ones must re-arm the ring timeout earlier.
    TimerId far = *shard.Schedule(10'000, [&] { cancelled_ran++; });
    std::vector<TimerId> ids;
    for (int i = 0; i < 10; ++i) {
      ids.push_back(*shard.Schedule(5 + i, [&, i] {
        if (i % 2 == 0) {
          cancelled_ran++;
        } else {
          kept_ran++;
        }
      }));
    }
    for (int i = 0; i < 10; i += 2) EXPECT_TRUE(shard.Cancel(ids[i]));
    EXPECT_TRUE(shard.Cancel(far));
    ASSERT_TRUE(shard.Schedule(30, [&] { done.Notify(); }).ok());
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(kept_ran.load(), 5);
  EXPECT_EQ(cancelled_ran.load(), 0);
}

TEST(ReactorTest, PendingTimersAreDroppedAtStop) {
  std::atomic<bool> ran{false};
  {
    auto reactor = Reactor::Start(Options(1));
    ASSERT_TRUE(reactor.ok());
    RunOn(**reactor, 0, [&](Shard& shard) {
      ASSERT_TRUE(shard.Schedule(60'000, [&] { ran = true; }).ok());
    });
    auto start = steady_clock::now();
    (*reactor)->RequestStop();
    (*reactor)->Join();
    EXPECT_LT(steady_clock::now() - start, std::chrono::seconds(5));
  }
  EXPECT_FALSE(ran.load());
}

TEST(ReactorTest, SubmitToRunsOnTargetAndDeliversResultOnOrigin) {
  auto reactor = Reactor::Start(Options(2));
  ASSERT_TRUE(reactor.ok());
  absl::Notification done;
  uint32_t ran_on = 99;
  uint32_t done_on = 99;
  int result = 0;
  RunOn(**reactor, 0, [&](Shard& shard) {
    absl::Status status = shard.SubmitTo<int>(
        1,
        [&]() {
          ran_on = Shard::Current()->id();
          return 42;
        },
        [&](int value) {
          done_on = Shard::Current()->id();
          result = value;
          done.Notify();
        });
    ASSERT_TRUE(status.ok()) << status;
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(ran_on, 1u);
  EXPECT_EQ(done_on, 0u);
  EXPECT_EQ(result, 42);
}

TEST(ReactorTest, SubmitToSelfWorks) {
  auto reactor = Reactor::Start(Options(1));
  ASSERT_TRUE(reactor.ok());
  absl::Notification done;
  RunOn(**reactor, 0, [&](Shard& shard) {
    ASSERT_TRUE(shard.SubmitTo<int>(0, [] { return 7; }, [&](int v) {
      EXPECT_EQ(v, 7);
      done.Notify();
    }).ok());
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
}

TEST(ReactorTest, MessagesCarryPointersNotCopies) {
  auto reactor = Reactor::Start(Options(2));
  ASSERT_TRUE(reactor.ok());
  absl::Notification done;
  auto payload = std::make_unique<std::vector<int>>(1000, 3);
  const std::vector<int>* original = payload.get();
  const std::vector<int>* seen_on_target = nullptr;
  RunOn(**reactor, 0, [&](Shard& shard) {
    ASSERT_TRUE(shard
                    .SubmitTo<std::unique_ptr<std::vector<int>>>(
                        1,
                        [&, p = std::move(payload)]() mutable {
                          seen_on_target = p.get();
                          return std::move(p);
                        },
                        [&](std::unique_ptr<std::vector<int>> back) {
                          EXPECT_EQ(back.get(), original);
                          done.Notify();
                        })
                    .ok());
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(seen_on_target, original);
}

// Every shard fires many requests at every other shard at once; all must come back, each once,
// with the right answer, despite budgets smaller than the burst (exercises the backlog).
void RoundTripsUnderLoad(uint32_t smp, uint32_t disabled_features) {
  ReactorOptions options = Options(smp);
  options.cross_shard_inflight_max = 16;
  options.disabled_features = disabled_features;
  auto reactor = Reactor::Start(options);
  ASSERT_TRUE(reactor.ok());
  constexpr int kPerPair = 3000;
  const int expected_total = static_cast<int>(smp * (smp - 1)) * kPerPair;
  std::atomic<int> replies{0};
  std::atomic<int64_t> sum{0};
  std::atomic<int> wrong_shard{0};
  absl::Notification done;
  for (uint32_t origin = 0; origin < smp; ++origin) {
    ASSERT_TRUE((*reactor)
                    ->Post(origin,
                           [&, smp](Shard& shard) {
                             for (uint32_t target = 0; target < smp; ++target) {
                               if (target == shard.id()) continue;
                               for (int i = 0; i < kPerPair; ++i) {
                                 absl::Status status = shard.SubmitTo<int64_t>(
                                     target,
                                     [&, target, i]() -> int64_t {
                                       if (Shard::Current()->id() != target) wrong_shard++;
                                       return i;
                                     },
                                     [&, origin = shard.id()](int64_t v) {
                                       if (Shard::Current()->id() != origin) wrong_shard++;
                                       sum += v;
                                       if (++replies == expected_total) done.Notify();
                                     });
                                 ASSERT_TRUE(status.ok()) << status;
                               }
                             }
                           })
                    .ok());
  }
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(60)));
  EXPECT_EQ(replies.load(), expected_total);
  EXPECT_EQ(sum.load(), int64_t{smp} * (smp - 1) * (int64_t{kPerPair} * (kPerPair - 1) / 2));
  EXPECT_EQ(wrong_shard.load(), 0);
}

TEST(ReactorTest, CrossShardRoundTripsUnderLoadTwoShards) { RoundTripsUnderLoad(2, 0); }
TEST(ReactorTest, CrossShardRoundTripsUnderLoadFourShards) { RoundTripsUnderLoad(4, 0); }
TEST(ReactorTest, CrossShardRoundTripsWithEventfdWakeups) {
  RoundTripsUnderLoad(3, kFeatureMsgRing | kFeatureDeferTaskrun);
}

TEST(ReactorTest, BacklogLimitRejectsExcessSubmissions) {
  ReactorOptions options = Options(2);
  options.cross_shard_inflight_max = 4;
  options.cross_shard_backlog_max = 10;
  auto reactor = Reactor::Start(options);
  ASSERT_TRUE(reactor.ok());
  std::atomic<int> replies{0};
  int accepted = 0;
  int rejected = 0;
  absl::Notification all_back;
  RunOn(**reactor, 0, [&](Shard& shard) {
    // Nothing can come back before this callback returns, so 4 go out, 10 wait, the rest fail.
    for (int i = 0; i < 20; ++i) {
      absl::Status status = shard.SubmitTo(1, [] {}, [&] {
        if (++replies == 14) all_back.Notify();
      });
      if (status.ok()) {
        ++accepted;
      } else {
        EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
        ++rejected;
      }
    }
  });
  EXPECT_EQ(accepted, 14);
  EXPECT_EQ(rejected, 6);
  ASSERT_TRUE(all_back.WaitForNotificationWithTimeout(absl::Seconds(10)));
  // The budget is free again once the replies are in.
  absl::Notification again;
  RunOn(**reactor, 0, [&](Shard& shard) {
    EXPECT_TRUE(shard.SubmitTo(1, [] {}, [&] { again.Notify(); }).ok());
  });
  ASSERT_TRUE(again.WaitForNotificationWithTimeout(absl::Seconds(10)));
}

TEST(ReactorTest, AsyncWorkMayCompleteLater) {
  auto reactor = Reactor::Start(Options(2));
  ASSERT_TRUE(reactor.ok());
  absl::Notification done;
  steady_clock::time_point submitted;
  steady_clock::time_point replied;
  RunOn(**reactor, 0, [&](Shard& shard) {
    submitted = steady_clock::now();
    ASSERT_TRUE(shard
                    .SubmitAsync(
                        1,
                        [](Completer completer) {
                          // Reply from a timer 20 ms later, as a long-poll would.
                          auto holder = std::make_shared<Completer>(std::move(completer));
                          ASSERT_TRUE(Shard::Current()
                                          ->Schedule(20, [holder] { holder->Complete(); })
                                          .ok());
                        },
                        [&] {
                          replied = steady_clock::now();
                          done.Notify();
                        })
                    .ok());
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_GE(replied - submitted, std::chrono::milliseconds(20));
}

TEST(ReactorTest, DroppedCompleterStillReplies) {
  auto reactor = Reactor::Start(Options(2));
  ASSERT_TRUE(reactor.ok());
  absl::Notification done;
  RunOn(**reactor, 1, [&](Shard& shard) {
    ASSERT_TRUE(shard.SubmitAsync(0, [](Completer) {}, [&] { done.Notify(); }).ok());
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
}

TEST(ReactorTest, StopWaitsForAcceptedCrossShardWorkAndRefusesNew) {
  auto reactor = Reactor::Start(Options(2));
  ASSERT_TRUE(reactor.ok());
  std::atomic<int> replies{0};
  std::atomic<bool> refused_after_stop{false};
  RunOn(**reactor, 0, [&](Shard& shard) {
    shard.AtStop([&] {
      absl::Status status = Shard::Current()->SubmitTo(1, [] {}, [] {});
      refused_after_stop = absl::IsCancelled(status);
    });
    for (int i = 0; i < 500; ++i) {
      ASSERT_TRUE(shard.SubmitTo(1, [] {}, [&] { replies++; }).ok());
    }
  });
  (*reactor)->RequestStop();
  (*reactor)->Join();
  EXPECT_EQ(replies.load(), 500);
  EXPECT_TRUE(refused_after_stop.load());
  EXPECT_FALSE((*reactor)->Post(0, [](Shard&) {}).ok());
}

Reactor* signal_target = nullptr;
void OnSignal(int) { signal_target->RequestStop(); }

TEST(ReactorTest, StopFromSignalHandler) {
  auto reactor = Reactor::Start(Options(2));
  ASSERT_TRUE(reactor.ok());
  signal_target = reactor->get();
  struct sigaction action {};
  struct sigaction previous {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  ASSERT_EQ(sigaction(SIGUSR1, &action, &previous), 0);
  ASSERT_EQ(raise(SIGUSR1), 0);
  (*reactor)->Join();  // returns only because the handler asked for the stop
  EXPECT_TRUE((*reactor)->stop_requested());
  sigaction(SIGUSR1, &previous, nullptr);
  signal_target = nullptr;
}

TEST(ReactorTest, PostFromManyThreads) {
  auto reactor = Reactor::Start(Options(2));
  ASSERT_TRUE(reactor.ok());
  std::atomic<int> ran{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        while (!(*reactor)->Post((t + i) % 2, [&](Shard&) { ran++; }).ok()) {
          std::this_thread::yield();
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  auto deadline = steady_clock::now() + std::chrono::seconds(10);
  while (ran.load() < 2000 && steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(ran.load(), 2000);
}

}  // namespace
}  // namespace ringbroker::reactor
