#include "coordination/metadata_store.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace ringbroker::coordination {

const pb::Topic* FindTopic(const pb::ClusterMetadata& metadata, std::string_view name) {
  for (const pb::Topic& topic : metadata.topics()) {
    if (topic.name() == name) return &topic;
  }
  return nullptr;
}

absl::Status ValidateTopicName(std::string_view name) {
  constexpr size_t kMaxTopicNameLength = 249;
  if (name.empty()) return absl::InvalidArgumentError("topic name is empty");
  if (name == "." || name == "..") return absl::InvalidArgumentError("topic name cannot be '.' or '..'");
  if (name.size() > kMaxTopicNameLength) {
    return absl::InvalidArgumentError(absl::StrCat("topic name is longer than ", kMaxTopicNameLength));
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-';
    if (!ok) return absl::InvalidArgumentError(absl::StrCat("topic name '", std::string(name), "' has an illegal character"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::vector<int32_t>>> AssignReplicas(const std::vector<int32_t>& broker_ids,
                                                                 int32_t first_partition, int32_t partition_count,
                                                                 int16_t replication_factor, int32_t start_index) {
  if (replication_factor < 1) return absl::InvalidArgumentError("replication factor must be at least 1");
  if (static_cast<size_t>(replication_factor) > broker_ids.size()) {
    return absl::InvalidArgumentError(absl::StrCat("replication factor ", replication_factor, " larger than ",
                                                   broker_ids.size(), " available brokers"));
  }
  std::vector<int32_t> brokers = broker_ids;
  std::sort(brokers.begin(), brokers.end());
  const size_t n = brokers.size();
  std::vector<std::vector<int32_t>> assignment;
  assignment.reserve(static_cast<size_t>(std::max(partition_count, 0)));
  for (int32_t i = 0; i < partition_count; ++i) {
    const size_t p = static_cast<size_t>(first_partition + i);
    const size_t leader = (static_cast<size_t>(start_index) + p) % n;
    // As Kafka: follower r sits at leader + 1 + (shift + r - 1) mod (n - 1), never on the leader, and
    // the shift grows each full round so that consecutive rounds do not stack the same pairs.
    const size_t shift = n > 1 ? (p / n) % (n - 1) : 0;
    std::vector<int32_t> replicas{brokers[leader]};
    for (int16_t r = 1; r < replication_factor; ++r) {
      replicas.push_back(brokers[(leader + 1 + (shift + static_cast<size_t>(r - 1)) % (n - 1)) % n]);
    }
    assignment.push_back(std::move(replicas));
  }
  return assignment;
}

}  // namespace ringbroker::coordination
