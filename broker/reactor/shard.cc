#include "broker/reactor/shard.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "broker/reactor/connection.h"
#include "broker/reactor/listener.h"
#include "broker/reactor/page_cache.h"
#include "broker/reactor/reactor.h"

namespace ringbroker::reactor {

// A cross-shard request and, after Completer::Complete, its reply: the same object travels
// origin -> target -> origin, so nothing is copied and nothing is allocated for the reply.
struct CrossShardMessage {
  uint32_t origin = 0;
  uint32_t target = 0;
  bool is_reply = false;
  Shard::AsyncWork work;
  Shard::Task done;
};

namespace {

thread_local Shard* current_shard = nullptr;

// user_data values that are not Completion pointers (pointers are at least 8-aligned).
constexpr uint64_t kIgnoreTag = 0;  // cancel/remove/msg-ring sender completions
constexpr uint64_t kWakeTag = 1;    // MSG_RING wakeups posted into this ring

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

// Keeps one read armed on the shard's eventfd, so writes from other threads (RequestStop, Post,
// wakeups without MSG_RING) end the shard's wait.
class Shard::WakeReader final : public Completion {
 public:
  explicit WakeReader(Shard* shard) : shard_(shard) {}
  void Arm() {
    io_uring_sqe* sqe = shard_->GetSqe();
    io_uring_prep_read(sqe, shard_->wake_fd_, &value_, sizeof(value_), 0);
    io_uring_sqe_set_data(sqe, this);
    armed_ = true;
  }
  void OnComplete(int32_t, uint32_t) override {
    armed_ = false;
    if (!cancelled_) Arm();
  }
  void Cancel() {
    if (!armed_) return;
    cancelled_ = true;
    io_uring_sqe* sqe = shard_->GetSqe();
    io_uring_prep_cancel(sqe, this, 0);
    io_uring_sqe_set_data64(sqe, kIgnoreTag);
  }
  bool armed() const { return armed_; }

 private:
  Shard* shard_;
  uint64_t value_ = 0;
  bool armed_ = false;
  bool cancelled_ = false;
};

// One armed IORING_OP_TIMEOUT (absolute, CLOCK_MONOTONIC). Deletes itself on its CQE.
class Shard::TimeoutOp final : public Completion {
 public:
  TimeoutOp(Shard* shard, int64_t deadline_ns) : shard_(shard) {
    ts_.tv_sec = deadline_ns / 1'000'000'000;
    ts_.tv_nsec = deadline_ns % 1'000'000'000;
  }
  __kernel_timespec* ts() { return &ts_; }
  void OnComplete(int32_t, uint32_t) override { shard_->OnTimeout(this); }

 private:
  Shard* shard_;
  __kernel_timespec ts_{};
};

Completer& Completer::operator=(Completer&& other) noexcept {
  if (this != &other) {
    Complete();
    message_ = std::exchange(other.message_, nullptr);
  }
  return *this;
}

void Completer::Complete() {
  CrossShardMessage* message = std::exchange(message_, nullptr);
  if (message == nullptr) return;
  Shard* shard = Shard::Current();
  assert(shard != nullptr && shard->id() == message->target);
  message->is_reply = true;
  message->work = nullptr;  // free what the work captured here, on the shard that used it
  if (message->origin == message->target) {
    shard->Defer([shard, message] { shard->OnMessage(message->origin, message); });
    return;
  }
  // Always fits: the origin keeps at most cross_shard_inflight_max requests in flight to us, and
  // our own requests to it are capped the same way; the queue holds both.
  bool pushed = shard->PushMessage(message->origin, message);
  assert(pushed);
  (void)pushed;
}

Shard::Shard(Reactor* reactor, uint32_t id, int wake_fd)
    : reactor_(reactor),
      id_(id),
      wake_fd_(wake_fd),
      timers_(reactor->options().timers_max),
      outstanding_(reactor->options().smp, 0),
      backlog_(reactor->options().smp) {}

Shard::~Shard() {
  // TearDown ran on the shard thread; anything left here never ran.
  absl::MutexLock lock(&external_mu_);
  external_.clear();
}

Shard* Shard::Current() { return current_shard; }
uint32_t Shard::shard_count() const { return reactor_->shard_count(); }
const ReactorOptions& Shard::options() const { return reactor_->options(); }

absl::Status Shard::InitRing() {
  current_shard = this;
  const ReactorOptions& options = reactor_->options();
  const uint32_t disabled = options.disabled_features;

  // Try the most capable setup first and fall back one step at a time (kernels before 6.1 lack
  // DEFER_TASKRUN, before 6.0 SINGLE_ISSUER, before 5.19 COOP_TASKRUN). Any other error is real.
  struct Attempt {
    uint32_t flags;
    bool defer_taskrun;
  };
  std::vector<Attempt> attempts;
  if ((disabled & kFeatureDeferTaskrun) == 0) {
    attempts.push_back({IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, true});
  }
  attempts.push_back({IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN |
                          IORING_SETUP_TASKRUN_FLAG, false});
  attempts.push_back({IORING_SETUP_COOP_TASKRUN, false});
  attempts.push_back({0, false});
  int rc = -EINVAL;
  for (const Attempt& attempt : attempts) {
    io_uring_params params;
    std::memset(&params, 0, sizeof(params));
    params.flags = attempt.flags | IORING_SETUP_CQSIZE;
    params.cq_entries = options.ring_entries * 4;
    rc = io_uring_queue_init_params(options.ring_entries, &ring_, &params);
    if (rc == 0) {
      features_.defer_taskrun = attempt.defer_taskrun;
      break;
    }
    if (rc != -EINVAL) break;
  }
  if (rc != 0) {
    return absl::UnavailableError(absl::StrCat("io_uring_queue_init: ", strerror(-rc)));
  }
  ring_ready_ = true;  // from here on TearDown() undoes everything

  io_uring_probe* probe = io_uring_get_probe_ring(&ring_);
  if (probe == nullptr) return absl::UnavailableError("io_uring opcode probe failed");
  const int required[] = {IORING_OP_ACCEPT, IORING_OP_RECV,    IORING_OP_SENDMSG,
                          IORING_OP_READ,   IORING_OP_TIMEOUT, IORING_OP_ASYNC_CANCEL,
                          IORING_OP_TIMEOUT_REMOVE, IORING_OP_WRITEV, IORING_OP_READV,
                          IORING_OP_FSYNC};
  for (int op : required) {
    if (!io_uring_opcode_supported(probe, op)) {
      io_uring_free_probe(probe);
      return absl::UnimplementedError(absl::StrCat("kernel lacks io_uring opcode ", op));
    }
  }
  features_.msg_ring = io_uring_opcode_supported(probe, IORING_OP_MSG_RING) &&
                       (disabled & kFeatureMsgRing) == 0;
  features_.splice =
      io_uring_opcode_supported(probe, IORING_OP_SPLICE) && (disabled & kFeatureSplice) == 0;
  features_.send_zc = io_uring_opcode_supported(probe, IORING_OP_SEND_ZC);
  features_.direct_send = CachestatSupported() && (disabled & kFeatureDirectSend) == 0;
  features_.ftruncate = io_uring_opcode_supported(probe, kIoringOpFtruncate);
  io_uring_free_probe(probe);
  // Multishot support is not probeable; assume it and turn it off on the first -EINVAL.
  features_.multishot_accept = (disabled & kFeatureMultishotAccept) == 0;
  features_.multishot_recv = (disabled & kFeatureMultishotRecv) == 0;

  if ((disabled & kFeatureBufRing) == 0) {
    absl::StatusOr<BufferRing*> buffer_ring =
        BufferRing::Create(&ring_, /*group_id=*/0, options.recv_slot_count, options.recv_slot_bytes);
    if (buffer_ring.ok()) {
      buffer_ring_ = *buffer_ring;
      features_.buf_ring = true;
    } else if (!absl::IsUnavailable(buffer_ring.status())) {
      return buffer_ring.status();  // bad options or out of memory: not a missing feature
    }
  }
  if (!features_.buf_ring) features_.multishot_recv = false;  // multishot recv needs the ring

  wake_reader_ = std::make_unique<WakeReader>(this);
  wake_reader_->Arm();
  io_uring_submit(&ring_);
  return absl::OkStatus();
}

void Shard::TearDown() {
  if (ring_ready_) {
    // The wake read is the one request always in flight; take it back so the kernel never writes
    // into freed memory after the ring is gone.
    if (wake_reader_ != nullptr && wake_reader_->armed()) {
      wake_reader_->Cancel();
      while (wake_reader_->armed()) {
        SubmitAndWait(true);
        Reap();
      }
    }
    io_uring_queue_exit(&ring_);
    ring_ready_ = false;
  }
  if (buffer_ring_ != nullptr) {
    buffer_ring_->Detach();
    buffer_ring_ = nullptr;
  }
  {
    absl::MutexLock lock(&external_mu_);
    external_closed_ = true;
    external_.clear();
  }
  deferred_.clear();
  current_shard = nullptr;
}

io_uring_sqe* Shard::GetSqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  while (sqe == nullptr) {
    io_uring_submit(&ring_);
    sqe = io_uring_get_sqe(&ring_);
  }
  return sqe;
}

void Shard::Arm(io_uring_sqe* sqe, Completion* completion) {
  io_uring_sqe_set_data(sqe, completion);
  ++ops_in_flight_;
}

void Shard::CancelOp(Completion* completion) {
  io_uring_sqe* sqe = GetSqe();
  io_uring_prep_cancel(sqe, completion, 0);
  io_uring_sqe_set_data64(sqe, kIgnoreTag);
}

void Shard::Defer(Task task) { deferred_.push_back(std::move(task)); }

void Shard::AtStop(Task fn) { at_stop_.push_back(std::move(fn)); }

// ---------------------------------------------------------------------------------------------
// The loop.

void Shard::Loop() {
  while (!exit_) {
    RunDeferred();
    bool busy = DrainInboxes();
    if (buffer_ring_ != nullptr) buffer_ring_->DrainRemoteFrees();
    if (!stopping_ && reactor_->stop_requested()) BeginStop();
    if (stopping_) CheckQuiescent();
    // Requests started after this shard went quiescent (by work other shards sent) still finish.
    if (exit_ && ops_in_flight_ == 0 && deferred_.empty()) {
      io_uring_submit(&ring_);  // wakeups queued for other shards (see Wake)
      break;
    }
    busy = busy || !deferred_.empty();
    if (!busy) {
      // Publish that we are about to sleep, then look once more: a sender either sees the flag
      // (and wakes us) or pushed before our second look (and we see its message).
      sleeping_.store(true, std::memory_order_seq_cst);
      std::atomic_thread_fence(std::memory_order_seq_cst);
      if (HasIncoming()) busy = true;
    }
    if (busy && io_uring_sq_ready(&ring_) == 0 && polls_skipped_ < kPollsSkippedMax) {
      // More work is queued here and nothing waits to be submitted: go round again without a
      // system call. Every few rounds the ring is still asked for completions, so a long chain of
      // deferred tasks cannot hold back I/O (with DEFER_TASKRUN they are posted only on entry).
      ++polls_skipped_;
    } else {
      polls_skipped_ = 0;
      SubmitAndWait(!busy);
    }
    sleeping_.store(false, std::memory_order_relaxed);
    Reap();
  }
}

void Shard::SubmitAndWait(bool wait) {
  int rc;
  if (wait) {
    rc = io_uring_submit_and_wait(&ring_, 1);
  } else if (features_.defer_taskrun) {
    rc = io_uring_submit_and_get_events(&ring_);  // deferred completions run only when asked
  } else {
    rc = io_uring_submit(&ring_);
  }
  // -EINTR (a signal), -EBUSY/-EAGAIN (completion queue backed up: reaping fixes it) are retried
  // by the next loop iteration; nothing else is expected from a well-formed ring.
  (void)rc;
}

void Shard::Reap() {
  // Copy a batch out first so the kernel can post more while callbacks run, and so callbacks that
  // submit (and thereby may flush the queue) never see a half-consumed completion ring.
  constexpr unsigned kBatch = 256;
  struct Cqe {
    uint64_t user_data;
    int32_t res;
    uint32_t flags;
  };
  Cqe batch[kBatch];
  for (int round = 0; round < 4; ++round) {
    unsigned count = 0;
    unsigned head;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      batch[count++] = Cqe{cqe->user_data, cqe->res, cqe->flags};
      if (count == kBatch) break;
    }
    if (count == 0) return;
    io_uring_cq_advance(&ring_, count);
    for (unsigned i = 0; i < count; ++i) {
      const Cqe& c = batch[i];
      if (c.user_data == kIgnoreTag || c.user_data == kWakeTag) continue;
      auto* completion = reinterpret_cast<Completion*>(c.user_data);
      if (completion == wake_reader_.get()) {
        completion->OnComplete(c.res, c.flags);
        continue;
      }
      if ((c.flags & IORING_CQE_F_MORE) == 0) --ops_in_flight_;
      completion->OnComplete(c.res, c.flags);
    }
    if (count < kBatch) return;
  }
}

void Shard::RunDeferred() {
  // Only what was queued before we started: a task that defers another cannot starve the ring.
  size_t n = deferred_.size();
  while (n-- > 0 && !deferred_.empty()) {
    Task task = std::move(deferred_.front());
    deferred_.pop_front();
    task();
  }
}

bool Shard::HasIncoming() const {
  if (has_external_.load(std::memory_order_acquire)) return true;
  if (reactor_->stop_requested() && !stopping_) return true;
  for (uint32_t from = 0; from < reactor_->shard_count(); ++from) {
    if (from != id_ && !reactor_->Queue(from, id_).EmptyApprox()) return true;
  }
  return false;
}

bool Shard::DrainInboxes() {
  bool any = false;
  if (has_external_.load(std::memory_order_acquire)) {
    DrainExternal();
    any = true;
  }
  const uint32_t n = reactor_->shard_count();
  for (uint32_t from = 0; from < n; ++from) {
    if (from == id_) continue;
    SpscQueue<CrossShardMessage>& queue = reactor_->Queue(from, id_);
    // At most one queue's worth per sender per iteration, so I/O completions keep flowing.
    for (size_t i = 0; i < queue.capacity(); ++i) {
      CrossShardMessage* message = queue.Pop();
      if (message == nullptr) break;
      any = true;
      OnMessage(from, message);
    }
  }
  return any;
}

void Shard::DrainExternal() {
  std::deque<absl::AnyInvocable<void(Shard&)>> tasks;
  {
    absl::MutexLock lock(&external_mu_);
    tasks.swap(external_);
    has_external_.store(false, std::memory_order_release);
  }
  for (auto& task : tasks) task(*this);
}

absl::Status Shard::PostExternal(absl::AnyInvocable<void(Shard&)> task) {
  {
    absl::MutexLock lock(&external_mu_);
    if (external_closed_) return absl::CancelledError("shard has exited");
    if (external_.size() >= reactor_->options().external_tasks_max) {
      return absl::ResourceExhaustedError("shard's external task queue is full");
    }
    external_.push_back(std::move(task));
    has_external_.store(true, std::memory_order_release);
  }
  WakeViaEventfd();
  return absl::OkStatus();
}

void Shard::WakeViaEventfd() {
  uint64_t one = 1;
  // A full eventfd counter (EAGAIN) still leaves it readable, which is all a wakeup needs.
  ssize_t rc = write(wake_fd_, &one, sizeof(one));
  (void)rc;
}

void Shard::Wake(Shard& target) {
  std::atomic_thread_fence(std::memory_order_seq_cst);  // pairs with the fence in Loop()
  if (!target.sleeping_.load(std::memory_order_relaxed)) return;
  if (!target.sleeping_.exchange(false, std::memory_order_acq_rel)) return;
  if (features_.msg_ring) {
    // Posts a CQE straight into the target ring; our own CQE for it is ignored.
    io_uring_sqe* sqe = GetSqe();
    io_uring_prep_msg_ring(sqe, target.ring_.ring_fd, 0, kWakeTag, 0);
    io_uring_sqe_set_data64(sqe, kIgnoreTag);
    // Not submitted here: the loop submits it with everything else this round queued, one system
    // call for all, before this shard next waits. The target's flag is already cleared, so later
    // pushes this round add no more wakeups.
  } else {
    target.WakeViaEventfd();
  }
}

// ---------------------------------------------------------------------------------------------
// Cross-shard messages.

absl::Status Shard::SubmitAsync(uint32_t target, AsyncWork work, Task done) {
  assert(Current() == this);
  if (target >= shard_count()) return absl::InvalidArgumentError("no such shard");
  if (stopping_) return absl::CancelledError("shard is stopping");
  auto* message = new CrossShardMessage{id_, target, false, std::move(work), std::move(done)};
  if (target == id_) {
    Defer([this, message] { OnMessage(id_, message); });
    return absl::OkStatus();
  }
  if (outstanding_[target] < reactor_->options().cross_shard_inflight_max &&
      backlog_[target].empty()) {
    ++outstanding_[target];
    bool pushed = PushMessage(target, message);
    assert(pushed);
    (void)pushed;
    return absl::OkStatus();
  }
  if (backlog_total_ >= reactor_->options().cross_shard_backlog_max) {
    delete message;
    return absl::ResourceExhaustedError("cross-shard backlog full");
  }
  backlog_[target].push_back(message);
  ++backlog_total_;
  return absl::OkStatus();
}

bool Shard::PushMessage(uint32_t to, CrossShardMessage* message) {
  if (!reactor_->Queue(id_, to).Push(message)) return false;
  Wake(*reactor_->shards_[to]);
  return true;
}

void Shard::OnMessage(uint32_t from, CrossShardMessage* message) {
  if (message->is_reply) {
    if (from != id_) {
      --outstanding_[from];
      FlushBacklog(from);
    }
    Task done = std::move(message->done);
    delete message;
    if (done) done();
    return;
  }
  AsyncWork work = std::move(message->work);
  Completer completer(message);
  if (work) {
    work(std::move(completer));
  }
}

void Shard::FlushBacklog(uint32_t target) {
  std::deque<CrossShardMessage*>& backlog = backlog_[target];
  while (!backlog.empty() && outstanding_[target] < reactor_->options().cross_shard_inflight_max) {
    CrossShardMessage* message = backlog.front();
    backlog.pop_front();
    --backlog_total_;
    ++outstanding_[target];
    bool pushed = PushMessage(target, message);
    assert(pushed);
    (void)pushed;
  }
}

// ---------------------------------------------------------------------------------------------
// Timers.

absl::StatusOr<TimerId> Shard::Schedule(int64_t after_ms, Task callback) {
  assert(Current() == this);
  if (stopping_) return absl::CancelledError("shard is stopping");
  if (after_ms < 0) after_ms = 0;
  absl::StatusOr<TimerId> id = timers_.Schedule(NowNs() + after_ms * 1'000'000, std::move(callback));
  if (id.ok()) RearmTimer();
  return id;
}

bool Shard::Cancel(TimerId id) {
  // The armed timeout is left alone: it fires early at worst and re-arms for what is next.
  return timers_.Cancel(id);
}

void Shard::RearmTimer() {
  std::optional<int64_t> next = timers_.NextDeadline();
  if (!next.has_value()) return;
  if (armed_timeout_ != nullptr) {
    if (armed_deadline_ns_ <= *next) return;
    // An earlier deadline: retire the armed timeout (its CQE arrives as -ECANCELED).
    io_uring_sqe* sqe = GetSqe();
    io_uring_prep_timeout_remove(sqe, reinterpret_cast<uint64_t>(armed_timeout_), 0);
    io_uring_sqe_set_data64(sqe, kIgnoreTag);
  }
  auto* op = new TimeoutOp(this, *next);
  io_uring_sqe* sqe = GetSqe();
  io_uring_prep_timeout(sqe, op->ts(), 0, IORING_TIMEOUT_ABS);
  Arm(sqe, op);
  armed_timeout_ = op;
  armed_deadline_ns_ = *next;
}

void Shard::OnTimeout(TimeoutOp* op) {
  const bool was_armed = op == armed_timeout_;
  delete op;
  if (!was_armed) return;  // a retired timeout
  armed_timeout_ = nullptr;
  timers_.RunExpired(NowNs());
  RearmTimer();
}

// ---------------------------------------------------------------------------------------------
// Stopping.

void Shard::BeginStop() {
  stopping_ = true;
  std::vector<Task> hooks;
  hooks.swap(at_stop_);
  for (Task& hook : hooks) hook();
  for (auto& [listener, owned] : listeners_) listener->Stop();
  std::vector<Connection*> open;
  open.reserve(connections_.size());
  for (auto& [connection, owned] : connections_) open.push_back(connection);
  for (Connection* connection : open) {
    connection->Abort(absl::CancelledError("reactor stopping"));
  }
  timers_.Clear();
  if (armed_timeout_ != nullptr) {
    io_uring_sqe* sqe = GetSqe();
    io_uring_prep_timeout_remove(sqe, reinterpret_cast<uint64_t>(armed_timeout_), 0);
    io_uring_sqe_set_data64(sqe, kIgnoreTag);
    armed_timeout_ = nullptr;  // its CQE is then just a retired timeout
  }
}

void Shard::CheckQuiescent() {
  if (!quiescent_) {
    bool idle = ops_in_flight_ == 0 && deferred_.empty() && backlog_total_ == 0 &&
                connections_.empty() && listeners_.empty();
    for (uint32_t count : outstanding_) idle = idle && count == 0;
    if (!idle) return;
    quiescent_ = true;
    reactor_->NoteQuiescent();
  }
  // Other shards may still send us requests (theirs are in flight), so we keep serving until all
  // are quiescent; the last one to get there wakes the rest.
  if (reactor_->quiescent_count_.load(std::memory_order_acquire) == reactor_->shard_count()) {
    exit_ = true;
  }
}

// ---------------------------------------------------------------------------------------------
// Connections and listeners.

void Shard::Adopt(std::unique_ptr<Connection> connection) {
  Connection* raw = connection.get();
  connections_.emplace(raw, std::move(connection));
}

void Shard::Forget(Connection* connection) { connections_.erase(connection); }

void Shard::AddListener(std::unique_ptr<Listener> listener) {
  Listener* raw = listener.get();
  listeners_.emplace(raw, std::move(listener));
  if (stopping_) {
    raw->Stop();
  } else {
    raw->Start();
  }
}

void Shard::ForgetListener(Listener* listener) {
  // Deferred: the listener calls this from its own OnComplete.
  Defer([this, listener] { listeners_.erase(listener); });
}

}  // namespace ringbroker::reactor
