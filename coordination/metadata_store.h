// The MetadataStore interface: the cluster's topics, partitions, configs and brokers, as a
// ZooKeeper-backed or an embedded implementation keeps them.
//
// Threading: every method may be called from any thread; implementations lock internally. These
// calls are for the control path (admin requests, start-up, leadership changes) and may block on
// disk or network, so the data path reads Snapshot() and never calls the mutators.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "metadata.pb.h"

namespace ringbroker::coordination {

using ClusterSnapshot = std::shared_ptr<const pb::ClusterMetadata>;

struct NewTopic {
  std::string name;
  int32_t partition_count = 1;
  int16_t replication_factor = 1;
  // Explicit assignment, partition index -> replica broker ids; empty means the store assigns.
  std::vector<std::vector<int32_t>> assignment;
  std::map<std::string, std::string> configs;
  bool internal = false;
};

class MetadataStore {
 public:
  virtual ~MetadataStore() = default;

  // The current metadata, immutable. Never null after a successful Open of the implementation.
  virtual ClusterSnapshot Snapshot() const = 0;

  // Creates a topic. AlreadyExistsError when the name is taken; InvalidArgumentError when the
  // replication factor exceeds the live brokers or the assignment is malformed.
  virtual absl::StatusOr<pb::Topic> CreateTopic(const NewTopic& topic) = 0;

  // NotFoundError when no such topic.
  virtual absl::Status DeleteTopic(std::string_view name) = 0;

  // Grows a topic to `total_count` partitions. InvalidArgumentError when not an increase.
  virtual absl::Status CreatePartitions(std::string_view name, int32_t total_count,
                                        const std::vector<std::vector<int32_t>>& assignment) = 0;

  // Replaces the topic's explicit configs with `configs`.
  virtual absl::Status SetTopicConfigs(std::string_view name,
                                       const std::map<std::string, std::string>& configs) = 0;

  // Records a live broker (replacing an earlier registration with the same id).
  virtual absl::Status RegisterBroker(const pb::Broker& broker) = 0;

  // Calls `listener` after every change, with the new snapshot, on the thread that made the change
  // (embedded) or the store's event thread (ZooKeeper). Listeners must not call back into the store.
  virtual void AddListener(std::function<void(const ClusterSnapshot&)> listener) = 0;
};

// Finds a topic in a snapshot; nullptr when absent. Valid as long as the snapshot is held.
const pb::Topic* FindTopic(const pb::ClusterMetadata& metadata, std::string_view name);

// Kafka's rule for topic names: 1..249 characters of [a-zA-Z0-9._-], not "." or "..".
absl::Status ValidateTopicName(std::string_view name);

// Spreads partitions' replicas over brokers round-robin from a start index, as Kafka's
// rack-unaware assignment does, so leaders are balanced. InvalidArgumentError when
// replication_factor exceeds the number of brokers or is < 1.
absl::StatusOr<std::vector<std::vector<int32_t>>> AssignReplicas(
    const std::vector<int32_t>& broker_ids, int32_t first_partition, int32_t partition_count,
    int16_t replication_factor, int32_t start_index);

}  // namespace ringbroker::coordination
