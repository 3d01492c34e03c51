// The configuration keys Ringbroker knows, in Kafka's own names, types and defaults. One table for
// the broker (server.properties) and one for topics (CreateTopics / DescribeConfigs), with each
// topic key naming the broker key that supplies its default (Kafka's "synonym").
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace ringbroker::config {

// Kafka's ConfigDef types; the numbers are DescribeConfigs' ConfigType values (KIP-569).
enum class ConfigType : int8_t {
  kBoolean = 1,
  kString = 2,
  kInt = 3,
  kShort = 4,
  kLong = 5,
  kDouble = 6,
  kList = 7,
  kClass = 8,
  kPassword = 9,
};

struct ConfigDef {
  std::string_view name;
  ConfigType type;
  // Kafka's default as text; nullopt means the key has no default (null).
  std::optional<std::string_view> default_value;
  // Lowest allowed value for numeric types, when Kafka sets one.
  std::optional<int64_t> min = std::nullopt;
  // Comma-separated allowed values for string/list types, when Kafka restricts them.
  std::string_view allowed = {};
  // Whether Ringbroker acts on this key (others are accepted for compatibility and reported).
  bool used = true;
  // For topic keys: the broker key supplying the default. Empty for broker keys.
  std::string_view broker_synonym = {};
  bool sensitive = false;
};

std::span<const ConfigDef> BrokerConfigDefs();
std::span<const ConfigDef> TopicConfigDefs();

const ConfigDef* FindBrokerConfig(std::string_view name);
const ConfigDef* FindTopicConfig(std::string_view name);

// Checks `value` against the definition's type, minimum and allowed values. The error message
// names the key and says what was expected, for people editing server.properties.
absl::Status ValidateValue(const ConfigDef& def, std::string_view value);

}  // namespace ringbroker::config
