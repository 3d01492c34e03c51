// Topic operations shared by handlers: auto-creation with the broker's defaults (Kafka's own
// settings for its internal topics) and the mapping of metadata-store errors to Kafka error codes.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "broker/server/broker_context.h"
#include "protocol/error_codes.h"

namespace ringbroker::server {

inline constexpr std::string_view kConsumerOffsetsTopic = "__consumer_offsets";

// How Kafka creates an internal topic (AutoTopicCreationManager): __consumer_offsets with
// offsets.topic.num.partitions, offsets.topic.replication.factor (capped by the live brokers),
// cleanup.policy=compact and offsets.topic.segment.bytes. nullopt for any other name.
std::optional<coordination::NewTopic> InternalTopicSpec(const BrokerContext& broker, std::string_view topic);

// Creates `topic` as auto.create.topics.enable does: an internal topic as InternalTopicSpec says,
// any other with num.partitions and default.replication.factor. OK when it exists already;
// ResourceExhausted (logged, at most once per 10 s) when a non-internal topic would take the broker
// past max.broker.partitions.
absl::Status AutoCreateTopic(BrokerContext& broker, const std::string& topic);

// The single place where coordination/storage statuses become Kafka error codes for topic
// administration.
protocol::ErrorCode TopicAdminError(const absl::Status& status);

}  // namespace ringbroker::server
