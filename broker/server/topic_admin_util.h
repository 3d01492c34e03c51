// Pieces shared by the topic administration handlers (CreateTopics, CreatePartitions,
// DeleteTopics, DescribeConfigs): checks of requested topic configs and replica assignments, topic
// lookup by id, and the description of topic and broker configs the way Kafka reports them (value
// in force, where it comes from, and the chain of synonyms behind it).
//
// Everything here is pure: it reads a BrokerConfig or a metadata snapshot and returns values that
// own their strings, so callers may drop the snapshot afterwards.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "broker/config/broker_config.h"
#include "broker/config/config_def.h"
#include "coordination/metadata_store.h"
#include "protocol/wire/types.h"

namespace ringbroker::server {

// DescribeConfigs' ConfigSource values, as Kafka numbers them (DescribeConfigsResponse.ConfigSource).
enum class ConfigSource : int8_t {
  kUnknown = 0,
  kDynamicTopicConfig = 1,  // set on the topic itself
  kDynamicBrokerConfig = 2,
  kDynamicDefaultBrokerConfig = 3,
  kStaticBrokerConfig = 4,  // set in server.properties (or a command-line override)
  kDefaultConfig = 5,       // Kafka's built-in default
  kDynamicBrokerLoggerConfig = 6,
};

struct ConfigSynonym {
  std::string name;
  std::optional<std::string> value;  // nullopt is null: a sensitive value
  ConfigSource source = ConfigSource::kDefaultConfig;
};

// One configuration key as DescribeConfigs (and CreateTopics v5+) report it.
struct DescribedConfig {
  const config::ConfigDef* def = nullptr;  // name, type, sensitivity; static storage
  std::optional<std::string> value;        // nullopt is null: sensitive, or no value at all
  ConfigSource source = ConfigSource::kDefaultConfig;
  // Where the value could come from, most specific first; the first one in force decides `source`.
  std::vector<ConfigSynonym> synonyms;
};

// Every topic key with the value in force for a topic whose explicit configs are
// `explicit_configs`: the topic's own setting, else the broker's synonym from server.properties,
// else Kafka's default. Synonyms list the topic setting (if any), then the broker keys set in
// server.properties, then the broker keys' defaults.
std::vector<DescribedConfig> DescribeTopicConfigs(const config::BrokerConfig& broker,
                                                  const std::map<std::string, std::string>& explicit_configs);

// Every broker key with its value (explicit, else Kafka's default, else null); source
// STATIC_BROKER_CONFIG when set in server.properties, else DEFAULT_CONFIG.
std::vector<DescribedConfig> DescribeBrokerConfigs(const config::BrokerConfig& broker);

// The broker keys that can set `broker_key`'s value, most specific first, `broker_key` among them:
// log.retention.ms / .minutes / .hours, log.roll.ms / .hours; otherwise just the key itself.
std::vector<std::string_view> BrokerSynonymKeys(std::string_view broker_key);

// Checks one requested topic config: a known topic key, a non-null value, a valid value.
// InvalidArgument with a message for the client otherwise (Kafka's INVALID_CONFIG).
absl::Status ValidateTopicConfig(std::string_view name, const std::optional<std::string_view>& value);

// Checks replica assignments for `assignment.size()` new partitions: every partition names at
// least one replica, no broker twice, only registered brokers, and every partition has
// `replication_factor` replicas (or, when it is -1, as many as the first partition). InvalidArgument
// with a message otherwise (Kafka's INVALID_REPLICA_ASSIGNMENT).
absl::Status ValidateReplicaAssignment(const coordination::pb::ClusterMetadata& metadata,
                                       const std::vector<std::vector<int32_t>>& assignment,
                                       int32_t replication_factor);

// The most partitions one CreateTopics or CreatePartitions request may add, over all its topics.
// Kafka's controller writes one record per new partition and refuses an operation of more than
// 10,000 records (QuorumController.MAX_RECORDS_PER_USER_OP) with POLICY_VIOLATION; this is the same
// bound, checked before anything is sized from the requested counts.
inline constexpr int64_t kMaxPartitionsPerRequest = 10000;
// Kafka's message for that refusal.
inline constexpr char kExcessivelyLargeBatch[] = "Unable to perform excessively large batch operation.";

// How many partition replicas each registered broker hosts (every registered broker has an entry).
using ReplicasPerBroker = std::map<int32_t, int64_t>;
ReplicasPerBroker HostedReplicas(const coordination::pb::ClusterMetadata& metadata);

// The replicas each registered broker would gain from `partitions` new partitions of
// `replication_factor` replicas placed by the store, which spreads them evenly: at most
// ceil(partitions * replication_factor / brokers), and never more than one per partition.
// Arithmetic only: nothing is sized from the counts.
ReplicasPerBroker PlacedReplicas(const coordination::pb::ClusterMetadata& metadata, int64_t partitions,
                                 int64_t replication_factor);

// The replicas each registered broker would gain from explicit assignments (unknown ids are not
// counted; ValidateReplicaAssignment refuses them).
ReplicasPerBroker AssignedReplicas(const coordination::pb::ClusterMetadata& metadata,
                                   const std::vector<std::vector<int32_t>>& assignment);

// Checks max.broker.partitions: OK when every broker's hosted + added replicas stay at or under
// `max_broker_partitions`; otherwise ResourceExhausted with a message naming the broker, the
// limit and the counts (Kafka has no such limit; the handlers answer POLICY_VIOLATION).
absl::Status CheckBrokerPartitionLimit(const ReplicasPerBroker& hosted, const ReplicasPerBroker& added,
                                       int64_t max_broker_partitions);

// An error message for the client, cut to at most kMaxErrorMessageBytes. Messages quote what the
// client sent (a config name, a topic name up to 32767 bytes) and a classic wire string cannot be
// longer than 32767 bytes: the encoder would abort the broker.
inline constexpr size_t kMaxErrorMessageBytes = 1024;
std::string ClientErrorMessage(std::string message);

// The ids of the registered brokers.
std::vector<int32_t> BrokerIds(const coordination::pb::ClusterMetadata& metadata);

// The topic's explicit configs as a sorted map.
std::map<std::string, std::string> ExplicitConfigs(const coordination::pb::Topic& topic);

// The stored 16-byte topic id as a wire uuid (zero when the stored id is malformed).
protocol::wire::Uuid TopicUuid(const coordination::pb::Topic& topic);

// Finds a topic by id; nullptr when absent. Valid as long as the snapshot is held.
const coordination::pb::Topic* FindTopicById(const coordination::pb::ClusterMetadata& metadata,
                                             const protocol::wire::Uuid& id);

}  // namespace ringbroker::server
