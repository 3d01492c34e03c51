// CreateTopics: checks each requested topic as Kafka does (name, partition count, replication
// factor or manual assignment, configs), then creates it in the metadata store unless the request
// only validates. Partition logs are not touched here: each owning shard opens its log on first use.
//
// The metadata store call is a control-path call that may block briefly (the embedded store writes
// its file); admin requests are rare, so it runs inline on the connection's shard.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "broker/handlers/registry.h"
#include "broker/server/topic_admin_util.h"
#include "broker/server/topics.h"
#include "coordination/metadata_store.h"
#include "protocol/messages/create_topics.h"

namespace ringbroker::handlers {
namespace {

using Request = protocol::CreateTopicsRequest;
using Result = protocol::CreateTopicsResponse::CreatableTopicResult;

// What a topic check found wrong: the error code and the message for the client.
struct Rejection {
  ErrorCode code;
  std::string message;
};

// What the request has taken so far: partitions added by the topics accepted before this one, and
// the replicas every broker would then host. Kafka bounds a whole request, not each topic.
struct RequestBudget {
  int64_t partitions = 0;
  server::ReplicasPerBroker hosted;
};

// The request-wide bound and max.broker.partitions for `count` new partitions adding `added`
// replicas per broker. Pure arithmetic on the requested numbers: runs before anything is sized by them.
std::optional<Rejection> CheckLimits(const server::BrokerContext& broker, const RequestBudget& budget, int64_t count,
                                     const server::ReplicasPerBroker& added) {
  if (budget.partitions + count > server::kMaxPartitionsPerRequest) {
    return Rejection{ErrorCode::kPolicyViolation,
                     absl::StrCat(server::kExcessivelyLargeBatch, " A request may add at most ",
                                  server::kMaxPartitionsPerRequest, " partitions; this one asks for ",
                                  budget.partitions + count, ".")};
  }
  if (absl::Status s = server::CheckBrokerPartitionLimit(budget.hosted, added,
                                                         broker.config->GetLong("max.broker.partitions"));
      !s.ok()) {
    return Rejection{ErrorCode::kPolicyViolation, std::string(s.message())};
  }
  return std::nullopt;
}

// Checks one topic and fills `spec` with what to create, and `added` with the replicas it puts on
// each broker. nullopt when it may be created. Checks follow Kafka's controller order; the size
// limits come before anything is allocated from the requested counts.
std::optional<Rejection> Check(const server::BrokerContext& broker, const coordination::pb::ClusterMetadata& metadata,
                               const RequestBudget& budget, const Request::CreatableTopic& topic,
                               coordination::NewTopic& spec, server::ReplicasPerBroker& added) {
  spec.name = std::string(topic.name);
  if (absl::Status valid = coordination::ValidateTopicName(spec.name); !valid.ok()) {
    return Rejection{ErrorCode::kInvalidTopicException, std::string(valid.message())};
  }
  if (coordination::FindTopic(metadata, spec.name) != nullptr) {
    return Rejection{ErrorCode::kTopicAlreadyExists, absl::StrCat("Topic '", spec.name, "' already exists.")};
  }
  const size_t broker_count = static_cast<size_t>(metadata.brokers_size());
  if (!topic.assignments.empty()) {
    if (topic.num_partitions != -1 || topic.replication_factor != -1) {
      return Rejection{ErrorCode::kInvalidRequest,
                       "Both numPartitions or replicationFactor and replicasAssignments were set. "
                       "Both cannot be used at the same time."};
    }
    // The list's length is the partition count: bound it before copying or sorting anything.
    const int64_t count = static_cast<int64_t>(topic.assignments.size());
    if (budget.partitions + count > server::kMaxPartitionsPerRequest) {
      return CheckLimits(broker, budget, count, {});
    }
    // Partitions may be listed in any order but must be exactly 0..n-1.
    std::vector<const Request::CreatableReplicaAssignment*> by_index;
    by_index.reserve(topic.assignments.size());
    for (const auto& a : topic.assignments) by_index.push_back(&a);
    std::sort(by_index.begin(), by_index.end(),
              [](const auto* a, const auto* b) { return a->partition_index < b->partition_index; });
    for (size_t i = 0; i < by_index.size(); ++i) {
      if (by_index[i]->partition_index != static_cast<int32_t>(i)) {
        return Rejection{ErrorCode::kInvalidReplicaAssignment,
                         "Partitions should be a consecutive 0-based integer sequence."};
      }
    }
    // A replica list longer than the cluster has brokers necessarily repeats or names an unknown
    // broker; refuse it here (ValidateReplicaAssignment would say which) rather than copy it.
    for (const auto* a : by_index) {
      if (a->broker_ids.size() > broker_count) {
        return Rejection{ErrorCode::kInvalidReplicaAssignment,
                         absl::StrCat("The manual partition assignment for partition ", a->partition_index, " lists ",
                                      a->broker_ids.size(), " replicas, but only ", broker_count,
                                      " broker(s) are registered.")};
      }
    }
    spec.assignment.reserve(by_index.size());
    for (const auto* a : by_index) spec.assignment.push_back(a->broker_ids);
    if (absl::Status valid = server::ValidateReplicaAssignment(metadata, spec.assignment, -1); !valid.ok()) {
      return Rejection{ErrorCode::kInvalidReplicaAssignment, std::string(valid.message())};
    }
    added = server::AssignedReplicas(metadata, spec.assignment);
    if (std::optional<Rejection> limited = CheckLimits(broker, budget, count, added)) return limited;
    spec.partition_count = static_cast<int32_t>(spec.assignment.size());
    spec.replication_factor = static_cast<int16_t>(spec.assignment.front().size());
  } else {
    // Kafka's order: the replication factor's sign, the partition count's sign, then placement
    // (enough brokers), then the size of the operation.
    if (topic.replication_factor < -1 || topic.replication_factor == 0) {
      return Rejection{ErrorCode::kInvalidReplicationFactor,
                       "Replication factor must be larger than 0, or -1 to use the default value."};
    }
    if (topic.num_partitions < -1 || topic.num_partitions == 0) {
      return Rejection{ErrorCode::kInvalidPartitions,
                       "Number of partitions must be larger than 0, or -1 to use the default value."};
    }
    const int64_t partitions =
        topic.num_partitions == -1 ? broker.config->GetLong("num.partitions") : topic.num_partitions;
    const int64_t replication = topic.replication_factor == -1 ? broker.config->GetLong("default.replication.factor")
                                                               : topic.replication_factor;
    if (static_cast<size_t>(replication) > broker_count) {
      return Rejection{ErrorCode::kInvalidReplicationFactor,
                       absl::StrCat("Replication factor: ", replication, " larger than available brokers: ",
                                    broker_count, ".")};
    }
    added = server::PlacedReplicas(metadata, partitions, replication);
    if (std::optional<Rejection> limited = CheckLimits(broker, budget, partitions, added)) return limited;
    spec.partition_count = static_cast<int32_t>(std::min<int64_t>(partitions, INT32_MAX));
    spec.replication_factor = static_cast<int16_t>(std::min<int64_t>(replication, INT16_MAX));
  }
  for (const auto& c : topic.configs) {
    if (absl::Status valid = server::ValidateTopicConfig(c.name, c.value); !valid.ok()) {
      return Rejection{ErrorCode::kInvalidConfig, std::string(valid.message())};
    }
    spec.configs[std::string(c.name)] = std::string(*c.value);
  }
  return std::nullopt;
}

// v5+: the topic's shape and every config in force, as Kafka returns them on success.
void FillCreated(RequestContext& ctx, const server::BrokerContext& broker, const coordination::NewTopic& spec,
                 Result& out) {
  out.num_partitions = spec.partition_count;
  out.replication_factor = spec.replication_factor;
  auto& configs = out.configs.emplace();
  for (const server::DescribedConfig& c : server::DescribeTopicConfigs(*broker.config, spec.configs)) {
    auto& entry = configs.emplace_back();
    entry.name = c.def->name;  // static storage
    entry.value = c.value ? std::optional<std::string_view>(ctx.Keep(*c.value)) : std::nullopt;
    entry.read_only = false;
    entry.config_source = static_cast<int8_t>(c.source);
    entry.is_sensitive = c.def->sensitive;
  }
}

}  // namespace

void HandleCreateTopics(RequestPtr ctx, Responder responder) {
  Request request;
  protocol::wire::Reader r = ctx->BodyReader();
  if (!request.Decode(r, ctx->version()).ok()) return responder.Malformed();
  server::BrokerContext& broker = ctx->broker;
  const bool validate_only = ctx->version() >= 1 && request.validate_only;

  // A name asked for twice in one request is refused for every occurrence, as Kafka does.
  std::set<std::string_view> seen, duplicated;
  for (const auto& t : request.topics) {
    if (!seen.insert(t.name).second) duplicated.insert(t.name);
  }

  // Names are unique within the request, so one snapshot serves every check; a topic created
  // meanwhile by another client is caught by the store (AlreadyExists).
  coordination::ClusterSnapshot snapshot = broker.metadata->Snapshot();
  RequestBudget budget;
  budget.hosted = server::HostedReplicas(*snapshot);
  protocol::CreateTopicsResponse response;
  response.topics.reserve(request.topics.size());
  for (const auto& topic : request.topics) {
    Result& out = response.topics.emplace_back();
    out.name = topic.name;  // views the request frame, which ctx keeps
    out.error_message = std::nullopt;
    out.configs = std::nullopt;
    auto reject = [&](ErrorCode code, std::string message) {
      out.error_code = ToWire(code);
      out.error_message = ctx->Keep(server::ClientErrorMessage(std::move(message)));
      out.configs.emplace();  // an empty list, not null, as Kafka answers errors
    };
    if (duplicated.contains(topic.name)) {
      reject(ErrorCode::kInvalidRequest, "Duplicate topic name.");
      continue;
    }
    coordination::NewTopic spec;
    server::ReplicasPerBroker added;
    if (std::optional<Rejection> rejected = Check(broker, *snapshot, budget, topic, spec, added)) {
      reject(rejected->code, std::move(rejected->message));
      continue;
    }
    if (!validate_only) {
      absl::StatusOr<coordination::pb::Topic> created = broker.metadata->CreateTopic(spec);
      if (!created.ok()) {
        reject(server::TopicAdminError(created.status()), std::string(created.status().message()));
        continue;
      }
      out.topic_id = server::TopicUuid(*created);
    }
    // Validated or created, the topic counts against the rest of the request, as in Kafka.
    budget.partitions += spec.partition_count;
    for (const auto& [id, more] : added) budget.hosted[id] += more;
    FillCreated(*ctx, broker, spec, out);
  }
  Respond(*ctx, responder, response);
}

}  // namespace ringbroker::handlers
