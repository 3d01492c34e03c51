// Metadata: brokers, controller, cluster id, and topics with their partitions' leaders and
// replicas, asked for by name or (v12+) by topic id. Unknown topics named in the request are
// created when auto.create.topics.enable and the request allows it.
#include "broker/handlers/registry.h"
#include "broker/server/authorized_operations.h"
#include "broker/server/topic_admin_util.h"
#include "broker/server/topics.h"
#include "coordination/metadata_store.h"
#include "protocol/messages/metadata.h"

namespace ringbroker::handlers {
namespace {

void FillTopic(const coordination::pb::Topic& topic, protocol::MetadataResponse::MetadataResponseTopic& out) {
  out.name = topic.name();
  std::copy(topic.topic_id().begin(), topic.topic_id().end(), out.topic_id.bytes.begin());
  out.is_internal = topic.internal();
  for (const auto& p : topic.partitions()) {
    auto& part = out.partitions.emplace_back();
    part.partition_index = p.partition();
    part.leader_id = p.leader();
    part.leader_epoch = p.leader_epoch();
    part.replica_nodes.assign(p.replicas().begin(), p.replicas().end());
    part.isr_nodes.assign(p.isr().begin(), p.isr().end());
  }
}

}  // namespace

void HandleMetadata(RequestPtr ctx, Responder responder) {
  protocol::MetadataRequest request;
  protocol::wire::Reader r = ctx->BodyReader();
  if (!request.Decode(r, ctx->version()).ok()) return responder.Malformed();
  server::BrokerContext& broker = ctx->broker;
  coordination::ClusterSnapshot snapshot = broker.metadata->Snapshot();

  // v0: an empty list means every topic; v1+: null means every topic, empty means none.
  const bool all_topics = !request.topics.has_value() || (ctx->version() == 0 && request.topics->empty());
  if (!all_topics && ctx->version() < 12) {
    // As Kafka: before v12 a topic is asked for by name only.
    for (const auto& t : *request.topics) {
      if (!t.name.has_value() || !t.topic_id.IsZero()) {
        protocol::MetadataResponse refused;
        for (const auto& asked : *request.topics) {
          auto& out = refused.topics.emplace_back();
          out.name = asked.name.value_or("");  // the response's name is not nullable before v12
          out.topic_id = asked.topic_id;
          out.error_code = ToWire(ErrorCode::kInvalidRequest);
        }
        return Respond(*ctx, responder, refused);
      }
    }
  }
  if (!all_topics) {
    const bool may_create = broker.config->GetBool("auto.create.topics.enable") &&
                            (ctx->version() < 4 || request.allow_auto_topic_creation);
    bool created = false;
    for (const auto& t : *request.topics) {
      if (!t.name.has_value()) continue;
      std::string name(*t.name);
      if (coordination::FindTopic(*snapshot, name) == nullptr && may_create &&
          coordination::ValidateTopicName(name).ok()) {
        created |= server::AutoCreateTopic(broker, name).ok();
      }
    }
    if (created) snapshot = broker.metadata->Snapshot();
  }

  protocol::MetadataResponse response;
  for (const auto& b : snapshot->brokers()) {
    auto& out = response.brokers.emplace_back();
    out.node_id = b.id();
    out.host = b.host();
    out.port = b.port();
    if (!b.rack().empty()) out.rack = b.rack();
  }
  response.cluster_id = snapshot->cluster_id();
  response.controller_id = snapshot->controller_id();
  if (all_topics) {
    for (const auto& topic : snapshot->topics()) FillTopic(topic, response.topics.emplace_back());
  } else {
    for (const auto& t : *request.topics) {
      auto& out = response.topics.emplace_back();
      if (!t.name.has_value()) {  // by id (v12+): Kafka answers an unknown one with UNKNOWN_TOPIC_ID
        const coordination::pb::Topic* topic = server::FindTopicById(*snapshot, t.topic_id);
        if (topic == nullptr) {
          out.name.reset();
          out.topic_id = t.topic_id;
          out.error_code = ToWire(ErrorCode::kUnknownTopicId);
          continue;
        }
        FillTopic(*topic, out);
        continue;
      }
      const coordination::pb::Topic* topic = coordination::FindTopic(*snapshot, std::string(*t.name));
      if (topic == nullptr) {
        out.name = t.name;
        out.topic_id = t.topic_id;
        const bool valid = t.name.has_value() && coordination::ValidateTopicName(std::string(*t.name)).ok();
        out.error_code = ToWire(valid ? ErrorCode::kUnknownTopicOrPartition : ErrorCode::kInvalidTopicException);
        continue;
      }
      FillTopic(*topic, out);
    }
  }
  // Asked for, the authorized operations are all a resource supports: there is no authorizer.
  if (request.include_cluster_authorized_operations) response.cluster_authorized_operations = server::kClusterOperations;
  if (request.include_topic_authorized_operations) {
    for (auto& topic : response.topics) topic.topic_authorized_operations = server::kTopicOperations;
  }
  // `snapshot` owns the strings the response views; it lives until the response is encoded here.
  Respond(*ctx, responder, response);
}

}  // namespace ringbroker::handlers
