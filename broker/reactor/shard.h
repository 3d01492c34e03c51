// Shard: one thread, one io_uring, and everything that thread owns (connections, timers, receive
// buffers). Nothing in a Shard is locked; other threads reach it only through the cross-shard
// queues (SubmitTo) or Reactor::Post.
//
// Blocking: no Shard method blocks. Every call below is made on the shard's own thread unless it
// says otherwise; callbacks given to a Shard also run on its thread. A callback that blocks (disk,
// mutex, sleep) stalls every connection on the shard, so do not.
//
// The loop: run deferred tasks, drain the cross-shard and external inboxes, submit queued SQEs and
// wait for at least one CQE (only when there is nothing else to do), dispatch the CQEs, repeat.
#pragma once

#include <liburing.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "broker/reactor/buffer_ring.h"
#include "broker/reactor/completion.h"
#include "broker/reactor/options.h"
#include "broker/reactor/timer_queue.h"

namespace ringbroker::reactor {

class Connection;
class ConnectionHandler;
class Listener;
class Reactor;
class Shard;
struct CrossShardMessage;

// What the kernel offered when the shard's ring was created (minus ReactorOptions::
// disabled_features). Multishot support is also learnt at run time: a first -EINVAL turns it off.
struct RingFeatures {
  bool defer_taskrun = false;
  bool msg_ring = false;
  bool buf_ring = false;
  bool multishot_accept = false;
  bool multishot_recv = false;
  bool splice = false;
  // cachestat(2) (Linux 6.5+) tells whether a file range is in the page cache; such ranges are
  // then sent with sendfile() on the shard thread instead of splice through an io-wq worker.
  bool direct_send = false;
  bool send_zc = false;  // probed and reported only; sends use sendmsg and splice
  bool ftruncate = false;  // IORING_OP_FTRUNCATE (6.9+), newer than liburing 2.3's headers
};

// IORING_OP_FTRUNCATE's number in the kernel ABI; Debian's liburing 2.3 predates it.
inline constexpr int kIoringOpFtruncate = 55;

// The reply half of a cross-shard request, handed to the work on the target shard. Complete() (on
// the target shard's thread, now or later, e.g. after an I/O finishes) sends the message back, and
// the origin shard then runs its `done` callback. Move-only; destroying an uncompleted Completer
// completes it, so a reply is never lost.
class Completer {
 public:
  Completer() = default;
  explicit Completer(CrossShardMessage* message) : message_(message) {}
  Completer(Completer&& other) noexcept : message_(std::exchange(other.message_, nullptr)) {}
  Completer& operator=(Completer&& other) noexcept;
  Completer(const Completer&) = delete;
  Completer& operator=(const Completer&) = delete;
  ~Completer() { Complete(); }

  void Complete();
  bool pending() const { return message_ != nullptr; }

 private:
  CrossShardMessage* message_ = nullptr;
};

class Shard {
 public:
  using Task = absl::AnyInvocable<void()>;
  using AsyncWork = absl::AnyInvocable<void(Completer)>;

  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;
  ~Shard();

  // The shard whose thread is calling, or null on other threads.
  static Shard* Current();

  uint32_t id() const { return id_; }
  uint32_t shard_count() const;
  Reactor& reactor() { return *reactor_; }
  const ReactorOptions& options() const;
  const RingFeatures& features() const { return features_; }
  // True once a stop has been requested and this shard began shutting down: listeners and
  // connections are being closed and new cross-shard submissions are refused.
  bool stopping() const { return stopping_; }

  // --- Tasks and timers --------------------------------------------------------------------------

  // Runs `task` on this shard after the current callback returns (never re-entrantly).
  void Defer(Task task);

  // Runs `callback` once, no sooner than `after_ms` from now. Timers run in deadline order (ties in
  // scheduling order). ResourceExhaustedError past ReactorOptions::timers_max pending timers;
  // CancelledError while stopping. Pending timers are dropped (not run) when the shard stops.
  absl::StatusOr<TimerId> Schedule(int64_t after_ms, Task callback);
  // True when the timer was pending and will now never run.
  bool Cancel(TimerId id);

  // --- Cross-shard messages ----------------------------------------------------------------------

  // Runs `work` on shard `target` and then `done` back on this shard. The closures travel by
  // pointer through the (from, to) queue; whatever they capture is moved, not copied, and is
  // destroyed on the shard that last holds it. `work` must complete its Completer, at once or later.
  // Beyond ReactorOptions::cross_shard_inflight_max requests in flight to `target`, requests wait
  // in a local backlog; ResourceExhaustedError when that is full too. CancelledError while stopping.
  // `target` may be this shard (then both run as deferred tasks here).
  absl::Status SubmitAsync(uint32_t target, AsyncWork work, Task done);

  // The common synchronous case: `work` runs on `target`, its return value is delivered to `done`
  // on this shard.
  template <typename T>
  absl::Status SubmitTo(uint32_t target, absl::AnyInvocable<T()> work,
                        absl::AnyInvocable<void(T)> done) {
    // The result lives in one heap slot: written on the target, read on the origin, freed with
    // `done` (so also when the submission fails).
    auto result = std::make_unique<std::optional<T>>();
    std::optional<T>* slot = result.get();
    return SubmitAsync(
        target,
        [work = std::move(work), slot](Completer completer) mutable {
          slot->emplace(work());
          completer.Complete();
        },
        [done = std::move(done), result = std::move(result)]() mutable {
          done(std::move(**result));
        });
  }
  absl::Status SubmitTo(uint32_t target, Task work, Task done) {
    return SubmitAsync(
        target,
        [work = std::move(work)](Completer completer) mutable {
          work();
          completer.Complete();
        },
        std::move(done));
  }

  // --- Raw ring access (for reactor components such as UringFile) --------------------------------

  // A free SQE; submits queued ones first when the submission queue is full, so never null.
  io_uring_sqe* GetSqe();
  // Tags `sqe` (already prepared) with `completion`, which then receives its CQEs. The shard counts
  // it as in flight until its last CQE, and does not finish stopping before that.
  void Arm(io_uring_sqe* sqe, Completion* completion);
  // Queues an ASYNC_CANCEL for the request armed with `completion`; the request still completes
  // (usually with -ECANCELED) through its Completion.
  void CancelOp(Completion* completion);

  // Runs `fn` when this shard begins stopping, before connections are closed.
  void AtStop(Task fn);

  // --- Introspection (tests) ---------------------------------------------------------------------
  size_t connection_count() const { return connections_.size(); }
  BufferRing* buffer_ring() { return buffer_ring_; }
  size_t ops_in_flight() const { return ops_in_flight_; }

 private:
  friend class Reactor;
  friend class Connection;
  friend class Listener;
  friend class Completer;

  class WakeReader;
  class TimeoutOp;

  Shard(Reactor* reactor, uint32_t id, int wake_fd);

  // Thread body pieces, in the order the thread runs them.
  absl::Status InitRing();
  void Loop();
  void TearDown();

  void RunDeferred();
  bool DrainInboxes();
  void DrainExternal();
  bool HasIncoming() const;
  void Reap();
  void BeginStop();
  void CheckQuiescent();
  void SubmitAndWait(bool wait);

  void RearmTimer();
  void OnTimeout(TimeoutOp* op);

  // Cross-shard plumbing.
  bool PushMessage(uint32_t to, CrossShardMessage* message);
  void OnMessage(uint32_t from, CrossShardMessage* message);
  void FlushBacklog(uint32_t target);
  // Makes sure shard `target` notices new messages (no-op when it is awake).
  void Wake(Shard& target);
  // From any thread, async-signal-safe: writes the shard's eventfd.
  void WakeViaEventfd();
  absl::Status PostExternal(absl::AnyInvocable<void(Shard&)> task);

  // Connections.
  void Adopt(std::unique_ptr<Connection> connection);
  void Forget(Connection* connection);
  void AddListener(std::unique_ptr<Listener> listener);
  void ForgetListener(Listener* listener);

  Reactor* const reactor_;
  const uint32_t id_;
  const int wake_fd_;  // eventfd owned by the Reactor
  std::thread thread_;
  io_uring ring_;
  bool ring_ready_ = false;
  RingFeatures features_;
  BufferRing* buffer_ring_ = nullptr;
  size_t ops_in_flight_ = 0;  // armed requests whose last CQE has not arrived
  std::unique_ptr<WakeReader> wake_reader_;

  std::deque<Task> deferred_;
  // Busy loop rounds in a row that skipped io_uring_enter (nothing to submit); see Loop().
  static constexpr int kPollsSkippedMax = 8;
  int polls_skipped_ = 0;
  TimerQueue timers_;
  TimeoutOp* armed_timeout_ = nullptr;
  int64_t armed_deadline_ns_ = 0;

  // Cross-shard state, indexed by the other shard's id.
  std::vector<uint32_t> outstanding_;  // requests sent, reply not yet processed
  std::vector<std::deque<CrossShardMessage*>> backlog_;
  size_t backlog_total_ = 0;
  // Set just before this shard sleeps in io_uring_enter; senders that find it set wake us.
  std::atomic<bool> sleeping_{false};

  absl::Mutex external_mu_;
  std::deque<absl::AnyInvocable<void(Shard&)>> external_ ABSL_GUARDED_BY(external_mu_);
  bool external_closed_ ABSL_GUARDED_BY(external_mu_) = false;
  std::atomic<bool> has_external_{false};

  std::vector<Task> at_stop_;
  bool stopping_ = false;
  bool quiescent_ = false;
  bool exit_ = false;

  uint64_t next_connection_id_ = 1;
  absl::flat_hash_map<Connection*, std::unique_ptr<Connection>> connections_;
  absl::flat_hash_map<Listener*, std::unique_ptr<Listener>> listeners_;
};

}  // namespace ringbroker::reactor
