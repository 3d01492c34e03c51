// Produce: validates each partition's record batches on the connection's shard, then appends them
// on the shard that owns the partition, handing over a view of the receive buffer (no copy). The
// log patches offsets into those bytes and writes them as they are. acks=all waits for the
// group-committed fdatasync; acks=0 gets no response.
#include <memory>

#include "absl/time/clock.h"

#include "broker/handlers/registry.h"
#include "broker/server/error_mapping.h"
#include "broker/server/topic_partition.h"
#include "protocol/messages/produce.h"
#include "protocol/records/batch_header.h"
#include "protocol/records/legacy_message_set.h"
#include "protocol/records/record_batch.h"

namespace ringbroker::handlers {
namespace {

using PartitionResponse = protocol::ProduceResponse::PartitionProduceResponse;

struct ProduceState {
  RequestPtr ctx;
  Responder responder;
  protocol::ProduceRequest request;
  protocol::ProduceResponse response;
  // Converted legacy message sets: the log writes from these bytes, so they live here.
  std::deque<std::vector<uint8_t>> converted;
  int16_t acks = 1;
  size_t pending = 0;

  void PartitionDone() {
    if (--pending > 0) return;
    if (acks == 0) return responder.None();
    Respond(*ctx, responder, response);
  }
};

// Checks the batches of one partition's records. Returns the bytes to append (the request's own
// bytes, or a converted copy for a legacy message set).
absl::StatusOr<absl::Span<uint8_t>> ValidateRecords(ProduceState& state, absl::Span<uint8_t> records,
                                                    int32_t max_message_bytes, ErrorCode& error) {
  error = ErrorCode::kCorruptMessage;
  if (records.size() < protocol::batch_layout::kLogOverhead + 5) {
    return absl::InvalidArgumentError("records too short");
  }
  const int8_t magic = static_cast<int8_t>(records[protocol::batch_layout::kMagic]);
  if (magic < 2) {
    if (state.ctx->version() >= 3) {
      error = ErrorCode::kUnsupportedForMessageFormat;
      return absl::InvalidArgumentError("produce v3+ must carry v2 batches");
    }
    absl::StatusOr<std::vector<uint8_t>> converted = protocol::ConvertLegacyMessageSet(records);
    if (!converted.ok()) return converted.status();
    state.converted.push_back(*std::move(converted));
    records = absl::Span<uint8_t>(state.converted.back());
  }
  for (size_t pos = 0; pos < records.size();) {
    absl::Span<uint8_t> rest = records.subspan(pos);
    absl::StatusOr<protocol::BatchHeader> header = protocol::ParseBatchHeader(rest);
    if (!header.ok()) return header.status();
    if (header->total_size() > rest.size()) return absl::InvalidArgumentError("batch cut short");
    if (header->total_size() > static_cast<size_t>(max_message_bytes)) {
      error = ErrorCode::kMessageTooLarge;
      return absl::InvalidArgumentError("batch larger than max.message.bytes");
    }
    absl::Span<const uint8_t> batch = rest.subspan(0, header->total_size());
    if (header->compression() == 0) {
      // Uncompressed batches are walked record by record: cheap, and catches lying lengths.
      absl::StatusOr<protocol::BatchSummary> summary = protocol::ValidateBatch(batch);
      if (!summary.ok()) return summary.status();
    } else {
      // Compressed batches are checked by CRC and header without inflating them on the hot path.
      if (absl::Status s = protocol::VerifyBatchCrc(batch); !s.ok()) return s;
      if (header->compression() > 4) return absl::InvalidArgumentError("unknown compression codec");
      if (header->record_count <= 0 || header->last_offset_delta != header->record_count - 1) {
        return absl::InvalidArgumentError("record count and last offset delta disagree");
      }
    }
    pos += header->total_size();
  }
  error = ErrorCode::kNone;
  return records;
}

// What the owner shard did with one partition's batches.
struct AppendOutcome {
  absl::StatusOr<storage::AppendResult> appended = absl::UnknownError("not run");
  ErrorCode rejected = ErrorCode::kNone;  // refused before appending
  int64_t log_append_time_ms = -1;
};

// Compacted topics keep the latest value per key, so a record without a key is refused
// (INVALID_RECORD), as Kafka does. Batches were validated already; compressed ones are inflated.
bool HasNullKey(absl::Span<const uint8_t> records) {
  for (size_t pos = 0; pos < records.size();) {
    absl::StatusOr<protocol::RecordBatchView> batch = protocol::RecordBatchView::Parse(records.subspan(pos));
    if (!batch.ok()) return true;
    pos += batch->header().total_size();
    absl::StatusOr<protocol::DecodedRecords> decoded = batch->Decode(size_t{64} << 20);
    if (!decoded.ok()) return true;
    protocol::RecordReader reader = decoded->reader();
    while (!reader.Done()) {
      absl::StatusOr<protocol::RecordView> record = reader.Next();
      if (!record.ok() || !record->key.has_value()) return true;
    }
  }
  return false;
}

// message.timestamp.type=LogAppendTime: the broker's clock becomes each batch's timestamp. The
// timestamp is covered by the CRC, so the CRC is computed again.
void StampLogAppendTime(absl::Span<uint8_t> records, int64_t now_ms) {
  namespace layout = protocol::batch_layout;
  for (size_t pos = 0; pos < records.size();) {
    uint8_t* batch = records.data() + pos;
    absl::StatusOr<protocol::BatchHeader> header = protocol::ParseBatchHeader(records.subspan(pos));
    if (!header.ok()) return;
    const uint16_t attributes =
        static_cast<uint16_t>(header->attributes | protocol::batch_attributes::kTimestampLogAppendTime);
    batch[layout::kAttributes] = static_cast<uint8_t>(attributes >> 8);
    batch[layout::kAttributes + 1] = static_cast<uint8_t>(attributes);
    protocol::StoreBigEndian64(batch + layout::kMaxTimestamp, static_cast<uint64_t>(now_ms));
    header->attributes = static_cast<int16_t>(attributes);
    const uint32_t crc = protocol::ComputeBatchCrc(*header, records.subspan(pos, header->total_size()));
    protocol::StoreBigEndian32(batch + layout::kCrc, crc);
    pos += header->total_size();
  }
}

}  // namespace

void HandleProduce(RequestPtr ctx, Responder responder) {
  auto state = std::make_shared<ProduceState>();
  state->ctx = std::move(ctx);
  state->responder = std::move(responder);
  RequestContext& c = *state->ctx;
  protocol::wire::Reader r = c.BodyReader();
  if (!state->request.Decode(r, c.version()).ok()) return state->responder.Malformed();
  state->acks = state->request.acks;

  coordination::ClusterSnapshot snapshot = c.broker.metadata->Snapshot();
  const int32_t max_message_bytes = static_cast<int32_t>(c.broker.config->GetLong("message.max.bytes"));
  const uint32_t shard_count = c.broker.shard_count;
  const uint8_t* frame_base = reinterpret_cast<const uint8_t*>(c.frame.data());
  absl::Span<uint8_t> frame_bytes = c.MutableFrameBytes();

  // Lay out the whole response first so that completions can fill it in place.
  struct Work {
    PartitionResponse* out;
    std::string topic;
    int32_t partition;
    absl::Span<uint8_t> records;
  };
  std::vector<Work> work;
  state->response.responses.reserve(state->request.topic_data.size());
  for (const auto& topic : state->request.topic_data) {
    auto& topic_out = state->response.responses.emplace_back();
    topic_out.name = topic.name;
    topic_out.partition_responses.reserve(topic.partition_data.size());
    const coordination::pb::Topic* meta = coordination::FindTopic(*snapshot, std::string(topic.name));
    for (const auto& p : topic.partition_data) {
      auto& out = topic_out.partition_responses.emplace_back();
      out.index = p.index;
      out.base_offset = -1;
      if (state->acks != 0 && state->acks != 1 && state->acks != -1) {
        out.error_code = ToWire(ErrorCode::kInvalidRequiredAcks);
        continue;
      }
      if (meta == nullptr || p.index < 0 || p.index >= meta->partitions_size()) {
        out.error_code = ToWire(ErrorCode::kUnknownTopicOrPartition);
        continue;
      }
      if (!p.records.has_value() || p.records->empty()) {
        out.error_code = ToWire(ErrorCode::kCorruptMessage);
        continue;
      }
      // The records view points into the frame; get a writable view of the same bytes.
      const size_t offset = static_cast<size_t>(p.records->data() - frame_base);
      absl::Span<uint8_t> records = frame_bytes.subspan(offset, p.records->size());
      ErrorCode error = ErrorCode::kNone;
      absl::StatusOr<absl::Span<uint8_t>> valid = ValidateRecords(*state, records, max_message_bytes, error);
      if (!valid.ok()) {
        out.error_code = ToWire(error);
        out.error_message = c.Keep(std::string(valid.status().message()));
        continue;
      }
      work.push_back(Work{&out, std::string(topic.name), p.index, *valid});
    }
  }

  state->pending = work.size() + 1;  // +1: this function's own turn, released below
  for (Work& w : work) {
    const uint32_t owner = server::OwnerShard(w.topic, w.partition, shard_count);
    server::BrokerContext* broker = &c.broker;
    auto outcome = std::make_shared<AppendOutcome>();
    storage::AppendOptions options;
    options.durable = state->acks == -1;
    absl::Status submitted = c.shard.SubmitAsync(
        owner,
        [broker, owner, topic = w.topic, partition = w.partition, records = w.records, options,
         outcome](reactor::Completer completer) mutable {
          absl::StatusOr<server::Partition*> p = broker->shards[owner]->partitions.Get(topic, partition);
          if (!p.ok()) {
            outcome->appended = p.status();
            return;  // the Completer completes on destruction
          }
          server::Partition* partition_ptr = *p;
          if (partition_ptr->compacted && HasNullKey(records)) {
            outcome->rejected = ErrorCode::kInvalidRecord;
            return;
          }
          if (partition_ptr->log_append_time) {
            outcome->log_append_time_ms = absl::ToUnixMillis(absl::Now());
            StampLogAppendTime(records, outcome->log_append_time_ms);
          }
          partition_ptr->log->Append(records, options,
                                     [outcome, partition_ptr, completer = std::move(completer)](
                                         absl::StatusOr<storage::AppendResult> appended) mutable {
                                       // A single replica: what is written is committed.
                                       partition_ptr->log->set_high_watermark(
                                           partition_ptr->log->readable_end_offset());
                                       server::PartitionManager::WakeWaiters(*partition_ptr);
                                       outcome->appended = std::move(appended);
                                       completer.Complete();
                                     });
        },
        [state, out = w.out, outcome] {
          if (outcome->rejected != ErrorCode::kNone) {
            out->error_code = ToWire(outcome->rejected);
          } else if (outcome->appended.ok()) {
            out->base_offset = outcome->appended->base_offset;
            out->log_start_offset = outcome->appended->log_start_offset;
            out->log_append_time_ms = outcome->log_append_time_ms;
          } else {
            out->error_code = ToWire(server::StorageErrorCode(outcome->appended.status()));
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
