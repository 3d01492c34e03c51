// SyncGroup: the leader hands in the assignment, every member gets its share once it is written
// to __consumer_offsets.
#include "broker/group/group_router.h"
#include "broker/handlers/registry.h"
#include "protocol/messages/sync_group.h"

namespace ringbroker::handlers {

void HandleSyncGroup(RequestPtr ctx, Responder responder) {
  protocol::SyncGroupRequest request;
  protocol::wire::Reader r = ctx->BodyReader();
  if (!request.Decode(r, ctx->version()).ok()) return responder.Malformed();
  group::SyncRequest sync;
  sync.group_id = std::string(request.group_id);
  sync.generation = request.generation_id;
  sync.member_id = std::string(request.member_id);
  sync.instance_id = group::ToOptional(request.group_instance_id);
  sync.protocol_type = group::ToOptional(request.protocol_type);
  sync.protocol_name = group::ToOptional(request.protocol_name);
  for (const auto& a : request.assignments) {
    sync.assignments.emplace_back(std::string(a.member_id), group::ToString(a.assignment));
  }
  auto answer = [](RequestContext& c, Responder& out, group::SyncResult result) {
    protocol::SyncGroupResponse response;
    response.error_code = ToWire(result.error);
    if (c.version() >= 5 && result.error == ErrorCode::kNone) {
      response.protocol_type = result.protocol_type;
      response.protocol_name = group::ToView(result.protocol_name);
    }
    response.assignment = group::ToBytes(result.assignment);
    Respond(c, out, response);
  };
  absl::StatusOr<group::GroupRoute> route = group::RouteGroup(ctx->broker, sync.group_id);
  if (!route.ok()) {
    group::SyncResult failed;
    failed.error = ErrorCode::kCoordinatorNotAvailable;
    return answer(*ctx, responder, std::move(failed));
  }
  server::BrokerContext& broker = ctx->broker;
  reactor::Shard& shard = ctx->shard;
  const int32_t partition = route->partition;
  group::CallCoordinator<group::SyncResult>(
      broker, shard, route->shard,
      [partition, sync = std::move(sync)](group::GroupCoordinator& c, group::Reply<group::SyncResult> reply) mutable {
        c.SyncGroup(partition, std::move(sync), std::move(reply));
      },
      [ctx = std::move(ctx), responder = std::move(responder), answer](group::SyncResult result) mutable {
        answer(*ctx, responder, std::move(result));
      });
}

}  // namespace ringbroker::handlers
