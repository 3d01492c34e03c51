// Reactor: starts one Shard (thread + io_uring) per core, runs a function on each, accepts
// connections on every shard through SO_REUSEPORT listeners, and stops them all cleanly.
//
// Threading model: see README.md. In short, the Reactor object itself is used from a control
// thread (main); its shards run on their own threads; RequestStop() may be called from anywhere,
// including a signal handler.
//
// Stopping: after RequestStop() every shard runs its AtStop hooks, closes its listeners and
// connections (OnClose with CancelledError), drops pending timers, refuses new cross-shard
// submissions, and keeps running until every cross-shard request already accepted has been
// answered and every I/O it started has completed. Then all shard threads exit together.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <latch>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "broker/reactor/connection.h"
#include "broker/reactor/options.h"
#include "broker/reactor/shard.h"
#include "broker/reactor/spsc_queue.h"

namespace ringbroker::reactor {

class Reactor {
 public:
  // Creates the shards and their rings (probing kernel features; falling back where a feature is
  // missing), then calls `on_start` on each shard's thread, concurrently, before the shard's loop
  // starts. Returns an error (and leaves nothing running) when any shard fails to start.
  static absl::StatusOr<std::unique_ptr<Reactor>> Start(
      const ReactorOptions& options, std::function<void(Shard&)> on_start = nullptr);

  // Requests a stop and waits for the shard threads.
  ~Reactor();
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;

  uint32_t shard_count() const { return static_cast<uint32_t>(shards_.size()); }
  const ReactorOptions& options() const { return options_; }
  // The shard object (to read its id or features from the control thread; its methods are for its
  // own thread).
  Shard& shard(uint32_t id) { return *shards_[id]; }

  // Listens on host:port with one SO_REUSEPORT socket per shard, so the kernel spreads incoming
  // connections over the shards. Port 0 picks one ephemeral port shared by all shards. Each
  // accepted connection gets a handler from `factory`, called on the accepting shard's thread
  // (concurrently on different shards). Returns the bound port. Call from a non-shard thread.
  absl::StatusOr<uint16_t> Listen(const std::string& host, uint16_t port,
                                  ConnectionFactory factory);

  // Runs `task` on shard `id` soon. Any thread, including shard threads; for control-plane work
  // (it takes a short lock). ResourceExhaustedError when the shard's external queue is full,
  // CancelledError once the shard has exited.
  absl::Status Post(uint32_t id, absl::AnyInvocable<void(Shard&)> task);

  // Asks every shard to stop. Any thread; async-signal-safe (an atomic store and eventfd writes).
  void RequestStop();
  bool stop_requested() const { return stop_requested_.load(std::memory_order_acquire); }

  // Blocks until every shard thread has exited (after RequestStop, or forever). Not from a shard.
  void Join();

 private:
  friend class Shard;
  friend class Completer;

  explicit Reactor(const ReactorOptions& options);
  void ShardMain(Shard* shard, int cpu);
  SpscQueue<CrossShardMessage>& Queue(uint32_t from, uint32_t to) {
    return *queues_[from * shards_.size() + to];
  }
  void NoteQuiescent();

  ReactorOptions options_;
  std::function<void(Shard&)> on_start_;
  std::vector<int> wake_fds_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::vector<std::unique_ptr<SpscQueue<CrossShardMessage>>> queues_;  // [from * n + to]
  std::atomic<bool> stop_requested_{false};
  std::atomic<uint32_t> quiescent_count_{0};
  // Start-up handshake: every shard reports ring creation, then waits for the verdict.
  std::unique_ptr<std::latch> init_latch_;
  std::unique_ptr<std::latch> go_latch_;
  std::atomic<bool> init_failed_{false};
  absl::Mutex init_mu_;
  absl::Status init_status_ ABSL_GUARDED_BY(init_mu_);
  std::unique_ptr<std::latch> exit_latch_;  // no shard tears down its ring while others may use it
  bool joined_ = false;
};

}  // namespace ringbroker::reactor
