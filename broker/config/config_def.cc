#include "broker/config/config_def.h"

#include <limits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/ascii.h"

namespace ringbroker::config {
namespace {

using T = ConfigType;
constexpr int64_t kWeek = 604800000;

// Broker keys. Defaults are Kafka 3.8's.
constexpr ConfigDef kBrokerDefs[] = {
    {"broker.id", T::kInt, "-1", -1},
    {"listeners", T::kString, "PLAINTEXT://127.0.0.1:9092"},
    {"advertised.listeners", T::kString, std::nullopt},
    {"log.dirs", T::kString, std::nullopt},
    {"log.dir", T::kString, "/tmp/kafka-logs"},
    {"zookeeper.connect", T::kString, std::nullopt},
    {"zookeeper.session.timeout.ms", T::kInt, "18000", 1},
    {"zookeeper.connection.timeout.ms", T::kInt, std::nullopt, 1},
    {"num.partitions", T::kInt, "1", 1},
    {"default.replication.factor", T::kInt, "1", 1},
    {"auto.create.topics.enable", T::kBoolean, "true"},
    {"delete.topic.enable", T::kBoolean, "true"},
    {"message.max.bytes", T::kInt, "1048588", 0},
    {"socket.request.max.bytes", T::kInt, "104857600", 1},
    {"socket.send.buffer.bytes", T::kInt, "102400", -1},
    {"socket.receive.buffer.bytes", T::kInt, "102400", -1},
    {"connections.max.idle.ms", T::kLong, "600000"},
    {"log.segment.bytes", T::kInt, "1073741824", 14},
    {"log.roll.ms", T::kLong, std::nullopt, 1},
    {"log.roll.hours", T::kInt, "168", 1},
    {"log.retention.ms", T::kLong, std::nullopt},
    {"log.retention.minutes", T::kInt, std::nullopt},
    {"log.retention.hours", T::kInt, "168"},
    {"log.retention.bytes", T::kLong, "-1"},
    {"log.retention.check.interval.ms", T::kLong, "300000", 1},
    {"log.cleanup.policy", T::kList, "delete", std::nullopt, "delete,compact"},
    {"log.cleaner.enable", T::kBoolean, "true"},
    {"log.cleaner.delete.retention.ms", T::kLong, "86400000", 0},
    {"log.cleaner.min.compaction.lag.ms", T::kLong, "0", 0},
    {"log.cleaner.max.compaction.lag.ms", T::kLong, "9223372036854775807", 1},
    {"log.cleaner.min.cleanable.ratio", T::kDouble, "0.5"},
    {"log.index.interval.bytes", T::kInt, "4096", 0},
    {"log.index.size.max.bytes", T::kInt, "10485760", 4},
    {"log.flush.interval.messages", T::kLong, "9223372036854775807", 1},
    {"log.flush.interval.ms", T::kLong, std::nullopt},
    {"log.message.timestamp.type", T::kString, "CreateTime", std::nullopt, "CreateTime,LogAppendTime"},
    {"log.preallocate", T::kBoolean, "false", std::nullopt, {}, false},
    {"compression.type", T::kString, "producer", std::nullopt, "uncompressed,zstd,lz4,snappy,gzip,producer"},
    {"min.insync.replicas", T::kInt, "1", 1},
    {"unclean.leader.election.enable", T::kBoolean, "false"},
    {"offsets.topic.num.partitions", T::kInt, "50", 1},
    {"offsets.topic.replication.factor", T::kShort, "3", 1},
    {"offsets.topic.segment.bytes", T::kInt, "104857600", 1},
    {"offsets.retention.minutes", T::kInt, "10080", 1},
    {"offsets.retention.check.interval.ms", T::kLong, "600000", 1},
    {"offset.metadata.max.bytes", T::kInt, "4096", 0},
    {"group.initial.rebalance.delay.ms", T::kInt, "3000", 0},
    {"group.min.session.timeout.ms", T::kInt, "6000"},
    {"group.max.session.timeout.ms", T::kInt, "1800000"},
    {"group.max.size", T::kInt, "2147483647", 1},
    {"transaction.state.log.num.partitions", T::kInt, "50", 1},
    {"transaction.state.log.replication.factor", T::kShort, "3", 1},
    {"transaction.state.log.min.isr", T::kInt, "2", 1},
    {"replica.lag.time.max.ms", T::kLong, "30000"},
    {"replica.fetch.max.bytes", T::kInt, "1048576", 0},
    {"num.network.threads", T::kInt, "3", 1, {}, false},
    {"num.io.threads", T::kInt, "8", 1, {}, false},
    {"num.recovery.threads.per.data.dir", T::kInt, "1", 1, {}, false},
    {"num.replica.fetchers", T::kInt, "1", std::nullopt, {}, false},
    {"group.coordinator.rebalance.protocols", T::kList, "classic", std::nullopt, {}, false},
    // Not a Kafka 3.8 key (Kafka has no partition limit; the name is KIP-578's, never released):
    // the most partition replicas one broker may host, internal topics counted. CreateTopics,
    // CreatePartitions and auto-creation that would exceed it are refused (POLICY_VIOLATION, with a
    // message naming the limit). 10000 keeps a full broker's metadata small (each commit rewrites the
    // whole store and every shard reconciles it) and is Kafka's own per-operation bound.
    {"max.broker.partitions", T::kInt, "10000", 1},
};

// Topic keys, each with the broker key that sets its default.
constexpr ConfigDef kTopicDefs[] = {
    {"cleanup.policy", T::kList, "delete", std::nullopt, "delete,compact", true, "log.cleanup.policy"},
    {"compression.type", T::kString, "producer", std::nullopt, "uncompressed,zstd,lz4,snappy,gzip,producer", true,
     "compression.type"},
    {"delete.retention.ms", T::kLong, "86400000", 0, {}, true, "log.cleaner.delete.retention.ms"},
    {"file.delete.delay.ms", T::kLong, "60000", 0, {}, false, "log.segment.delete.delay.ms"},
    {"flush.messages", T::kLong, "9223372036854775807", 1, {}, true, "log.flush.interval.messages"},
    {"flush.ms", T::kLong, "9223372036854775807", 0, {}, true, "log.flush.interval.ms"},
    {"index.interval.bytes", T::kInt, "4096", 0, {}, true, "log.index.interval.bytes"},
    {"max.compaction.lag.ms", T::kLong, "9223372036854775807", 1, {}, true, "log.cleaner.max.compaction.lag.ms"},
    {"max.message.bytes", T::kInt, "1048588", 0, {}, true, "message.max.bytes"},
    {"message.timestamp.type", T::kString, "CreateTime", std::nullopt, "CreateTime,LogAppendTime", true,
     "log.message.timestamp.type"},
    {"min.cleanable.dirty.ratio", T::kDouble, "0.5", std::nullopt, {}, true, "log.cleaner.min.cleanable.ratio"},
    {"min.compaction.lag.ms", T::kLong, "0", 0, {}, true, "log.cleaner.min.compaction.lag.ms"},
    {"min.insync.replicas", T::kInt, "1", 1, {}, true, "min.insync.replicas"},
    {"preallocate", T::kBoolean, "false", std::nullopt, {}, false, "log.preallocate"},
    {"retention.bytes", T::kLong, "-1", std::nullopt, {}, true, "log.retention.bytes"},
    {"retention.ms", T::kLong, "604800000", -1, {}, true, "log.retention.ms"},
    {"segment.bytes", T::kInt, "1073741824", 14, {}, true, "log.segment.bytes"},
    {"segment.index.bytes", T::kInt, "10485760", 4, {}, true, "log.index.size.max.bytes"},
    {"segment.jitter.ms", T::kLong, "0", 0, {}, false, "log.roll.jitter.ms"},
    {"segment.ms", T::kLong, "604800000", 1, {}, true, "log.roll.ms"},
    {"unclean.leader.election.enable", T::kBoolean, "false", std::nullopt, {}, true,
     "unclean.leader.election.enable"},
    {"message.downconversion.enable", T::kBoolean, "true", std::nullopt, {}, false,
     "log.message.downconversion.enable"},
};
static_assert(kWeek == 604800000);

const ConfigDef* FindIn(std::span<const ConfigDef> defs, std::string_view name) {
  for (const ConfigDef& def : defs) {
    if (def.name == name) return &def;
  }
  return nullptr;
}

absl::Status Invalid(const ConfigDef& def, std::string_view value, std::string_view expected) {
  return absl::InvalidArgumentError(absl::StrCat("invalid value '", std::string(value), "' for configuration ",
                                                 std::string(def.name), ": ", std::string(expected)));
}

bool InAllowed(std::string_view allowed, absl::string_view value) {
  for (absl::string_view option : absl::StrSplit(absl::string_view(allowed.data(), allowed.size()), ',')) {
    if (absl::EqualsIgnoreCase(option, value)) return true;
  }
  return false;
}

}  // namespace

std::span<const ConfigDef> BrokerConfigDefs() { return kBrokerDefs; }
std::span<const ConfigDef> TopicConfigDefs() { return kTopicDefs; }
const ConfigDef* FindBrokerConfig(std::string_view name) { return FindIn(kBrokerDefs, name); }
const ConfigDef* FindTopicConfig(std::string_view name) { return FindIn(kTopicDefs, name); }

absl::Status ValidateValue(const ConfigDef& def, std::string_view value) {
  const absl::string_view v(value.data(), value.size());
  const absl::string_view trimmed = absl::StripAsciiWhitespace(v);
  switch (def.type) {
    case ConfigType::kBoolean:
      if (!absl::EqualsIgnoreCase(trimmed, "true") && !absl::EqualsIgnoreCase(trimmed, "false")) {
        return Invalid(def, value, "expected true or false");
      }
      return absl::OkStatus();
    case ConfigType::kInt:
    case ConfigType::kShort:
    case ConfigType::kLong: {
      int64_t n = 0;
      if (!absl::SimpleAtoi(trimmed, &n)) return Invalid(def, value, "expected an integer");
      if (def.type == ConfigType::kInt &&
          (n < std::numeric_limits<int32_t>::min() || n > std::numeric_limits<int32_t>::max())) {
        return Invalid(def, value, "out of range for a 32-bit integer");
      }
      if (def.type == ConfigType::kShort &&
          (n < std::numeric_limits<int16_t>::min() || n > std::numeric_limits<int16_t>::max())) {
        return Invalid(def, value, "out of range for a 16-bit integer");
      }
      if (def.min && n < *def.min) return Invalid(def, value, absl::StrCat("must be at least ", *def.min));
      return absl::OkStatus();
    }
    case ConfigType::kDouble: {
      double d = 0;
      if (!absl::SimpleAtod(trimmed, &d)) return Invalid(def, value, "expected a number");
      return absl::OkStatus();
    }
    case ConfigType::kList:
      if (!def.allowed.empty()) {
        for (absl::string_view item : absl::StrSplit(trimmed, ',')) {
          if (!InAllowed(def.allowed, absl::StripAsciiWhitespace(item))) {
            return Invalid(def, value, absl::StrCat("each item must be one of ", std::string(def.allowed)));
          }
        }
      }
      return absl::OkStatus();
    case ConfigType::kString:
      if (!def.allowed.empty() && !InAllowed(def.allowed, trimmed)) {
        return Invalid(def, value, absl::StrCat("must be one of ", std::string(def.allowed)));
      }
      return absl::OkStatus();
    case ConfigType::kClass:
    case ConfigType::kPassword:
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

}  // namespace ringbroker::config
