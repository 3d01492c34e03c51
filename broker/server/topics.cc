#include "broker/server/topics.h"

namespace ringbroker::server {

absl::Status AutoCreateTopic(BrokerContext& broker, const std::string& topic) {
  coordination::NewTopic spec;
  spec.name = topic;
  spec.partition_count = static_cast<int32_t>(broker.config->GetLong("num.partitions"));
  spec.replication_factor = static_cast<int16_t>(broker.config->GetLong("default.replication.factor"));
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
