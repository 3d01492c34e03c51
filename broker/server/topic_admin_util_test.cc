#include "broker/server/topic_admin_util.h"

#include "broker/server/topic_log_config.h"
#include "gtest/gtest.h"

namespace ringbroker::server {
namespace {

const DescribedConfig& Find(const std::vector<DescribedConfig>& configs, std::string_view name) {
  for (const DescribedConfig& c : configs) {
    if (c.def->name == name) return c;
  }
  static DescribedConfig none;
  ADD_FAILURE() << "no config " << name;
  return none;
}

TEST(TopicAdminUtilTest, TopicConfigSourcesFollowKafka) {
  auto broker = config::BrokerConfig::FromText("log.retention.hours=1\n", {});
  ASSERT_TRUE(broker.ok());
  auto described = DescribeTopicConfigs(*broker, {{"cleanup.policy", "compact"}});
  const DescribedConfig& policy = Find(described, "cleanup.policy");
  EXPECT_EQ(policy.value, "compact");
  EXPECT_EQ(policy.source, ConfigSource::kDynamicTopicConfig);
  const DescribedConfig& retention = Find(described, "retention.ms");
  EXPECT_EQ(retention.value, "3600000");
  const DescribedConfig& segment = Find(described, "segment.bytes");
  EXPECT_EQ(segment.value, "1073741824");
  EXPECT_EQ(segment.source, ConfigSource::kDefaultConfig);
}

TEST(TopicAdminUtilTest, ValidatesTopicConfigs) {
  EXPECT_TRUE(ValidateTopicConfig("retention.ms", std::string_view("1000")).ok());
  EXPECT_FALSE(ValidateTopicConfig("retention.ms", std::string_view("soon")).ok());
  EXPECT_FALSE(ValidateTopicConfig("no.such.config", std::string_view("1")).ok());
  EXPECT_FALSE(ValidateTopicConfig("cleanup.policy", std::string_view("shred")).ok());
}

TEST(TopicAdminUtilTest, ReplicaAssignmentsMustNameLiveDistinctBrokers) {
  coordination::pb::ClusterMetadata metadata;
  metadata.add_brokers()->set_id(0);
  metadata.add_brokers()->set_id(1);
  EXPECT_TRUE(ValidateReplicaAssignment(metadata, {{0, 1}, {1, 0}}, 2).ok());
  EXPECT_FALSE(ValidateReplicaAssignment(metadata, {{0, 0}}, 2).ok());
  EXPECT_FALSE(ValidateReplicaAssignment(metadata, {{0, 7}}, 2).ok());
  EXPECT_FALSE(ValidateReplicaAssignment(metadata, {{0, 1}, {0}}, 2).ok());
}

TEST(TopicLogConfigTest, KafkaFlushSettingsSwitchOffSyncBeforeAck) {
  auto broker = config::BrokerConfig::FromText("", {});
  ASSERT_TRUE(broker.ok());
  storage::LogConfig plain = ToLogConfig(EffectiveTopicConfigs(*broker, {}));
  EXPECT_TRUE(plain.sync_before_ack);
  EXPECT_TRUE(plain.cleanup_delete);
  EXPECT_FALSE(plain.cleanup_compact);
  storage::LogConfig flushed =
      ToLogConfig(EffectiveTopicConfigs(*broker, {{"flush.messages", "100"}, {"cleanup.policy", "compact,delete"}}));
  EXPECT_FALSE(flushed.sync_before_ack);
  EXPECT_EQ(flushed.flush_messages, 100);
  EXPECT_TRUE(flushed.cleanup_compact);
}

}  // namespace
}  // namespace ringbroker::server
