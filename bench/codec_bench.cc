// Kafka codec microbenchmarks: a Produce request (v9) and a Fetch response (v16) each carrying
// 1 MiB of records. Decoding a Produce request must not copy the records: the decoded span
// points into the input frame, which the benchmark checks on every iteration; the bytes/s
// figure should therefore be far above memcpy speed for decode and close to it for encode.
#include <cstdint>
#include <vector>

#include "benchmark/benchmark.h"
#include "protocol/messages/fetch.h"
#include "protocol/messages/produce.h"
#include "protocol/wire/reader.h"
#include "protocol/wire/writer.h"

namespace ringbroker::protocol {
namespace {

constexpr size_t kRecordsBytes = 1 << 20;
constexpr int16_t kProduceVersion = 9;
constexpr int16_t kFetchVersion = 16;

const std::vector<uint8_t>& Records() {
  static const std::vector<uint8_t> records = [] {
    std::vector<uint8_t> r(kRecordsBytes);
    for (size_t i = 0; i < r.size(); ++i) r[i] = static_cast<uint8_t>(i * 31);
    return r;
  }();
  return records;
}

ProduceRequest MakeProduce() {
  ProduceRequest req;
  req.acks = -1;
  req.timeout_ms = 30000;
  ProduceRequest::TopicProduceData& topic = req.topic_data.emplace_back();
  topic.name = "bench-topic";
  ProduceRequest::PartitionProduceData& partition = topic.partition_data.emplace_back();
  partition.index = 0;
  partition.records = wire::Bytes(Records());
  return req;
}

void BM_DecodeProduceV9_1MiB(benchmark::State& state) {
  wire::Writer w;
  MakeProduce().Encode(w, kProduceVersion);
  const std::vector<uint8_t> frame = w.Release();
  for (auto _ : state) {
    wire::Reader r(frame);
    ProduceRequest req;
    if (!req.Decode(r, kProduceVersion).ok()) state.SkipWithError("decode failed");
    const wire::Bytes records = *req.topic_data[0].partition_data[0].records;
    if (records.data() < frame.data() || records.data() + records.size() > frame.data() + frame.size()) {
      state.SkipWithError("records were copied out of the frame");
    }
    benchmark::DoNotOptimize(records.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * frame.size()));
}
BENCHMARK(BM_DecodeProduceV9_1MiB);

void BM_EncodeProduceV9_1MiB(benchmark::State& state) {
  const ProduceRequest req = MakeProduce();
  std::vector<uint8_t> buffer;
  for (auto _ : state) {
    buffer.clear();
    wire::Writer w(std::move(buffer));
    w.Reserve(req.EncodedSize(kProduceVersion));
    req.Encode(w, kProduceVersion);
    benchmark::DoNotOptimize(w.data().data());
    buffer = w.Release();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * buffer.size()));
}
BENCHMARK(BM_EncodeProduceV9_1MiB);

void BM_EncodeFetchResponseV16_1MiB(benchmark::State& state) {
  FetchResponse resp;
  FetchResponse::FetchableTopicResponse& topic = resp.responses.emplace_back();
  topic.topic_id.bytes[15] = 1;
  FetchResponse::PartitionData& partition = topic.partitions.emplace_back();
  partition.high_watermark = 1000;
  partition.last_stable_offset = 1000;
  partition.log_start_offset = 0;
  partition.records = wire::Bytes(Records());
  std::vector<uint8_t> buffer;
  for (auto _ : state) {
    buffer.clear();
    wire::Writer w(std::move(buffer));
    w.Reserve(resp.EncodedSize(kFetchVersion));
    resp.Encode(w, kFetchVersion);
    benchmark::DoNotOptimize(w.data().data());
    buffer = w.Release();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * buffer.size()));
}
BENCHMARK(BM_EncodeFetchResponseV16_1MiB);

}  // namespace
}  // namespace ringbroker::protocol

BENCHMARK_MAIN();
