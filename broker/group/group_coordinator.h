// GroupCoordinator: the consumer groups (classic rebalance protocol) and committed offsets whose
// __consumer_offsets partition this shard owns. One per shard, in ShardServices.
//
// Every call is made on the owning shard's thread (handlers hop here with SubmitAsync, see
// group_router.h) and every callback runs on it, now or later: a JoinGroup is parked until the
// rebalance's join phase ends, a SyncGroup until the leader's assignment is written. No locks.
//
// Durability: offsets and group metadata are appended to the partition's log (Kafka's record
// formats, offsets_records.h) and take effect in memory only once the append completes. The
// partitions a shard owns are replayed at start-up (LoadOwnedPartitions), and a partition created
// later on its first use; requests arriving during a replay wait for it (bounded; beyond the
// bound they get COORDINATOR_LOAD_IN_PROGRESS).
//
// Timers: heartbeat deadlines (session.timeout.ms), the join phase (group.initial.rebalance.delay.ms
// for an empty group, then up to the members' rebalance.timeout.ms), pending member ids, and the
// periodic offset expiry (offsets.retention.minutes, checked every
// offsets.retention.check.interval.ms).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "broker/group/group.h"
#include "broker/server/broker_context.h"

namespace ringbroker::reactor {
class Shard;
}

namespace ringbroker::group {

// The partition count of __consumer_offsets, creating the topic (compacted, internal) when
// `create` and it does not exist yet. NotFound when it does not exist and !create.
absl::StatusOr<int32_t> OffsetsTopicPartitions(server::BrokerContext& broker, bool create);

struct JoinRequest {
  std::string group_id;
  std::string member_id;
  std::optional<std::string> instance_id;
  std::string protocol_type;
  ProtocolList protocols;
  int32_t session_timeout_ms = 0;
  int32_t rebalance_timeout_ms = 0;
  std::string client_id;
  std::string client_host;
  // v4+: an unknown member first gets MEMBER_ID_REQUIRED with its new id (KIP-394).
  bool require_known_member_id = false;
};

struct SyncRequest {
  std::string group_id;
  int32_t generation = -1;
  std::string member_id;
  std::optional<std::string> instance_id;
  std::optional<std::string> protocol_type;
  std::optional<std::string> protocol_name;
  std::vector<std::pair<std::string, std::string>> assignments;  // member id -> assignment
};

struct LeaveMember {
  std::string member_id;
  std::optional<std::string> instance_id;
};

struct LeaveResult {
  ErrorCode error = ErrorCode::kNone;  // for the whole request
  std::vector<ErrorCode> members;      // per LeaveMember, in order
};

struct OffsetCommitEntry {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = -1;
  int32_t leader_epoch = -1;
  std::optional<std::string> metadata;
  ErrorCode error = ErrorCode::kNone;  // filled in by the coordinator (or pre-set by the handler)
};

struct CommitRequest {
  std::string group_id;
  int32_t generation = -1;
  std::string member_id;
  std::optional<std::string> instance_id;
  int64_t retention_time_ms = -1;  // v2-4; -1 the broker's offsets.retention.minutes
  std::vector<OffsetCommitEntry> entries;
};

struct CommitResult {
  ErrorCode error = ErrorCode::kNone;  // set: applies to every entry
  std::vector<OffsetCommitEntry> entries;
};

struct FetchedOffset {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = -1;
  int32_t leader_epoch = -1;
  std::string metadata;
};

struct FetchResult {
  ErrorCode error = ErrorCode::kNone;
  std::vector<FetchedOffset> offsets;
};

struct DescribedMember {
  std::string member_id;
  std::optional<std::string> instance_id;
  std::string client_id;
  std::string client_host;
  std::string metadata;
  std::string assignment;
};

struct DescribeResult {
  ErrorCode error = ErrorCode::kNone;
  std::string group_id;
  std::string state;
  std::string protocol_type;
  std::string protocol_data;
  std::vector<DescribedMember> members;
};

struct ListedGroup {
  std::string group_id;
  std::string protocol_type;
  std::string state;
};

struct ListResult {
  ErrorCode error = ErrorCode::kNone;
  std::vector<ListedGroup> groups;
};

struct ErrorResult {
  ErrorCode error = ErrorCode::kNone;
};

struct OffsetDeleteResult {
  ErrorCode error = ErrorCode::kNone;
  std::vector<std::pair<OffsetKey, ErrorCode>> partitions;
};

class GroupCoordinator {
 public:
  GroupCoordinator(server::BrokerContext& broker, uint32_t shard_id);
  ~GroupCoordinator();
  GroupCoordinator(const GroupCoordinator&) = delete;
  GroupCoordinator& operator=(const GroupCoordinator&) = delete;

  // `partition` is the group's __consumer_offsets partition (PartitionForGroup), which this shard
  // owns.
  void JoinGroup(int32_t partition, JoinRequest request, JoinCallback done);
  void SyncGroup(int32_t partition, SyncRequest request, SyncCallback done);
  void Heartbeat(int32_t partition, std::string group_id, int32_t generation, std::string member_id,
                 std::optional<std::string> instance_id, absl::AnyInvocable<void(ErrorResult)> done);
  void LeaveGroup(int32_t partition, std::string group_id, std::vector<LeaveMember> members,
                  absl::AnyInvocable<void(LeaveResult)> done);
  void CommitOffsets(int32_t partition, CommitRequest request, absl::AnyInvocable<void(CommitResult)> done);
  // `topics` nullopt: every committed offset of the group. Unknown partitions come back at -1.
  void FetchOffsets(int32_t partition, std::string group_id,
                    std::optional<std::vector<std::pair<std::string, std::vector<int32_t>>>> topics,
                    absl::AnyInvocable<void(FetchResult)> done);
  void DescribeGroup(int32_t partition, std::string group_id, absl::AnyInvocable<void(DescribeResult)> done);
  // Every group of every __consumer_offsets partition this shard owns (loading them first).
  void ListGroups(int32_t partition_count, absl::AnyInvocable<void(ListResult)> done);
  void DeleteGroup(int32_t partition, std::string group_id, absl::AnyInvocable<void(ErrorResult)> done);
  void DeleteOffsets(int32_t partition, std::string group_id, std::vector<OffsetKey> offsets,
                     absl::AnyInvocable<void(OffsetDeleteResult)> done);

  // Replays, in the background, every __consumer_offsets partition this shard owns, as Kafka
  // loads its coordinator partitions when it becomes their leader (here: at start-up). Requests
  // for a group whose partition is still loading wait for it as on any first use.
  void LoadOwnedPartitions();

  // Answers every parked request (the shard is stopping). Later calls are refused.
  void Shutdown();

  size_t group_count() const { return groups_.size(); }

 private:
  struct PartitionLoad;
  using LoadedFn = absl::AnyInvocable<void(ErrorCode)>;

  // Runs `fn` once `partition` is loaded (kNone) or could not be (the error to answer with).
  void WhenLoaded(int32_t partition, LoadedFn fn);
  void StartLoad(int32_t partition);
  void ReadMore(int32_t partition, int64_t offset);
  void ApplyRecords(int32_t partition, absl::Span<const uint8_t> batches);
  void FinishLoad(int32_t partition, ErrorCode error);

  Group* Find(const std::string& group_id);
  Group& GetOrCreate(int32_t partition, const std::string& group_id);
  void RemoveGroup(const std::string& group_id);

  // The state machine (Kafka's GroupCoordinator, classic protocol).
  void DoJoin(Group& group, JoinRequest request, JoinCallback done);
  void AddMemberAndRebalance(Group& group, JoinRequest& request, std::string member_id, JoinCallback done);
  void UpdateMemberAndRebalance(Group& group, Member& member, JoinRequest& request, JoinCallback done);
  void PrepareRebalance(Group& group);
  void MaybeCompleteJoin(Group& group);
  void CompleteJoin(Group& group);
  void ScheduleJoinTimer(Group& group, int64_t after_ms);
  void RemoveMember(Group& group, const std::string& member_id);
  void SetState(Group& group, GroupState state);
  JoinResult CurrentJoinResult(const Group& group, const Member& member, bool with_members) const;
  void ResetSyncWaiters(Group& group, ErrorCode error);
  void TouchHeartbeat(Group& group, Member& member);
  void ArmHeartbeatTimer(const std::string& group_id, Member& member);
  void OnHeartbeatTimer(const std::string& group_id, const std::string& member_id);
  void SchedulePendingExpiry(const std::string& group_id, const std::string& member_id, int64_t after_ms);

  // Persistence. `done` gets kNone once the records are in the log.
  using StoreFn = absl::AnyInvocable<void(ErrorCode)>;
  struct Record {
    std::vector<uint8_t> key;
    std::optional<std::vector<uint8_t>> value;  // nullopt: tombstone
  };
  void Append(int32_t partition, std::vector<Record> records, StoreFn done);
  Record GroupRecord(const Group& group) const;
  static Record GroupTombstone(const std::string& group_id);
  static Record OffsetRecord(const std::string& group_id, const OffsetKey& key, const CommittedOffset* value);

  void ScheduleExpiry();
  void ExpireOffsets();

  int64_t NowMs() const;
  std::string NewMemberId(std::string_view client_id);
  reactor::Shard* shard() const;

  server::BrokerContext& broker_;
  const uint32_t shard_id_;
  absl::flat_hash_map<int32_t, std::unique_ptr<PartitionLoad>> partitions_;
  absl::flat_hash_map<std::string, std::unique_ptr<Group>> groups_;
  uint64_t member_counter_ = 0;
  bool expiry_scheduled_ = false;
  bool at_stop_registered_ = false;
  bool shut_down_ = false;
};

}  // namespace ringbroker::group
