// DescribeGroups: each group answered by the shard that owns it; an unknown group is "Dead".
#include "broker/group/group_router.h"
#include "broker/handlers/registry.h"
#include "broker/server/authorized_operations.h"
#include "protocol/messages/describe_groups.h"

namespace ringbroker::handlers {
namespace {

struct DescribeState {
  RequestPtr ctx;
  Responder responder;
  std::vector<group::DescribeResult> results;
  bool include_authorized_operations = false;
  size_t pending = 0;

  void Done() {
    if (--pending > 0) return;
    protocol::DescribeGroupsResponse response;
    for (const group::DescribeResult& g : results) {
      auto& out = response.groups.emplace_back();
      out.error_code = ToWire(g.error);
      out.group_id = g.group_id;
      out.group_state = g.state;
      out.protocol_type = g.protocol_type;
      out.protocol_data = g.protocol_data;
      // No authorizer: a group's operations are all a group supports.
      if (include_authorized_operations) out.authorized_operations = server::kGroupOperations;
      for (const group::DescribedMember& m : g.members) {
        auto& mo = out.members.emplace_back();
        mo.member_id = m.member_id;
        mo.group_instance_id = group::ToView(m.instance_id);
        mo.client_id = m.client_id;
        mo.client_host = m.client_host;
        mo.member_metadata = group::ToBytes(m.metadata);
        mo.member_assignment = group::ToBytes(m.assignment);
      }
    }
    Respond(*ctx, responder, response);
  }
};

}  // namespace

void HandleDescribeGroups(RequestPtr ctx, Responder responder) {
  protocol::DescribeGroupsRequest request;
  protocol::wire::Reader r = ctx->BodyReader();
  if (!request.Decode(r, ctx->version()).ok()) return responder.Malformed();
  auto state = std::make_shared<DescribeState>();
  server::BrokerContext& broker = ctx->broker;
  reactor::Shard& shard = ctx->shard;
  state->ctx = std::move(ctx);
  state->responder = std::move(responder);
  state->include_authorized_operations = request.include_authorized_operations;
  state->results.resize(request.groups.size());
  state->pending = request.groups.size() + 1;
  for (size_t i = 0; i < request.groups.size(); ++i) {
    std::string group_id(request.groups[i]);
    state->results[i].group_id = group_id;
    absl::StatusOr<group::GroupRoute> route = group::RouteGroup(broker, group_id);
    if (!route.ok()) {
      state->results[i].error = ErrorCode::kCoordinatorNotAvailable;
      state->Done();
      continue;
    }
    const int32_t partition = route->partition;
    group::CallCoordinator<group::DescribeResult>(
        broker, shard, route->shard,
        [partition, group_id](group::GroupCoordinator& c, group::Reply<group::DescribeResult> reply) mutable {
          c.DescribeGroup(partition, std::move(group_id), std::move(reply));
        },
        [state, i, group_id](group::DescribeResult result) {
          if (result.group_id.empty()) result.group_id = group_id;
          state->results[i] = std::move(result);
          state->Done();
        });
  }
  state->Done();
}

}  // namespace ringbroker::handlers
