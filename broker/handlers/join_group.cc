// JoinGroup: hops to the group's shard, where the coordinator parks the join until the rebalance's
// join phase ends (group/group_coordinator.h). v4+ members without an id first get
// MEMBER_ID_REQUIRED with one (KIP-394); v5+ static members name a group.instance.id.
#include "broker/group/group_router.h"
#include "broker/handlers/registry.h"
#include "protocol/messages/join_group.h"

namespace ringbroker::handlers {

void HandleJoinGroup(RequestPtr ctx, Responder responder) {
  protocol::JoinGroupRequest request;
  protocol::wire::Reader r = ctx->BodyReader();
  if (!request.Decode(r, ctx->version()).ok()) return responder.Malformed();
  group::JoinRequest join;
  join.group_id = std::string(request.group_id);
  join.member_id = std::string(request.member_id);
  join.instance_id = group::ToOptional(request.group_instance_id);
  join.protocol_type = std::string(request.protocol_type);
  for (const auto& p : request.protocols) join.protocols.emplace_back(std::string(p.name), group::ToString(p.metadata));
  join.session_timeout_ms = request.session_timeout_ms;
  // v0 has no rebalance timeout: Kafka uses the session timeout.
  join.rebalance_timeout_ms = ctx->version() >= 1 ? request.rebalance_timeout_ms : request.session_timeout_ms;
  join.client_id = std::string(ctx->header.client_id.value_or(""));
  join.client_host = ctx->client_host;
  join.require_known_member_id = ctx->version() >= 4;

  auto answer = [](RequestContext& c, Responder& out, group::JoinResult result) {
    protocol::JoinGroupResponse response;
    const int16_t v = c.version();
    response.error_code = ToWire(result.error);
    response.generation_id = result.generation;
    if (v >= 7) {
      if (!result.protocol_type.empty()) response.protocol_type = result.protocol_type;
      response.protocol_name = group::ToView(result.protocol_name);
    } else {
      response.protocol_name = result.protocol_name ? std::string_view(*result.protocol_name) : std::string_view();
    }
    response.leader = result.leader;
    response.skip_assignment = result.skip_assignment;
    response.member_id = result.member_id;
    for (const group::MemberInfo& m : result.members) {
      auto& out_member = response.members.emplace_back();
      out_member.member_id = m.member_id;
      out_member.group_instance_id = group::ToView(m.group_instance_id);
      out_member.metadata = group::ToBytes(m.metadata);
    }
    Respond(c, out, response);  // encodes now, while `result` still holds the strings
  };

  absl::StatusOr<group::GroupRoute> route = group::RouteGroup(ctx->broker, join.group_id);
  if (!route.ok()) {
    group::JoinResult failed;
    failed.error = ErrorCode::kCoordinatorNotAvailable;
    failed.member_id = join.member_id;
    return answer(*ctx, responder, std::move(failed));
  }
  server::BrokerContext& broker = ctx->broker;
  reactor::Shard& shard = ctx->shard;
  const int32_t partition = route->partition;
  group::CallCoordinator<group::JoinResult>(
      broker, shard, route->shard,
      [partition, join = std::move(join)](group::GroupCoordinator& c, group::Reply<group::JoinResult> reply) mutable {
        c.JoinGroup(partition, std::move(join), std::move(reply));
      },
      [ctx = std::move(ctx), responder = std::move(responder), answer](group::JoinResult result) mutable {
        answer(*ctx, responder, std::move(result));
      });
}

}  // namespace ringbroker::handlers
