// Heartbeat: keeps a member's session alive and tells it when the group is rebalancing.
#include "broker/group/group_router.h"
#include "broker/handlers/registry.h"
#include "protocol/messages/heartbeat.h"

namespace ringbroker::handlers {

void HandleHeartbeat(RequestPtr ctx, Responder responder) {
  protocol::HeartbeatRequest request;
  protocol::wire::Reader r = ctx->BodyReader();
  if (!request.Decode(r, ctx->version()).ok()) return responder.Malformed();
  auto answer = [](RequestContext& c, Responder& out, ErrorCode error) {
    protocol::HeartbeatResponse response;
    response.error_code = ToWire(error);
    Respond(c, out, response);
  };
  absl::StatusOr<group::GroupRoute> route = group::RouteGroup(ctx->broker, request.group_id);
  if (!route.ok()) return answer(*ctx, responder, ErrorCode::kCoordinatorNotAvailable);
  server::BrokerContext& broker = ctx->broker;
  reactor::Shard& shard = ctx->shard;
  const int32_t partition = route->partition;
  group::CallCoordinator<group::ErrorResult>(
      broker, shard, route->shard,
      [partition, group_id = std::string(request.group_id), generation = request.generation_id,
       member_id = std::string(request.member_id), instance_id = group::ToOptional(request.group_instance_id)](
          group::GroupCoordinator& c, group::Reply<group::ErrorResult> reply) mutable {
        c.Heartbeat(partition, std::move(group_id), generation, std::move(member_id), std::move(instance_id),
                    std::move(reply));
      },
      [ctx = std::move(ctx), responder = std::move(responder), answer](group::ErrorResult result) mutable {
        answer(*ctx, responder, result.error);
      });
}

}  // namespace ringbroker::handlers
