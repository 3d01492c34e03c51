// OffsetFetch: one group (v0-7) or several at once (v8+), each answered by the shard that owns
// it. Partitions without a committed offset come back at -1.
#include "broker/group/group_router.h"
#include "broker/handlers/registry.h"
#include "protocol/messages/offset_fetch.h"

namespace ringbroker::handlers {
namespace {

using TopicList = std::vector<std::pair<std::string, std::vector<int32_t>>>;

struct FetchState {
  RequestPtr ctx;
  Responder responder;
  std::vector<std::string> group_ids;
  std::vector<group::FetchResult> results;
  size_t pending = 0;

  void Done() {
    if (--pending > 0) return;
    protocol::OffsetFetchResponse response;
    const int16_t v = ctx->version();
    if (v < 8) {
      const group::FetchResult& result = results[0];
      if (v >= 2) {
        response.error_code = ToWire(result.error);
      }
      for (const group::FetchedOffset& o : result.offsets) {
        if (response.topics.empty() || response.topics.back().name != o.topic) {
          response.topics.emplace_back().name = o.topic;
        }
        auto& p = response.topics.back().partitions.emplace_back();
        p.partition_index = o.partition;
        p.committed_offset = o.offset;
        p.committed_leader_epoch = o.leader_epoch;
        p.metadata = std::string_view(o.metadata);
        // v0-1 have no top-level error: each partition carries it.
        p.error_code = ToWire(v < 2 ? result.error : ErrorCode::kNone);
      }
    } else {
      for (size_t g = 0; g < group_ids.size(); ++g) {
        auto& group_out = response.groups.emplace_back();
        group_out.group_id = group_ids[g];
        group_out.error_code = ToWire(results[g].error);
        for (const group::FetchedOffset& o : results[g].offsets) {
          if (group_out.topics.empty() || group_out.topics.back().name != o.topic) {
            group_out.topics.emplace_back().name = o.topic;
          }
          auto& p = group_out.topics.back().partitions.emplace_back();
          p.partition_index = o.partition;
          p.committed_offset = o.offset;
          p.committed_leader_epoch = o.leader_epoch;
          p.metadata = std::string_view(o.metadata);
        }
      }
    }
    Respond(*ctx, responder, response);
  }
};

}  // namespace

void HandleOffsetFetch(RequestPtr ctx, Responder responder) {
  protocol::OffsetFetchRequest request;
  protocol::wire::Reader r = ctx->BodyReader();
  if (!request.Decode(r, ctx->version()).ok()) return responder.Malformed();
  std::vector<std::pair<std::string, std::optional<TopicList>>> groups;
  if (ctx->version() < 8) {
    std::optional<TopicList> topics;
    if (request.topics) {
      topics.emplace();
      for (const auto& t : *request.topics) topics->emplace_back(std::string(t.name), t.partition_indexes);
    }
    groups.emplace_back(std::string(request.group_id), std::move(topics));
  } else {
    for (const auto& g : request.groups) {
      std::optional<TopicList> topics;
      if (g.topics) {
        topics.emplace();
        for (const auto& t : *g.topics) topics->emplace_back(std::string(t.name), t.partition_indexes);
      }
      groups.emplace_back(std::string(g.group_id), std::move(topics));
    }
  }
  auto state = std::make_shared<FetchState>();
  server::BrokerContext& broker = ctx->broker;
  reactor::Shard& shard = ctx->shard;
  state->ctx = std::move(ctx);
  state->responder = std::move(responder);
  state->results.resize(std::max<size_t>(groups.size(), 1));
  state->pending = groups.size() + 1;
  for (size_t i = 0; i < groups.size(); ++i) {
    state->group_ids.push_back(groups[i].first);
    absl::StatusOr<group::GroupRoute> route = group::RouteGroup(broker, groups[i].first);
    if (!route.ok()) {
      state->results[i].error = ErrorCode::kCoordinatorNotAvailable;
      state->Done();
      continue;
    }
    const int32_t partition = route->partition;
    group::CallCoordinator<group::FetchResult>(
        broker, shard, route->shard,
        [partition, group_id = groups[i].first, topics = std::move(groups[i].second)](
            group::GroupCoordinator& c, group::Reply<group::FetchResult> reply) mutable {
          c.FetchOffsets(partition, std::move(group_id), std::move(topics), std::move(reply));
        },
        [state, i](group::FetchResult result) {
          state->results[i] = std::move(result);
          state->Done();
        });
  }
  state->Done();
}

}  // namespace ringbroker::handlers
