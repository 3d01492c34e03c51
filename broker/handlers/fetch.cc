// Fetch: reads each partition on the shard that owns it, long-polls until min_bytes are available
// or max_wait_ms passes (woken by appends, not by polling), bounds the response by max_bytes and
// per-partition max bytes (the first batch always whole, as Kafka), and keeps incremental fetch
// sessions (KIP-227) on the connection's shard.
#include <sys/mman.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "broker/handlers/registry.h"
#include "broker/server/error_mapping.h"
#include "broker/server/topic_admin_util.h"
#include "broker/server/topic_partition.h"
#include "protocol/messages/fetch.h"

namespace ringbroker::handlers {
namespace {

using FetchResponse = protocol::FetchResponse;

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

// What one partition's read produced, carried back from its owner shard.
struct PartitionRead {
  ErrorCode error = ErrorCode::kNone;
  int64_t high_watermark = -1;
  // The high watermark when the read began: it read nothing past it, however late it completed.
  int64_t read_below = -1;
  int64_t log_start_offset = -1;
  storage::ReadSlice slice;  // whole batches in a segment file, possibly empty
};

// Address tokens standing for record bytes that are spliced from files rather than copied: see
// wire::Writer::DeferBytesWithin. The range is reserved (never readable) so no real buffer can
// fall inside it.
struct TokenRange {
  const uint8_t* base = nullptr;
  size_t size = 0;
};

const TokenRange& RecordTokens() {
  static const TokenRange range = [] {
    TokenRange r;
    r.size = size_t{1} << 31;
    void* p = mmap(nullptr, r.size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
      r.size = 0;
    } else {
      r.base = static_cast<const uint8_t*>(p);
    }
    return r;
  }();
  return range;
}

struct PartitionTarget {
  std::string topic;
  protocol::wire::Uuid topic_id;
  int32_t partition = 0;
  int64_t fetch_offset = 0;
  int32_t max_bytes = 0;
  ErrorCode preset_error = ErrorCode::kNone;  // decided before reading (unknown topic id, ...)
  PartitionRead read;
};

struct FetchState : std::enable_shared_from_this<FetchState> {
  RequestPtr ctx;
  Responder responder;
  protocol::FetchRequest request;
  std::vector<PartitionTarget> targets;
  server::FetchSession* session = nullptr;  // valid on this shard while the request runs
  int32_t session_id = 0;
  bool incremental = false;
  int64_t deadline_ms = 0;
  size_t pending = 0;
  bool responded = false;
  std::shared_ptr<std::atomic<bool>> parked;  // set when the current park ends
  std::optional<reactor::TimerId> timer;

  void ReadAll();
  // The targets to be read (no preset error), grouped by the shard that owns their partition.
  // Worked out on first use and kept: the targets do not change while the fetch lives, and a
  // parked fetch reads again after every append that wakes it.
  using OwnerGroups = std::vector<std::pair<uint32_t, std::vector<PartitionTarget*>>>;
  const OwnerGroups& TargetsByOwner();
  std::optional<OwnerGroups> targets_by_owner;
  void OnReadsDone();
  void Park();
  // Ends the park `fired` belongs to and reads again. Both the append that wakes a park and its
  // timer call it, whichever comes first; the later call finds the park over and does nothing.
  void Wake(const std::shared_ptr<std::atomic<bool>>& fired);
  void Finish();
  void SendSpliced(RequestContext& c, const FetchResponse& response, const TokenRange& tokens);
  // Token offset -> the slice it stands for, while the response is being encoded.
  std::map<size_t, const storage::ReadSlice*> spliced;
};

// Reads one partition on its owner shard. `completer` is shared by the partitions of one owner:
// the fetch hears back once the last of their reads let go of it.
void ReadOne(server::BrokerContext* broker, uint32_t owner, PartitionTarget* target, int32_t bytes_max,
             std::shared_ptr<reactor::Completer> completer) {
  absl::StatusOr<server::Partition*> found = broker->shards[owner]->partitions.Get(target->topic, target->partition);
  PartitionRead& out = target->read;
  if (!found.ok()) {
    out.error = server::StorageErrorCode(found.status());
    return;
  }
  storage::Log& log = *(*found)->log;
  out.high_watermark = log.high_watermark();
  out.read_below = out.high_watermark;
  out.log_start_offset = log.log_start_offset();
  if (target->fetch_offset < log.log_start_offset() || target->fetch_offset > log.log_end_offset()) {
    out.error = ErrorCode::kOffsetOutOfRange;
    return;
  }
  if (target->fetch_offset >= log.high_watermark()) return;  // nothing committed to return yet
  log.Read(target->fetch_offset, static_cast<size_t>(std::max(bytes_max, 1)), log.high_watermark(),
           [&out, completer = std::move(completer)](absl::StatusOr<storage::ReadResult> result) mutable {
             if (!result.ok()) {
               out.error = server::StorageErrorCode(result.status());
               return;
             }
             out.high_watermark = result->high_watermark;
             out.log_start_offset = result->log_start_offset;
             // The slice holds its file open; the connection splices it to the socket.
             out.slice = std::move(result->slice);
           });
}

void FetchState::ReadAll() {
  RequestContext& c = *ctx;
  if (timer) {
    c.shard.Cancel(*timer);
    timer.reset();
  }
  const int32_t max_bytes = c.version() >= 3 ? request.max_bytes : INT32_MAX;
  for (PartitionTarget& t : targets) {
    t.read = PartitionRead{};
    if (t.preset_error != ErrorCode::kNone) t.read.error = t.preset_error;
  }
  // One cross-shard message per owner shard, not per partition: a fetch of 64 partitions that one
  // shard owns costs one submission, and it runs again after every append that wakes it.
  pending = 1;
  server::BrokerContext* broker = &c.broker;
  for (const auto& [owner, group] : TargetsByOwner()) {
    pending++;
    absl::Status s = c.shard.SubmitAsync(
        owner,
        [broker, owner, group, max_bytes](reactor::Completer completer) {
          auto shared = std::make_shared<reactor::Completer>(std::move(completer));
          for (PartitionTarget* target : group) {
            ReadOne(broker, owner, target, std::min(target->max_bytes, max_bytes), shared);
          }
        },
        [self = shared_from_this()] {
          if (--self->pending == 0) self->OnReadsDone();
        });
    if (!s.ok()) {
      for (PartitionTarget* target : group) target->read.error = ErrorCode::kRequestTimedOut;
      pending--;
    }
  }
  if (--pending == 0) OnReadsDone();
}

const FetchState::OwnerGroups& FetchState::TargetsByOwner() {
  if (targets_by_owner) return *targets_by_owner;
  const uint32_t shard_count = ctx->broker.shard_count;
  OwnerGroups& groups = targets_by_owner.emplace();
  for (PartitionTarget& t : targets) {
    if (t.preset_error != ErrorCode::kNone) continue;
    const uint32_t owner = server::OwnerShard(t.topic, t.partition, shard_count);
    auto it = std::find_if(groups.begin(), groups.end(), [owner](const auto& g) { return g.first == owner; });
    if (it == groups.end()) it = groups.insert(groups.end(), {owner, {}});
    it->second.push_back(&t);
  }
  return groups;
}

void FetchState::OnReadsDone() {
  size_t bytes = 0;
  bool error = false;
  for (const PartitionTarget& t : targets) {
    bytes += t.read.slice.size;
    error |= t.read.error != ErrorCode::kNone;
  }
  const int32_t min_bytes = request.min_bytes;
  const bool enough = bytes >= static_cast<size_t>(std::max(min_bytes, 0));
  if (error || enough || NowMs() >= deadline_ms || ctx->shard.stopping() || targets.empty()) {
    return Finish();
  }
  Park();
}

// Waits for an append to any of the partitions, or the deadline, then reads again.
void FetchState::Park() {
  RequestContext& c = *ctx;
  parked = std::make_shared<std::atomic<bool>>(false);
  const uint32_t origin = c.shard.id();
  std::weak_ptr<FetchState> weak = weak_from_this();
  auto wake_here = [weak, fired = parked] {
    // On the fetch's own shard.
    if (std::shared_ptr<FetchState> self = weak.lock()) self->Wake(fired);
  };
  // Runs on the partition's shard; must only hop to the fetch's shard.
  std::function<void()> wake = [origin, wake_here] {
    reactor::Shard* here = reactor::Shard::Current();
    if (here != nullptr) (void)here->SubmitTo(origin, wake_here, [] {});
  };
  server::BrokerContext* broker = &c.broker;
  for (const auto& [owner, group] : TargetsByOwner()) {
    // With each partition, the high watermark the last read saw: an append that completed after
    // that read and before the waiter is added woke nobody, so the waiter must not wait for the
    // next one (at a low rate, or after a producer's last message, it waited fetch.max.wait.ms).
    std::vector<std::tuple<std::string, int32_t, int64_t>> partitions;
    partitions.reserve(group.size());
    for (const PartitionTarget* target : group) {
      partitions.emplace_back(target->topic, target->partition, target->read.read_below);
    }
    (void)c.shard.SubmitTo(
        owner,
        [broker, owner, partitions = std::move(partitions), fired = parked, wake]() {
          for (const auto& [topic, partition, seen_high_watermark] : partitions) {
            absl::StatusOr<server::Partition*> p = broker->shards[owner]->partitions.Get(topic, partition);
            if (!p.ok()) continue;
            if (seen_high_watermark >= 0 && (*p)->log->high_watermark() != seen_high_watermark) {
              if (!fired->exchange(true)) wake();  // moved on since the read: read again now
              return;
            }
            (*p)->AddWaiter(server::AppendWaiter{.fired = fired, .wake = wake});
          }
        },
        [] {});
  }
  const int64_t wait_ms = std::max<int64_t>(deadline_ms - NowMs(), 0);
  // The timer holds the parked fetch alive; waiters on other shards hold only weak references.
  // So it ends the park even when an append has set `fired` first: that append's hop to this
  // shard may still be on its way, and a timer that returned here would destroy the fetch
  // unanswered (its response skipped: the client waits for it, or takes the next one for it).
  absl::StatusOr<reactor::TimerId> timer_id =
      c.shard.Schedule(wait_ms, [self = shared_from_this(), fired = parked] {
        fired->store(true);
        self->timer.reset();
        self->Wake(fired);
      });
  if (!timer_id.ok()) return Finish();
  timer = *timer_id;
}

void FetchState::Wake(const std::shared_ptr<std::atomic<bool>>& fired) {
  if (responded || parked != fired) return;  // this park has ended already
  parked.reset();
  ReadAll();
}

void FetchState::Finish() {
  if (responded) return;
  responded = true;
  if (parked) parked->store(true);
  RequestContext& c = *ctx;
  FetchResponse response;
  response.session_id = session_id;
  const int32_t max_bytes = c.version() >= 3 ? request.max_bytes : INT32_MAX;
  const TokenRange& tokens = RecordTokens();
  size_t total = 0;
  for (PartitionTarget& t : targets) {
    PartitionRead& read = t.read;
    // Over the response's byte budget, later partitions' data is left for the next fetch; the
    // first non-empty partition always goes out whole.
    if (read.slice.size > 0 && total > 0 &&
        (total + read.slice.size > static_cast<size_t>(max_bytes) || total + read.slice.size > tokens.size)) {
      read.slice = storage::ReadSlice{};
    }
    total += read.slice.size;
    if (incremental && session != nullptr) {
      auto& cached = session->partitions[{t.topic, t.partition}];
      const bool news = read.slice.size > 0 || read.error != ErrorCode::kNone ||
                        read.high_watermark != cached.high_watermark ||
                        read.log_start_offset != cached.log_start_offset;
      cached.high_watermark = read.high_watermark;
      cached.log_start_offset = read.log_start_offset;
      if (!news) continue;
    } else if (session != nullptr) {
      auto& cached = session->partitions[{t.topic, t.partition}];
      cached.high_watermark = read.high_watermark;
      cached.log_start_offset = read.log_start_offset;
    }
    if (response.responses.empty() || response.responses.back().topic != t.topic ||
        response.responses.back().topic_id != t.topic_id) {
      auto& topic_out = response.responses.emplace_back();
      topic_out.topic = t.topic;
      topic_out.topic_id = t.topic_id;
    }
    auto& out = response.responses.back().partitions.emplace_back();
    out.partition_index = t.partition;
    out.error_code = ToWire(read.error);
    out.high_watermark = read.high_watermark;
    out.last_stable_offset = read.high_watermark;
    out.log_start_offset = read.log_start_offset;
    out.aborted_transactions.reset();
    if (read.error == ErrorCode::kNone && read.slice.size > 0 && tokens.size > 0) {
      // A token standing for the slice: its offset in the token range is the slice's place in
      // `spliced`, found again after encoding.
      const size_t token_offset = total - read.slice.size;
      out.records = protocol::wire::Bytes(tokens.base + token_offset, read.slice.size);
      spliced.emplace(token_offset, &read.slice);
    } else {
      out.records = protocol::wire::Bytes();
    }
  }
  SendSpliced(c, response, tokens);
}

// Encodes the response around its record data and sends it as pieces: encoded bytes, then each
// partition's records spliced from its segment file, then the bytes after it, and so on.
void FetchState::SendSpliced(RequestContext& c, const FetchResponse& response, const TokenRange& tokens) {
  const int16_t api_key = c.header.request_api_key;
  const int16_t version = c.version();
  const size_t header_size = protocol::ResponseHeaderSize(api_key, version);
  const size_t body_size = response.EncodedSize(version);
  protocol::wire::Writer w;
  w.DeferBytesWithin(tokens.base, tokens.size);
  w.Reserve(4 + header_size + body_size);
  w.Int32(static_cast<int32_t>(header_size + body_size));
  protocol::EncodeResponseHeader(w, c.header.correlation_id, api_key, version);
  response.Encode(w, version);
  std::vector<ResponsePart> parts;
  size_t from = 0;
  auto copy_out = [&](size_t to) {
    if (to <= from) return;
    reactor::Buffer piece = reactor::Buffer::Allocate(to - from);
    std::memcpy(piece.mutable_data(), w.data().data() + from, to - from);
    parts.emplace_back(std::move(piece));
    from = to;
  };
  for (const protocol::wire::Writer::Deferred& d : w.deferred()) {
    copy_out(d.position);
    const storage::ReadSlice& slice = *spliced.at(static_cast<size_t>(d.bytes.data() - tokens.base));
    parts.emplace_back(reactor::FileRange{
        .fd = slice.fd(), .offset = slice.position, .length = slice.size, .keep_alive = slice.file});
  }
  copy_out(w.size());
  responder.Send(std::move(parts));
}

ErrorCode SetUpSession(FetchState& state) {
  server::FetchSessionCache& cache = state.ctx->services.fetch_sessions;
  const protocol::FetchRequest& req = state.request;
  if (state.ctx->version() < 7) return ErrorCode::kNone;
  if (req.session_id == 0) {
    if (req.session_epoch == -1) return ErrorCode::kNone;  // sessionless full fetch
    if (req.session_epoch != 0) return ErrorCode::kInvalidFetchSessionEpoch;
    server::FetchSession& session = cache.Create();
    state.session = &session;
    state.session_id = session.id;
    return ErrorCode::kNone;
  }
  if (req.session_epoch == -1) {  // the client closes its session and fetches in full
    cache.Remove(req.session_id);
    return ErrorCode::kNone;
  }
  server::FetchSession* session = cache.Find(req.session_id);
  if (session == nullptr) return ErrorCode::kFetchSessionIdNotFound;
  if (req.session_epoch != session->epoch) return ErrorCode::kInvalidFetchSessionEpoch;
  session->epoch = session->epoch == INT32_MAX ? 1 : session->epoch + 1;
  state.session = session;
  state.session_id = session->id;
  state.incremental = req.session_epoch > 0;
  return ErrorCode::kNone;
}

}  // namespace

void HandleFetch(RequestPtr ctx, Responder responder) {
  auto state = std::make_shared<FetchState>();
  state->ctx = std::move(ctx);
  state->responder = std::move(responder);
  RequestContext& c = *state->ctx;
  protocol::wire::Reader r = c.BodyReader();
  if (!state->request.Decode(r, c.version()).ok()) return state->responder.Malformed();
  const protocol::FetchRequest& req = state->request;

  if (ErrorCode e = SetUpSession(*state); e != ErrorCode::kNone) {
    FetchResponse response;
    response.error_code = ToWire(e);
    return Respond(c, state->responder, response);
  }

  coordination::ClusterSnapshot snapshot = c.broker.metadata->Snapshot();
  // v13+ names topics by id, earlier versions by name; each target carries both.
  auto resolve = [&](std::string_view name, const protocol::wire::Uuid& id_asked,
                     protocol::wire::Uuid& id) -> std::string {
    if (c.version() < 13) {
      if (const auto* meta = coordination::FindTopic(*snapshot, std::string(name))) id = server::TopicUuid(*meta);
      return std::string(name);
    }
    id = id_asked;
    const coordination::pb::Topic* meta = server::FindTopicById(*snapshot, id_asked);
    return meta == nullptr ? std::string() : meta->name();
  };

  // The partitions this request asks about: the request's own, or, in a session, the session's
  // after applying the request's changes.
  std::vector<PartitionTarget> asked;
  for (const auto& t : req.topics) {
    protocol::wire::Uuid id;
    std::string name = resolve(t.topic, t.topic_id, id);
    for (const auto& p : t.partitions) {
      PartitionTarget target;
      target.topic = name;
      target.topic_id = id;
      target.partition = p.partition;
      target.fetch_offset = p.fetch_offset;
      target.max_bytes = p.partition_max_bytes;
      if (name.empty()) target.preset_error = ErrorCode::kUnknownTopicId;
      asked.push_back(std::move(target));
    }
  }
  if (state->session != nullptr) {
    for (const PartitionTarget& t : asked) {
      auto& cached = state->session->partitions[{t.topic, t.partition}];
      cached.fetch_offset = t.fetch_offset;
      cached.max_bytes = t.max_bytes;
    }
    for (const auto& f : req.forgotten_topics_data) {
      protocol::wire::Uuid id;
      const std::string name = resolve(f.topic, f.topic_id, id);
      for (int32_t p : f.partitions) state->session->partitions.erase({name, p});
    }
    if (state->incremental) {
      asked.clear();
      for (const auto& [key, cached] : state->session->partitions) {
        PartitionTarget target;
        target.topic = key.first;
        target.partition = key.second;
        target.fetch_offset = cached.fetch_offset;
        target.max_bytes = cached.max_bytes;
        if (const auto* meta = coordination::FindTopic(*snapshot, key.first)) {
          target.topic_id = server::TopicUuid(*meta);
        } else {
          target.preset_error = ErrorCode::kUnknownTopicOrPartition;
        }
        asked.push_back(std::move(target));
      }
    }
  }
  for (PartitionTarget& t : asked) {
    const auto* meta = coordination::FindTopic(*snapshot, t.topic);
    if (t.preset_error == ErrorCode::kNone && (meta == nullptr || t.partition < 0 || t.partition >= meta->partitions_size())) {
      t.preset_error = ErrorCode::kUnknownTopicOrPartition;
    }
  }
  state->targets = std::move(asked);
  state->deadline_ms = NowMs() + std::max(req.max_wait_ms, 0);
  state->ReadAll();
}

}  // namespace ringbroker::handlers
