// Byte-exact request vectors from real clients (kafka-python 2.0.2 and librdkafka 2.0.2, captured by
// tests/capture/capture_vectors.sh; librdkafka 2.12's Fetch v13-v16 and Metadata v10-v12, which carry
// topic ids, by tests/capture/capture_topic_id_vectors.sh): each decodes completely with the
// generated codec, carries what the client meant, and encodes back to the very same bytes.
#include <dirent.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "protocol/messages/all.h"
#include "protocol/records/record_batch.h"
#include "protocol/wire/request_frame.h"

namespace ringbroker::protocol {
namespace {

struct Vector {
  std::string name;
  std::vector<uint8_t> bytes;
};

std::vector<Vector> LoadVectors() {
  std::vector<Vector> out;
  DIR* dir = opendir(RINGBROKER_VECTORS_DIR);
  if (dir == nullptr) return out;
  while (dirent* e = readdir(dir)) {
    std::string name = e->d_name;
    if (name.size() < 4 || name.substr(name.size() - 4) != ".bin") continue;
    std::ifstream in(std::string(RINGBROKER_VECTORS_DIR) + "/" + name, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string s = ss.str();
    out.push_back(Vector{name, std::vector<uint8_t>(s.begin(), s.end())});
  }
  closedir(dir);
  return out;
}

// Decodes the body as `Message`, checks it used every byte, re-encodes header and body and
// compares with the original frame.
template <typename Message>
Message RoundTrip(const Vector& v, const RequestHeader& header, wire::Reader& r) {
  Message message;
  absl::Status s = message.Decode(r, header.request_api_version);
  EXPECT_TRUE(s.ok()) << v.name << ": " << s;
  EXPECT_EQ(r.remaining(), 0u) << v.name;
  wire::Writer w;
  EncodeRequestHeader(w, header);
  message.Encode(w, header.request_api_version);
  std::vector<uint8_t> again(w.data().begin(), w.data().end());
  EXPECT_EQ(again, v.bytes) << v.name << " does not re-encode to the same bytes";
  return message;
}

void CheckRecords(const Vector& v, wire::Bytes records) {
  absl::StatusOr<BatchSummary> summary = ValidateBatch(records);
  ASSERT_TRUE(summary.ok()) << v.name << ": " << summary.status();
  EXPECT_EQ(summary->header.record_count, 1);
}

TEST(CodecVectorsTest, RealClientRequestsRoundTripByteExact) {
  std::vector<Vector> vectors = LoadVectors();
  ASSERT_GE(vectors.size(), 8u) << "no vectors in " << RINGBROKER_VECTORS_DIR;
  int seen[4] = {0, 0, 0, 0};
  wire::Uuid fetch_topic_id;
  std::set<int16_t> fetch_versions_by_id;
  for (const Vector& v : vectors) {
    SCOPED_TRACE(v.name);
    const bool topic_ids = v.name.rfind("librdkafka-2.12-", 0) == 0;
    wire::Reader r(v.bytes);
    absl::StatusOr<RequestHeader> header = DecodeRequestHeader(r);
    ASSERT_TRUE(header.ok()) << header.status();
    EXPECT_TRUE(header->client_id.has_value());
    if (v.name.rfind("kafka-python", 0) == 0 || v.name.rfind("librdkafka", 0) == 0) {
      EXPECT_EQ(*header->client_id, "vector-capture");
    }
    switch (header->request_api_key) {
      case ApiVersionsRequest::kApiKey: {
        auto m = RoundTrip<ApiVersionsRequest>(v, *header, r);
        if (header->request_api_version >= 3) {
          EXPECT_EQ(m.client_software_name, "confluent-kafka-python");  // librdkafka as the Python binding names it
        }
        seen[0]++;
        break;
      }
      case MetadataRequest::kApiKey: {
        auto m = RoundTrip<MetadataRequest>(v, *header, r);
        if (m.topics.has_value() && !m.topics->empty()) {
          EXPECT_EQ((*m.topics)[0].name, topic_ids ? "vectors-ids" : "vectors");
          EXPECT_TRUE((*m.topics)[0].topic_id.IsZero());  // librdkafka asks by name
        }
        seen[1]++;
        break;
      }
      case ProduceRequest::kApiKey: {
        auto m = RoundTrip<ProduceRequest>(v, *header, r);
        ASSERT_EQ(m.topic_data.size(), 1u);
        EXPECT_EQ(m.topic_data[0].name, "vectors");
        ASSERT_EQ(m.topic_data[0].partition_data.size(), 1u);
        ASSERT_TRUE(m.topic_data[0].partition_data[0].records.has_value());
        const wire::Bytes records = *m.topic_data[0].partition_data[0].records;
        // The records field is a view into the frame, not a copy.
        EXPECT_GE(records.data(), v.bytes.data());
        EXPECT_LE(records.data() + records.size(), v.bytes.data() + v.bytes.size());
        CheckRecords(v, records);
        seen[2]++;
        break;
      }
      case FetchRequest::kApiKey: {
        auto m = RoundTrip<FetchRequest>(v, *header, r);
        ASSERT_EQ(m.topics.size(), 1u);
        EXPECT_EQ(m.replica_id, -1);
        if (header->request_api_version < 13) {
          EXPECT_EQ(m.topics[0].topic, "vectors");
          break;
        }
        // From v13 the topic is named by the id the broker handed out in Metadata, and by nothing
        // else; one broker served the whole capture, so every version carries the same id.
        EXPECT_TRUE(topic_ids);
        EXPECT_EQ(m.topics[0].topic, "");
        EXPECT_FALSE(m.topics[0].topic_id.IsZero());
        if (fetch_topic_id.IsZero()) fetch_topic_id = m.topics[0].topic_id;
        EXPECT_EQ(m.topics[0].topic_id, fetch_topic_id);
        ASSERT_EQ(m.topics[0].partitions.size(), 1u);
        EXPECT_EQ(m.topics[0].partitions[0].fetch_offset, 0);
        fetch_versions_by_id.insert(header->request_api_version);
        seen[3]++;
        break;
      }
      default:
        ADD_FAILURE() << "unexpected API " << header->request_api_key;
    }
  }
  for (int n : seen) EXPECT_GT(n, 0);
  // Every Fetch version the broker serves that names topics by id, as a real client sent it.
  EXPECT_EQ(fetch_versions_by_id, (std::set<int16_t>{13, 14, 15, 16}));
}

}  // namespace
}  // namespace ringbroker::protocol
