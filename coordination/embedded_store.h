// EmbeddedStore: the MetadataStore of a single broker without ZooKeeper. The whole model lives in
// memory and in one file, `<dir>/cluster-metadata.pb`, rewritten atomically on every change
// (write a temporary file, fdatasync, rename over the old one, fsync the directory), so a crash at
// any moment leaves either the old or the new metadata, never a mix.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "coordination/metadata_store.h"

namespace ringbroker::coordination {

class EmbeddedStore final : public MetadataStore {
 public:
  // Loads the metadata from `dir`, or creates it with a new random cluster id. `self` is this
  // broker, registered as the only live broker and controller.
  static absl::StatusOr<std::unique_ptr<EmbeddedStore>> Open(const std::string& dir, const pb::Broker& self);

  ClusterSnapshot Snapshot() const override;
  absl::StatusOr<pb::Topic> CreateTopic(const NewTopic& topic) override;
  absl::Status DeleteTopic(std::string_view name) override;
  absl::Status CreatePartitions(std::string_view name, int32_t total_count,
                                const std::vector<std::vector<int32_t>>& assignment) override;
  absl::Status SetTopicConfigs(std::string_view name, const std::map<std::string, std::string>& configs) override;
  absl::Status RegisterBroker(const pb::Broker& broker) override;
  void AddListener(std::function<void(const ClusterSnapshot&)> listener) override;

  static constexpr const char* kFileName = "cluster-metadata.pb";

 private:
  explicit EmbeddedStore(std::string dir) : dir_(std::move(dir)) {}

  // Persists `next` and, on success, publishes it. Holds mu_.
  absl::Status Commit(pb::ClusterMetadata next) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string dir_;
  mutable absl::Mutex mu_;
  ClusterSnapshot current_ ABSL_GUARDED_BY(mu_);
  std::vector<std::function<void(const ClusterSnapshot&)>> listeners_ ABSL_GUARDED_BY(mu_);
};

// A new random cluster id: 16 random bytes in URL-safe base64 without padding, as Kafka's.
std::string NewClusterId();
// A new random 16-byte topic id (never all zero).
std::string NewTopicId();

}  // namespace ringbroker::coordination
