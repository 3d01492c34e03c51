// The records of the internal topic __consumer_offsets, in Kafka's own formats so that the design
// (and a log copied from a Kafka broker) carries over:
//
//   key version 0/1  OffsetCommitKey    group: string, topic: string, partition: int32
//   key version 2    GroupMetadataKey   group: string
//   value            OffsetCommitValue  version 1 (offset, metadata, commit ts, expire ts) or
//                                       version 3 (offset, leader epoch, metadata, commit ts); we
//                                       write 3, or 1 when a v2-4 commit asked for its own retention
//   value            GroupMetadataValue version 3 (protocol type, generation, protocol, leader,
//                                       state timestamp, members with their subscription and
//                                       assignment); versions 0-2 are read as well
//
// Strings are int16-length prefixed, bytes int32-length prefixed, arrays int32-counted (the
// classic encoding). A record with a null value is a tombstone: the key's entry is deleted (and
// compaction eventually drops it).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "broker/server/topics.h"

namespace ringbroker::group {

inline constexpr std::string_view kOffsetsTopic = server::kConsumerOffsetsTopic;

// The __consumer_offsets partition that holds `group_id`: Kafka's Utils.abs(groupId.hashCode()) %
// partitions, with Java's String.hashCode over the UTF-16 code units of the id.
int32_t JavaStringHashCode(std::string_view utf8);
int32_t PartitionForGroup(std::string_view group_id, int32_t partition_count);

struct OffsetCommitKey {
  std::string group;
  std::string topic;
  int32_t partition = 0;
  bool operator==(const OffsetCommitKey&) const = default;
};

struct GroupMetadataKey {
  std::string group;
  bool operator==(const GroupMetadataKey&) const = default;
};

using RecordKey = std::variant<OffsetCommitKey, GroupMetadataKey>;

struct OffsetCommitValue {
  int64_t offset = -1;
  int32_t leader_epoch = -1;
  std::string metadata;
  int64_t commit_timestamp_ms = -1;
  // Only in value version 1: an explicit expiry asked for by an OffsetCommit v2-4. -1: none.
  int64_t expire_timestamp_ms = -1;
  bool operator==(const OffsetCommitValue&) const = default;
};

struct StoredMember {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  int32_t rebalance_timeout_ms = 0;
  int32_t session_timeout_ms = 0;
  std::string subscription;  // the chosen protocol's metadata, as the member sent it
  std::string assignment;    // what the leader assigned it
  bool operator==(const StoredMember&) const = default;
};

struct GroupMetadataValue {
  std::string protocol_type;
  int32_t generation = 0;
  std::optional<std::string> protocol;
  std::optional<std::string> leader;
  int64_t current_state_timestamp_ms = -1;
  std::vector<StoredMember> members;
  bool operator==(const GroupMetadataValue&) const = default;
};

std::vector<uint8_t> EncodeKey(const RecordKey& key);
std::vector<uint8_t> EncodeOffsetValue(const OffsetCommitValue& value);
std::vector<uint8_t> EncodeGroupValue(const GroupMetadataValue& value);

// InvalidArgument for malformed bytes; Unimplemented for a key version this broker does not know
// (Kafka's newer consumer-protocol records), which loading skips.
absl::StatusOr<RecordKey> DecodeKey(absl::Span<const uint8_t> bytes);
absl::StatusOr<OffsetCommitValue> DecodeOffsetValue(absl::Span<const uint8_t> bytes);
absl::StatusOr<GroupMetadataValue> DecodeGroupValue(absl::Span<const uint8_t> bytes);

// The topics a member of a "consumer" protocol group subscribes to, from its JoinGroup protocol
// metadata (ConsumerProtocolSubscription: version int16, topics []string, ...). Empty when the
// bytes do not parse.
std::vector<std::string> ConsumerSubscriptionTopics(absl::Span<const uint8_t> metadata);

}  // namespace ringbroker::group
