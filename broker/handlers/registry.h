// The Kafka APIs this broker serves: one handler per API key, with the version range the handler
// really serves (ApiVersions advertises exactly these).
#pragma once

#include <cstdint>
#include <span>

#include "broker/handlers/handler.h"

namespace ringbroker::handlers {

struct ApiHandler {
  int16_t api_key;
  int16_t min_version;
  int16_t max_version;
  Handler handle;
};

// nullptr when the key is not served.
const ApiHandler* FindHandler(int16_t api_key);
std::span<const ApiHandler> ServedApis();

// The handlers, each in its own file.
void HandleApiVersions(RequestPtr ctx, Responder responder);
void HandleMetadata(RequestPtr ctx, Responder responder);
void HandleProduce(RequestPtr ctx, Responder responder);
void HandleFetch(RequestPtr ctx, Responder responder);
void HandleListOffsets(RequestPtr ctx, Responder responder);
void HandleCreateTopics(RequestPtr ctx, Responder responder);
void HandleDeleteTopics(RequestPtr ctx, Responder responder);
void HandleCreatePartitions(RequestPtr ctx, Responder responder);
void HandleDescribeConfigs(RequestPtr ctx, Responder responder);
void HandleFindCoordinator(RequestPtr ctx, Responder responder);
void HandleJoinGroup(RequestPtr ctx, Responder responder);
void HandleSyncGroup(RequestPtr ctx, Responder responder);
void HandleHeartbeat(RequestPtr ctx, Responder responder);
void HandleLeaveGroup(RequestPtr ctx, Responder responder);
void HandleOffsetCommit(RequestPtr ctx, Responder responder);
void HandleOffsetFetch(RequestPtr ctx, Responder responder);
void HandleDescribeGroups(RequestPtr ctx, Responder responder);
void HandleListGroups(RequestPtr ctx, Responder responder);
void HandleDeleteGroups(RequestPtr ctx, Responder responder);
void HandleOffsetDelete(RequestPtr ctx, Responder responder);

}  // namespace ringbroker::handlers
