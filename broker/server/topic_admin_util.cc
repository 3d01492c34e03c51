#include "broker/server/topic_admin_util.h"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/server/topic_log_config.h"

namespace ringbroker::server {
namespace {

constexpr std::string_view kRetentionKeys[] = {"log.retention.ms", "log.retention.minutes", "log.retention.hours"};
constexpr std::string_view kRollKeys[] = {"log.roll.ms", "log.roll.hours"};

std::optional<std::string> ExplicitBrokerValue(const config::BrokerConfig& broker, std::string_view key) {
  const auto& values = broker.explicit_values();
  auto it = values.find(std::string(key));
  if (it == values.end()) return std::nullopt;
  return it->second;
}

// Kafka's order: every key set in server.properties (most specific key first), then every key's
// built-in default. Sensitive values are reported as null.
std::vector<ConfigSynonym> BrokerSynonyms(const config::BrokerConfig& broker,
                                          const std::vector<std::string_view>& keys, bool sensitive) {
  std::vector<ConfigSynonym> out;
  for (std::string_view key : keys) {
    std::optional<std::string> value = ExplicitBrokerValue(broker, key);
    if (!value) continue;
    out.push_back(ConfigSynonym{std::string(key), sensitive ? std::nullopt : std::move(value),
                                ConfigSource::kStaticBrokerConfig});
  }
  for (std::string_view key : keys) {
    const config::ConfigDef* def = config::FindBrokerConfig(key);
    if (def == nullptr || !def->default_value) continue;
    out.push_back(ConfigSynonym{std::string(key),
                                sensitive ? std::nullopt : std::optional<std::string>(*def->default_value),
                                ConfigSource::kDefaultConfig});
  }
  return out;
}

}  // namespace

std::vector<std::string_view> BrokerSynonymKeys(std::string_view broker_key) {
  for (std::string_view k : kRetentionKeys) {
    if (k == broker_key) return {std::begin(kRetentionKeys), std::end(kRetentionKeys)};
  }
  for (std::string_view k : kRollKeys) {
    if (k == broker_key) return {std::begin(kRollKeys), std::end(kRollKeys)};
  }
  return {broker_key};
}

std::vector<DescribedConfig> DescribeTopicConfigs(const config::BrokerConfig& broker,
                                                  const std::map<std::string, std::string>& explicit_configs) {
  const std::map<std::string, std::string> effective = EffectiveTopicConfigs(broker, explicit_configs);
  std::vector<DescribedConfig> out;
  out.reserve(config::TopicConfigDefs().size());
  for (const config::ConfigDef& def : config::TopicConfigDefs()) {
    const std::string name(def.name);
    DescribedConfig& c = out.emplace_back();
    c.def = &def;
    auto value = effective.find(name);
    if (!def.sensitive && value != effective.end()) c.value = value->second;
    if (auto it = explicit_configs.find(name); it != explicit_configs.end()) {
      c.synonyms.push_back(ConfigSynonym{name, def.sensitive ? std::nullopt : std::optional<std::string>(it->second),
                                         ConfigSource::kDynamicTopicConfig});
    }
    if (!def.broker_synonym.empty()) {
      std::vector<ConfigSynonym> from_broker =
          BrokerSynonyms(broker, BrokerSynonymKeys(def.broker_synonym), def.sensitive);
      std::move(from_broker.begin(), from_broker.end(), std::back_inserter(c.synonyms));
    }
    c.source = c.synonyms.empty() ? ConfigSource::kDefaultConfig : c.synonyms.front().source;
  }
  return out;
}

std::vector<DescribedConfig> DescribeBrokerConfigs(const config::BrokerConfig& broker) {
  std::vector<DescribedConfig> out;
  out.reserve(config::BrokerConfigDefs().size());
  for (const config::ConfigDef& def : config::BrokerConfigDefs()) {
    DescribedConfig& c = out.emplace_back();
    c.def = &def;
    if (std::optional<std::string> value = ExplicitBrokerValue(broker, def.name)) {
      c.value = std::move(value);
    } else if (def.default_value) {
      c.value = std::string(*def.default_value);
    }
    if (def.sensitive) c.value = std::nullopt;
    c.synonyms = BrokerSynonyms(broker, BrokerSynonymKeys(def.name), def.sensitive);
    // As Kafka: only what the key itself or a more general key supplies counts, starting with the
    // key's own entry (log.retention.ms is not described by log.retention.hours' value).
    auto own = std::find_if(c.synonyms.begin(), c.synonyms.end(),
                            [&](const ConfigSynonym& s) { return s.name == def.name; });
    c.synonyms.erase(c.synonyms.begin(), own);
    c.source = c.synonyms.empty() ? ConfigSource::kDefaultConfig : c.synonyms.front().source;
  }
  return out;
}

absl::Status ValidateTopicConfig(std::string_view name, const std::optional<std::string_view>& value) {
  const config::ConfigDef* def = config::FindTopicConfig(name);
  if (def == nullptr) return absl::InvalidArgumentError(absl::StrCat("Unknown topic config name: ", std::string(name)));
  if (!value.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat("Null value not supported for topic configs: ", std::string(name)));
  }
  return config::ValidateValue(*def, *value);
}

absl::Status ValidateReplicaAssignment(const coordination::pb::ClusterMetadata& metadata,
                                       const std::vector<std::vector<int32_t>>& assignment,
                                       int32_t replication_factor) {
  const std::vector<int32_t> brokers = BrokerIds(metadata);
  const std::set<int32_t> live(brokers.begin(), brokers.end());
  size_t expected = replication_factor > 0 ? static_cast<size_t>(replication_factor) : 0;
  for (size_t i = 0; i < assignment.size(); ++i) {
    const std::vector<int32_t>& replicas = assignment[i];
    if (replicas.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("Replica assignment ", i, " is empty."));
    }
    if (expected == 0) expected = replicas.size();
    if (replicas.size() != expected) {
      return absl::InvalidArgumentError(absl::StrCat("Inconsistent replication factor: assignment ", i, " has ",
                                                     replicas.size(), " replicas while ", expected,
                                                     " were expected."));
    }
    std::set<int32_t> seen;
    for (int32_t id : replicas) {
      if (!seen.insert(id).second) {
        return absl::InvalidArgumentError(
            absl::StrCat("Duplicate brokers not allowed in replica assignment: ", absl::StrJoin(replicas, ", "), "."));
      }
      if (!live.contains(id)) {
        return absl::InvalidArgumentError(absl::StrCat("Unknown broker ", id, " in replica assignment."));
      }
    }
  }
  return absl::OkStatus();
}

std::string ClientErrorMessage(std::string message) {
  constexpr std::string_view kEllipsis = "...";
  if (message.size() > kMaxErrorMessageBytes) {
    message.resize(kMaxErrorMessageBytes - kEllipsis.size());
    message.append(kEllipsis);
  }
  return message;
}

ReplicasPerBroker HostedReplicas(const coordination::pb::ClusterMetadata& metadata) {
  ReplicasPerBroker hosted;
  for (const auto& b : metadata.brokers()) hosted[b.id()] = 0;
  for (const coordination::pb::Topic& topic : metadata.topics()) {
    for (const coordination::pb::PartitionAssignment& p : topic.partitions()) {
      for (int32_t id : p.replicas()) {
        if (auto it = hosted.find(id); it != hosted.end()) ++it->second;
      }
    }
  }
  return hosted;
}

ReplicasPerBroker PlacedReplicas(const coordination::pb::ClusterMetadata& metadata, int64_t partitions,
                                 int64_t replication_factor) {
  ReplicasPerBroker added;
  const int64_t brokers = metadata.brokers_size();
  if (brokers == 0 || partitions <= 0 || replication_factor <= 0) return added;
  // Both factors fit in 32 bits, so the product cannot overflow.
  const int64_t even_share = (partitions * replication_factor + brokers - 1) / brokers;
  for (const auto& b : metadata.brokers()) added[b.id()] = std::min(partitions, even_share);
  return added;
}

ReplicasPerBroker AssignedReplicas(const coordination::pb::ClusterMetadata& metadata,
                                   const std::vector<std::vector<int32_t>>& assignment) {
  ReplicasPerBroker added;
  for (const auto& b : metadata.brokers()) added[b.id()] = 0;
  for (const std::vector<int32_t>& replicas : assignment) {
    for (int32_t id : replicas) {
      if (auto it = added.find(id); it != added.end()) ++it->second;
    }
  }
  return added;
}

absl::Status CheckBrokerPartitionLimit(const ReplicasPerBroker& hosted, const ReplicasPerBroker& added,
                                       int64_t max_broker_partitions) {
  for (const auto& [id, more] : added) {
    if (more == 0) continue;
    auto it = hosted.find(id);
    const int64_t now = it == hosted.end() ? 0 : it->second;
    if (now + more > max_broker_partitions) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "Adding ", more, " partition(s) would bring broker ", id, " to ", now + more,
          " partitions, above its limit max.broker.partitions=", max_broker_partitions, " (it hosts ", now, ")."));
    }
  }
  return absl::OkStatus();
}

std::vector<int32_t> BrokerIds(const coordination::pb::ClusterMetadata& metadata) {
  std::vector<int32_t> ids;
  ids.reserve(static_cast<size_t>(metadata.brokers_size()));
  for (const auto& b : metadata.brokers()) ids.push_back(b.id());
  return ids;
}

std::map<std::string, std::string> ExplicitConfigs(const coordination::pb::Topic& topic) {
  return std::map<std::string, std::string>(topic.configs().begin(), topic.configs().end());
}

protocol::wire::Uuid TopicUuid(const coordination::pb::Topic& topic) {
  protocol::wire::Uuid id;
  if (topic.topic_id().size() == id.bytes.size()) {
    std::memcpy(id.bytes.data(), topic.topic_id().data(), id.bytes.size());
  }
  return id;
}

const coordination::pb::Topic* FindTopicById(const coordination::pb::ClusterMetadata& metadata,
                                             const protocol::wire::Uuid& id) {
  if (id.IsZero()) return nullptr;
  for (const coordination::pb::Topic& topic : metadata.topics()) {
    if (TopicUuid(topic) == id) return &topic;
  }
  return nullptr;
}

}  // namespace ringbroker::server
