#include <gtest/gtest.h>

#include "broker/group/group.h"
#include "broker/group/offsets_records.h"

namespace ringbroker::group {
namespace {

TEST(GroupPartition, MatchesJavaStringHashCode) {
  EXPECT_EQ(JavaStringHashCode(""), 0);
  EXPECT_EQ(JavaStringHashCode("abc"), 96354);
  EXPECT_EQ(JavaStringHashCode("hello"), 99162322);
  // A character outside the BMP hashes as its two UTF-16 surrogates.
  EXPECT_EQ(JavaStringHashCode("\xF0\x9F\x98\x80"), 0xD83D * 31 + 0xDE00);
  EXPECT_EQ(JavaStringHashCode("\xC3\xA9"), 0xE9);  // U+00E9 is one code unit
}

TEST(GroupPartition, MinValueHashMapsToZeroLikeUtilsAbs) {
  // "polygenelubricants".hashCode() is Integer.MIN_VALUE; Math.abs would stay negative.
  ASSERT_EQ(JavaStringHashCode("polygenelubricants"), INT32_MIN);
  EXPECT_EQ(PartitionForGroup("polygenelubricants", 50), 0);
  EXPECT_EQ(PartitionForGroup("abc", 50), 96354 % 50);
  EXPECT_EQ(PartitionForGroup("hello", 7), 99162322 % 7);
}

TEST(OffsetsRecords, OffsetCommitRoundTrip) {
  OffsetCommitKey key{"group-1", "topic-a", 7};
  std::vector<uint8_t> k = EncodeKey(key);
  // Key version 1, then classic strings and the partition.
  ASSERT_GE(k.size(), 2u);
  EXPECT_EQ(k[0], 0);
  EXPECT_EQ(k[1], 1);
  absl::StatusOr<RecordKey> decoded = DecodeKey(k);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(std::get<OffsetCommitKey>(*decoded), key);

  OffsetCommitValue value{42, 3, "meta", 1700000000000, -1};
  std::vector<uint8_t> v = EncodeOffsetValue(value);
  EXPECT_EQ(v[1], 3);  // value version 3
  absl::StatusOr<OffsetCommitValue> back = DecodeOffsetValue(v);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, value);

  // A commit with its own retention is written as version 1, which carries the expiry.
  OffsetCommitValue expiring{5, -1, "", 100, 200};
  std::vector<uint8_t> e = EncodeOffsetValue(expiring);
  EXPECT_EQ(e[1], 1);
  absl::StatusOr<OffsetCommitValue> eback = DecodeOffsetValue(e);
  ASSERT_TRUE(eback.ok());
  EXPECT_EQ(*eback, expiring);
}

TEST(OffsetsRecords, ReadsKafkaWrittenOffsetValueV3) {
  // Bytes as Kafka 2.x+ writes OffsetCommitValue v3: version, offset, leaderEpoch, metadata,
  // commitTimestamp.
  const std::vector<uint8_t> bytes = {0, 3, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 2, 0, 1, 'm', 0, 0, 0, 0, 0, 0, 1, 0};
  absl::StatusOr<OffsetCommitValue> v = DecodeOffsetValue(bytes);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->offset, 9);
  EXPECT_EQ(v->leader_epoch, 2);
  EXPECT_EQ(v->metadata, "m");
  EXPECT_EQ(v->commit_timestamp_ms, 256);
}

TEST(OffsetsRecords, GroupMetadataRoundTrip) {
  GroupMetadataValue g;
  g.protocol_type = "consumer";
  g.generation = 4;
  g.protocol = "range";
  g.leader = "m1";
  g.current_state_timestamp_ms = 123;
  g.members.push_back(StoredMember{"m1", std::nullopt, "c1", "/127.0.0.1", 300000, 10000, "sub", "assign"});
  g.members.push_back(StoredMember{"m2", "instance-2", "c2", "", 1, 2, "", std::string("\0\1", 2)});
  std::vector<uint8_t> bytes = EncodeGroupValue(g);
  absl::StatusOr<GroupMetadataValue> back = DecodeGroupValue(bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, g);
  absl::StatusOr<RecordKey> key = DecodeKey(EncodeKey(GroupMetadataKey{"g"}));
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(std::get<GroupMetadataKey>(*key).group, "g");
}

TEST(OffsetsRecords, TruncatedAndUnknownVersionsAreErrors) {
  std::vector<uint8_t> k = EncodeKey(OffsetCommitKey{"g", "t", 1});
  k.pop_back();
  EXPECT_EQ(DecodeKey(k).status().code(), absl::StatusCode::kInvalidArgument);
  const std::vector<uint8_t> newer = {0, 5, 0, 0};
  EXPECT_EQ(DecodeKey(newer).status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_FALSE(DecodeOffsetValue({0, 3, 0}).ok());
}

TEST(ConsumerSubscription, ParsesTopics) {
  // ConsumerProtocolSubscription v1: version, topics, userData, ownedPartitions.
  const std::vector<uint8_t> meta = {0, 1, 0, 0, 0, 2, 0, 1, 'a', 0, 2, 'b', 'c', 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0};
  EXPECT_EQ(ConsumerSubscriptionTopics(meta), (std::vector<std::string>{"a", "bc"}));
  EXPECT_TRUE(ConsumerSubscriptionTopics(std::vector<uint8_t>{0, 1, 0, 0, 0, 9}).empty());
}

Member MakeMember(std::string id, std::vector<std::string> protocols) {
  Member m;
  m.id = std::move(id);
  for (std::string& p : protocols) m.protocols.emplace_back(std::move(p), "");
  return m;
}

TEST(GroupProtocol, PicksMostVotedAmongCommonProtocols) {
  Group g;
  g.protocol_type = "consumer";
  g.members.emplace("a", MakeMember("a", {"range", "roundrobin"}));
  g.members.emplace("b", MakeMember("b", {"roundrobin", "range"}));
  g.members.emplace("c", MakeMember("c", {"roundrobin", "sticky"}));
  g.leader_id = "a";
  // Only roundrobin is common to all; sticky and range are not.
  EXPECT_EQ(g.SelectProtocol(), "roundrobin");
  g.members.erase("c");
  g.members.emplace("c", MakeMember("c", {"range", "roundrobin"}));
  EXPECT_EQ(g.SelectProtocol(), "range");  // two votes to one
}

TEST(GroupProtocol, RejectsJoinWithNothingInCommon) {
  Group g;
  EXPECT_FALSE(g.SupportsProtocols("", {{"range", ""}}));
  EXPECT_TRUE(g.SupportsProtocols("consumer", {{"range", ""}}));
  g.protocol_type = "consumer";
  g.members.emplace("a", MakeMember("a", {"range"}));
  EXPECT_FALSE(g.SupportsProtocols("consumer", {{"roundrobin", ""}}));
  EXPECT_FALSE(g.SupportsProtocols("connect", {{"range", ""}}));
  EXPECT_TRUE(g.SupportsProtocols("consumer", {{"roundrobin", ""}, {"range", ""}}));
}

TEST(GroupState, NamesAsKafka) {
  EXPECT_EQ(GroupStateName(GroupState::kCompletingRebalance), "CompletingRebalance");
  EXPECT_EQ(GroupStateName(GroupState::kPreparingRebalance), "PreparingRebalance");
  EXPECT_EQ(GroupStateName(GroupState::kEmpty), "Empty");
}

}  // namespace
}  // namespace ringbroker::group
