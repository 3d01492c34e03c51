// PartitionManager: the partition logs one shard owns, opened on first use, closed and deleted
// when their topic goes away, maintained (roll, flush, retention) on a timer, and the fetch
// waiters that appends wake.
//
// Threading: one per shard; every call on that shard's thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "broker/group/group_coordinator.h"
#include "broker/server/broker_context.h"
#include "broker/server/fetch_session.h"
#include "broker/server/topic_partition.h"
#include "storage/io/file.h"
#include "storage/log.h"

namespace ringbroker::reactor {
class Shard;
}

namespace ringbroker::server {

// A parked fetch waiting for the next append. `fired` is shared with the fetch, which sets it when
// it stops waiting (woken elsewhere or timed out), so stale waiters can be dropped.
struct AppendWaiter {
  std::shared_ptr<std::atomic<bool>> fired;
  std::function<void()> wake;  // runs on the partition's shard; must only hop to the fetch's shard
};

struct Partition {
  TopicPartition id;
  std::string topic_id;  // distinguishes a re-created topic of the same name
  std::unique_ptr<storage::Log> log;
  // Topic settings the produce path applies on this shard (message.timestamp.type, cleanup.policy).
  bool log_append_time = false;
  bool compacted = false;
  // Woken (once each) after the next append completes; fetch long-polls park here.
  std::vector<AppendWaiter> append_waiters;

  // Parks a fetch, first dropping waiters whose fetch has moved on, so the list stays bounded by
  // the fetches currently waiting.
  void AddWaiter(AppendWaiter waiter);
};

class PartitionManager {
 public:
  PartitionManager(BrokerContext& context, uint32_t shard_id, std::unique_ptr<storage::FileSystem> fs);
  ~PartitionManager();

  // The partition's log, opening (or creating) it when this shard has not yet. NotFound when the
  // metadata has no such topic or partition. Must be called on the owning shard.
  absl::StatusOr<Partition*> Get(const std::string& topic, int32_t partition);

  // Closes and deletes the logs of topics no longer in the metadata (or re-created under a new id).
  void Reconcile(const coordination::ClusterSnapshot& snapshot);

  // Roll, flush and retention for every open log.
  void Maintain(int64_t now_ms);

  // Wakes the fetches parked on a partition after an append.
  static void WakeWaiters(Partition& partition);

  // Closes every log that is idle; returns true once all are closed (called repeatedly at stop).
  bool CloseAll();

  size_t open_count() const { return partitions_.size(); }
  const std::string& data_dir() const { return data_dir_; }

 private:
  std::string LogDir(const TopicPartition& tp) const;

  BrokerContext& context_;
  const uint32_t shard_id_;
  std::unique_ptr<storage::FileSystem> fs_;
  const std::string data_dir_;
  absl::flat_hash_map<TopicPartition, std::unique_ptr<Partition>> partitions_;
  // A deleted topic's log was busy at the last reconcile; the next maintenance tick tries again.
  bool reconcile_pending_ = false;
};

// Per-shard services of the broker, by shard id in BrokerContext::shards.
class ShardServices {
 public:
  ShardServices(BrokerContext& context, uint32_t shard_id, std::unique_ptr<storage::FileSystem> fs)
      : partitions(context, shard_id, std::move(fs)), fetch_sessions(shard_id), groups(context, shard_id) {}
  PartitionManager partitions;
  FetchSessionCache fetch_sessions;
  // The consumer groups whose __consumer_offsets partition this shard owns.
  group::GroupCoordinator groups;
};

}  // namespace ringbroker::server
