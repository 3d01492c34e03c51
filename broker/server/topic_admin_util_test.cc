#include "broker/server/topic_admin_util.h"

#include <climits>
#include <cstdint>

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

coordination::pb::ClusterMetadata BrokersWithTopic(std::vector<int32_t> brokers, int partitions,
                                                   std::vector<int32_t> replicas) {
  coordination::pb::ClusterMetadata metadata;
  for (int32_t id : brokers) metadata.add_brokers()->set_id(id);
  coordination::pb::Topic* topic = metadata.add_topics();
  topic->set_name("t");
  for (int i = 0; i < partitions; ++i) {
    auto* p = topic->add_partitions();
    p->set_partition(i);
    for (int32_t r : replicas) p->add_replicas(r);
  }
  return metadata;
}

TEST(PartitionLimitTest, CountsHostedReplicasPerBroker) {
  auto metadata = BrokersWithTopic({0, 1, 2}, 4, {0, 2});
  ReplicasPerBroker hosted = HostedReplicas(metadata);
  EXPECT_EQ(hosted, (ReplicasPerBroker{{0, 4}, {1, 0}, {2, 4}}));
  // A replica on a broker that is not registered is not counted (nor given an entry).
  auto stale = BrokersWithTopic({0}, 2, {0, 9});
  EXPECT_EQ(HostedReplicas(stale), (ReplicasPerBroker{{0, 2}}));
}

TEST(PartitionLimitTest, PlacementIsArithmeticOnHugeCounts) {
  // 2^31-1 partitions of 32767 replicas: a number, not an allocation.
  auto one = BrokersWithTopic({0}, 0, {});
  EXPECT_EQ(PlacedReplicas(one, INT32_MAX, 1), (ReplicasPerBroker{{0, INT32_MAX}}));
  auto three = BrokersWithTopic({0, 1, 2}, 0, {});
  // 10 partitions x 2 replicas over 3 brokers: at most ceil(20 / 3) = 7 each.
  EXPECT_EQ(PlacedReplicas(three, 10, 2), (ReplicasPerBroker{{0, 7}, {1, 7}, {2, 7}}));
  // Never more than one replica per partition on a broker.
  EXPECT_EQ(PlacedReplicas(three, 2, 3), (ReplicasPerBroker{{0, 2}, {1, 2}, {2, 2}}));
  EXPECT_EQ(PlacedReplicas(three, INT32_MAX, INT16_MAX).at(0), int64_t{INT32_MAX});
}

TEST(PartitionLimitTest, AssignedReplicasCountOnlyRegisteredBrokers) {
  auto metadata = BrokersWithTopic({0, 1}, 0, {});
  EXPECT_EQ(AssignedReplicas(metadata, {{0, 1}, {1}, {1, 7}}), (ReplicasPerBroker{{0, 1}, {1, 3}}));
}

TEST(PartitionLimitTest, RefusesWhatWouldExceedTheLimitAndSaysSo) {
  auto metadata = BrokersWithTopic({0}, 8, {0});
  const ReplicasPerBroker hosted = HostedReplicas(metadata);
  EXPECT_TRUE(CheckBrokerPartitionLimit(hosted, PlacedReplicas(metadata, 2, 1), 10).ok());
  absl::Status over = CheckBrokerPartitionLimit(hosted, PlacedReplicas(metadata, 3, 1), 10);
  EXPECT_EQ(over.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(over.message().find("max.broker.partitions=10"), std::string_view::npos) << over.message();
  EXPECT_NE(over.message().find("it hosts 8"), std::string_view::npos) << over.message();
  EXPECT_EQ(CheckBrokerPartitionLimit(hosted, PlacedReplicas(metadata, INT32_MAX, INT16_MAX), INT32_MAX).code(),
            absl::StatusCode::kResourceExhausted);
  // Nothing added: fine even when a broker is already over (the limit was lowered).
  EXPECT_TRUE(CheckBrokerPartitionLimit(hosted, {}, 4).ok());
}

TEST(PartitionLimitTest, BrokerKeyIsDefinedWithASensibleDefault) {
  const config::ConfigDef* def = config::FindBrokerConfig("max.broker.partitions");
  ASSERT_NE(def, nullptr);
  EXPECT_EQ(def->default_value, "10000");
  EXPECT_FALSE(config::ValidateValue(*def, "0").ok());
  EXPECT_TRUE(config::ValidateValue(*def, "1").ok());
  EXPECT_LE(kMaxPartitionsPerRequest, 10000);
}

TEST(TopicAdminUtilTest, ErrorMessagesQuotingClientInputStayShort) {
  EXPECT_EQ(ClientErrorMessage("short"), "short");
  std::string quoted = ClientErrorMessage("Unknown topic config name: " + std::string(32767, 'x'));
  EXPECT_EQ(quoted.size(), kMaxErrorMessageBytes);
  EXPECT_TRUE(quoted.starts_with("Unknown topic config name: xxx"));
  EXPECT_TRUE(quoted.ends_with("..."));
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
