// A classic-protocol consumer group as the coordinator holds it in memory: its members, the
// generation, the chosen protocol, and its committed offsets. The rebalance state machine itself
// lives in GroupCoordinator (it needs timers and the log); this file holds the data and the pure
// decisions (protocol selection, state names) so that they can be tested alone.
//
// Threading: a Group belongs to the shard that owns its __consumer_offsets partition.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "protocol/error_codes.h"

namespace ringbroker::group {

using protocol::ErrorCode;

// Kafka's classic group states, as DescribeGroups and ListGroups name them.
enum class GroupState { kEmpty, kPreparingRebalance, kCompletingRebalance, kStable, kDead };
std::string_view GroupStateName(GroupState state);

// (protocol name, protocol metadata), in the member's order of preference.
using ProtocolList = std::vector<std::pair<std::string, std::string>>;

struct MemberInfo {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string metadata;
};

// What a JoinGroup gets back (also what a parked join is completed with).
struct JoinResult {
  ErrorCode error = ErrorCode::kNone;
  int32_t generation = -1;
  std::string protocol_type;
  std::optional<std::string> protocol_name;
  std::string leader;
  std::string member_id;
  bool skip_assignment = false;
  std::vector<MemberInfo> members;  // only for the leader
};

struct SyncResult {
  ErrorCode error = ErrorCode::kNone;
  std::string protocol_type;
  std::optional<std::string> protocol_name;
  std::string assignment;
};

using JoinCallback = absl::AnyInvocable<void(JoinResult)>;
using SyncCallback = absl::AnyInvocable<void(SyncResult)>;

struct Member {
  std::string id;
  std::optional<std::string> instance_id;
  std::string client_id;
  std::string client_host;
  int32_t session_timeout_ms = 0;
  int32_t rebalance_timeout_ms = 0;
  std::string protocol_type;
  ProtocolList protocols;
  std::string assignment;
  // Parked requests, completed when the rebalance moves on. At most one of each per member: a
  // second join or sync from the same member replaces (and answers) the first.
  JoinCallback awaiting_join;
  SyncCallback awaiting_sync;
  int64_t heartbeat_deadline_ms = 0;
  bool heartbeat_timer_armed = false;
  bool is_new = false;  // joined in this rebalance; expired on the session timeout if it never rejoins

  // The metadata this member sent for `protocol` (empty when it did not list it).
  std::string MetadataFor(std::string_view protocol) const;
  // Answers its parked join and sync, if any, with `error` (the member is fenced, removed, or
  // the coordinator is going away).
  void FailParked(ErrorCode error);
};

struct OffsetKey {
  std::string topic;
  int32_t partition = 0;
  bool operator==(const OffsetKey&) const = default;
  bool operator<(const OffsetKey& o) const { return topic != o.topic ? topic < o.topic : partition < o.partition; }
};

struct CommittedOffset {
  int64_t offset = -1;
  int32_t leader_epoch = -1;
  std::string metadata;
  int64_t commit_timestamp_ms = -1;
  int64_t expire_timestamp_ms = -1;  // -1: the group's retention rule applies
};

struct Group {
  std::string id;
  int32_t partition = 0;  // of __consumer_offsets
  GroupState state = GroupState::kEmpty;
  int64_t state_timestamp_ms = -1;  // when the state last changed
  int32_t generation = 0;
  std::string protocol_type;
  std::optional<std::string> protocol_name;
  std::string leader_id;
  std::map<std::string, Member> members;  // by member id
  absl::flat_hash_map<std::string, std::string> static_members;  // instance id -> member id
  // Member ids handed out with MEMBER_ID_REQUIRED, valid until their deadline.
  absl::flat_hash_map<std::string, int64_t> pending_members;
  std::map<OffsetKey, CommittedOffset> offsets;
  // Bumped whenever a rebalance starts, so that a stale delayed-join timer does nothing.
  uint64_t rebalance_epoch = 0;
  int64_t rebalance_deadline_ms = 0;  // the join phase ends by then at the latest
  bool initial_delay = false;          // the first join phase of an empty group
  bool new_member_added = false;       // a member joined during the current initial delay
  bool sync_store_in_flight = false;   // the leader's assignment is being written

  bool Has(std::string_view member_id) const { return members.contains(std::string(member_id)); }
  bool AllMembersJoined() const;
  // Protocols every member supports; true when `protocols` would keep at least one.
  bool SupportsProtocols(std::string_view type, const ProtocolList& protocols) const;
  // The protocol Kafka would pick: among those every member supports, each member votes for the
  // first of its preference list; most votes wins (ties: the earlier in the leader's list).
  std::optional<std::string> SelectProtocol() const;
  int32_t MaxRebalanceTimeoutMs() const;
};

}  // namespace ringbroker::group
