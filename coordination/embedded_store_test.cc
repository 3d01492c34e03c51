#include "coordination/embedded_store.h"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "gtest/gtest.h"

namespace ringbroker::coordination {
namespace {

class EmbeddedStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/rb-coord-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    self_.set_id(1);
    self_.set_host("127.0.0.1");
    self_.set_port(9092);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<EmbeddedStore> OpenStore() {
    auto store = EmbeddedStore::Open(dir_, self_);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  std::string dir_;
  pb::Broker self_;
};

TEST_F(EmbeddedStoreTest, NewStoreHasClusterIdAndSelfAsController) {
  auto store = OpenStore();
  ClusterSnapshot snap = store->Snapshot();
  EXPECT_EQ(snap->cluster_id().size(), 22u);  // 16 bytes in unpadded base64
  ASSERT_EQ(snap->brokers_size(), 1);
  EXPECT_EQ(snap->brokers(0).port(), 9092);
  EXPECT_EQ(snap->controller_id(), 1);
}

TEST_F(EmbeddedStoreTest, TopicsSurviveReopen) {
  std::string cluster_id;
  std::string topic_id;
  {
    auto store = OpenStore();
    cluster_id = store->Snapshot()->cluster_id();
    NewTopic spec{.name = "orders", .partition_count = 3, .configs = {{"cleanup.policy", "compact"}}};
    auto created = store->CreateTopic(spec);
    ASSERT_TRUE(created.ok()) << created.status();
    topic_id = created->topic_id();
    ASSERT_TRUE(store->CreatePartitions("orders", 5, {}).ok());
  }
  self_.set_port(9093);  // the address may change between runs; the data does not
  auto store = OpenStore();
  ClusterSnapshot snap = store->Snapshot();
  EXPECT_EQ(snap->cluster_id(), cluster_id);
  EXPECT_EQ(snap->brokers(0).port(), 9093);
  const pb::Topic* topic = FindTopic(*snap, "orders");
  ASSERT_NE(topic, nullptr);
  EXPECT_EQ(topic->topic_id(), topic_id);
  EXPECT_EQ(topic->partitions_size(), 5);
  EXPECT_EQ(topic->configs().at("cleanup.policy"), "compact");
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(topic->partitions(i).partition(), i);
    EXPECT_EQ(topic->partitions(i).leader(), 1);
  }
}

TEST_F(EmbeddedStoreTest, ErrorsForDuplicatesMissingAndBadInput) {
  auto store = OpenStore();
  ASSERT_TRUE(store->CreateTopic({.name = "a"}).ok());
  EXPECT_EQ(store->CreateTopic({.name = "a"}).status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(store->DeleteTopic("nope").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->CreatePartitions("a", 1, {}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store->CreateTopic({.name = "bad name"}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store->CreateTopic({.name = "b", .replication_factor = 2}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store->CreateTopic({.name = "c", .partition_count = 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(store->DeleteTopic("a").ok());
  EXPECT_EQ(FindTopic(*store->Snapshot(), "a"), nullptr);
}

TEST_F(EmbeddedStoreTest, CorruptFileIsReportedNotReplaced) {
  { OpenStore(); }
  std::ofstream(dir_ + "/" + EmbeddedStore::kFileName, std::ios::trunc) << "\xff\xff\xff garbage";
  auto store = EmbeddedStore::Open(dir_, self_);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(EmbeddedStoreTest, ListenersSeeEveryChange) {
  auto store = OpenStore();
  int64_t seen_version = 0;
  store->AddListener([&](const ClusterSnapshot& s) { seen_version = s->version(); });
  ASSERT_TRUE(store->CreateTopic({.name = "t"}).ok());
  EXPECT_EQ(seen_version, store->Snapshot()->version());
}

TEST(ValidateTopicNameTest, KafkaRules) {
  EXPECT_TRUE(ValidateTopicName("a.b_c-D9").ok());
  EXPECT_FALSE(ValidateTopicName("").ok());
  EXPECT_FALSE(ValidateTopicName(".").ok());
  EXPECT_FALSE(ValidateTopicName("..").ok());
  EXPECT_FALSE(ValidateTopicName(std::string(250, 'x')).ok());
  EXPECT_TRUE(ValidateTopicName(std::string(249, 'x')).ok());
  EXPECT_FALSE(ValidateTopicName("a/b").ok());
}

TEST(AssignReplicasTest, LeadersBalancedAndReplicasDistinct) {
  auto assignment = AssignReplicas({3, 1, 2}, 0, 6, 3, 0);
  ASSERT_TRUE(assignment.ok());
  std::map<int32_t, int> leaders;
  for (const auto& replicas : *assignment) {
    ASSERT_EQ(replicas.size(), 3u);
    EXPECT_EQ(std::set<int32_t>(replicas.begin(), replicas.end()).size(), 3u);
    leaders[replicas[0]]++;
  }
  EXPECT_EQ(leaders[1], 2);
  EXPECT_EQ(leaders[2], 2);
  EXPECT_EQ(leaders[3], 2);
  EXPECT_FALSE(AssignReplicas({1}, 0, 1, 2, 0).ok());
  EXPECT_FALSE(AssignReplicas({1}, 0, 1, 0, 0).ok());
}

}  // namespace
}  // namespace ringbroker::coordination
