#include "broker/server/partition_manager.h"

#include <filesystem>
#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "broker/server/log_dir_remover.h"
#include "broker/server/topic_log_config.h"

namespace ringbroker::server {

PartitionManager::PartitionManager(BrokerContext& context, uint32_t shard_id, std::unique_ptr<storage::FileSystem> fs)
    : context_(context), shard_id_(shard_id), fs_(std::move(fs)), data_dir_(context.config->log_dir()) {}

PartitionManager::~PartitionManager() = default;

std::string PartitionManager::LogDir(const TopicPartition& tp) const {
  return absl::StrCat(data_dir_, "/", tp.topic, "-", tp.partition);
}

absl::StatusOr<Partition*> PartitionManager::Get(const std::string& topic, int32_t partition) {
  TopicPartition tp{topic, partition};
  coordination::ClusterSnapshot snapshot = context_.metadata->Snapshot();
  const coordination::pb::Topic* meta = coordination::FindTopic(*snapshot, topic);
  if (meta == nullptr || partition < 0 || partition >= meta->partitions_size()) {
    return absl::NotFoundError(absl::StrCat("no partition ", topic, "-", partition));
  }
  auto it = partitions_.find(tp);
  if (it != partitions_.end()) {
    if (it->second->topic_id == meta->topic_id()) return it->second.get();
    // The topic was deleted and created again: the old log must not leak into the new topic.
    Reconcile(snapshot);
    // Still there: the old log is busy (a write, sync or seal in flight whose callback holds it),
    // so it can be neither destroyed nor replaced yet. NOT_LEADER_OR_FOLLOWER: every client
    // refreshes its metadata and retries that, in produce and fetch alike; the maintenance tick
    // retries the close.
    if (partitions_.contains(tp)) {
      return absl::FailedPreconditionError(
          absl::StrCat("the earlier ", topic, "-", partition, " is still closing"));
    }
  }
  std::map<std::string, std::string> explicit_configs(meta->configs().begin(), meta->configs().end());
  const std::map<std::string, std::string> effective = EffectiveTopicConfigs(*context_.config, explicit_configs);
  storage::LogConfig log_config = ToLogConfig(effective);
  storage::LogOptions options;
  options.clock_ms = [] { return absl::ToUnixMillis(absl::Now()); };
  const std::string dir = LogDir(tp);
  // A directory left by an earlier topic of the same name belongs to that topic: the topic id,
  // kept beside the log, tells them apart.
  const std::string id_path = dir + "/topic-id";
  std::error_code ec;
  if (std::filesystem::exists(id_path, ec)) {
    std::string stored(16, '\0');
    FILE* f = std::fopen(id_path.c_str(), "rb");
    size_t n = f ? std::fread(stored.data(), 1, stored.size(), f) : 0;
    if (f) std::fclose(f);
    if (n != stored.size() || stored != meta->topic_id()) RemoveLogDirInBackground(dir);
  }
  absl::StatusOr<std::unique_ptr<storage::Log>> log = storage::Log::Open(*fs_, dir, log_config, options);
  if (!log.ok()) return log.status();
  if (!std::filesystem::exists(id_path, ec)) {
    FILE* f = std::fopen(id_path.c_str(), "wb");
    if (f != nullptr) {
      std::fwrite(meta->topic_id().data(), 1, meta->topic_id().size(), f);
      std::fclose(f);
    }
  }
  auto p = std::make_unique<Partition>();
  p->id = tp;
  p->topic_id = meta->topic_id();
  p->log = *std::move(log);
  p->log_append_time = effective.at("message.timestamp.type") == "LogAppendTime";
  p->compacted = log_config.cleanup_compact;
  // A single replica's high watermark is its log end: everything written is committed.
  p->log->set_high_watermark(p->log->readable_end_offset());
  Partition* raw = p.get();
  partitions_[tp] = std::move(p);
  return raw;
}

void PartitionManager::Reconcile(const coordination::ClusterSnapshot& snapshot) {
  reconcile_pending_ = false;
  std::vector<TopicPartition> doomed;
  for (auto& [tp, p] : partitions_) {
    const coordination::pb::Topic* meta = coordination::FindTopic(*snapshot, tp.topic);
    if (meta == nullptr || meta->topic_id() != p->topic_id || tp.partition >= meta->partitions_size()) {
      doomed.push_back(tp);
    }
  }
  for (const TopicPartition& tp : doomed) {
    auto it = partitions_.find(tp);
    Partition& p = *it->second;
    if (!p.log->idle()) {
      p.log->HurrySeals();
      reconcile_pending_ = true;  // retried at the next maintenance tick
      continue;
    }
    (void)p.log->Close();
    WakeWaiters(p);
    const std::string dir = LogDir(tp);
    partitions_.erase(it);
    RemoveLogDirInBackground(dir);
  }
  // Logs of deleted topics that this shard owns but never opened since start-up.
  std::error_code ec;
  if (!std::filesystem::is_directory(data_dir_, ec)) return;
  for (const auto& entry : std::filesystem::directory_iterator(data_dir_, ec)) {
    if (!entry.is_directory() || !std::filesystem::exists(entry.path() / "topic-id", ec)) continue;
    const std::string name = entry.path().filename().string();
    if (IsLogDirBeingRemoved(name)) continue;
    const size_t dash = name.rfind('-');
    int32_t partition = -1;
    if (dash == std::string::npos || dash == 0 || !absl::SimpleAtoi(name.substr(dash + 1), &partition)) continue;
    const std::string topic = name.substr(0, dash);
    if (OwnerShard(topic, partition, context_.shard_count) != shard_id_) continue;
    if (partitions_.contains(TopicPartition{topic, partition})) continue;
    if (coordination::FindTopic(*snapshot, topic) == nullptr) RemoveLogDirInBackground(entry.path().string());
  }
}

void PartitionManager::Maintain(int64_t now_ms) {
  if (reconcile_pending_) Reconcile(context_.metadata->Snapshot());
  for (auto& [tp, p] : partitions_) {
    absl::Status s = p->log->Maintain(now_ms);
    (void)s;  // a failed log reports its status on the next append or read
  }
}

void Partition::AddWaiter(AppendWaiter waiter) {
  std::erase_if(append_waiters, [](const AppendWaiter& w) { return w.fired->load(std::memory_order_relaxed); });
  append_waiters.push_back(std::move(waiter));
}

void PartitionManager::WakeWaiters(Partition& partition) {
  if (partition.append_waiters.empty()) return;
  std::vector<AppendWaiter> waiters = std::move(partition.append_waiters);
  partition.append_waiters.clear();
  for (AppendWaiter& w : waiters) {
    if (!w.fired->exchange(true)) w.wake();
  }
}

bool PartitionManager::CloseAll() {
  for (auto it = partitions_.begin(); it != partitions_.end();) {
    if (!it->second->log->idle()) {
      it->second->log->HurrySeals();
      ++it;
      continue;
    }
    (void)it->second->log->Close();
    WakeWaiters(*it->second);
    partitions_.erase(it++);
  }
  return partitions_.empty();
}

}  // namespace ringbroker::server
