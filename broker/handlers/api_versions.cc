// ApiVersions: every API this broker serves, with the full version range its handler serves.
// (The unsupported-version fallback with a v0 body is answered in net/kafka_connection.cc, before
// any handler, because the request body of an unknown version cannot be decoded.)
#include "broker/handlers/registry.h"
#include "protocol/messages/api_versions.h"

namespace ringbroker::handlers {

void HandleApiVersions(RequestPtr ctx, Responder responder) {
  protocol::ApiVersionsRequest request;
  protocol::wire::Reader r = ctx->BodyReader();
  protocol::ApiVersionsResponse response;
  if (!request.Decode(r, ctx->version()).ok()) {
    response.error_code = ToWire(ErrorCode::kInvalidRequest);
  }
  for (const ApiHandler& api : ServedApis()) {
    auto& entry = response.api_keys.emplace_back();
    entry.api_key = api.api_key;
    entry.min_version = api.min_version;
    entry.max_version = api.max_version;
  }
  Respond(*ctx, responder, response);
}

}  // namespace ringbroker::handlers
