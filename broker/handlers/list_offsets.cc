// ListOffsets: per partition, the log start offset (timestamp -2, and -4 "earliest local" from v8),
// the end a reader may see (-1: the high watermark for consumers, the log end for replicas and
// debug clients), the record with the largest timestamp (-3, from v7), or the first record whose
// timestamp is at least the one asked for. Answers are record-exact: the time index finds the first
// candidate batch, and the batches from there are read and their records inspected (inflating
// compressed ones) until a record qualifies.
//
// Each partition's lookup runs on the shard that owns its log; the reads are the log's and the
// file seam's asynchronous calls, so no shard blocks on disk here.
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "broker/handlers/registry.h"
#include "broker/server/error_mapping.h"
#include "broker/server/topic_partition.h"
#include "protocol/messages/list_offsets.h"
#include "protocol/records/record_batch.h"

namespace ringbroker::handlers {
namespace {

using PartitionResponse = protocol::ListOffsetsResponse::ListOffsetsPartitionResponse;

// Kafka's special timestamps (ListOffsetsRequest.*_TIMESTAMP).
constexpr int64_t kLatestTimestamp = -1;
constexpr int64_t kEarliestTimestamp = -2;
constexpr int64_t kMaxTimestamp = -3;         // v7+
constexpr int64_t kEarliestLocalTimestamp = -4;  // v8+; without tiered storage, the log start
constexpr int32_t kConsumerReplicaId = -1;

// Bytes asked of each log read: small when looking for one record (it is nearly always in the
// first batch the time index names), larger when walking the whole log for its largest timestamp.
constexpr size_t kSearchReadBytes = size_t(64) << 10;
constexpr size_t kScanReadBytes = size_t(1) << 20;
// A read returns its first batch whole even when larger than asked; batches bigger than this are
// refused rather than buffered.
constexpr size_t kReadBytesMax = size_t(128) << 20;
// Bound on one inflated batch.
constexpr size_t kDecodedBytesMax = size_t(64) << 20;

struct Answer {
  int64_t offset = -1;
  int64_t timestamp = -1;
  int32_t leader_epoch = -1;
};
using AnswerCallback = absl::AnyInvocable<void(absl::StatusOr<Answer>)>;

enum class WalkStep { kContinue, kStop };

// Walks the batches of one partition's log from an offset up to (not including) an end offset,
// reading `read_bytes` at a time, and hands each batch to a visitor. Runs on the partition's owning
// shard, and only there.
//
// The Log is looked up again before every read: a topic deleted (or deleted and re-created) while
// the walk waited for I/O ends the walk with NotFound instead of touching a closed log. Steps whose
// I/O completes inline (POSIX files) are looped, not recursed, so a long walk has a flat stack.
class BatchWalk : public std::enable_shared_from_this<BatchWalk> {
 public:
  // The batch view is valid during the call only.
  using Visit = absl::AnyInvocable<absl::StatusOr<WalkStep>(const protocol::RecordBatchView&)>;
  using Done = absl::AnyInvocable<void(absl::Status)>;

  BatchWalk(server::PartitionManager& partitions, server::TopicPartition tp, std::string topic_id, int64_t from,
            int64_t end, size_t read_bytes, Visit visit, Done done)
      : partitions_(partitions),
        tp_(std::move(tp)),
        topic_id_(std::move(topic_id)),
        next_(from),
        end_(end),
        read_bytes_(read_bytes),
        visit_(std::move(visit)),
        done_(std::move(done)) {}

  // Runs steps until one has to wait for I/O; the I/O's completion resumes the loop.
  void Run() {
    if (running_) {
      again_ = true;
      return;
    }
    std::shared_ptr<BatchWalk> self = shared_from_this();
    running_ = true;
    do {
      again_ = false;
      Step();
    } while (again_ && !finished_);
    running_ = false;
  }

 private:
  void Step() {
    absl::StatusOr<server::Partition*> p = partitions_.Get(tp_.topic, tp_.partition);
    if (!p.ok()) return Finish(p.status());
    if ((*p)->topic_id != topic_id_) return Finish(absl::NotFoundError("topic re-created during the lookup"));
    storage::Log& log = *(*p)->log;
    next_ = std::max(next_, log.log_start_offset());  // retention may have moved the start meanwhile
    if (next_ >= end_) return Finish(absl::OkStatus());
    log.Read(next_, read_bytes_, end_,
             [self = shared_from_this()](absl::StatusOr<storage::ReadResult> r) { self->OnRead(std::move(r)); });
  }

  void OnRead(absl::StatusOr<storage::ReadResult> result) {
    if (!result.ok()) return Finish(result.status());
    if (result->slice.size == 0) return Finish(absl::OkStatus());
    if (result->slice.size > kReadBytesMax) {
      return Finish(absl::ResourceExhaustedError("record batch too large to inspect"));
    }
    if (result->next_offset <= next_) return Finish(absl::InternalError("log read made no progress"));
    slice_ = std::move(result->slice);
    after_slice_ = result->next_offset;
    bytes_.resize(slice_.size);
    slice_.file->Read(slice_.position, absl::MakeSpan(bytes_),
                      [self = shared_from_this()](absl::StatusOr<size_t> n) { self->OnBytes(std::move(n)); });
  }

  void OnBytes(absl::StatusOr<size_t> read) {
    if (!read.ok()) return Finish(read.status());
    absl::Span<const uint8_t> rest(bytes_.data(), std::min(*read, bytes_.size()));
    bool visited_any = false;
    while (!rest.empty()) {
      absl::StatusOr<protocol::RecordBatchView> batch = protocol::RecordBatchView::Parse(rest);
      if (!batch.ok()) break;  // a batch cut short by the end of the file: read again from it
      rest.remove_prefix(batch->header().total_size());
      if (batch->header().last_offset() < next_) continue;  // the read starts at the batch holding next_
      visited_any = true;
      absl::StatusOr<WalkStep> step = visit_(*batch);
      if (!step.ok()) return Finish(step.status());
      if (*step == WalkStep::kStop) return Finish(absl::OkStatus());
      next_ = batch->header().last_offset() + 1;
    }
    if (!visited_any) return Finish(absl::DataLossError("log read returned no whole batch"));
    if (rest.empty()) next_ = std::max(next_, after_slice_);
    slice_ = storage::ReadSlice{};
    bytes_.clear();
    Run();
  }

  void Finish(absl::Status status) {
    if (finished_) return;
    finished_ = true;
    slice_ = storage::ReadSlice{};
    bytes_ = {};
    Done done = std::move(done_);
    done(std::move(status));
  }

  server::PartitionManager& partitions_;
  const server::TopicPartition tp_;
  const std::string topic_id_;
  int64_t next_;  // the first offset not yet visited
  const int64_t end_;
  const size_t read_bytes_;
  Visit visit_;
  Done done_;
  storage::ReadSlice slice_;  // keeps the segment file open while its bytes are read
  int64_t after_slice_ = -1;
  std::vector<uint8_t> bytes_;
  bool running_ = false;
  bool again_ = false;
  bool finished_ = false;
};

int32_t EpochOf(const protocol::BatchHeader& h) {
  return h.partition_leader_epoch >= 0 ? h.partition_leader_epoch : -1;
}

// Visits the records of `batch` at or above `min_offset` in order until `match` accepts one; the
// answer names that record. nullopt when none did.
template <typename Match>
absl::StatusOr<std::optional<Answer>> FindRecord(const protocol::RecordBatchView& batch, int64_t min_offset,
                                                 Match match) {
  absl::StatusOr<protocol::DecodedRecords> decoded = batch.Decode(kDecodedBytesMax);
  if (!decoded.ok()) return decoded.status();
  const protocol::BatchHeader& h = batch.header();
  protocol::RecordReader reader = decoded->reader();
  while (!reader.Done()) {
    absl::StatusOr<protocol::RecordView> record = reader.Next();
    if (!record.ok()) return record.status();
    const int64_t offset = h.base_offset + record->offset_delta;
    if (offset < min_offset) continue;
    const int64_t timestamp = protocol::RecordTimestamp(h, *record);
    if (match(timestamp)) return Answer{offset, timestamp, EpochOf(h)};
  }
  return std::nullopt;
}

// Shared by a lookup's steps: the answer so far and the callback that receives it.
struct LookupState {
  server::PartitionManager* partitions;
  server::TopicPartition tp;
  std::string topic_id;
  int64_t end;  // the first offset the client may not see
  std::optional<Answer> answer;
  AnswerCallback done;

  void Finish(absl::Status status) {
    if (!status.ok()) return done(status);
    done(answer.value_or(Answer{}));
  }
};

void StartWalk(const std::shared_ptr<LookupState>& state, int64_t from, size_t read_bytes, BatchWalk::Visit visit,
               BatchWalk::Done done) {
  auto walk = std::make_shared<BatchWalk>(*state->partitions, state->tp, state->topic_id, from, state->end,
                                          read_bytes, std::move(visit), std::move(done));
  walk->Run();
}

// The first record at or after `from` whose timestamp is >= `target`.
void FindFirstAtOrAfter(std::shared_ptr<LookupState> state, int64_t from, int64_t target) {
  StartWalk(
      state, from, kSearchReadBytes,
      [state, from, target](const protocol::RecordBatchView& batch) -> absl::StatusOr<WalkStep> {
        if (batch.header().max_timestamp < target) return WalkStep::kContinue;
        absl::StatusOr<std::optional<Answer>> found =
            FindRecord(batch, from, [target](int64_t ts) { return ts >= target; });
        if (!found.ok()) return found.status();
        if (!found->has_value()) return WalkStep::kContinue;
        state->answer = **found;
        return WalkStep::kStop;
      },
      [state](absl::Status status) { state->Finish(std::move(status)); });
}

// The record with the largest timestamp (the first such, as Kafka): one walk over the batch headers
// finds the batch, a second reads that batch's records.
void FindMaxTimestamp(std::shared_ptr<LookupState> state, int64_t log_start) {
  struct Best {
    int64_t timestamp = -1;
    int64_t base_offset = -1;
  };
  auto best = std::make_shared<Best>();
  StartWalk(
      state, log_start, kScanReadBytes,
      [best](const protocol::RecordBatchView& batch) -> absl::StatusOr<WalkStep> {
        if (batch.header().max_timestamp > best->timestamp) {
          best->timestamp = batch.header().max_timestamp;
          best->base_offset = batch.header().base_offset;
        }
        return WalkStep::kContinue;
      },
      [state, best, log_start](absl::Status status) {
        if (!status.ok() || best->base_offset < 0) return state->Finish(std::move(status));
        const int64_t from = std::max(best->base_offset, log_start);
        const int64_t wanted = best->timestamp;
        StartWalk(
            state, from, kSearchReadBytes,
            [state, from, wanted](const protocol::RecordBatchView& batch) -> absl::StatusOr<WalkStep> {
              absl::StatusOr<std::optional<Answer>> found =
                  FindRecord(batch, from, [wanted](int64_t ts) { return ts == wanted; });
              if (!found.ok()) return found.status();
              if (found->has_value()) state->answer = **found;
              return WalkStep::kStop;  // only the batch the header walk chose
            },
            [state](absl::Status s) { state->Finish(std::move(s)); });
      });
}

// What one partition asks, carried to its owning shard.
struct Query {
  std::string topic;
  int32_t partition = 0;
  int64_t timestamp = 0;
  int16_t version = 0;
  bool consumer = true;       // replica id -1: sees up to the high watermark
  int32_t leader_epoch = -1;  // the partition's current epoch, for earliest and latest
};

// Runs on the owning shard. `done` runs there too, once.
void Lookup(server::PartitionManager& partitions, const Query& q, AnswerCallback done) {
  absl::StatusOr<server::Partition*> p = partitions.Get(q.topic, q.partition);
  if (!p.ok()) return done(p.status());
  storage::Log& log = *(*p)->log;
  // Read-committed readers stop at the last stable offset, which is the high watermark while there
  // are no transactions.
  const int64_t end = q.consumer ? log.high_watermark() : log.readable_end_offset();
  if (q.timestamp == kLatestTimestamp) return done(Answer{end, -1, q.leader_epoch});
  if (q.timestamp == kEarliestTimestamp || (q.timestamp == kEarliestLocalTimestamp && q.version >= 8)) {
    return done(Answer{log.log_start_offset(), -1, q.leader_epoch});
  }
  auto state = std::make_shared<LookupState>(
      LookupState{&partitions, server::TopicPartition{q.topic, q.partition}, (*p)->topic_id, end, std::nullopt,
                  std::move(done)});
  if (q.timestamp == kMaxTimestamp && q.version >= 7) return FindMaxTimestamp(state, log.log_start_offset());
  const int64_t target = q.timestamp;
  log.FindOffsetByTimestamp(
      target, [state, target](absl::StatusOr<std::optional<storage::TimestampLookup>> found) mutable {
        if (!found.ok()) return state->Finish(found.status());
        if (!found->has_value()) return state->Finish(absl::OkStatus());
        FindFirstAtOrAfter(std::move(state), (*found)->offset, target);
      });
}

struct ListOffsetsState {
  RequestPtr ctx;
  Responder responder;
  protocol::ListOffsetsRequest request;
  protocol::ListOffsetsResponse response;
  size_t pending = 0;

  void PartitionDone() {
    if (--pending > 0) return;
    Respond(*ctx, responder, response);
  }
};

// v0 answers with a list of offsets "before" the timestamp; the single offset a later version
// returns is that list's first entry. A search that finds no later record means every record is
// before the timestamp, so the answer is the visible end of the log, as Kafka's v0 puts first.
void FillAnswer(int16_t version, int32_t max_num_offsets, int64_t visible_end, const Answer& a,
                PartitionResponse& out) {
  if (version >= 1) {
    out.offset = a.offset;
    out.timestamp = a.timestamp;
    out.leader_epoch = a.leader_epoch;
    return;
  }
  if (max_num_offsets <= 0) return;
  out.old_style_offsets.push_back(a.offset >= 0 ? a.offset : visible_end);
}

}  // namespace

void HandleListOffsets(RequestPtr ctx, Responder responder) {
  auto state = std::make_shared<ListOffsetsState>();
  state->ctx = std::move(ctx);
  state->responder = std::move(responder);
  RequestContext& c = *state->ctx;
  protocol::wire::Reader r = c.BodyReader();
  if (!state->request.Decode(r, c.version()).ok()) return state->responder.Malformed();
  const int16_t version = c.version();
  const bool consumer = state->request.replica_id == kConsumerReplicaId;
  coordination::ClusterSnapshot snapshot = c.broker.metadata->Snapshot();
  const uint32_t shard_count = c.broker.shard_count;

  // Kafka (v1+) refuses a partition asked for twice in one request.
  std::set<std::pair<std::string_view, int32_t>> seen, duplicated;
  for (const auto& t : state->request.topics) {
    for (const auto& p : t.partitions) {
      if (!seen.insert({t.name, p.partition_index}).second) duplicated.insert({t.name, p.partition_index});
    }
  }

  // Lay out the whole response first so that completions can fill it in place.
  struct Work {
    PartitionResponse* out;
    Query query;
    int32_t max_num_offsets;
  };
  std::vector<Work> work;
  state->response.topics.reserve(state->request.topics.size());
  for (const auto& t : state->request.topics) {
    auto& topic_out = state->response.topics.emplace_back();
    topic_out.name = t.name;  // views the request frame, which ctx keeps
    topic_out.partitions.reserve(t.partitions.size());
    const coordination::pb::Topic* meta = coordination::FindTopic(*snapshot, std::string(t.name));
    for (const auto& p : t.partitions) {
      auto& out = topic_out.partitions.emplace_back();
      out.partition_index = p.partition_index;
      if (version >= 1 && duplicated.contains({t.name, p.partition_index})) {
        out.error_code = ToWire(ErrorCode::kInvalidRequest);
        continue;
      }
      if (meta == nullptr || p.partition_index < 0 || p.partition_index >= meta->partitions_size()) {
        out.error_code = ToWire(ErrorCode::kUnknownTopicOrPartition);
        continue;
      }
      const int32_t epoch = meta->partitions(p.partition_index).leader_epoch();
      if (version >= 4 && p.current_leader_epoch >= 0 && p.current_leader_epoch != epoch) {
        out.error_code =
            ToWire(p.current_leader_epoch < epoch ? ErrorCode::kFencedLeaderEpoch : ErrorCode::kUnknownLeaderEpoch);
        continue;
      }
      work.push_back(Work{&out, Query{std::string(t.name), p.partition_index, p.timestamp, version, consumer, epoch},
                          p.max_num_offsets});
    }
  }

  state->pending = work.size() + 1;  // +1: this function's own turn, released below
  for (Work& w : work) {
    const uint32_t owner = server::OwnerShard(w.query.topic, w.query.partition, shard_count);
    server::BrokerContext* broker = &c.broker;
    struct Result {
      absl::StatusOr<Answer> answer = absl::UnknownError("not run");
      int64_t visible_end = -1;
    };
    auto result = std::make_shared<Result>();
    absl::Status submitted = c.shard.SubmitAsync(
        owner,
        [broker, owner, query = w.query, result](reactor::Completer completer) mutable {
          server::PartitionManager& partitions = broker->shards[owner]->partitions;
          Lookup(partitions, query,
                 [&partitions, query, result, completer = std::move(completer)](absl::StatusOr<Answer> a) mutable {
                   // v0 needs the visible end when a search finds nothing; read it as the answer lands.
                   if (query.version == 0) {
                     absl::StatusOr<server::Partition*> p = partitions.Get(query.topic, query.partition);
                     if (p.ok()) {
                       result->visible_end =
                           query.consumer ? (*p)->log->high_watermark() : (*p)->log->readable_end_offset();
                     }
                   }
                   result->answer = std::move(a);
                   completer.Complete();
                 });
        },
        [state, out = w.out, version, max_num_offsets = w.max_num_offsets, result] {
          if (result->answer.ok()) {
            FillAnswer(version, max_num_offsets, result->visible_end, *result->answer, *out);
          } else {
            out->error_code = ToWire(server::StorageErrorCode(result->answer.status()));
          }
          state->PartitionDone();
        });
    if (!submitted.ok()) {
      w.out->error_code = ToWire(ErrorCode::kRequestTimedOut);
      state->PartitionDone();
    }
  }
  state->PartitionDone();
}

}  // namespace ringbroker::handlers
