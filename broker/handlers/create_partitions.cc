// CreatePartitions: grows topics to a larger partition count, with replicas placed by the store or
// as the request assigns them. The new partitions' logs are opened by their owning shards on first
// use, so nothing else changes here. Like CreateTopics, the store call runs inline (control path).
#include <algorithm>
#include <cstdint>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "broker/handlers/registry.h"
#include "broker/server/topic_admin_util.h"
#include "broker/server/topics.h"
#include "coordination/metadata_store.h"
#include "protocol/messages/create_partitions.h"

namespace ringbroker::handlers {

void HandleCreatePartitions(RequestPtr ctx, Responder responder) {
  protocol::CreatePartitionsRequest request;
  protocol::wire::Reader r = ctx->BodyReader();
  if (!request.Decode(r, ctx->version()).ok()) return responder.Malformed();
  server::BrokerContext& broker = ctx->broker;
  coordination::ClusterSnapshot snapshot = broker.metadata->Snapshot();

  std::set<std::string_view> seen, duplicated;
  for (const auto& t : request.topics) {
    if (!seen.insert(t.name).second) duplicated.insert(t.name);
  }

  // What the topics accepted so far add: the request is bounded as a whole, like Kafka's.
  int64_t request_partitions = 0;
  server::ReplicasPerBroker hosted = server::HostedReplicas(*snapshot);
  const int64_t max_broker_partitions = broker.config->GetLong("max.broker.partitions");

  protocol::CreatePartitionsResponse response;
  response.results.reserve(request.topics.size());
  for (const auto& t : request.topics) {
    auto& out = response.results.emplace_back();
    out.name = t.name;  // views the request frame, which ctx keeps
    auto fail = [&](ErrorCode code, std::string message) {
      out.error_code = ToWire(code);
      out.error_message = ctx->Keep(server::ClientErrorMessage(std::move(message)));
    };
    if (duplicated.contains(t.name)) {
      fail(ErrorCode::kInvalidRequest, "Duplicate topic in request.");
      continue;
    }
    const std::string name(t.name);
    const coordination::pb::Topic* topic = coordination::FindTopic(*snapshot, name);
    if (topic == nullptr) {
      fail(ErrorCode::kUnknownTopicOrPartition, absl::StrCat("The topic '", name, "' does not exist."));
      continue;
    }
    const int32_t current = topic->partitions_size();
    if (t.count < current) {
      fail(ErrorCode::kInvalidPartitions,
           absl::StrCat("Topic currently has ", current, " partitions, which is higher than the requested ", t.count,
                        "."));
      continue;
    }
    if (t.count == current) {
      fail(ErrorCode::kInvalidPartitions, absl::StrCat("Topic already has ", current, " partitions."));
      continue;
    }
    // Every check below is arithmetic on the requested count until the limits have passed: only
    // then is anything sized by it (the copied assignment here, the placement in the store).
    const int32_t added = t.count - current;  // t.count > current >= 0: no overflow
    if (t.assignments.has_value() && t.assignments->size() != static_cast<size_t>(added)) {
      fail(ErrorCode::kInvalidReplicaAssignment,
           absl::StrCat("Increasing the number of partitions by ", added, " but ", t.assignments->size(),
                        " assignments provided."));
      continue;
    }
    // New partitions keep the topic's replication factor.
    const int32_t replication = current > 0 ? topic->partitions(0).replicas_size() : -1;
    if (!t.assignments.has_value() && replication > snapshot->brokers_size()) {
      // The store places replicas itself; it needs as many brokers as the topic has replicas.
      fail(ErrorCode::kInvalidReplicationFactor,
           absl::StrCat("Replication factor: ", replication, " larger than available brokers: ",
                        snapshot->brokers_size(), "."));
      continue;
    }
    // Kafka 3.8's controller refuses more than 10,000 new partition records in one request (its
    // CreatePartitions reports that as UNKNOWN_SERVER_ERROR; CreateTopics as POLICY_VIOLATION, which
    // is what both answer here).
    if (request_partitions + added > server::kMaxPartitionsPerRequest) {
      fail(ErrorCode::kPolicyViolation,
           absl::StrCat(server::kExcessivelyLargeBatch, " A request may add at most ", server::kMaxPartitionsPerRequest,
                        " partitions; this one asks for ", request_partitions + added, "."));
      continue;
    }
    std::vector<std::vector<int32_t>> assignment;
    server::ReplicasPerBroker gained;
    if (t.assignments.has_value()) {
      // A list longer than the topic's replication factor is refused before it is copied.
      bool too_long = false;
      for (const auto& a : *t.assignments) {
        too_long |= replication > 0 && a.broker_ids.size() > static_cast<size_t>(replication);
      }
      if (too_long) {
        fail(ErrorCode::kInvalidReplicaAssignment,
             absl::StrCat("Inconsistent replication factor: the topic has ", replication,
                          " replicas per partition and an assignment lists more."));
        continue;
      }
      assignment.reserve(t.assignments->size());
      for (const auto& a : *t.assignments) assignment.push_back(a.broker_ids);
      if (absl::Status valid = server::ValidateReplicaAssignment(*snapshot, assignment, replication); !valid.ok()) {
        fail(ErrorCode::kInvalidReplicaAssignment, std::string(valid.message()));
        continue;
      }
      gained = server::AssignedReplicas(*snapshot, assignment);
    } else {
      gained = server::PlacedReplicas(*snapshot, added, std::max(replication, 1));
    }
    if (absl::Status s = server::CheckBrokerPartitionLimit(hosted, gained, max_broker_partitions); !s.ok()) {
      fail(ErrorCode::kPolicyViolation, std::string(s.message()));
      continue;
    }
    request_partitions += added;
    for (const auto& [id, more] : gained) hosted[id] += more;
    if (request.validate_only) continue;
    if (absl::Status s = broker.metadata->CreatePartitions(name, t.count, assignment); !s.ok()) {
      // The store's InvalidArgument here is a count that is no longer an increase (a concurrent
      // request) or an assignment it cannot place.
      fail(absl::IsInvalidArgument(s) ? ErrorCode::kInvalidPartitions : server::TopicAdminError(s),
           std::string(s.message()));
      continue;
    }
  }
  Respond(*ctx, responder, response);
}

}  // namespace ringbroker::handlers
