// Byte vectors computed by hand from Kafka's protocol guide, independent of the encoder, so a
// bug that is symmetric in Encode and Decode still shows up here.
#include <cstdint>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "protocol/messages/all.h"
#include "protocol/wire/reader.h"
#include "protocol/wire/request_frame.h"
#include "protocol/wire/writer.h"

namespace ringbroker::protocol {
namespace {

using ::testing::ElementsAreArray;

template <typename M>
std::vector<uint8_t> Encode(const M& m, int16_t version) {
  wire::Writer w;
  m.Encode(w, version);
  EXPECT_EQ(w.size(), m.EncodedSize(version));
  return w.Release();
}

std::vector<uint8_t> Cat(std::initializer_list<std::vector<uint8_t>> parts) {
  std::vector<uint8_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
std::vector<uint8_t> Str(std::string_view s) { return {s.begin(), s.end()}; }

TEST(VectorsTest, ApiVersionsRequestV3FullFrame) {
  const std::vector<uint8_t> frame = Cat({
      {0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x07},  // key 18, v3, correlation 7
      {0x00, 0x07}, Str("rdkafka"),                      // client id: classic string in v2
      {0x00},                                            // header tagged fields
      {0x0b}, Str("librdkafka"),                         // compact: length + 1
      {0x06}, Str("2.3.0"),
      {0x00},                                            // body tagged fields
  });
  wire::Reader r(frame);
  absl::StatusOr<RequestHeader> header = DecodeRequestHeader(r);
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_EQ(header->request_api_key, 18);
  EXPECT_EQ(header->request_api_version, 3);
  EXPECT_EQ(header->correlation_id, 7);
  EXPECT_EQ(header->client_id, "rdkafka");
  ApiVersionsRequest req;
  ASSERT_TRUE(req.Decode(r, 3).ok()) << r.status();
  EXPECT_EQ(r.remaining(), 0u);
  EXPECT_EQ(req.client_software_name, "librdkafka");
  EXPECT_EQ(req.client_software_version, "2.3.0");

  wire::Writer w;
  EncodeRequestHeader(w, *header);
  req.Encode(w, 3);
  EXPECT_THAT(w.Release(), ElementsAreArray(frame));
}

TEST(VectorsTest, MetadataRequestV1) {
  MetadataRequest req;
  req.topics.emplace();
  req.topics->emplace_back().name = "foo";
  req.topics->emplace_back().name = "bar";
  const std::vector<uint8_t> expected = Cat({{0, 0, 0, 2}, {0, 3}, Str("foo"), {0, 3}, Str("bar")});
  EXPECT_THAT(Encode(req, 1), ElementsAreArray(expected));

  MetadataRequest all_topics;
  all_topics.topics.reset();  // null: every topic, allowed from v1
  EXPECT_THAT(Encode(all_topics, 1), ElementsAreArray<uint8_t>({0xff, 0xff, 0xff, 0xff}));
  // v0 cannot express null; the encoder writes an empty array (see protocol/README.md).
  EXPECT_THAT(Encode(all_topics, 0), ElementsAreArray<uint8_t>({0, 0, 0, 0}));

  wire::Reader r(expected);
  MetadataRequest back;
  ASSERT_TRUE(back.Decode(r, 1).ok());
  ASSERT_TRUE(back.topics.has_value());
  ASSERT_EQ(back.topics->size(), 2u);
  EXPECT_EQ((*back.topics)[1].name, "bar");
}

TEST(VectorsTest, MetadataRequestV9) {
  MetadataRequest req;
  req.topics.emplace();
  req.topics->emplace_back().name = "foo";
  req.allow_auto_topic_creation = false;
  req.include_cluster_authorized_operations = true;
  req.include_topic_authorized_operations = false;
  const std::vector<uint8_t> expected = Cat({
      {0x02},                    // compact array of one
      {0x04}, Str("foo"), {0x00},  // name, element tagged fields
      {0x00, 0x01, 0x00},        // the three booleans
      {0x00},                    // tagged fields
  });
  EXPECT_THAT(Encode(req, 9), ElementsAreArray(expected));
  wire::Reader r(expected);
  MetadataRequest back;
  ASSERT_TRUE(back.Decode(r, 9).ok());
  EXPECT_FALSE(back.allow_auto_topic_creation);
  EXPECT_TRUE(back.include_cluster_authorized_operations);
  // A v3 decode leaves AllowAutoTopicCreation (v4+) at its schema default, true.
  const std::vector<uint8_t> v3 = {0, 0, 0, 0};
  wire::Reader r3(v3);
  ASSERT_TRUE(back.Decode(r3, 3).ok());
  EXPECT_TRUE(back.allow_auto_topic_creation);
}

TEST(VectorsTest, ApiVersionsResponseV3WithTaggedFields) {
  ApiVersionsResponse resp;
  resp.api_keys.push_back({.api_key = 18, .min_version = 0, .max_version = 3});
  resp.finalized_features_epoch = 5;
  resp.zk_migration_ready = true;
  const std::vector<uint8_t> expected = {
      0x00, 0x00,                                      // error code
      0x02, 0x00, 0x12, 0x00, 0x00, 0x00, 0x03, 0x00,  // one ApiVersion + its tagged fields
      0x00, 0x00, 0x00, 0x00,                          // throttle time
      0x02,                                            // two tagged fields, by tag
      0x01, 0x08, 0, 0, 0, 0, 0, 0, 0, 5,              // tag 1: FinalizedFeaturesEpoch
      0x03, 0x01, 0x01,                                // tag 3: ZkMigrationReady
  };
  EXPECT_THAT(Encode(resp, 3), ElementsAreArray(expected));
  wire::Reader r(expected);
  ApiVersionsResponse back;
  ASSERT_TRUE(back.Decode(r, 3).ok()) << r.status();
  EXPECT_TRUE(back == resp);
  // ApiVersions responses always carry response header v0: correlation id only.
  wire::Writer w;
  EncodeResponseHeader(w, 9, 18, 3);
  EXPECT_THAT(w.Release(), ElementsAreArray<uint8_t>({0, 0, 0, 9}));
}

TEST(VectorsTest, ProduceRequestV9RecordsAreAViewIntoTheFrame) {
  const std::vector<uint8_t> frame = {
      0x00,                    // transactional id: null compact string
      0xff, 0xff,              // acks -1
      0x00, 0x00, 0x03, 0xe8,  // timeout 1000 ms
      0x02, 0x02, 't',         // one topic "t"
      0x02, 0x00, 0x00, 0x00, 0x00,  // one partition, index 0
      0x03, 0xaa, 0xbb,        // records: compact bytes of 2
      0x00, 0x00, 0x00,        // partition, topic, request tagged fields
  };
  wire::Reader r(frame);
  ProduceRequest req;
  ASSERT_TRUE(req.Decode(r, 9).ok()) << r.status();
  EXPECT_EQ(r.remaining(), 0u);
  EXPECT_EQ(req.transactional_id, std::nullopt);
  EXPECT_EQ(req.acks, -1);
  EXPECT_EQ(req.timeout_ms, 1000);
  ASSERT_EQ(req.topic_data.size(), 1u);
  EXPECT_EQ(req.topic_data[0].name, "t");
  ASSERT_EQ(req.topic_data[0].partition_data.size(), 1u);
  const std::optional<wire::Bytes>& records = req.topic_data[0].partition_data[0].records;
  ASSERT_TRUE(records.has_value());
  ASSERT_EQ(records->size(), 2u);
  // Zero copy: the records span points at the bytes inside the frame.
  EXPECT_EQ(records->data(), frame.data() + 16);
  EXPECT_THAT(Encode(req, 9), ElementsAreArray(frame));
}

TEST(VectorsTest, RequestHeaderV0HasNoClientId) {
  // ControlledShutdown v0 is the one request still sent with request header v0.
  const std::vector<uint8_t> frame = {0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a,
                                      0x00, 0x00, 0x00, 0x01};  // then BrokerId 1
  wire::Reader r(frame);
  absl::StatusOr<RequestHeader> header = DecodeRequestHeader(r);
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_EQ(header->correlation_id, 42);
  // Absent at v0, so it keeps the schema default: the empty string, not null.
  EXPECT_EQ(header->client_id, std::optional<std::string_view>(""));
  ControlledShutdownRequest req;
  ASSERT_TRUE(req.Decode(r, 0).ok());
  EXPECT_EQ(req.broker_id, 1);
}

TEST(VectorsTest, RequestHeaderV1NullClientId) {
  const std::vector<uint8_t> frame = {0x00, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x05, 0xff, 0xff};
  wire::Reader r(frame);
  absl::StatusOr<RequestHeader> header = DecodeRequestHeader(r);
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_EQ(header->client_id, std::nullopt);
  EXPECT_EQ(r.remaining(), 0u);
}

}  // namespace
}  // namespace ringbroker::protocol
