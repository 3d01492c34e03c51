// LeaveGroup: one member (v0-2) or a batch of members, dynamic or static (v3+).
#include "broker/group/group_router.h"
#include "broker/handlers/registry.h"
#include "protocol/messages/leave_group.h"

namespace ringbroker::handlers {

void HandleLeaveGroup(RequestPtr ctx, Responder responder) {
  protocol::LeaveGroupRequest request;
  protocol::wire::Reader r = ctx->BodyReader();
  if (!request.Decode(r, ctx->version()).ok()) return responder.Malformed();
  std::vector<group::LeaveMember> members;
  if (ctx->version() < 3) {
    members.push_back(group::LeaveMember{std::string(request.member_id), std::nullopt});
  } else {
    for (const auto& m : request.members) {
      members.push_back(group::LeaveMember{std::string(m.member_id), group::ToOptional(m.group_instance_id)});
    }
  }
  auto answer = [](RequestContext& c, Responder& out, const std::vector<group::LeaveMember>& leaving,
                   group::LeaveResult result) {
    protocol::LeaveGroupResponse response;
    if (c.version() < 3) {
      // One member: its outcome is the request's.
      response.error_code = ToWire(result.error != ErrorCode::kNone ? result.error
                                   : result.members.empty()       ? ErrorCode::kUnknownMemberId
                                                                  : result.members[0]);
    } else {
      response.error_code = ToWire(result.error);
      if (result.error == ErrorCode::kNone) {
        for (size_t i = 0; i < leaving.size(); ++i) {
          auto& m = response.members.emplace_back();
          m.member_id = leaving[i].member_id;
          m.group_instance_id = group::ToView(leaving[i].instance_id);
          m.error_code = ToWire(i < result.members.size() ? result.members[i] : ErrorCode::kUnknownMemberId);
        }
      }
    }
    Respond(c, out, response);
  };
  absl::StatusOr<group::GroupRoute> route = group::RouteGroup(ctx->broker, request.group_id);
  if (!route.ok()) {
    group::LeaveResult failed;
    failed.error = ErrorCode::kCoordinatorNotAvailable;
    return answer(*ctx, responder, members, std::move(failed));
  }
  server::BrokerContext& broker = ctx->broker;
  reactor::Shard& shard = ctx->shard;
  const int32_t partition = route->partition;
  auto leaving = std::make_shared<std::vector<group::LeaveMember>>(members);
  group::CallCoordinator<group::LeaveResult>(
      broker, shard, route->shard,
      [partition, group_id = std::string(request.group_id), members = std::move(members)](
          group::GroupCoordinator& c, group::Reply<group::LeaveResult> reply) mutable {
        c.LeaveGroup(partition, std::move(group_id), std::move(members), std::move(reply));
      },
      [ctx = std::move(ctx), responder = std::move(responder), leaving, answer](group::LeaveResult result) mutable {
        answer(*ctx, responder, *leaving, std::move(result));
      });
}

}  // namespace ringbroker::handlers
