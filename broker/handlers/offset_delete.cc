// OffsetDelete: removes committed offsets of a group, except for topics its members are still
// subscribed to (GROUP_SUBSCRIBED_TO_TOPIC).
#include "broker/group/group_router.h"
#include "broker/handlers/registry.h"
#include "protocol/messages/offset_delete.h"

namespace ringbroker::handlers {

void HandleOffsetDelete(RequestPtr ctx, Responder responder) {
  auto request = std::make_shared<protocol::OffsetDeleteRequest>();
  protocol::wire::Reader r = ctx->BodyReader();
  if (!request->Decode(r, ctx->version()).ok()) return responder.Malformed();
  std::vector<group::OffsetKey> offsets;
  for (const auto& t : request->topics) {
    for (const auto& p : t.partitions) offsets.push_back(group::OffsetKey{std::string(t.name), p.partition_index});
  }
  auto answer = [request](RequestContext& c, Responder& out, group::OffsetDeleteResult result) {
    protocol::OffsetDeleteResponse response;
    response.error_code = ToWire(result.error);
    if (result.error == ErrorCode::kNone) {
      size_t i = 0;
      for (const auto& t : request->topics) {
        auto& topic_out = response.topics.emplace_back();
        topic_out.name = t.name;
        for (const auto& p : t.partitions) {
          auto& po = topic_out.partitions.emplace_back();
          po.partition_index = p.partition_index;
          po.error_code = ToWire(i < result.partitions.size() ? result.partitions[i].second : ErrorCode::kNone);
          ++i;
        }
      }
    }
    Respond(c, out, response);
  };
  absl::StatusOr<group::GroupRoute> route = group::RouteGroup(ctx->broker, request->group_id);
  if (!route.ok()) {
    group::OffsetDeleteResult failed;
    failed.error = ErrorCode::kCoordinatorNotAvailable;
    return answer(*ctx, responder, std::move(failed));
  }
  server::BrokerContext& broker = ctx->broker;
  reactor::Shard& shard = ctx->shard;
  const int32_t partition = route->partition;
  group::CallCoordinator<group::OffsetDeleteResult>(
      broker, shard, route->shard,
      [partition, group_id = std::string(request->group_id), offsets = std::move(offsets)](
          group::GroupCoordinator& c, group::Reply<group::OffsetDeleteResult> reply) mutable {
        c.DeleteOffsets(partition, std::move(group_id), std::move(offsets), std::move(reply));
      },
      [ctx = std::move(ctx), responder = std::move(responder), answer](group::OffsetDeleteResult result) mutable {
        answer(*ctx, responder, std::move(result));
      });
}

}  // namespace ringbroker::handlers
