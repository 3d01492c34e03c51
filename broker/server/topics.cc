#include "broker/server/topics.h"

#include <algorithm>

namespace ringbroker::server {

std::optional<coordination::NewTopic> InternalTopicSpec(const BrokerContext& broker, std::string_view topic) {
  if (topic != kConsumerOffsetsTopic) return std::nullopt;
  coordination::NewTopic spec;
  spec.name = std::string(topic);
  spec.partition_count = static_cast<int32_t>(broker.config->GetLong("offsets.topic.num.partitions"));
  const int64_t live = std::max<int64_t>(1, broker.metadata->Snapshot()->brokers_size());
  spec.replication_factor =
      static_cast<int16_t>(std::min<int64_t>(broker.config->GetLong("offsets.topic.replication.factor"), live));
  spec.internal = true;
  spec.configs["cleanup.policy"] = "compact";
  spec.configs["compression.type"] = "producer";
  spec.configs["segment.bytes"] = broker.config->Get("offsets.topic.segment.bytes");
  return spec;
}

absl::Status AutoCreateTopic(BrokerContext& broker, const std::string& topic) {
  coordination::NewTopic spec;
  if (std::optional<coordination::NewTopic> internal = InternalTopicSpec(broker, topic)) {
    spec = std::move(*internal);
  } else {
    spec.name = topic;
    spec.partition_count = static_cast<int32_t>(broker.config->GetLong("num.partitions"));
    spec.replication_factor = static_cast<int16_t>(broker.config->GetLong("default.replication.factor"));
  }
  absl::StatusOr<coordination::pb::Topic> created = broker.metadata->CreateTopic(spec);
  if (!created.ok() && !absl::IsAlreadyExists(created.status())) return created.status();
  return absl::OkStatus();
}

protocol::ErrorCode TopicAdminError(const absl::Status& status) {
  using protocol::ErrorCode;
  switch (status.code()) {
    case absl::StatusCode::kOk: return ErrorCode::kNone;
    case absl::StatusCode::kAlreadyExists: return ErrorCode::kTopicAlreadyExists;
    case absl::StatusCode::kNotFound: return ErrorCode::kUnknownTopicOrPartition;
    case absl::StatusCode::kInvalidArgument: return ErrorCode::kInvalidRequest;
    default: return ErrorCode::kUnknownServerError;
  }
}

}  // namespace ringbroker::server
