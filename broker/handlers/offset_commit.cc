// OffsetCommit: checks the partitions against the metadata here, then the group's shard checks the
// member and generation and writes the offsets to __consumer_offsets before answering.
#include "broker/group/group_router.h"
#include "broker/handlers/registry.h"
#include "protocol/messages/offset_commit.h"

namespace ringbroker::handlers {

void HandleOffsetCommit(RequestPtr ctx, Responder responder) {
  auto request = std::make_shared<protocol::OffsetCommitRequest>();
  protocol::wire::Reader r = ctx->BodyReader();
  if (!request->Decode(r, ctx->version()).ok()) return responder.Malformed();
  group::CommitRequest commit;
  commit.group_id = std::string(request->group_id);
  commit.generation = request->generation_id_or_member_epoch;
  commit.member_id = std::string(request->member_id);
  commit.instance_id = group::ToOptional(request->group_instance_id);
  if (ctx->version() >= 2 && ctx->version() <= 4) commit.retention_time_ms = request->retention_time_ms;
  coordination::ClusterSnapshot snapshot = ctx->broker.metadata->Snapshot();
  for (const auto& t : request->topics) {
    const coordination::pb::Topic* meta = coordination::FindTopic(*snapshot, t.name);
    for (const auto& p : t.partitions) {
      group::OffsetCommitEntry e;
      e.topic = std::string(t.name);
      e.partition = p.partition_index;
      e.offset = p.committed_offset;
      e.leader_epoch = p.committed_leader_epoch;
      e.metadata = group::ToOptional(p.committed_metadata);
      if (meta == nullptr || p.partition_index < 0 || p.partition_index >= meta->partitions_size()) {
        e.error = ErrorCode::kUnknownTopicOrPartition;
      }
      commit.entries.push_back(std::move(e));
    }
  }
  // The response mirrors the request's topics and partitions, in order.
  auto answer = [request](RequestContext& c, Responder& out, group::CommitResult result) {
    protocol::OffsetCommitResponse response;
    size_t i = 0;
    for (const auto& t : request->topics) {
      auto& topic_out = response.topics.emplace_back();
      topic_out.name = t.name;
      for (const auto& p : t.partitions) {
        auto& po = topic_out.partitions.emplace_back();
        po.partition_index = p.partition_index;
        ErrorCode e = result.error;
        if (e == ErrorCode::kNone && i < result.entries.size()) e = result.entries[i].error;
        po.error_code = ToWire(e);
        ++i;
      }
    }
    Respond(c, out, response);
  };
  absl::StatusOr<group::GroupRoute> route = group::RouteGroup(ctx->broker, commit.group_id);
  if (!route.ok()) {
    group::CommitResult failed;
    failed.error = ErrorCode::kCoordinatorNotAvailable;
    return answer(*ctx, responder, std::move(failed));
  }
  server::BrokerContext& broker = ctx->broker;
  reactor::Shard& shard = ctx->shard;
  const int32_t partition = route->partition;
  group::CallCoordinator<group::CommitResult>(
      broker, shard, route->shard,
      [partition, commit = std::move(commit)](group::GroupCoordinator& c, group::Reply<group::CommitResult> reply) mutable {
        c.CommitOffsets(partition, std::move(commit), std::move(reply));
      },
      [ctx = std::move(ctx), responder = std::move(responder), answer](group::CommitResult result) mutable {
        answer(*ctx, responder, std::move(result));
      });
}

}  // namespace ringbroker::handlers
