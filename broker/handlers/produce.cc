// Produce: validates each partition's record batches on the connection's shard, then appends them
// on the shard that owns the partition, handing over a view of the receive buffer (no copy). The
// log patches offsets into those bytes and writes them as they are. acks=all waits for the
// group-committed fdatasync; acks=0 gets no response.
#include <memory>

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
    auto result = std::make_shared<absl::StatusOr<storage::AppendResult>>(absl::UnknownError("not run"));
    storage::AppendOptions options;
    options.durable = state->acks == -1;
    absl::Status submitted = c.shard.SubmitAsync(
        owner,
        [broker, owner, topic = w.topic, partition = w.partition, records = w.records, options,
         result](reactor::Completer completer) mutable {
          absl::StatusOr<server::Partition*> p = broker->shards[owner]->partitions.Get(topic, partition);
          if (!p.ok()) {
            *result = p.status();
            return;  // the Completer completes on destruction
          }
          server::Partition* partition_ptr = *p;
          partition_ptr->log->Append(records, options,
                                     [result, partition_ptr, completer = std::move(completer)](
                                         absl::StatusOr<storage::AppendResult> appended) mutable {
                                       // A single replica: what is written is committed.
                                       partition_ptr->log->set_high_watermark(
                                           partition_ptr->log->readable_end_offset());
                                       server::PartitionManager::WakeWaiters(*partition_ptr);
                                       *result = std::move(appended);
                                       completer.Complete();
                                     });
        },
        [state, out = w.out, result] {
          if (result->ok()) {
            out->base_offset = (*result)->base_offset;
            out->log_start_offset = (*result)->log_start_offset;
          } else {
            out->error_code = ToWire(server::StorageErrorCode(result->status()));
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
