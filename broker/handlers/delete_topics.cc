// DeleteTopics: removes topics (by name, or from v6 by id) from the metadata store, then has every
// shard close and delete the logs it holds for them, and answers only after all shards have done
// so: when the client hears back, the data is gone and the name can be created afresh.
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "broker/handlers/registry.h"
#include "broker/server/topic_admin_util.h"
#include "broker/server/topics.h"
#include "coordination/metadata_store.h"
#include "protocol/messages/delete_topics.h"

namespace ringbroker::handlers {
namespace {

using Result = protocol::DeleteTopicsResponse::DeletableTopicResult;

struct DeleteState {
  RequestPtr ctx;
  Responder responder;
  protocol::DeleteTopicsResponse response;
  // Names in `response` may point into this snapshot: it lives as long as the response.
  coordination::ClusterSnapshot before;
  size_t pending = 0;

  void ShardDone() {
    if (--pending > 0) return;
    Respond(*ctx, responder, response);
  }
};

// One topic of the request, named either way.
struct Wanted {
  std::optional<std::string_view> name;
  protocol::wire::Uuid id;
};

}  // namespace

void HandleDeleteTopics(RequestPtr ctx, Responder responder) {
  auto state = std::make_shared<DeleteState>();
  state->ctx = std::move(ctx);
  state->responder = std::move(responder);
  RequestContext& c = *state->ctx;
  protocol::DeleteTopicsRequest request;
  protocol::wire::Reader r = c.BodyReader();
  if (!request.Decode(r, c.version()).ok()) return state->responder.Malformed();
  server::BrokerContext& broker = c.broker;

  std::vector<Wanted> wanted;
  if (c.version() >= 6) {
    for (const auto& t : request.topics) wanted.push_back(Wanted{t.name, t.topic_id});
  } else {
    for (std::string_view name : request.topic_names) wanted.push_back(Wanted{name, {}});
  }

  const bool enabled = broker.config->GetBool("delete.topic.enable");
  state->before = broker.metadata->Snapshot();
  const coordination::pb::ClusterMetadata& before = *state->before;
  std::set<std::string> seen;
  bool deleted_any = false;
  state->response.responses.reserve(wanted.size());
  for (const Wanted& w : wanted) {
    Result& out = state->response.responses.emplace_back();
    out.name = w.name;  // views the request frame, which ctx keeps
    out.topic_id = w.id;
    auto fail = [&](ErrorCode code, std::string message) {
      out.error_code = ToWire(code);
      out.error_message = c.Keep(std::move(message));
    };
    if (!enabled) {
      // Kafka answers versions before 3, which lack this error code, with INVALID_REQUEST.
      fail(c.version() >= 3 ? ErrorCode::kTopicDeletionDisabled : ErrorCode::kInvalidRequest,
           "Topic deletion is disabled.");
      continue;
    }
    if (w.name.has_value() && !w.id.IsZero()) {
      fail(ErrorCode::kInvalidRequest, "Deleting topics using both names and IDs is not supported.");
      continue;
    }
    const coordination::pb::Topic* topic = nullptr;
    if (w.name.has_value()) {
      topic = coordination::FindTopic(before, *w.name);
      if (topic == nullptr) {
        fail(ErrorCode::kUnknownTopicOrPartition, absl::StrCat("Topic '", std::string(*w.name), "' does not exist."));
        continue;
      }
      out.topic_id = server::TopicUuid(*topic);
    } else {
      topic = server::FindTopicById(before, w.id);
      if (topic == nullptr) {
        fail(ErrorCode::kUnknownTopicId, absl::StrCat("Topic id ", w.id.ToString(), " does not exist."));
        continue;
      }
      out.name = topic->name();
    }
    if (!seen.insert(topic->name()).second) {
      fail(ErrorCode::kInvalidRequest, "Duplicate topic name.");
      continue;
    }
    if (absl::Status s = broker.metadata->DeleteTopic(topic->name()); !s.ok()) {
      fail(server::TopicAdminError(s), std::string(s.message()));
      continue;
    }
    deleted_any = true;
  }
  if (!deleted_any) return Respond(c, state->responder, state->response);

  coordination::ClusterSnapshot after = broker.metadata->Snapshot();
  const uint32_t shard_count = broker.shard_count;
  state->pending = shard_count + 1;  // +1: this function's own turn, released below
  server::BrokerContext* broker_ptr = &broker;
  for (uint32_t i = 0; i < shard_count; ++i) {
    absl::Status submitted = c.shard.SubmitTo(
        i, [broker_ptr, i, after] { broker_ptr->shards[i]->partitions.Reconcile(after); },
        [state] { state->ShardDone(); });
    // A shard that cannot take the work now (stopping, or its queue full) deletes the logs at its
    // next reconcile; the topic is gone from the metadata either way.
    if (!submitted.ok()) state->ShardDone();
  }
  state->ShardDone();
}

}  // namespace ringbroker::handlers
