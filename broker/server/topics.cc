#include "broker/server/topics.h"

#include <algorithm>
#include <atomic>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "broker/server/logging.h"
#include "broker/server/topic_admin_util.h"

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
    // max.broker.partitions holds here too, or auto-creation would be a way around it. Internal
    // topics are counted but never refused: consumer groups need __consumer_offsets, and its size
    // is the operator's offsets.topic.num.partitions.
    coordination::ClusterSnapshot snapshot = broker.metadata->Snapshot();
    if (absl::Status limited = CheckBrokerPartitionLimit(
            HostedReplicas(*snapshot), PlacedReplicas(*snapshot, spec.partition_count, spec.replication_factor),
            broker.config->GetLong("max.broker.partitions"));
        !limited.ok()) {
      // Clients retry Metadata for a topic they want every few hundred ms: one line per 10 s.
      static std::atomic<int64_t> last_logged_ms{0};
      const int64_t now_ms = absl::ToUnixMillis(absl::Now());
      int64_t last = last_logged_ms.load(std::memory_order_relaxed);
      if (now_ms - last >= 10000 && last_logged_ms.compare_exchange_strong(last, now_ms)) {
        RB_LOG(WARNING) << "auto-creation of topic '" << topic << "' refused: " << limited.message();
      }
      return absl::ResourceExhaustedError(
          absl::StrCat("Auto-creation of topic '", topic, "' refused: ", limited.message()));
    }
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
    case absl::StatusCode::kResourceExhausted: return ErrorCode::kPolicyViolation;  // max.broker.partitions
    default: return ErrorCode::kUnknownServerError;
  }
}

}  // namespace ringbroker::server
