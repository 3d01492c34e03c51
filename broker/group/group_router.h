// Sends a group request to the shard that owns the group's __consumer_offsets partition and brings
// the answer back to the connection's shard.
//
// `call` runs on the owner shard with that shard's GroupCoordinator and a reply function it must
// call exactly once (now or later). `done` then runs on the calling shard with the reply. When the
// request cannot be delivered or the reply is lost (the broker is stopping), `done` gets a
// default-constructed Result whose `error` is COORDINATOR_NOT_AVAILABLE.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "broker/group/group_coordinator.h"
#include "broker/group/offsets_records.h"
#include "broker/reactor/shard.h"
#include "broker/server/broker_context.h"
#include "broker/server/partition_manager.h"
#include "broker/server/topic_partition.h"

namespace ringbroker::group {

inline uint32_t CoordinatorShard(int32_t offsets_partition, uint32_t shard_count) {
  return server::OwnerShard(kOffsetsTopic, offsets_partition, shard_count);
}

struct GroupRoute {
  int32_t partition = 0;  // of __consumer_offsets
  uint32_t shard = 0;     // the shard that owns it, and so the group
};

// Where `group_id` lives, creating __consumer_offsets on first use (as Kafka does when a client
// first looks for a coordinator).
inline absl::StatusOr<GroupRoute> RouteGroup(server::BrokerContext& broker, std::string_view group_id) {
  absl::StatusOr<int32_t> partitions = OffsetsTopicPartitions(broker, /*create=*/true);
  if (!partitions.ok()) return partitions.status();
  const int32_t p = PartitionForGroup(group_id, *partitions);
  return GroupRoute{p, CoordinatorShard(p, broker.shard_count)};
}

inline std::string ToString(absl::Span<const uint8_t> bytes) {
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}
inline absl::Span<const uint8_t> ToBytes(const std::string& s) {
  return absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}
inline std::optional<std::string> ToOptional(const std::optional<std::string_view>& s) {
  if (!s) return std::nullopt;
  return std::string(*s);
}
inline std::optional<std::string_view> ToView(const std::optional<std::string>& s) {
  if (!s) return std::nullopt;
  return std::string_view(*s);
}

template <typename Result>
using Reply = absl::AnyInvocable<void(Result)>;

template <typename Result>
void CallCoordinator(server::BrokerContext& broker, reactor::Shard& shard, uint32_t target,
                     absl::AnyInvocable<void(GroupCoordinator&, Reply<Result>)> call,
                     absl::AnyInvocable<void(Result)> done) {
  // Written on the target, read here after the Completer's reply arrives.
  auto slot = std::make_shared<std::optional<Result>>();
  server::BrokerContext* b = &broker;
  auto shared_done = std::make_shared<absl::AnyInvocable<void(Result)>>(std::move(done));
  absl::Status submitted = shard.SubmitAsync(
      target,
      [b, target, slot, call = std::move(call)](reactor::Completer completer) mutable {
        call(b->shards[target]->groups, [slot, completer = std::move(completer)](Result r) mutable {
          *slot = std::move(r);
          completer.Complete();
        });
      },
      [slot, shared_done] {
        if (slot->has_value()) return (*shared_done)(std::move(**slot));
        Result lost{};
        lost.error = protocol::ErrorCode::kCoordinatorNotAvailable;
        (*shared_done)(std::move(lost));
      });
  if (!submitted.ok()) {
    Result lost{};
    lost.error = protocol::ErrorCode::kCoordinatorNotAvailable;
    (*shared_done)(std::move(lost));
  }
}

}  // namespace ringbroker::group
