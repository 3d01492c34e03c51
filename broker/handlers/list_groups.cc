// ListGroups: asks every shard for the groups of the __consumer_offsets partitions it owns, then
// applies the state (v4+) and type (v5+) filters. Every group here is a classic group.
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "broker/group/group_router.h"
#include "broker/handlers/registry.h"
#include "protocol/messages/list_groups.h"

namespace ringbroker::handlers {
namespace {

struct ListState {
  RequestPtr ctx;
  Responder responder;
  std::vector<std::string> states_filter;
  std::vector<std::string> types_filter;
  ErrorCode error = ErrorCode::kNone;
  std::vector<group::ListedGroup> groups;
  size_t pending = 0;

  static bool Matches(const std::vector<std::string>& filter, std::string_view value) {
    if (filter.empty()) return true;
    for (const std::string& f : filter) {
      if (absl::EqualsIgnoreCase(f, absl::string_view(value.data(), value.size()))) return true;
    }
    return false;
  }

  void Done() {
    if (--pending > 0) return;
    protocol::ListGroupsResponse response;
    response.error_code = ToWire(error);
    for (const group::ListedGroup& g : groups) {
      if (!Matches(states_filter, g.state) || !Matches(types_filter, "classic")) continue;
      auto& out = response.groups.emplace_back();
      out.group_id = g.group_id;
      out.protocol_type = g.protocol_type;
      out.group_state = g.state;
      out.group_type = "classic";
    }
    Respond(*ctx, responder, response);
  }
};

}  // namespace

void HandleListGroups(RequestPtr ctx, Responder responder) {
  protocol::ListGroupsRequest request;
  protocol::wire::Reader r = ctx->BodyReader();
  if (!request.Decode(r, ctx->version()).ok()) return responder.Malformed();
  auto state = std::make_shared<ListState>();
  for (std::string_view s : request.states_filter) state->states_filter.emplace_back(s);
  for (std::string_view t : request.types_filter) state->types_filter.emplace_back(t);
  server::BrokerContext& broker = ctx->broker;
  reactor::Shard& shard = ctx->shard;
  state->ctx = std::move(ctx);
  state->responder = std::move(responder);
  // No __consumer_offsets yet means no groups yet.
  absl::StatusOr<int32_t> partitions = group::OffsetsTopicPartitions(broker, /*create=*/false);
  state->pending = 1;
  if (partitions.ok()) {
    state->pending += broker.shard_count;
    for (uint32_t s = 0; s < broker.shard_count; ++s) {
      const int32_t count = *partitions;
      group::CallCoordinator<group::ListResult>(
          broker, shard, s,
          [count](group::GroupCoordinator& c, group::Reply<group::ListResult> reply) mutable {
            c.ListGroups(count, std::move(reply));
          },
          [state](group::ListResult result) {
            if (result.error != ErrorCode::kNone) state->error = result.error;
            for (group::ListedGroup& g : result.groups) state->groups.push_back(std::move(g));
            state->Done();
          });
    }
  }
  state->Done();
}

}  // namespace ringbroker::handlers
