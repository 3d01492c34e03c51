// Topic operations shared by handlers: auto-creation with the broker's defaults and the mapping of
// metadata-store errors to Kafka error codes.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "broker/server/broker_context.h"
#include "protocol/error_codes.h"

namespace ringbroker::server {

// Creates `topic` with num.partitions and default.replication.factor (auto.create.topics.enable).
// OK when it exists already.
absl::Status AutoCreateTopic(BrokerContext& broker, const std::string& topic);

// The single place where coordination/storage statuses become Kafka error codes for topic
// administration.
protocol::ErrorCode TopicAdminError(const absl::Status& status);

}  // namespace ringbroker::server
