#include "broker/handlers/registry.h"

#include "protocol/messages/all.h"

namespace ringbroker::handlers {
namespace {

template <typename Request>
constexpr ApiHandler Full(Handler handle) {
  return ApiHandler{Request::kApiKey, Request::kMinVersion, Request::kMaxVersion, handle};
}

// Every handler serves every version the codec covers for its API.
const ApiHandler kHandlers[] = {
    Full<protocol::ProduceRequest>(HandleProduce),
    Full<protocol::FetchRequest>(HandleFetch),
    Full<protocol::ListOffsetsRequest>(HandleListOffsets),
    Full<protocol::MetadataRequest>(HandleMetadata),
    Full<protocol::ApiVersionsRequest>(HandleApiVersions),
    Full<protocol::CreateTopicsRequest>(HandleCreateTopics),
    Full<protocol::DeleteTopicsRequest>(HandleDeleteTopics),
    Full<protocol::DescribeConfigsRequest>(HandleDescribeConfigs),
    Full<protocol::CreatePartitionsRequest>(HandleCreatePartitions),
    Full<protocol::FindCoordinatorRequest>(HandleFindCoordinator),
    Full<protocol::JoinGroupRequest>(HandleJoinGroup),
    Full<protocol::SyncGroupRequest>(HandleSyncGroup),
    Full<protocol::HeartbeatRequest>(HandleHeartbeat),
    Full<protocol::LeaveGroupRequest>(HandleLeaveGroup),
    Full<protocol::OffsetCommitRequest>(HandleOffsetCommit),
    Full<protocol::OffsetFetchRequest>(HandleOffsetFetch),
    Full<protocol::DescribeGroupsRequest>(HandleDescribeGroups),
    Full<protocol::ListGroupsRequest>(HandleListGroups),
    Full<protocol::DeleteGroupsRequest>(HandleDeleteGroups),
    Full<protocol::OffsetDeleteRequest>(HandleOffsetDelete),
};

}  // namespace

const ApiHandler* FindHandler(int16_t api_key) {
  for (const ApiHandler& h : kHandlers) {
    if (h.api_key == api_key) return &h;
  }
  return nullptr;
}

std::span<const ApiHandler> ServedApis() { return kHandlers; }

}  // namespace ringbroker::handlers
