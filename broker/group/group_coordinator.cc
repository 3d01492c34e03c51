#include "broker/group/group_coordinator.h"

#include <algorithm>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "broker/group/offsets_records.h"
#include "broker/reactor/shard.h"
#include "broker/server/logging.h"
#include "broker/server/partition_manager.h"
#include "broker/server/topic_partition.h"
#include "protocol/records/record_batch.h"
#include "protocol/records/record_batch_builder.h"

namespace ringbroker::group {
namespace {

// Kafka's offset.metadata.max.bytes default; the broker config does not define the key.
// Requests parked while a partition replays, per partition; beyond it they are told to retry.
constexpr size_t kLoadWaitersMax = 4096;
// Bytes read from the log per step of a replay.
constexpr size_t kLoadReadBytes = size_t(1) << 20;

// The single place where log statuses become the error codes group APIs answer with (Kafka maps
// its append errors the same way: the coordinator is "not available" rather than the storage
// error itself).
ErrorCode AppendErrorCode(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk: return ErrorCode::kNone;
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kCancelled: return ErrorCode::kCoordinatorNotAvailable;
    case absl::StatusCode::kFailedPrecondition: return ErrorCode::kNotCoordinator;
    default: return ErrorCode::kUnknownServerError;
  }
}

}  // namespace

struct GroupCoordinator::PartitionLoad {
  bool loaded = false;
  std::vector<LoadedFn> waiters;
};

absl::StatusOr<int32_t> OffsetsTopicPartitions(server::BrokerContext& broker, bool create) {
  {
    coordination::ClusterSnapshot snapshot = broker.metadata->Snapshot();
    if (const coordination::pb::Topic* t = coordination::FindTopic(*snapshot, kOffsetsTopic)) {
      return t->partitions_size();
    }
    if (!create) return absl::NotFoundError("__consumer_offsets does not exist yet");
  }
  std::optional<coordination::NewTopic> spec = server::InternalTopicSpec(broker, kOffsetsTopic);
  absl::StatusOr<coordination::pb::Topic> created = broker.metadata->CreateTopic(*spec);
  if (created.ok()) return created->partitions_size();
  if (!absl::IsAlreadyExists(created.status())) return created.status();
  coordination::ClusterSnapshot snapshot = broker.metadata->Snapshot();
  const coordination::pb::Topic* t = coordination::FindTopic(*snapshot, kOffsetsTopic);
  if (t == nullptr) return absl::UnavailableError("__consumer_offsets is being created");
  return t->partitions_size();
}

GroupCoordinator::GroupCoordinator(server::BrokerContext& broker, uint32_t shard_id)
    : broker_(broker), shard_id_(shard_id) {
  std::random_device rd;
  member_counter_ = (uint64_t(rd()) << 32) ^ rd();
}

GroupCoordinator::~GroupCoordinator() = default;

int64_t GroupCoordinator::NowMs() const { return absl::ToUnixMillis(absl::Now()); }

reactor::Shard* GroupCoordinator::shard() const { return reactor::Shard::Current(); }

std::string GroupCoordinator::NewMemberId(std::string_view client_id) {
  // Kafka: clientId + "-" + a random UUID. Ours: unique per process (counter seeded at random)
  // and across restarts (time), which is all a member id needs.
  ++member_counter_;
  return absl::StrFormat("%s-%08x-%04x-%016x", client_id, static_cast<uint32_t>(NowMs() / 1000), shard_id_,
                         member_counter_ * 0x9E3779B97F4A7C15ULL);
}

// ---------------------------------------------------------------------------------------------
// Loading

void GroupCoordinator::WhenLoaded(int32_t partition, LoadedFn fn) {
  if (shut_down_) return fn(ErrorCode::kCoordinatorNotAvailable);
  if (!at_stop_registered_ && shard() != nullptr) {
    at_stop_registered_ = true;
    shard()->AtStop([this] { Shutdown(); });
  }
  if (!expiry_scheduled_) ScheduleExpiry();
  auto it = partitions_.find(partition);
  if (it != partitions_.end()) {
    if (it->second->loaded) return fn(ErrorCode::kNone);
    if (it->second->waiters.size() >= kLoadWaitersMax) return fn(ErrorCode::kCoordinatorLoadInProgress);
    it->second->waiters.push_back(std::move(fn));
    return;
  }
  auto load = std::make_unique<PartitionLoad>();
  load->waiters.push_back(std::move(fn));
  partitions_[partition] = std::move(load);
  StartLoad(partition);
}

void GroupCoordinator::LoadOwnedPartitions() {
  absl::StatusOr<int32_t> count = OffsetsTopicPartitions(broker_, /*create=*/false);
  if (!count.ok()) return;  // no group has been used yet
  for (int32_t p = 0; p < *count; ++p) {
    if (server::OwnerShard(kOffsetsTopic, p, broker_.shard_count) != shard_id_) continue;
    WhenLoaded(p, [p](ErrorCode error) {
      if (error != ErrorCode::kNone) {
        RB_LOG(WARNING) << "__consumer_offsets-" << p << " not loaded at start-up (" << static_cast<int>(error)
                        << "); retried on first use";
      }
    });
  }
}

void GroupCoordinator::StartLoad(int32_t partition) {
  absl::StatusOr<server::Partition*> p =
      broker_.shards[shard_id_]->partitions.Get(std::string(kOffsetsTopic), partition);
  if (!p.ok()) return FinishLoad(partition, AppendErrorCode(p.status()));
  ReadMore(partition, (*p)->log->log_start_offset());
}

void GroupCoordinator::ReadMore(int32_t partition, int64_t offset) {
  absl::StatusOr<server::Partition*> p =
      broker_.shards[shard_id_]->partitions.Get(std::string(kOffsetsTopic), partition);
  if (!p.ok()) return FinishLoad(partition, AppendErrorCode(p.status()));
  storage::Log& log = *(*p)->log;
  const int64_t end = log.readable_end_offset();
  if (offset >= end) return FinishLoad(partition, ErrorCode::kNone);
  log.Read(offset, kLoadReadBytes, end, [this, partition, offset](absl::StatusOr<storage::ReadResult> read) {
    if (!read.ok()) {
      RB_LOG(WARNING) << "cannot replay __consumer_offsets-" << partition << ": " << read.status().message();
      return FinishLoad(partition, ErrorCode::kCoordinatorNotAvailable);
    }
    if (read->slice.size == 0 || read->next_offset <= offset) return FinishLoad(partition, ErrorCode::kNone);
    // A replay is part of opening the partition, like log recovery: a blocking read of at most
    // kLoadReadBytes is acceptable here, and keeps the decoding simple.
    std::vector<uint8_t> bytes(read->slice.size);
    absl::StatusOr<size_t> n = read->slice.file->BlockingRead(read->slice.position, absl::Span<uint8_t>(bytes));
    if (!n.ok()) return FinishLoad(partition, ErrorCode::kCoordinatorNotAvailable);
    bytes.resize(*n);
    ApplyRecords(partition, bytes);
    const int64_t next = read->next_offset;
    // Continue from the event loop, not from inside the log's callback.
    if (shard() != nullptr) {
      shard()->Defer([this, partition, next] { ReadMore(partition, next); });
    } else {
      ReadMore(partition, next);
    }
  });
}

void GroupCoordinator::ApplyRecords(int32_t partition, absl::Span<const uint8_t> batches) {
  size_t pos = 0;
  while (pos < batches.size()) {
    absl::StatusOr<protocol::RecordBatchView> batch = protocol::RecordBatchView::Parse(batches.subspan(pos));
    if (!batch.ok()) break;  // a partial batch at the end of the read
    pos += batch->header().total_size();
    if (batch->header().is_control()) continue;
    absl::StatusOr<protocol::DecodedRecords> decoded = batch->Decode(size_t(64) << 20);
    if (!decoded.ok()) continue;
    protocol::RecordReader reader = decoded->reader();
    while (!reader.Done()) {
      absl::StatusOr<protocol::RecordView> record = reader.Next();
      if (!record.ok() || !record->key.has_value()) break;
      absl::StatusOr<RecordKey> key = DecodeKey(*record->key);
      if (!key.ok()) continue;  // newer record types (consumer protocol) are not ours to load
      if (const auto* k = std::get_if<OffsetCommitKey>(&*key)) {
        OffsetKey ok{k->topic, k->partition};
        if (!record->value.has_value()) {
          if (Group* g = Find(k->group)) g->offsets.erase(ok);
          continue;
        }
        absl::StatusOr<OffsetCommitValue> v = DecodeOffsetValue(*record->value);
        if (!v.ok()) continue;
        Group& g = GetOrCreate(partition, k->group);
        g.offsets[ok] = CommittedOffset{v->offset, v->leader_epoch, v->metadata, v->commit_timestamp_ms,
                                        v->expire_timestamp_ms};
        continue;
      }
      const auto& gk = std::get<GroupMetadataKey>(*key);
      Group& g = GetOrCreate(partition, gk.group);
      g.members.clear();
      g.static_members.clear();
      g.leader_id.clear();
      if (!record->value.has_value()) {
        g.generation = 0;
        g.protocol_type.clear();
        g.protocol_name.reset();
        g.state = GroupState::kEmpty;
        continue;
      }
      absl::StatusOr<GroupMetadataValue> v = DecodeGroupValue(*record->value);
      if (!v.ok()) continue;
      g.protocol_type = v->protocol_type;
      g.generation = v->generation;
      g.protocol_name = v->protocol;
      g.leader_id = v->leader.value_or("");
      g.state_timestamp_ms = v->current_state_timestamp_ms;
      for (StoredMember& sm : v->members) {
        Member m;
        m.id = sm.member_id;
        m.instance_id = sm.group_instance_id;
        m.client_id = sm.client_id;
        m.client_host = sm.client_host;
        m.session_timeout_ms = sm.session_timeout_ms;
        m.rebalance_timeout_ms = sm.rebalance_timeout_ms;
        m.protocol_type = g.protocol_type;
        if (g.protocol_name) m.protocols.emplace_back(*g.protocol_name, std::move(sm.subscription));
        m.assignment = std::move(sm.assignment);
        if (m.instance_id) g.static_members[*m.instance_id] = m.id;
        std::string id = m.id;
        g.members.emplace(std::move(id), std::move(m));
      }
      g.state = g.members.empty() ? GroupState::kEmpty : GroupState::kStable;
    }
  }
}

void GroupCoordinator::FinishLoad(int32_t partition, ErrorCode error) {
  auto it = partitions_.find(partition);
  if (it == partitions_.end()) return;
  std::vector<LoadedFn> waiters = std::move(it->second->waiters);
  if (error == ErrorCode::kNone) {
    it->second->loaded = true;
    it->second->waiters.clear();
    // Groups that a tombstone emptied and that hold no offsets are gone.
    std::vector<std::string> doomed;
    size_t loaded_groups = 0;
    for (auto& [id, g] : groups_) {
      if (g->partition != partition) continue;
      if (g->members.empty() && g->offsets.empty() && g->generation == 0 && g->protocol_type.empty()) {
        doomed.push_back(id);
        continue;
      }
      ++loaded_groups;
      // Loaded members must heartbeat again within their session, or they expire.
      for (auto& [mid, m] : g->members) TouchHeartbeat(*g, m);
    }
    for (const std::string& id : doomed) groups_.erase(id);
    if (loaded_groups > 0) {
      RB_LOG(INFO) << "loaded " << loaded_groups << " group(s) from " << kOffsetsTopic << "-" << partition;
    }
  } else {
    // Drop what a failed replay left half-loaded; the next request retries from scratch.
    std::vector<std::string> doomed;
    for (auto& [id, g] : groups_) {
      if (g->partition == partition) doomed.push_back(id);
    }
    for (const std::string& id : doomed) groups_.erase(id);
    partitions_.erase(it);
  }
  for (LoadedFn& fn : waiters) fn(error);
}

// ---------------------------------------------------------------------------------------------
// Groups

Group* GroupCoordinator::Find(const std::string& group_id) {
  auto it = groups_.find(group_id);
  return it == groups_.end() ? nullptr : it->second.get();
}

Group& GroupCoordinator::GetOrCreate(int32_t partition, const std::string& group_id) {
  std::unique_ptr<Group>& slot = groups_[group_id];
  if (!slot) {
    slot = std::make_unique<Group>();
    slot->id = group_id;
    slot->partition = partition;
    slot->state_timestamp_ms = NowMs();
  }
  return *slot;
}

void GroupCoordinator::RemoveGroup(const std::string& group_id) { groups_.erase(group_id); }

void GroupCoordinator::SetState(Group& group, GroupState state) {
  group.state = state;
  group.state_timestamp_ms = NowMs();
}

JoinResult GroupCoordinator::CurrentJoinResult(const Group& group, const Member& member, bool with_members) const {
  JoinResult r;
  r.generation = group.generation;
  r.protocol_type = group.protocol_type;
  r.protocol_name = group.protocol_name;
  r.leader = group.leader_id;
  r.member_id = member.id;
  if (with_members) {
    for (const auto& [id, m] : group.members) {
      r.members.push_back(MemberInfo{m.id, m.instance_id, m.MetadataFor(group.protocol_name.value_or(""))});
    }
  }
  return r;
}

void GroupCoordinator::JoinGroup(int32_t partition, JoinRequest request, JoinCallback done) {
  WhenLoaded(partition, [this, partition, request = std::move(request), done = std::move(done)](ErrorCode error) mutable {
    if (error != ErrorCode::kNone) {
      JoinResult r;
      r.error = error;
      r.member_id = request.member_id;
      return done(std::move(r));
    }
    auto fail = [&](ErrorCode e) {
      JoinResult r;
      r.error = e;
      r.member_id = request.member_id;
      done(std::move(r));
    };
    if (request.group_id.empty()) return fail(ErrorCode::kInvalidGroupId);
    if (request.session_timeout_ms < broker_.config->GetLong("group.min.session.timeout.ms") ||
        request.session_timeout_ms > broker_.config->GetLong("group.max.session.timeout.ms")) {
      return fail(ErrorCode::kInvalidSessionTimeout);
    }
    if (request.rebalance_timeout_ms < 0) request.rebalance_timeout_ms = request.session_timeout_ms;
    Group* group = Find(request.group_id);
    if (group == nullptr) {
      if (!request.member_id.empty()) return fail(ErrorCode::kUnknownMemberId);
      group = &GetOrCreate(partition, request.group_id);
    }
    DoJoin(*group, std::move(request), std::move(done));
  });
}

void GroupCoordinator::DoJoin(Group& group, JoinRequest request, JoinCallback done) {
  auto fail = [&](ErrorCode e) {
    JoinResult r;
    r.error = e;
    r.member_id = request.member_id;
    done(std::move(r));
  };
  if (group.state == GroupState::kDead) return fail(ErrorCode::kCoordinatorNotAvailable);
  if (!group.SupportsProtocols(request.protocol_type, request.protocols)) {
    return fail(ErrorCode::kInconsistentGroupProtocol);
  }
  const bool known_member = !request.member_id.empty();
  if (!known_member) {
    const std::string new_id = NewMemberId(request.client_id);
    if (request.instance_id) {
      auto it = group.static_members.find(*request.instance_id);
      if (it != group.static_members.end() && group.Has(it->second)) {
        // A static member back under a new member id: it takes over the old member's place. A
        // follower in a stable group keeps its assignment without a rebalance.
        const std::string old_id = it->second;
        auto node = group.members.extract(old_id);
        Member& old = node.mapped();
        old.FailParked(ErrorCode::kFencedInstanceId);
        node.key() = new_id;
        old.id = new_id;
        old.protocols = request.protocols;
        old.client_id = request.client_id;
        old.client_host = request.client_host;
        old.session_timeout_ms = request.session_timeout_ms;
        old.rebalance_timeout_ms = request.rebalance_timeout_ms;
        auto inserted = group.members.insert(std::move(node));
        Member& member = inserted.position->second;
        it->second = new_id;
        const bool was_leader = group.leader_id == old_id;
        if (was_leader) group.leader_id = new_id;
        TouchHeartbeat(group, member);
        if (group.state == GroupState::kStable && group.SelectProtocol() == group.protocol_name) {
          // As Kafka since KIP-814: the group's protocol stays, so nobody rebalances. A returning
          // leader gets the members' metadata with skip_assignment (v9+), or, older, assigns again
          // and is answered with the assignment in force by SyncGroup in the stable state.
          // The new member id must survive a coordinator restart: store it before answering.
          JoinResult result = CurrentJoinResult(group, member, was_leader);
          result.skip_assignment = was_leader;
          Append(group.partition, {GroupRecord(group)},
                 [result = std::move(result), done = std::move(done)](ErrorCode e) mutable {
                   result.error = e;
                   done(std::move(result));
                 });
          return;
        }
        request.member_id = new_id;
        return UpdateMemberAndRebalance(group, member, request, std::move(done));
      }
      return AddMemberAndRebalance(group, request, new_id, std::move(done));
    }
    if (request.require_known_member_id) {
      group.pending_members[new_id] = NowMs() + request.session_timeout_ms;
      SchedulePendingExpiry(group.id, new_id, request.session_timeout_ms);
      JoinResult r;
      r.error = ErrorCode::kMemberIdRequired;
      r.member_id = new_id;
      return done(std::move(r));
    }
    return AddMemberAndRebalance(group, request, new_id, std::move(done));
  }

  if (group.pending_members.erase(request.member_id) > 0) {
    return AddMemberAndRebalance(group, request, request.member_id, std::move(done));
  }
  if (request.instance_id) {
    auto it = group.static_members.find(*request.instance_id);
    if (it != group.static_members.end() && it->second != request.member_id) {
      return fail(ErrorCode::kFencedInstanceId);
    }
  }
  auto it = group.members.find(request.member_id);
  if (it == group.members.end()) return fail(ErrorCode::kUnknownMemberId);
  Member& member = it->second;
  switch (group.state) {
    case GroupState::kPreparingRebalance:
      return UpdateMemberAndRebalance(group, member, request, std::move(done));
    case GroupState::kCompletingRebalance:
      if (member.protocols == request.protocols) {
        // A repeated join (the response was lost): answer with the current generation.
        TouchHeartbeat(group, member);
        return done(CurrentJoinResult(group, member, member.id == group.leader_id));
      }
      return UpdateMemberAndRebalance(group, member, request, std::move(done));
    case GroupState::kStable:
      if (member.id == group.leader_id || member.protocols != request.protocols) {
        // The leader rejoining (new topics to assign) or a changed subscription: rebalance.
        return UpdateMemberAndRebalance(group, member, request, std::move(done));
      }
      TouchHeartbeat(group, member);
      return done(CurrentJoinResult(group, member, false));
    case GroupState::kEmpty:
    case GroupState::kDead:
      return fail(ErrorCode::kUnknownMemberId);
  }
}

void GroupCoordinator::AddMemberAndRebalance(Group& group, JoinRequest& request, std::string member_id,
                                             JoinCallback done) {
  const int64_t group_max = broker_.config->GetLong("group.max.size");
  if (static_cast<int64_t>(group.members.size()) >= group_max) {
    JoinResult r;
    r.error = ErrorCode::kGroupMaxSizeReached;
    r.member_id = member_id;
    return done(std::move(r));
  }
  Member m;
  m.id = member_id;
  m.instance_id = request.instance_id;
  m.client_id = request.client_id;
  m.client_host = request.client_host;
  m.session_timeout_ms = request.session_timeout_ms;
  m.rebalance_timeout_ms = request.rebalance_timeout_ms;
  m.protocol_type = request.protocol_type;
  m.protocols = std::move(request.protocols);
  m.awaiting_join = std::move(done);
  m.is_new = true;
  if (group.members.empty()) group.protocol_type = m.protocol_type;
  if (m.instance_id) group.static_members[*m.instance_id] = member_id;
  if (group.leader_id.empty() || !group.Has(group.leader_id)) group.leader_id = member_id;
  Member& member = group.members.emplace(member_id, std::move(m)).first->second;
  TouchHeartbeat(group, member);
  if (group.state == GroupState::kPreparingRebalance) {
    if (group.initial_delay) group.new_member_added = true;
    return MaybeCompleteJoin(group);
  }
  PrepareRebalance(group);
}

void GroupCoordinator::UpdateMemberAndRebalance(Group& group, Member& member, JoinRequest& request,
                                                JoinCallback done) {
  member.protocols = std::move(request.protocols);
  member.session_timeout_ms = request.session_timeout_ms;
  member.rebalance_timeout_ms = request.rebalance_timeout_ms;
  member.client_id = request.client_id;
  if (member.awaiting_join) {
    // The member sent a second join before the first was answered; the newer one waits.
    JoinResult stale;
    stale.error = ErrorCode::kRebalanceInProgress;
    stale.member_id = member.id;
    std::exchange(member.awaiting_join, nullptr)(std::move(stale));
  }
  member.awaiting_join = std::move(done);
  TouchHeartbeat(group, member);
  if (group.state == GroupState::kPreparingRebalance) return MaybeCompleteJoin(group);
  PrepareRebalance(group);
}

void GroupCoordinator::ResetSyncWaiters(Group& group, ErrorCode error) {
  for (auto& [id, m] : group.members) {
    m.assignment.clear();
    if (m.awaiting_sync) {
      SyncResult r;
      r.error = error;
      std::exchange(m.awaiting_sync, nullptr)(std::move(r));
    }
  }
}

void GroupCoordinator::PrepareRebalance(Group& group) {
  if (group.state == GroupState::kCompletingRebalance) ResetSyncWaiters(group, ErrorCode::kRebalanceInProgress);
  const bool was_empty = group.state == GroupState::kEmpty;
  SetState(group, GroupState::kPreparingRebalance);
  ++group.rebalance_epoch;
  group.sync_store_in_flight = false;
  const int64_t timeout_ms = std::max<int64_t>(group.MaxRebalanceTimeoutMs(), 0);
  group.rebalance_deadline_ms = NowMs() + timeout_ms;
  if (was_empty) {
    // Give the other members of a starting group a moment to join, so that the first
    // generation does not cover only the first member.
    group.initial_delay = true;
    group.new_member_added = false;
    const int64_t delay_ms =
        std::min<int64_t>(broker_.config->GetLong("group.initial.rebalance.delay.ms"), timeout_ms);
    ScheduleJoinTimer(group, delay_ms);
    return;
  }
  group.initial_delay = false;
  ScheduleJoinTimer(group, timeout_ms);
  MaybeCompleteJoin(group);
}

void GroupCoordinator::ScheduleJoinTimer(Group& group, int64_t after_ms) {
  reactor::Shard* s = shard();
  if (s == nullptr) return;
  const uint64_t epoch = group.rebalance_epoch;
  absl::StatusOr<reactor::TimerId> timer = s->Schedule(after_ms, [this, id = group.id, epoch] {
    Group* g = Find(id);
    if (g == nullptr || g->rebalance_epoch != epoch || g->state != GroupState::kPreparingRebalance) return;
    if (g->initial_delay) {
      const int64_t left_ms = g->rebalance_deadline_ms - NowMs();
      if (g->new_member_added && left_ms > 0) {
        // Kafka's InitialDelayedJoin: members are still arriving, so wait one more delay (never
        // past the rebalance timeout) for the rest of a starting group.
        g->new_member_added = false;
        return ScheduleJoinTimer(
            *g, std::min<int64_t>(broker_.config->GetLong("group.initial.rebalance.delay.ms"), left_ms));
      }
      g->initial_delay = false;
      if (!g->AllMembersJoined() && left_ms > 0) return ScheduleJoinTimer(*g, left_ms);
    }
    CompleteJoin(*g);
  });
  if (!timer.ok()) RB_LOG(WARNING) << "group " << group.id << ": cannot schedule the join timer";
}

void GroupCoordinator::MaybeCompleteJoin(Group& group) {
  if (group.state == GroupState::kPreparingRebalance && !group.initial_delay && group.AllMembersJoined()) {
    CompleteJoin(group);
  }
}

void GroupCoordinator::CompleteJoin(Group& group) {
  // Members that did not rejoin in time are out of the group.
  std::vector<std::string> gone;
  for (auto& [id, m] : group.members) {
    if (!m.awaiting_join) gone.push_back(id);
  }
  for (const std::string& id : gone) RemoveMember(group, id);
  group.pending_members.clear();
  ++group.rebalance_epoch;
  ++group.generation;
  if (group.members.empty()) {
    group.protocol_name.reset();
    group.leader_id.clear();
    SetState(group, GroupState::kEmpty);
    Append(group.partition, {GroupRecord(group)}, [](ErrorCode) {});
    return;
  }
  group.protocol_name = group.SelectProtocol();
  if (!group.Has(group.leader_id)) group.leader_id = group.members.begin()->first;
  SetState(group, GroupState::kCompletingRebalance);
  for (auto& [id, m] : group.members) {
    JoinResult r = CurrentJoinResult(group, m, id == group.leader_id);
    m.is_new = false;
    TouchHeartbeat(group, m);
    std::exchange(m.awaiting_join, nullptr)(std::move(r));
  }
}

void GroupCoordinator::RemoveMember(Group& group, const std::string& member_id) {
  auto it = group.members.find(member_id);
  if (it == group.members.end()) return;
  Member& m = it->second;
  m.FailParked(ErrorCode::kUnknownMemberId);
  if (m.instance_id) {
    auto s = group.static_members.find(*m.instance_id);
    if (s != group.static_members.end() && s->second == member_id) group.static_members.erase(s);
  }
  group.members.erase(it);
  if (group.leader_id == member_id) {
    group.leader_id = group.members.empty() ? std::string() : group.members.begin()->first;
  }
}

void GroupCoordinator::TouchHeartbeat(Group& group, Member& member) {
  member.heartbeat_deadline_ms = NowMs() + member.session_timeout_ms;
  if (!member.heartbeat_timer_armed) ArmHeartbeatTimer(group.id, member);
}

void GroupCoordinator::ArmHeartbeatTimer(const std::string& group_id, Member& member) {
  reactor::Shard* s = shard();
  if (s == nullptr) return;
  const int64_t after_ms = std::max<int64_t>(member.heartbeat_deadline_ms - NowMs(), 0);
  absl::StatusOr<reactor::TimerId> timer =
      s->Schedule(after_ms, [this, group_id, member_id = member.id] { OnHeartbeatTimer(group_id, member_id); });
  member.heartbeat_timer_armed = timer.ok();
}

void GroupCoordinator::OnHeartbeatTimer(const std::string& group_id, const std::string& member_id) {
  Group* group = Find(group_id);
  if (group == nullptr) return;
  auto it = group->members.find(member_id);
  if (it == group->members.end()) return;
  Member& m = it->second;
  m.heartbeat_timer_armed = false;
  // Parked members are kept alive: the join phase and the leader's sync bound their wait.
  if (m.awaiting_join || m.awaiting_sync) m.heartbeat_deadline_ms = NowMs() + m.session_timeout_ms;
  if (NowMs() < m.heartbeat_deadline_ms) return ArmHeartbeatTimer(group_id, m);
  RB_LOG(INFO) << "group " << group_id << ": member " << member_id << " expired (no heartbeat)";
  RemoveMember(*group, member_id);
  switch (group->state) {
    case GroupState::kStable:
    case GroupState::kCompletingRebalance: return PrepareRebalance(*group);
    case GroupState::kPreparingRebalance: return MaybeCompleteJoin(*group);
    default: return;
  }
}

void GroupCoordinator::SchedulePendingExpiry(const std::string& group_id, const std::string& member_id,
                                             int64_t after_ms) {
  reactor::Shard* s = shard();
  if (s == nullptr) return;
  (void)s->Schedule(after_ms, [this, group_id, member_id] {
    Group* group = Find(group_id);
    if (group == nullptr) return;
    auto it = group->pending_members.find(member_id);
    if (it == group->pending_members.end() || it->second > NowMs()) return;
    group->pending_members.erase(it);
    MaybeCompleteJoin(*group);
  });
}

// ---------------------------------------------------------------------------------------------
// SyncGroup, Heartbeat, LeaveGroup

void GroupCoordinator::SyncGroup(int32_t partition, SyncRequest request, SyncCallback done) {
  WhenLoaded(partition, [this, request = std::move(request), done = std::move(done)](ErrorCode error) mutable {
    auto fail = [&](ErrorCode e) {
      SyncResult r;
      r.error = e;
      done(std::move(r));
    };
    if (error != ErrorCode::kNone) return fail(error);
    Group* group = Find(request.group_id);
    if (group == nullptr) return fail(ErrorCode::kUnknownMemberId);
    if (group->state == GroupState::kDead) return fail(ErrorCode::kCoordinatorNotAvailable);
    if (request.instance_id) {
      auto s = group->static_members.find(*request.instance_id);
      if (s != group->static_members.end() && s->second != request.member_id) return fail(ErrorCode::kFencedInstanceId);
    }
    auto it = group->members.find(request.member_id);
    if (it == group->members.end()) return fail(ErrorCode::kUnknownMemberId);
    if (request.generation != group->generation) return fail(ErrorCode::kIllegalGeneration);
    if ((request.protocol_type && *request.protocol_type != group->protocol_type) ||
        (request.protocol_name && *request.protocol_name != group->protocol_name.value_or(""))) {
      return fail(ErrorCode::kInconsistentGroupProtocol);
    }
    Member& member = it->second;
    switch (group->state) {
      case GroupState::kEmpty:
      case GroupState::kDead: return fail(ErrorCode::kUnknownMemberId);
      case GroupState::kPreparingRebalance: return fail(ErrorCode::kRebalanceInProgress);
      case GroupState::kStable: {
        TouchHeartbeat(*group, member);
        SyncResult r;
        r.protocol_type = group->protocol_type;
        r.protocol_name = group->protocol_name;
        r.assignment = member.assignment;
        return done(std::move(r));
      }
      case GroupState::kCompletingRebalance: break;
    }
    if (member.awaiting_sync) {
      SyncResult stale;
      stale.error = ErrorCode::kRebalanceInProgress;
      std::exchange(member.awaiting_sync, nullptr)(std::move(stale));
    }
    member.awaiting_sync = std::move(done);
    TouchHeartbeat(*group, member);
    if (member.id != group->leader_id || group->sync_store_in_flight) return;
    for (auto& [id, m] : group->members) m.assignment.clear();
    for (auto& [id, assignment] : request.assignments) {
      auto target = group->members.find(id);
      if (target != group->members.end()) target->second.assignment = std::move(assignment);
    }
    group->sync_store_in_flight = true;
    const uint64_t epoch = group->rebalance_epoch;
    Append(group->partition, {GroupRecord(*group)}, [this, id = group->id, epoch](ErrorCode e) {
      Group* g = Find(id);
      if (g == nullptr || g->rebalance_epoch != epoch || g->state != GroupState::kCompletingRebalance) return;
      g->sync_store_in_flight = false;
      if (e != ErrorCode::kNone) {
        ResetSyncWaiters(*g, e);
        return PrepareRebalance(*g);
      }
      SetState(*g, GroupState::kStable);
      for (auto& [mid, m] : g->members) {
        if (!m.awaiting_sync) continue;
        SyncResult r;
        r.protocol_type = g->protocol_type;
        r.protocol_name = g->protocol_name;
        r.assignment = m.assignment;
        std::exchange(m.awaiting_sync, nullptr)(std::move(r));
      }
    });
  });
}

void GroupCoordinator::Heartbeat(int32_t partition, std::string group_id, int32_t generation, std::string member_id,
                                 std::optional<std::string> instance_id, absl::AnyInvocable<void(ErrorResult)> done) {
  WhenLoaded(partition, [this, group_id = std::move(group_id), generation, member_id = std::move(member_id),
                         instance_id = std::move(instance_id), done = std::move(done)](ErrorCode error) mutable {
    auto answer = [&](ErrorCode e) { done(ErrorResult{e}); };
    if (error != ErrorCode::kNone) return answer(error);
    Group* group = Find(group_id);
    if (group == nullptr) return answer(ErrorCode::kUnknownMemberId);
    if (group->state == GroupState::kDead) return answer(ErrorCode::kCoordinatorNotAvailable);
    if (instance_id) {
      auto s = group->static_members.find(*instance_id);
      if (s != group->static_members.end() && s->second != member_id) return answer(ErrorCode::kFencedInstanceId);
    }
    auto it = group->members.find(member_id);
    if (it == group->members.end()) return answer(ErrorCode::kUnknownMemberId);
    if (generation != group->generation) return answer(ErrorCode::kIllegalGeneration);
    TouchHeartbeat(*group, it->second);
    if (group->state == GroupState::kPreparingRebalance) return answer(ErrorCode::kRebalanceInProgress);
    answer(ErrorCode::kNone);
  });
}

void GroupCoordinator::LeaveGroup(int32_t partition, std::string group_id, std::vector<LeaveMember> members,
                                  absl::AnyInvocable<void(LeaveResult)> done) {
  WhenLoaded(partition, [this, group_id = std::move(group_id), members = std::move(members),
                         done = std::move(done)](ErrorCode error) mutable {
    LeaveResult result;
    result.members.assign(members.size(), ErrorCode::kUnknownMemberId);
    if (error != ErrorCode::kNone) {
      result.error = error;
      return done(std::move(result));
    }
    Group* group = Find(group_id);
    if (group == nullptr) return done(std::move(result));
    if (group->state == GroupState::kDead) {
      result.error = ErrorCode::kCoordinatorNotAvailable;
      return done(std::move(result));
    }
    bool removed = false;
    for (size_t i = 0; i < members.size(); ++i) {
      const LeaveMember& leaving = members[i];
      std::string id = leaving.member_id;
      if (leaving.instance_id) {
        auto s = group->static_members.find(*leaving.instance_id);
        if (s == group->static_members.end()) continue;
        if (!id.empty() && s->second != id) {
          result.members[i] = ErrorCode::kFencedInstanceId;
          continue;
        }
        id = s->second;
      }
      if (group->pending_members.erase(id) > 0) {
        result.members[i] = ErrorCode::kNone;
        removed = true;
        continue;
      }
      if (!group->Has(id)) continue;
      RemoveMember(*group, id);
      result.members[i] = ErrorCode::kNone;
      removed = true;
    }
    if (removed) {
      switch (group->state) {
        case GroupState::kStable:
        case GroupState::kCompletingRebalance: PrepareRebalance(*group); break;
        case GroupState::kPreparingRebalance: MaybeCompleteJoin(*group); break;
        default: break;
      }
    }
    done(std::move(result));
  });
}

// ---------------------------------------------------------------------------------------------
// Offsets

void GroupCoordinator::CommitOffsets(int32_t partition, CommitRequest request,
                                     absl::AnyInvocable<void(CommitResult)> done) {
  WhenLoaded(partition, [this, partition, request = std::move(request), done = std::move(done)](ErrorCode error) mutable {
    CommitResult result;
    result.entries = std::move(request.entries);
    auto fail = [&](ErrorCode e) {
      result.error = e;
      done(std::move(result));
    };
    if (error != ErrorCode::kNone) return fail(error);
    if (request.group_id.empty()) return fail(ErrorCode::kInvalidGroupId);
    Group* group = Find(request.group_id);
    if (request.generation < 0 && request.member_id.empty() && (group == nullptr || group->members.empty())) {
      // A commit from outside the group protocol (a standalone consumer or an admin tool).
      if (group == nullptr) group = &GetOrCreate(partition, request.group_id);
      if (group->state == GroupState::kDead) return fail(ErrorCode::kCoordinatorNotAvailable);
    } else {
      if (group == nullptr) return fail(request.generation < 0 ? ErrorCode::kUnknownMemberId : ErrorCode::kIllegalGeneration);
      if (group->state == GroupState::kDead) return fail(ErrorCode::kCoordinatorNotAvailable);
      if (request.instance_id) {
        auto s = group->static_members.find(*request.instance_id);
        if (s != group->static_members.end() && s->second != request.member_id) return fail(ErrorCode::kFencedInstanceId);
      }
      auto it = group->members.find(request.member_id);
      if (it == group->members.end()) return fail(ErrorCode::kUnknownMemberId);
      if (request.generation != group->generation) return fail(ErrorCode::kIllegalGeneration);
      if (group->state == GroupState::kCompletingRebalance) return fail(ErrorCode::kRebalanceInProgress);
      TouchHeartbeat(*group, it->second);
    }
    const int64_t now_ms = NowMs();
    const int64_t metadata_bytes_max = broker_.config->GetLong("offset.metadata.max.bytes");
    std::vector<Record> records;
    std::vector<std::pair<OffsetKey, CommittedOffset>> applied;
    std::vector<size_t> written;
    for (size_t i = 0; i < result.entries.size(); ++i) {
      OffsetCommitEntry& e = result.entries[i];
      if (e.error != ErrorCode::kNone) continue;
      if (e.metadata && static_cast<int64_t>(e.metadata->size()) > metadata_bytes_max) {
        e.error = ErrorCode::kOffsetMetadataTooLarge;
        continue;
      }
      CommittedOffset value{e.offset, e.leader_epoch, e.metadata.value_or(""), now_ms,
                            request.retention_time_ms >= 0 ? now_ms + request.retention_time_ms : -1};
      OffsetKey key{e.topic, e.partition};
      records.push_back(OffsetRecord(request.group_id, key, &value));
      applied.emplace_back(std::move(key), std::move(value));
      written.push_back(i);
    }
    if (records.empty()) return done(std::move(result));
    Append(group->partition, std::move(records),
           [this, partition, group_id = request.group_id, applied = std::move(applied), written = std::move(written),
            result = std::move(result), done = std::move(done)](ErrorCode e) mutable {
             if (e == ErrorCode::kNone) {
               // The group may have been deleted meanwhile; the offsets are in the log, so they count.
               Group& g = GetOrCreate(partition, group_id);
               if (g.state == GroupState::kDead) SetState(g, GroupState::kEmpty);
               for (auto& [key, value] : applied) g.offsets[key] = std::move(value);
             } else {
               for (size_t i : written) result.entries[i].error = e;
             }
             done(std::move(result));
           });
  });
}

void GroupCoordinator::FetchOffsets(int32_t partition, std::string group_id,
                                    std::optional<std::vector<std::pair<std::string, std::vector<int32_t>>>> topics,
                                    absl::AnyInvocable<void(FetchResult)> done) {
  WhenLoaded(partition, [this, group_id = std::move(group_id), topics = std::move(topics),
                         done = std::move(done)](ErrorCode error) mutable {
    FetchResult result;
    if (error != ErrorCode::kNone) {
      result.error = error;
      return done(std::move(result));
    }
    Group* group = Find(group_id);
    if (!topics) {
      if (group != nullptr) {
        for (const auto& [key, value] : group->offsets) {
          result.offsets.push_back(FetchedOffset{key.topic, key.partition, value.offset, value.leader_epoch, value.metadata});
        }
      }
      return done(std::move(result));
    }
    for (const auto& [topic, partitions] : *topics) {
      for (int32_t p : partitions) {
        FetchedOffset out{topic, p, -1, -1, ""};
        if (group != nullptr) {
          auto it = group->offsets.find(OffsetKey{topic, p});
          if (it != group->offsets.end()) {
            out.offset = it->second.offset;
            out.leader_epoch = it->second.leader_epoch;
            out.metadata = it->second.metadata;
          }
        }
        result.offsets.push_back(std::move(out));
      }
    }
    done(std::move(result));
  });
}

void GroupCoordinator::DeleteOffsets(int32_t partition, std::string group_id, std::vector<OffsetKey> offsets,
                                     absl::AnyInvocable<void(OffsetDeleteResult)> done) {
  WhenLoaded(partition, [this, group_id = std::move(group_id), offsets = std::move(offsets),
                         done = std::move(done)](ErrorCode error) mutable {
    OffsetDeleteResult result;
    if (error != ErrorCode::kNone) {
      result.error = error;
      return done(std::move(result));
    }
    Group* group = Find(group_id);
    if (group == nullptr || group->state == GroupState::kDead) {
      result.error = ErrorCode::kGroupIdNotFound;
      return done(std::move(result));
    }
    std::vector<std::string> subscribed;
    if (group->state != GroupState::kEmpty) {
      if (group->protocol_type != "consumer") {
        result.error = ErrorCode::kNonEmptyGroup;
        return done(std::move(result));
      }
      for (const auto& [id, m] : group->members) {
        const std::string metadata = m.MetadataFor(group->protocol_name.value_or(""));
        for (std::string& t : ConsumerSubscriptionTopics(protocol::AsBytes(metadata))) subscribed.push_back(std::move(t));
      }
    }
    std::vector<Record> records;
    for (OffsetKey& key : offsets) {
      if (std::find(subscribed.begin(), subscribed.end(), key.topic) != subscribed.end()) {
        result.partitions.emplace_back(std::move(key), ErrorCode::kGroupSubscribedToTopic);
        continue;
      }
      if (group->offsets.erase(key) > 0) records.push_back(OffsetRecord(group->id, key, nullptr));
      result.partitions.emplace_back(std::move(key), ErrorCode::kNone);
    }
    if (records.empty()) return done(std::move(result));
    Append(group->partition, std::move(records), [result = std::move(result), done = std::move(done)](ErrorCode e) mutable {
      if (e != ErrorCode::kNone) {
        for (auto& [key, code] : result.partitions) {
          if (code == ErrorCode::kNone) code = e;
        }
      }
      done(std::move(result));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Describe, list, delete

void GroupCoordinator::DescribeGroup(int32_t partition, std::string group_id,
                                     absl::AnyInvocable<void(DescribeResult)> done) {
  WhenLoaded(partition, [this, group_id = std::move(group_id), done = std::move(done)](ErrorCode error) mutable {
    DescribeResult r;
    r.group_id = group_id;
    r.error = error;
    Group* group = error == ErrorCode::kNone ? Find(group_id) : nullptr;
    if (group == nullptr) {
      r.state = std::string(GroupStateName(GroupState::kDead));
      return done(std::move(r));
    }
    r.state = std::string(GroupStateName(group->state));
    r.protocol_type = group->protocol_type;
    const bool stable = group->state == GroupState::kStable;
    if (stable) r.protocol_data = group->protocol_name.value_or("");
    for (const auto& [id, m] : group->members) {
      DescribedMember d{m.id, m.instance_id, m.client_id, m.client_host, "", ""};
      // As Kafka: metadata and assignment only describe a settled generation.
      if (stable) {
        d.metadata = m.MetadataFor(group->protocol_name.value_or(""));
        d.assignment = m.assignment;
      }
      r.members.push_back(std::move(d));
    }
    done(std::move(r));
  });
}

void GroupCoordinator::ListGroups(int32_t partition_count, absl::AnyInvocable<void(ListResult)> done) {
  struct Pending {
    size_t left = 1;
    ErrorCode error = ErrorCode::kNone;
    absl::AnyInvocable<void(ListResult)> done;
  };
  auto pending = std::make_shared<Pending>();
  pending->done = std::move(done);
  auto finish = [this, pending] {
    if (--pending->left > 0) return;
    ListResult r;
    r.error = pending->error;
    for (const auto& [id, g] : groups_) {
      if (g->state == GroupState::kDead) continue;
      r.groups.push_back(ListedGroup{id, g->protocol_type, std::string(GroupStateName(g->state))});
    }
    pending->done(std::move(r));
  };
  for (int32_t p = 0; p < partition_count; ++p) {
    if (server::OwnerShard(kOffsetsTopic, p, broker_.shard_count) != shard_id_) continue;
    ++pending->left;
    WhenLoaded(p, [pending, finish](ErrorCode e) mutable {
      if (e != ErrorCode::kNone) pending->error = e;
      finish();
    });
  }
  finish();
}

void GroupCoordinator::DeleteGroup(int32_t partition, std::string group_id, absl::AnyInvocable<void(ErrorResult)> done) {
  WhenLoaded(partition, [this, group_id = std::move(group_id), done = std::move(done)](ErrorCode error) mutable {
    if (error != ErrorCode::kNone) return done(ErrorResult{error});
    if (group_id.empty()) return done(ErrorResult{ErrorCode::kInvalidGroupId});
    Group* group = Find(group_id);
    if (group == nullptr || group->state == GroupState::kDead) return done(ErrorResult{ErrorCode::kGroupIdNotFound});
    if (group->state != GroupState::kEmpty) return done(ErrorResult{ErrorCode::kNonEmptyGroup});
    std::vector<Record> records;
    for (const auto& [key, value] : group->offsets) records.push_back(OffsetRecord(group_id, key, nullptr));
    records.push_back(GroupTombstone(group_id));
    SetState(*group, GroupState::kDead);
    Append(group->partition, std::move(records), [this, group_id, done = std::move(done)](ErrorCode e) mutable {
      Group* g = Find(group_id);
      if (g != nullptr && g->state == GroupState::kDead) {
        if (e == ErrorCode::kNone) {
          RemoveGroup(group_id);
        } else {
          SetState(*g, GroupState::kEmpty);
        }
      }
      done(ErrorResult{e});
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Persistence

GroupCoordinator::Record GroupCoordinator::GroupRecord(const Group& group) const {
  GroupMetadataValue v;
  v.protocol_type = group.protocol_type;
  v.generation = group.generation;
  v.protocol = group.protocol_name;
  if (!group.leader_id.empty()) v.leader = group.leader_id;
  v.current_state_timestamp_ms = group.state_timestamp_ms;
  for (const auto& [id, m] : group.members) {
    v.members.push_back(StoredMember{m.id, m.instance_id, m.client_id, m.client_host, m.rebalance_timeout_ms,
                                     m.session_timeout_ms, m.MetadataFor(group.protocol_name.value_or("")),
                                     m.assignment});
  }
  return Record{EncodeKey(GroupMetadataKey{group.id}), EncodeGroupValue(v)};
}

GroupCoordinator::Record GroupCoordinator::GroupTombstone(const std::string& group_id) {
  return Record{EncodeKey(GroupMetadataKey{group_id}), std::nullopt};
}

GroupCoordinator::Record GroupCoordinator::OffsetRecord(const std::string& group_id, const OffsetKey& key,
                                                        const CommittedOffset* value) {
  Record r{EncodeKey(OffsetCommitKey{group_id, key.topic, key.partition}), std::nullopt};
  if (value != nullptr) {
    r.value = EncodeOffsetValue(OffsetCommitValue{value->offset, value->leader_epoch, value->metadata,
                                                  value->commit_timestamp_ms, value->expire_timestamp_ms});
  }
  return r;
}

void GroupCoordinator::Append(int32_t partition, std::vector<Record> records, StoreFn done) {
  absl::StatusOr<server::Partition*> p =
      broker_.shards[shard_id_]->partitions.Get(std::string(kOffsetsTopic), partition);
  if (!p.ok()) return done(AppendErrorCode(p.status()));
  protocol::RecordBatchBuilder builder(protocol::RecordBatchOptions{});
  const int64_t now_ms = NowMs();
  for (const Record& r : records) {
    protocol::RecordInput input;
    input.timestamp = now_ms;
    input.key = absl::Span<const uint8_t>(r.key);
    if (r.value) input.value = absl::Span<const uint8_t>(*r.value);
    if (absl::Status s = builder.Add(input); !s.ok()) return done(ErrorCode::kInvalidCommitOffsetSize);
  }
  absl::StatusOr<std::vector<uint8_t>> built = builder.Build();
  if (!built.ok()) return done(ErrorCode::kUnknownServerError);
  // The log writes from these bytes: they live until the append completes.
  auto bytes = std::make_shared<std::vector<uint8_t>>(*std::move(built));
  server::Partition* partition_ptr = *p;
  storage::AppendOptions options;
  options.durable = true;  // acks=all, as Kafka writes __consumer_offsets
  partition_ptr->log->Append(absl::Span<uint8_t>(*bytes), options,
                             [bytes, partition_ptr, done = std::move(done)](
                                 absl::StatusOr<storage::AppendResult> appended) mutable {
                               partition_ptr->log->set_high_watermark(partition_ptr->log->readable_end_offset());
                               server::PartitionManager::WakeWaiters(*partition_ptr);
                               done(appended.ok() ? ErrorCode::kNone : AppendErrorCode(appended.status()));
                             });
}

// ---------------------------------------------------------------------------------------------
// Offset expiry and shutdown

void GroupCoordinator::ScheduleExpiry() {
  reactor::Shard* s = shard();
  if (s == nullptr) return;
  const int64_t interval_ms = std::max<int64_t>(broker_.config->GetLong("offsets.retention.check.interval.ms"), 1000);
  expiry_scheduled_ = s->Schedule(interval_ms, [this] {
                          expiry_scheduled_ = false;
                          if (shut_down_) return;
                          ExpireOffsets();
                          ScheduleExpiry();
                        }).ok();
}

void GroupCoordinator::ExpireOffsets() {
  const int64_t now_ms = NowMs();
  const int64_t retention_ms = broker_.config->GetLong("offsets.retention.minutes") * 60 * 1000;
  std::vector<std::string> dead;
  for (auto& [id, g] : groups_) {
    auto loaded = partitions_.find(g->partition);
    if (loaded == partitions_.end() || !loaded->second->loaded) continue;
    if (g->state != GroupState::kEmpty && g->state != GroupState::kStable) continue;
    std::vector<Record> records;
    for (auto it = g->offsets.begin(); it != g->offsets.end();) {
      const CommittedOffset& o = it->second;
      int64_t expire_at = INT64_MAX;
      if (o.expire_timestamp_ms >= 0) {
        expire_at = o.expire_timestamp_ms;
      } else if (g->state == GroupState::kEmpty) {
        // Kafka (KIP-211): an empty group's offsets expire a retention period after it became
        // empty; a group that never used the group protocol counts from each commit.
        const int64_t base = g->protocol_type.empty() ? o.commit_timestamp_ms : std::max(g->state_timestamp_ms, 0L);
        expire_at = base + retention_ms;
      }
      if (expire_at > now_ms) {
        ++it;
        continue;
      }
      records.push_back(OffsetRecord(id, it->first, nullptr));
      it = g->offsets.erase(it);
    }
    if (g->state == GroupState::kEmpty && g->offsets.empty() && !records.empty()) {
      records.push_back(GroupTombstone(id));
      dead.push_back(id);
    }
    if (!records.empty()) Append(g->partition, std::move(records), [](ErrorCode) {});
  }
  for (const std::string& id : dead) RemoveGroup(id);
}

void GroupCoordinator::Shutdown() {
  shut_down_ = true;
  for (auto& [p, load] : partitions_) {
    std::vector<LoadedFn> waiters = std::move(load->waiters);
    load->waiters.clear();
    for (LoadedFn& fn : waiters) fn(ErrorCode::kCoordinatorNotAvailable);
  }
  for (auto& [id, g] : groups_) {
    ++g->rebalance_epoch;
    for (auto& [mid, m] : g->members) m.FailParked(ErrorCode::kNotCoordinator);
  }
}

}  // namespace ringbroker::group
