#include "coordination/embedded_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/random/random.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace ringbroker::coordination {
namespace {

absl::Status ErrnoStatus(const char* what, const std::string& path) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

absl::Status WriteAll(int fd, const std::string& bytes, const std::string& path) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("write", path);
    }
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status WriteFileAtomically(const std::string& dir, const std::string& name, const std::string& bytes) {
  const std::string path = absl::StrCat(dir, "/", name);
  const std::string tmp = absl::StrCat(path, ".tmp");
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("open", tmp);
  absl::Status status = WriteAll(fd, bytes, tmp);
  if (status.ok() && ::fdatasync(fd) != 0) status = ErrnoStatus("fdatasync", tmp);
  ::close(fd);
  if (!status.ok()) return status;
  if (::rename(tmp.c_str(), path.c_str()) != 0) return ErrnoStatus("rename", tmp);
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return ErrnoStatus("open", dir);
  int rc = ::fsync(dfd);
  ::close(dfd);
  if (rc != 0) return ErrnoStatus("fsync", dir);
  return absl::OkStatus();
}

std::vector<int32_t> BrokerIds(const pb::ClusterMetadata& metadata) {
  std::vector<int32_t> ids;
  for (const pb::Broker& b : metadata.brokers()) ids.push_back(b.id());
  return ids;
}

pb::Topic* MutableTopic(pb::ClusterMetadata& metadata, std::string_view name) {
  for (pb::Topic& topic : *metadata.mutable_topics()) {
    if (topic.name() == name) return &topic;
  }
  return nullptr;
}

absl::Status AddAssignments(pb::Topic& topic, const pb::ClusterMetadata& metadata, int32_t count,
                            const std::vector<std::vector<int32_t>>& explicit_assignment, int16_t replication_factor) {
  std::vector<std::vector<int32_t>> assignment = explicit_assignment;
  const int32_t first = topic.partitions_size();
  if (assignment.empty()) {
    absl::StatusOr<std::vector<std::vector<int32_t>>> assigned =
        AssignReplicas(BrokerIds(metadata), first, count, replication_factor, 0);
    if (!assigned.ok()) return assigned.status();
    assignment = *std::move(assigned);
  }
  if (assignment.size() != static_cast<size_t>(count)) {
    return absl::InvalidArgumentError("replica assignment does not cover every new partition");
  }
  for (int32_t i = 0; i < count; ++i) {
    const std::vector<int32_t>& replicas = assignment[static_cast<size_t>(i)];
    if (replicas.empty()) return absl::InvalidArgumentError("a partition has no replicas");
    pb::PartitionAssignment* p = topic.add_partitions();
    p->set_partition(first + i);
    p->set_leader(replicas.front());
    p->set_leader_epoch(0);
    for (int32_t r : replicas) {
      p->add_replicas(r);
      p->add_isr(r);
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string NewClusterId() {
  absl::BitGen gen;
  std::string raw(16, '\0');
  for (char& c : raw) c = static_cast<char>(absl::Uniform<uint8_t>(gen));
  return absl::WebSafeBase64Escape(raw);
}

std::string NewTopicId() {
  absl::BitGen gen;
  std::string raw(16, '\0');
  do {
    for (char& c : raw) c = static_cast<char>(absl::Uniform<uint8_t>(gen));
  } while (raw == std::string(16, '\0'));
  return raw;
}

absl::StatusOr<std::unique_ptr<EmbeddedStore>> EmbeddedStore::Open(const std::string& dir, const pb::Broker& self) {
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return ErrnoStatus("mkdir", dir);
  std::unique_ptr<EmbeddedStore> store(new EmbeddedStore(dir));
  pb::ClusterMetadata metadata;
  const std::string path = absl::StrCat(dir, "/", kFileName);
  std::ifstream in(path, std::ios::binary);
  if (in) {
    std::stringstream bytes;
    bytes << in.rdbuf();
    if (!metadata.ParseFromString(bytes.str())) {
      return absl::DataLossError(absl::StrCat("cannot parse ", path));
    }
  } else {
    metadata.set_cluster_id(NewClusterId());
  }
  // This broker is the only one and hence the controller; its address may have changed since.
  metadata.clear_brokers();
  *metadata.add_brokers() = self;
  metadata.set_controller_id(self.id());
  absl::MutexLock lock(&store->mu_);
  absl::Status status = store->Commit(std::move(metadata));
  if (!status.ok()) return status;
  return store;
}

ClusterSnapshot EmbeddedStore::Snapshot() const {
  absl::MutexLock lock(&mu_);
  return current_;
}

absl::Status EmbeddedStore::Commit(pb::ClusterMetadata next) {
  next.set_version(next.version() + 1);
  std::string bytes;
  if (!next.SerializeToString(&bytes)) return absl::InternalError("cannot serialize cluster metadata");
  absl::Status status = WriteFileAtomically(dir_, kFileName, bytes);
  if (!status.ok()) return status;
  current_ = std::make_shared<const pb::ClusterMetadata>(std::move(next));
  for (const auto& listener : listeners_) listener(current_);
  return absl::OkStatus();
}

absl::StatusOr<pb::Topic> EmbeddedStore::CreateTopic(const NewTopic& spec) {
  if (absl::Status s = ValidateTopicName(spec.name); !s.ok()) return s;
  if (spec.partition_count < 1) return absl::InvalidArgumentError("partition count must be at least 1");
  absl::MutexLock lock(&mu_);
  if (FindTopic(*current_, spec.name) != nullptr) {
    return absl::AlreadyExistsError(absl::StrCat("topic '", spec.name, "' already exists"));
  }
  pb::ClusterMetadata next = *current_;
  pb::Topic* topic = next.add_topics();
  topic->set_name(spec.name);
  topic->set_topic_id(NewTopicId());
  topic->set_internal(spec.internal);
  for (const auto& [k, v] : spec.configs) (*topic->mutable_configs())[k] = v;
  if (absl::Status s = AddAssignments(*topic, next, spec.partition_count, spec.assignment, spec.replication_factor);
      !s.ok()) {
    return s;
  }
  pb::Topic created = *topic;
  if (absl::Status s = Commit(std::move(next)); !s.ok()) return s;
  return created;
}

absl::Status EmbeddedStore::DeleteTopic(std::string_view name) {
  absl::MutexLock lock(&mu_);
  pb::ClusterMetadata next = *current_;
  auto* topics = next.mutable_topics();
  for (int i = 0; i < topics->size(); ++i) {
    if (topics->Get(i).name() == name) {
      topics->DeleteSubrange(i, 1);
      return Commit(std::move(next));
    }
  }
  return absl::NotFoundError(absl::StrCat("topic '", std::string(name), "' does not exist"));
}

absl::Status EmbeddedStore::CreatePartitions(std::string_view name, int32_t total_count,
                                             const std::vector<std::vector<int32_t>>& assignment) {
  absl::MutexLock lock(&mu_);
  pb::ClusterMetadata next = *current_;
  pb::Topic* topic = MutableTopic(next, name);
  if (topic == nullptr) return absl::NotFoundError(absl::StrCat("topic '", std::string(name), "' does not exist"));
  if (total_count <= topic->partitions_size()) {
    return absl::InvalidArgumentError(absl::StrCat("topic currently has ", topic->partitions_size(),
                                                   " partitions, ", total_count, " would not be an increase"));
  }
  const int16_t replication_factor = static_cast<int16_t>(topic->partitions(0).replicas_size());
  if (absl::Status s =
          AddAssignments(*topic, next, total_count - topic->partitions_size(), assignment, replication_factor);
      !s.ok()) {
    return s;
  }
  return Commit(std::move(next));
}

absl::Status EmbeddedStore::SetTopicConfigs(std::string_view name, const std::map<std::string, std::string>& configs) {
  absl::MutexLock lock(&mu_);
  pb::ClusterMetadata next = *current_;
  pb::Topic* topic = MutableTopic(next, name);
  if (topic == nullptr) return absl::NotFoundError(absl::StrCat("topic '", std::string(name), "' does not exist"));
  topic->clear_configs();
  for (const auto& [k, v] : configs) (*topic->mutable_configs())[k] = v;
  return Commit(std::move(next));
}

absl::Status EmbeddedStore::RegisterBroker(const pb::Broker& broker) {
  absl::MutexLock lock(&mu_);
  pb::ClusterMetadata next = *current_;
  auto* brokers = next.mutable_brokers();
  for (int i = 0; i < brokers->size(); ++i) {
    if (brokers->Get(i).id() == broker.id()) {
      *brokers->Mutable(i) = broker;
      return Commit(std::move(next));
    }
  }
  *brokers->Add() = broker;
  return Commit(std::move(next));
}

void EmbeddedStore::AddListener(std::function<void(const ClusterSnapshot&)> listener) {
  absl::MutexLock lock(&mu_);
  listeners_.push_back(std::move(listener));
}

}  // namespace ringbroker::coordination
