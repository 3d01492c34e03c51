#include "broker/server/topic_log_config.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"

namespace ringbroker::server {
namespace {

int64_t Long(const std::map<std::string, std::string>& m, const std::string& key, int64_t fallback) {
  auto it = m.find(key);
  int64_t v = 0;
  if (it == m.end() || !absl::SimpleAtoi(it->second, &v)) return fallback;
  return v;
}

}  // namespace

std::map<std::string, std::string> EffectiveTopicConfigs(const config::BrokerConfig& broker,
                                                         const std::map<std::string, std::string>& explicit_configs) {
  std::map<std::string, std::string> out;
  for (const config::ConfigDef& def : config::TopicConfigDefs()) {
    const std::string name(def.name);
    auto it = explicit_configs.find(name);
    out[name] = it != explicit_configs.end() ? it->second : broker.TopicDefault(def);
  }
  return out;
}

storage::LogConfig ToLogConfig(const std::map<std::string, std::string>& effective) {
  storage::LogConfig c;
  c.segment_bytes = Long(effective, "segment.bytes", c.segment_bytes);
  c.segment_ms = Long(effective, "segment.ms", c.segment_ms);
  c.segment_index_bytes = Long(effective, "segment.index.bytes", c.segment_index_bytes);
  c.index_interval_bytes = static_cast<int32_t>(Long(effective, "index.interval.bytes", c.index_interval_bytes));
  c.max_message_bytes = static_cast<int32_t>(Long(effective, "max.message.bytes", c.max_message_bytes));
  c.flush_messages = Long(effective, "flush.messages", c.flush_messages);
  c.flush_ms = Long(effective, "flush.ms", c.flush_ms);
  // Kafka's flush.* defaults mean "never force a sync"; an explicit flush setting switches the
  // topic from our default group-committed sync-before-ack to Kafka's periodic flushing.
  const bool kafka_flush_policy = c.flush_messages != storage::kNoLimit || c.flush_ms != storage::kNoLimit;
  c.sync_before_ack = !kafka_flush_policy;
  c.retention_ms = Long(effective, "retention.ms", c.retention_ms);
  c.retention_bytes = Long(effective, "retention.bytes", c.retention_bytes);
  c.delete_retention_ms = Long(effective, "delete.retention.ms", c.delete_retention_ms);
  auto policy = effective.find("cleanup.policy");
  if (policy != effective.end()) {
    c.cleanup_delete = absl::StrContains(policy->second, "delete");
    c.cleanup_compact = absl::StrContains(policy->second, "compact");
  }
  return c;
}

}  // namespace ringbroker::server
