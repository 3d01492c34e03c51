// The authorized operations Kafka reports for a resource (Metadata, DescribeGroups,
// DescribeCluster) when no authorizer is configured, as here: every operation the resource type
// supports (Kafka's AuthHelper.authorizedOperations without an authorizer), as a bit field indexed
// by Kafka's AclOperation codes.
#pragma once

#include <cstdint>
#include <initializer_list>

namespace ringbroker::server {

// Kafka's AclOperation codes.
enum class AclOperation : int8_t {
  kRead = 3,
  kWrite = 4,
  kCreate = 5,
  kDelete = 6,
  kAlter = 7,
  kDescribe = 8,
  kClusterAction = 9,
  kDescribeConfigs = 10,
  kAlterConfigs = 11,
  kIdempotentWrite = 12,
};

constexpr int32_t OperationBits(std::initializer_list<AclOperation> ops) {
  int32_t bits = 0;
  for (AclOperation op : ops) bits |= int32_t{1} << static_cast<int>(op);
  return bits;
}

using enum AclOperation;
inline constexpr int32_t kTopicOperations =
    OperationBits({kRead, kWrite, kCreate, kDelete, kAlter, kDescribe, kDescribeConfigs, kAlterConfigs});
inline constexpr int32_t kClusterOperations = OperationBits(
    {kCreate, kAlter, kDescribe, kClusterAction, kDescribeConfigs, kAlterConfigs, kIdempotentWrite});
inline constexpr int32_t kGroupOperations = OperationBits({kRead, kDelete, kDescribe});

}  // namespace ringbroker::server
