#include "broker/config/broker_config.h"

#include "gtest/gtest.h"

namespace ringbroker::config {
namespace {

TEST(ParsePropertiesTest, JavaPropertiesSyntax) {
  auto props = ParseProperties(
      "# comment\n! also comment\n\nbroker.id=3\nlog.dirs : /var/a\nnum.partitions 4\n"
      "listeners = PLAINTEXT://:9093\nlong.key=one,\\\n   two\nescaped\\=key=v\\tx\n");
  ASSERT_TRUE(props.ok());
  EXPECT_EQ(props->at("broker.id"), "3");
  EXPECT_EQ(props->at("log.dirs"), "/var/a");
  EXPECT_EQ(props->at("num.partitions"), "4");
  EXPECT_EQ(props->at("listeners"), "PLAINTEXT://:9093");
  EXPECT_EQ(props->at("long.key"), "one,two");
  EXPECT_EQ(props->at("escaped=key"), "v\tx");
}

TEST(BrokerConfigTest, DefaultsAreKafkas) {
  auto config = BrokerConfig::FromText("", {});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->GetLong("num.partitions"), 1);
  EXPECT_TRUE(config->GetBool("auto.create.topics.enable"));
  EXPECT_EQ(config->GetLong("socket.request.max.bytes"), 104857600);
  EXPECT_EQ(config->log_retention_ms(), 168LL * 3600 * 1000);
  EXPECT_EQ(config->listener().port, 9092);
  EXPECT_EQ(config->advertised().host, "127.0.0.1");
  EXPECT_EQ(config->log_dir(), "/tmp/kafka-logs");
}

TEST(BrokerConfigTest, OverridesWinAndRetentionPrecedence) {
  auto config = BrokerConfig::FromText("log.retention.hours=1\nlog.dirs=/a,/b\n",
                                       {"log.retention.minutes=5", "listeners=PLAINTEXT://0.0.0.0:19092"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->log_retention_ms(), 5 * 60 * 1000);
  EXPECT_EQ(config->log_dir(), "/a");
  EXPECT_EQ(config->listener().host, "");
  EXPECT_EQ(config->listener().port, 19092);
  EXPECT_EQ(config->advertised().host, "127.0.0.1");
  EXPECT_TRUE(config->IsExplicit("log.retention.minutes"));
  EXPECT_EQ(config->TopicDefault(*FindTopicConfig("retention.ms")), std::to_string(5 * 60 * 1000));
  EXPECT_EQ(config->TopicDefault(*FindTopicConfig("segment.bytes")), "1073741824");
}

TEST(BrokerConfigTest, UnknownKeysWarnBadValuesFail) {
  auto config = BrokerConfig::FromText("made.up.key=1\n", {});
  ASSERT_TRUE(config.ok());
  ASSERT_EQ(config->warnings().size(), 1u);
  EXPECT_NE(config->warnings()[0].find("made.up.key"), std::string::npos);

  for (const char* bad : {"num.partitions=zero", "num.partitions=0", "auto.create.topics.enable=maybe",
                          "log.cleanup.policy=shred", "broker.id=99999999999", "listeners=nonsense",
                          "listeners=PLAINTEXT://host:70000"}) {
    auto c = BrokerConfig::FromText(bad, {});
    EXPECT_FALSE(c.ok()) << bad;
  }
  EXPECT_FALSE(BrokerConfig::FromText("", {"novalue"}).ok());
}

TEST(ConfigDefTest, TopicKeysHaveBrokerSynonyms) {
  for (const ConfigDef& def : TopicConfigDefs()) {
    EXPECT_FALSE(def.broker_synonym.empty()) << def.name;
  }
  EXPECT_TRUE(ValidateValue(*FindTopicConfig("cleanup.policy"), "compact,delete").ok());
  EXPECT_FALSE(ValidateValue(*FindTopicConfig("retention.ms"), "-2").ok());
}

}  // namespace
}  // namespace ringbroker::config
