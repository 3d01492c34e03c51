// FindCoordinator: this single broker coordinates every group (it leads every partition of
// __consumer_offsets, created here on first use). Batched keys from v4. Transactions are not
// served yet, so a transactional id finds no coordinator.
#include "broker/group/group_router.h"
#include "broker/handlers/registry.h"
#include "protocol/messages/find_coordinator.h"

namespace ringbroker::handlers {
namespace {

constexpr int8_t kKeyTypeGroup = 0;
constexpr int8_t kKeyTypeTransaction = 1;

struct Answer {
  ErrorCode error = ErrorCode::kNone;
  std::string message;
  int32_t node_id = -1;
  std::string host;
  int32_t port = -1;
};

Answer Lookup(RequestContext& ctx, std::string_view key, int8_t key_type) {
  Answer a;
  if (key_type == kKeyTypeTransaction) {
    a.error = ErrorCode::kCoordinatorNotAvailable;
    a.message = "transactions are not supported by this broker";
    return a;
  }
  if (key_type != kKeyTypeGroup) {
    a.error = ErrorCode::kInvalidRequest;
    a.message = "unknown coordinator key type";
    return a;
  }
  if (key.empty()) {
    a.error = ErrorCode::kInvalidRequest;
    a.message = "empty group id";
    return a;
  }
  absl::StatusOr<group::GroupRoute> route = group::RouteGroup(ctx.broker, key);
  if (!route.ok()) {
    a.error = ErrorCode::kCoordinatorNotAvailable;
    a.message = std::string(route.status().message());
    return a;
  }
  const int32_t self = ctx.broker.config->broker_id();
  a.node_id = self;
  a.host = ctx.broker.config->advertised().host;
  a.port = ctx.broker.config->advertised().port;
  coordination::ClusterSnapshot snapshot = ctx.broker.metadata->Snapshot();
  for (const auto& b : snapshot->brokers()) {
    if (b.id() == self) {
      a.host = b.host();
      a.port = b.port();
    }
  }
  return a;
}

}  // namespace

void HandleFindCoordinator(RequestPtr ctx, Responder responder) {
  protocol::FindCoordinatorRequest request;
  protocol::wire::Reader r = ctx->BodyReader();
  if (!request.Decode(r, ctx->version()).ok()) return responder.Malformed();
  protocol::FindCoordinatorResponse response;
  if (ctx->version() < 4) {
    Answer a = Lookup(*ctx, request.key, request.key_type);
    response.error_code = ToWire(a.error);
    response.error_message = a.error == ErrorCode::kNone ? std::nullopt : std::optional(ctx->Keep(a.message));
    response.node_id = a.node_id;
    response.host = ctx->Keep(a.host);
    response.port = a.port;
  } else {
    for (std::string_view key : request.coordinator_keys) {
      Answer a = Lookup(*ctx, key, request.key_type);
      auto& out = response.coordinators.emplace_back();
      out.key = key;
      out.error_code = ToWire(a.error);
      out.error_message = a.error == ErrorCode::kNone ? std::nullopt : std::optional(ctx->Keep(a.message));
      out.node_id = a.node_id;
      out.host = ctx->Keep(a.host);
      out.port = a.port;
    }
  }
  Respond(*ctx, responder, response);
}

}  // namespace ringbroker::handlers
