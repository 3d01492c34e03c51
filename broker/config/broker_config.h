// The broker's configuration, read from a Java-style server.properties file plus command-line
// overrides, in Kafka's key names. Values are validated once at load; accessors then cannot fail.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "broker/config/config_def.h"

namespace ringbroker::config {

struct Endpoint {
  std::string listener_name = "PLAINTEXT";
  std::string host;  // empty means all interfaces
  int32_t port = 9092;
};

// Parses Java .properties text: `key=value`, `key: value` or `key value`, `#`/`!` comments,
// backslash line continuations and escapes. Later keys override earlier ones.
absl::StatusOr<std::map<std::string, std::string>> ParseProperties(std::string_view text);

// Parses a listener list such as "PLAINTEXT://127.0.0.1:9092,INTERNAL://:9093".
absl::StatusOr<std::vector<Endpoint>> ParseListeners(std::string_view text);

class BrokerConfig {
 public:
  // Builds the configuration from properties text (may be empty) and `key=value` overrides.
  // Unknown keys are kept and reported in warnings(); bad values of known keys are an error.
  static absl::StatusOr<BrokerConfig> FromText(std::string_view properties,
                                               const std::vector<std::string>& overrides);
  static absl::StatusOr<BrokerConfig> FromFile(const std::string& path, const std::vector<std::string>& overrides);

  // The value in force for a known key: explicit, else Kafka's default; empty when null.
  std::string Get(std::string_view key) const;
  bool IsExplicit(std::string_view key) const { return explicit_.contains(std::string(key)); }
  int64_t GetLong(std::string_view key) const;
  bool GetBool(std::string_view key) const;
  double GetDouble(std::string_view key) const;

  // This broker's node id. broker.id=-1 (unset) is 0: a single broker on the embedded store has no
  // id generator (Kafka's hands out reserved.broker.max.id + 1 onwards from ZooKeeper).
  int32_t broker_id() const { return std::max<int32_t>(0, static_cast<int32_t>(GetLong("broker.id"))); }
  const Endpoint& listener() const { return listeners_.front(); }
  const Endpoint& advertised() const { return advertised_.front(); }
  // log.dirs, else log.dir; the first directory (Ringbroker uses one data directory).
  std::string log_dir() const;
  // Kafka's precedence: log.retention.ms, then .minutes, then .hours. -1 means unlimited.
  int64_t log_retention_ms() const;
  // log.roll.ms, else log.roll.hours.
  int64_t log_roll_ms() const;
  // The default for a topic key, taken from its broker synonym when that is set, else Kafka's.
  std::string TopicDefault(const ConfigDef& topic_def) const;

  const std::vector<std::string>& warnings() const { return warnings_; }
  const std::map<std::string, std::string>& explicit_values() const { return explicit_; }

 private:
  std::map<std::string, std::string> explicit_;
  std::vector<Endpoint> listeners_;
  std::vector<Endpoint> advertised_;
  std::vector<std::string> warnings_;
};

}  // namespace ringbroker::config
