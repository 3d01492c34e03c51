// DeleteGroups: each empty group's offsets and metadata are tombstoned on the shard that owns it.
#include "broker/group/group_router.h"
#include "broker/handlers/registry.h"
#include "protocol/messages/delete_groups.h"

namespace ringbroker::handlers {
namespace {

struct DeleteState {
  RequestPtr ctx;
  Responder responder;
  std::vector<std::string> group_ids;
  std::vector<ErrorCode> errors;
  size_t pending = 0;

  void Done() {
    if (--pending > 0) return;
    protocol::DeleteGroupsResponse response;
    for (size_t i = 0; i < group_ids.size(); ++i) {
      auto& out = response.results.emplace_back();
      out.group_id = group_ids[i];
      out.error_code = ToWire(errors[i]);
    }
    Respond(*ctx, responder, response);
  }
};

}  // namespace

void HandleDeleteGroups(RequestPtr ctx, Responder responder) {
  protocol::DeleteGroupsRequest request;
  protocol::wire::Reader r = ctx->BodyReader();
  if (!request.Decode(r, ctx->version()).ok()) return responder.Malformed();
  auto state = std::make_shared<DeleteState>();
  server::BrokerContext& broker = ctx->broker;
  reactor::Shard& shard = ctx->shard;
  state->ctx = std::move(ctx);
  state->responder = std::move(responder);
  for (std::string_view g : request.groups_names) state->group_ids.emplace_back(g);
  state->errors.assign(state->group_ids.size(), ErrorCode::kNone);
  state->pending = state->group_ids.size() + 1;
  for (size_t i = 0; i < state->group_ids.size(); ++i) {
    const std::string& group_id = state->group_ids[i];
    absl::StatusOr<group::GroupRoute> route = group::RouteGroup(broker, group_id);
    if (!route.ok()) {
      state->errors[i] = ErrorCode::kCoordinatorNotAvailable;
      state->Done();
      continue;
    }
    const int32_t partition = route->partition;
    group::CallCoordinator<group::ErrorResult>(
        broker, shard, route->shard,
        [partition, group_id](group::GroupCoordinator& c, group::Reply<group::ErrorResult> reply) mutable {
          c.DeleteGroup(partition, std::move(group_id), std::move(reply));
        },
        [state, i](group::ErrorResult result) {
          state->errors[i] = result.error;
          state->Done();
        });
  }
  state->Done();
}

}  // namespace ringbroker::handlers
