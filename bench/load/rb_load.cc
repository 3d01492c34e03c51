// rb-load: an end-to-end load generator for any Kafka broker, on librdkafka's C API, in the spirit of
// Kafka's kafka-producer-perf-test and kafka-consumer-perf-test. See README.md in this folder for the
// settings and the JSON it writes.
//
// Every producer and consumer is its own thread with its own rd_kafka_t, so the client never shares a
// handle across threads; each keeps its own counters and histograms, merged once everyone has
// finished. The measured interval starts when all threads are set up and released together (or, with
// --warmup, that long after), and ends when the last one is done; the broker's CPU time is read at
// exactly those two points.
#include <getopt.h>
#include <malloc.h>
#include <sys/prctl.h>
#include <librdkafka/rdkafka.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <latch>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "histogram.h"
#include "timeline.h"

namespace ringbroker::bench {
namespace {

// ---------------------------------------------------------------------------------------------------
// Settings

enum class Mode { kProduce, kConsume, kEndToEnd, kProbe };

struct Settings {
  Mode mode = Mode::kProduce;
  std::string bootstrap = "127.0.0.1:9092";
  std::string topic = "rb-load";
  int partitions = 1;
  int64_t message_size_bytes = 1024;
  int64_t count = 0;          // total messages, 0 = bounded by duration (or, consuming, by the log end)
  double duration_s = 0;      // 0 = bounded by count
  double rate_msgs_per_s = 0; // total over all producers, 0 = as fast as the broker takes them
  std::string acks = "1";
  std::string compression = "none";
  std::optional<int64_t> batch_size_bytes;  // unset = librdkafka's default
  std::optional<double> linger_ms;          // unset = librdkafka's default
  int producers = 1;
  int consumers = 1;
  std::string group;  // empty = partitions assigned by hand, no group coordinator involved
  std::optional<pid_t> broker_pid;
  std::string json_path;
  std::vector<std::pair<std::string, std::string>> passthrough;  // --set key=value
  double idle_timeout_s = 10;  // consumers give up after this long without a message
  int64_t wakeup_probe_us = 0;  // 0 = no wake-up probe
  int64_t timeline_ms = 0;      // 0 = no latency timeline
  double warmup_s = 0;          // produce and e2e: traffic at the target rate before measuring
};

const char* ModeName(Mode mode) {
  switch (mode) {
    case Mode::kProduce: return "produce";
    case Mode::kConsume: return "consume";
    case Mode::kEndToEnd: return "e2e";
    case Mode::kProbe: return "probe";
  }
  return "?";
}

// Bytes 0..7 of every payload carry the produce() time (CLOCK_MONOTONIC ns; producers and consumers
// share one process, hence one clock), bytes 8..15 this run's random id, so that end-to-end latency
// is only taken from messages this run produced.
constexpr int64_t kStampBytes = 16;

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "rb-load: %s\n", message.c_str());
  std::exit(2);
}

void PrintUsage() {
  std::fputs(
      "usage: rb-load produce|consume|e2e [options]\n"
      "       rb-load probe --duration S [--wakeup-probe-us US] [--json FILE]\n"
      "         (only the wake-up probe, no broker: the machine's own scheduling delay; US 1000)\n"
      "  --bootstrap HOST:PORT   broker to connect to (127.0.0.1:9092)\n"
      "  --topic NAME            topic (rb-load); created with --partitions if missing\n"
      "  --partitions N          partitions when creating the topic (1)\n"
      "  --message-size BYTES    payload size (1024; >= 16 for e2e)\n"
      "  --count N               total messages (produce/e2e: to send; consume: to read)\n"
      "  --duration S            run for S seconds instead of a count\n"
      "  --rate MSGS_PER_S       total target rate over all producers, 0 = unbounded (0)\n"
      "  --acks 0|1|all          (1)\n"
      "  --compression none|gzip|snappy|lz4|zstd   (none)\n"
      "  --batch-size BYTES      librdkafka batch.size\n"
      "  --linger-ms MS          librdkafka linger.ms\n"
      "  --producers N           producer threads, one client each (1)\n"
      "  --consumers N           consumer threads, one client each (1)\n"
      "  --group ID              consumers subscribe in this group; without it partitions are split\n"
      "                          among consumers by hand (partition %% consumers)\n"
      "  --broker-pid PID        read the broker's CPU time from /proc/PID/stat\n"
      "  --json FILE             also write the result as JSON\n"
      "  --set KEY=VALUE         librdkafka property for every client (repeatable)\n"
      "  --idle-timeout S        consumers stop after S seconds without a message (10)\n"
      "  --timeline-ms MS        also record, per MS-millisecond window of send time, the messages\n"
      "                          sent and their worst latency (JSON \"timeline\"; 0 = off, the default)\n"
      "  --wakeup-probe-us US    while measuring, a thread sleeps US microseconds at a time and\n"
      "                          records how late it wakes: the machine's own scheduling delay\n"
      "                          (0 = no probe, the default)\n"
      "  --warmup S              produce and e2e with --duration: send at the target rate for S\n"
      "                          seconds first; messages sent then are not measured (0)\n"
      "Without --count or --duration, consume reads what the topic holds when it starts.\n",
      stderr);
}

double ParseNumber(const char* option, const char* text, double min_value) {
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(text, &end);
  if (errno != 0 || end == text || *end != '\0' || !std::isfinite(value) || value < min_value) {
    Die(std::string("bad value for --") + option + ": '" + text + "'");
  }
  return value;
}

int64_t ParseInteger(const char* option, const char* text, int64_t min_value) {
  char* end = nullptr;
  errno = 0;
  const long long value = std::strtoll(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value < min_value) {
    Die(std::string("bad value for --") + option + ": '" + text + "'");
  }
  return value;
}

Settings ParseSettings(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    PrintUsage();
    std::exit(argc < 2 ? 2 : 0);
  }
  Settings settings;
  const std::string mode = argv[1];
  if (mode == "produce") settings.mode = Mode::kProduce;
  else if (mode == "consume") settings.mode = Mode::kConsume;
  else if (mode == "e2e") settings.mode = Mode::kEndToEnd;
  else if (mode == "probe") settings.mode = Mode::kProbe;
  else Die("unknown mode '" + mode + "' (produce, consume, e2e or probe)");

  static const option kOptions[] = {
      {"bootstrap", required_argument, nullptr, 'b'},   {"topic", required_argument, nullptr, 't'},
      {"partitions", required_argument, nullptr, 'p'},  {"message-size", required_argument, nullptr, 's'},
      {"count", required_argument, nullptr, 'n'},       {"duration", required_argument, nullptr, 'd'},
      {"rate", required_argument, nullptr, 'r'},        {"acks", required_argument, nullptr, 'a'},
      {"compression", required_argument, nullptr, 'z'}, {"batch-size", required_argument, nullptr, 'B'},
      {"linger-ms", required_argument, nullptr, 'l'},   {"producers", required_argument, nullptr, 'P'},
      {"consumers", required_argument, nullptr, 'C'},   {"group", required_argument, nullptr, 'g'},
      {"broker-pid", required_argument, nullptr, 'k'},  {"json", required_argument, nullptr, 'j'},
      {"set", required_argument, nullptr, 'X'},         {"idle-timeout", required_argument, nullptr, 'i'},
      {"wakeup-probe-us", required_argument, nullptr, 'w'}, {"timeline-ms", required_argument, nullptr, 'T'},
      {"warmup", required_argument, nullptr, 'W'},      {"help", no_argument, nullptr, 'h'},
      {nullptr, 0, nullptr, 0},
  };
  optind = 2;  // argv[1] is the mode
  int index = 0;
  for (int c; (c = getopt_long(argc, argv, "", kOptions, &index)) != -1;) {
    const char* name = c == '?' ? "" : kOptions[index].name;
    switch (c) {
      case 'b': settings.bootstrap = optarg; break;
      case 't': settings.topic = optarg; break;
      case 'p': settings.partitions = static_cast<int>(ParseInteger(name, optarg, 1)); break;
      case 's': settings.message_size_bytes = ParseInteger(name, optarg, 0); break;
      case 'n': settings.count = ParseInteger(name, optarg, 1); break;
      case 'd': settings.duration_s = ParseNumber(name, optarg, 0); break;
      case 'r': settings.rate_msgs_per_s = ParseNumber(name, optarg, 0); break;
      case 'a': settings.acks = optarg; break;
      case 'z': settings.compression = optarg; break;
      case 'B': settings.batch_size_bytes = ParseInteger(name, optarg, 1); break;
      case 'l': settings.linger_ms = ParseNumber(name, optarg, 0); break;
      case 'P': settings.producers = static_cast<int>(ParseInteger(name, optarg, 1)); break;
      case 'C': settings.consumers = static_cast<int>(ParseInteger(name, optarg, 1)); break;
      case 'g': settings.group = optarg; break;
      case 'k': settings.broker_pid = static_cast<pid_t>(ParseInteger(name, optarg, 1)); break;
      case 'j': settings.json_path = optarg; break;
      case 'i': settings.idle_timeout_s = ParseNumber(name, optarg, 0.1); break;
      case 'w': settings.wakeup_probe_us = ParseInteger(name, optarg, 0); break;
      case 'T':
        settings.timeline_ms = ParseInteger(name, optarg, 0);
        if (settings.timeline_ms > 3'600'000) Die("--timeline-ms: at most an hour (3600000)");
        break;
      case 'W':
        settings.warmup_s = ParseNumber(name, optarg, 0);
        if (settings.warmup_s > 3600) Die("--warmup: at most an hour (3600)");
        break;
      case 'X': {
        const char* equals = std::strchr(optarg, '=');
        if (equals == nullptr || equals == optarg) Die(std::string("--set wants KEY=VALUE, got '") + optarg + "'");
        settings.passthrough.emplace_back(std::string(optarg, static_cast<size_t>(equals - optarg)), std::string(equals + 1));
        break;
      }
      case 'h': PrintUsage(); std::exit(0);
      default: PrintUsage(); std::exit(2);
    }
  }
  if (optind != argc) Die(std::string("unexpected argument '") + argv[optind] + "'");
  if (settings.acks == "-1") settings.acks = "all";
  if (settings.acks != "0" && settings.acks != "1" && settings.acks != "all") Die("--acks is 0, 1 or all");
  static const std::set<std::string> kCompressions = {"none", "gzip", "snappy", "lz4", "zstd"};
  if (!kCompressions.contains(settings.compression)) Die("--compression is none, gzip, snappy, lz4 or zstd");
  if (settings.mode == Mode::kProbe) {
    if (settings.duration_s == 0 || settings.count != 0) Die("probe runs for --duration S, not a count");
    if (settings.wakeup_probe_us == 0) settings.wakeup_probe_us = 1000;
    return settings;
  }
  if (settings.mode != Mode::kConsume && settings.count == 0 && settings.duration_s == 0) {
    Die("give --count or --duration");
  }
  if (settings.count != 0 && settings.duration_s != 0) Die("give --count or --duration, not both");
  if (settings.warmup_s > 0 && (settings.mode == Mode::kConsume || settings.duration_s == 0)) {
    Die("--warmup goes with produce or e2e and --duration");
  }
  if (settings.mode == Mode::kEndToEnd && settings.message_size_bytes < kStampBytes) {
    Die("e2e needs --message-size of at least 16 (the timestamp and run id live in the payload)");
  }
  return settings;
}

// ---------------------------------------------------------------------------------------------------
// Clocks and the broker's CPU time

uint64_t MonotonicNanos() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(now.tv_nsec);
}

// utime + stime of a process in seconds, from /proc/<pid>/stat (fields 14 and 15, in clock ticks).
std::optional<double> ProcessCpuSeconds(pid_t pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(file, line)) return std::nullopt;
  // The command name (field 2) is in parentheses and may hold spaces; the fields after it don't.
  const size_t name_end = line.rfind(')');
  if (name_end == std::string::npos) return std::nullopt;
  std::istringstream fields(line.substr(name_end + 1));
  std::string field;
  uint64_t utime_ticks = 0, stime_ticks = 0;
  for (int number = 3; number <= 15 && fields >> field; ++number) {
    if (number == 14) utime_ticks = std::strtoull(field.c_str(), nullptr, 10);
    if (number == 15) stime_ticks = std::strtoull(field.c_str(), nullptr, 10);
  }
  if (!fields) return std::nullopt;
  return static_cast<double>(utime_ticks + stime_ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// The whole machine's CPU time over a window. Idle comes from the first line of /proc/stat (idle +
// iowait of all CPUs), which the kernel measures exactly; its busy columns are sampled at ticks and
// miss short bursts between idle periods (5% of the machine at 35,000 msgs/s here), so busy is the
// window's wall time on every CPU less idle. Beside the broker's and the load tool's own time it
// shows who else ran (writeback, softirq threads) and whether any core was left idle.
struct MachineCpu {
  double busy_seconds = 0;
  double total_seconds = 0;
};

struct MachineCpuSample {
  double idle_seconds = 0;
  uint64_t at_ns = 0;
};

std::optional<MachineCpuSample> SampleMachineCpu() {
  std::ifstream file("/proc/stat");
  std::string label;
  if (!(file >> label) || label != "cpu") return std::nullopt;
  uint64_t ticks[5] = {};  // user nice system idle iowait
  for (uint64_t& value : ticks) {
    if (!(file >> value)) return std::nullopt;
  }
  return MachineCpuSample{.idle_seconds = static_cast<double>(ticks[3] + ticks[4]) /
                                          static_cast<double>(sysconf(_SC_CLK_TCK)),
                          .at_ns = MonotonicNanos()};
}

MachineCpu MachineCpuBetween(const MachineCpuSample& before, const MachineCpuSample& after) {
  const double cpus = static_cast<double>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
  const double total = cpus * static_cast<double>(after.at_ns - before.at_ns) / 1e9;
  return MachineCpu{.busy_seconds = total - (after.idle_seconds - before.idle_seconds), .total_seconds = total};
}

// ---------------------------------------------------------------------------------------------------
// librdkafka configuration

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
};
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

struct KafkaDeleter {
  void operator()(rd_kafka_t* kafka) const { rd_kafka_destroy(kafka); }
};
using KafkaPtr = std::unique_ptr<rd_kafka_t, KafkaDeleter>;

void SetProperty(rd_kafka_conf_t* conf, const std::string& key, const std::string& value) {
  char error[512];
  if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), error, sizeof(error)) != RD_KAFKA_CONF_OK) {
    Die("librdkafka property " + key + "=" + value + ": " + error);
  }
}

std::string GetProperty(const rd_kafka_conf_t* conf, const char* key) {
  char value[512];
  size_t size = sizeof(value);
  if (rd_kafka_conf_get(conf, key, value, &size) != RD_KAFKA_CONF_OK) return "";
  return value;
}

enum class Role { kAdmin, kProducer, kConsumer };

// The librdkafka properties rb-load sets for a role; --set values come last and win.
ConfPtr MakeConf(const Settings& settings, Role role) {
  ConfPtr conf(rd_kafka_conf_new());
  SetProperty(conf.get(), "bootstrap.servers", settings.bootstrap);
  SetProperty(conf.get(), "client.id", "rb-load");
  if (role == Role::kProducer) {
    SetProperty(conf.get(), "acks", settings.acks);
    SetProperty(conf.get(), "compression.type", settings.compression);
    if (settings.batch_size_bytes) SetProperty(conf.get(), "batch.size", std::to_string(*settings.batch_size_bytes));
    if (settings.linger_ms) {
      char text[64];
      std::snprintf(text, sizeof(text), "%g", *settings.linger_ms);
      SetProperty(conf.get(), "linger.ms", text);
    }
  }
  if (role == Role::kConsumer) {
    SetProperty(conf.get(), "enable.partition.eof", "false");
    SetProperty(conf.get(), "auto.offset.reset", settings.mode == Mode::kConsume ? "earliest" : "latest");
    if (!settings.group.empty()) SetProperty(conf.get(), "group.id", settings.group);
  }
  for (const auto& [key, value] : settings.passthrough) SetProperty(conf.get(), key, value);
  return conf;
}

KafkaPtr NewClient(rd_kafka_type_t type, ConfPtr conf) {
  char error[512];
  rd_kafka_t* kafka = rd_kafka_new(type, conf.get(), error, sizeof(error));
  if (kafka == nullptr) Die(std::string("creating a librdkafka client: ") + error);
  (void)conf.release();  // rd_kafka_new took ownership on success
  return KafkaPtr(kafka);
}

// ---------------------------------------------------------------------------------------------------
// The topic

struct TopicLayout {
  int partitions = 0;
  std::vector<int64_t> low_watermarks;   // per partition, when the run starts
  std::vector<int64_t> high_watermarks;  // per partition, when the run starts
};

// The topic's partition count from the broker's metadata, 0 if the topic is absent. Asks for all
// topics, because asking for one by name lets a broker create it with its default partition count.
int PartitionCount(rd_kafka_t* admin, const std::string& topic) {
  const rd_kafka_metadata_t* metadata = nullptr;
  const rd_kafka_resp_err_t error = rd_kafka_metadata(admin, 1, nullptr, &metadata, 10'000);
  if (error != RD_KAFKA_RESP_ERR_NO_ERROR) Die(std::string("metadata: ") + rd_kafka_err2str(error));
  int partitions = 0;
  for (int i = 0; i < metadata->topic_cnt; ++i) {
    const rd_kafka_metadata_topic_t& entry = metadata->topics[i];
    if (topic == entry.topic && entry.err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      partitions = entry.partition_cnt;
      for (int p = 0; p < entry.partition_cnt; ++p) {
        if (entry.partitions[p].leader < 0) partitions = 0;  // not ready to serve yet
      }
    }
  }
  rd_kafka_metadata_destroy(metadata);
  return partitions;
}

void CreateTopic(rd_kafka_t* admin, const std::string& topic, int partitions) {
  char error[512];
  rd_kafka_NewTopic_t* new_topic = rd_kafka_NewTopic_new(topic.c_str(), partitions, 1, error, sizeof(error));
  if (new_topic == nullptr) Die(std::string("CreateTopics: ") + error);
  rd_kafka_queue_t* queue = rd_kafka_queue_new(admin);
  rd_kafka_CreateTopics(admin, &new_topic, 1, nullptr, queue);
  rd_kafka_event_t* event = rd_kafka_queue_poll(queue, 30'000);
  if (event == nullptr) Die("CreateTopics: no answer within 30 s");
  if (rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    Die(std::string("CreateTopics: ") + rd_kafka_event_error_string(event));
  }
  size_t result_count = 0;
  const rd_kafka_topic_result_t** results =
      rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event), &result_count);
  for (size_t i = 0; i < result_count; ++i) {
    const rd_kafka_resp_err_t topic_error = rd_kafka_topic_result_error(results[i]);
    // Another rb-load may have created it in between; that is as good.
    if (topic_error != RD_KAFKA_RESP_ERR_NO_ERROR && topic_error != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      const char* message = rd_kafka_topic_result_error_string(results[i]);
      Die("CreateTopics " + topic + ": " + (message != nullptr ? message : rd_kafka_err2str(topic_error)));
    }
  }
  rd_kafka_event_destroy(event);
  rd_kafka_queue_destroy(queue);
  rd_kafka_NewTopic_destroy(new_topic);
}

TopicLayout PrepareTopic(const Settings& settings) {
  KafkaPtr admin = NewClient(RD_KAFKA_PRODUCER, MakeConf(settings, Role::kAdmin));
  TopicLayout layout;
  layout.partitions = PartitionCount(admin.get(), settings.topic);
  if (layout.partitions == 0) {
    if (settings.mode == Mode::kConsume) Die("topic '" + settings.topic + "' does not exist; nothing to consume");
    CreateTopic(admin.get(), settings.topic, settings.partitions);
    // Creation is acknowledged before every partition has a leader in the metadata.
    const uint64_t deadline_ns = MonotonicNanos() + 30'000'000'000u;
    while ((layout.partitions = PartitionCount(admin.get(), settings.topic)) == 0) {
      if (MonotonicNanos() > deadline_ns) Die("topic '" + settings.topic + "' created but has no leaders after 30 s");
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  } else if (layout.partitions != settings.partitions && settings.mode != Mode::kConsume) {
    std::fprintf(stderr, "rb-load: topic '%s' exists with %d partitions (not %d); using it as it is\n",
                 settings.topic.c_str(), layout.partitions, settings.partitions);
  }
  for (int p = 0; p < layout.partitions; ++p) {
    int64_t low = 0, high = 0;
    const rd_kafka_resp_err_t error =
        rd_kafka_query_watermark_offsets(admin.get(), settings.topic.c_str(), p, &low, &high, 10'000);
    if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
      Die("watermarks of partition " + std::to_string(p) + ": " + rd_kafka_err2str(error));
    }
    layout.low_watermarks.push_back(low);
    layout.high_watermarks.push_back(high);
  }
  return layout;
}

// ---------------------------------------------------------------------------------------------------
// The shared run state

struct Run {
  Run(const Settings& run_settings, TopicLayout topic_layout, int threads)
      : settings(run_settings), layout(std::move(topic_layout)), ready(threads), go(1), finished(threads) {}

  const Settings& settings;
  const TopicLayout layout;
  const uint64_t run_id = std::random_device{}() * uint64_t{0x9E3779B97F4A7C15} ^ MonotonicNanos();

  std::latch ready;     // every thread set up (consumers: positioned on their partitions)
  std::latch go;        // released by main: the start (and, without a warm-up, the measured start)
  std::latch finished;  // every thread done measuring; clients are destroyed after this
  std::atomic<uint64_t> start_ns{0};    // producers pace from here
  std::atomic<uint64_t> measure_ns{0};  // start_ns + the warm-up: messages sent from here on count

  // Consumers stop once they have this many messages; UINT64_MAX while producers still run.
  std::atomic<uint64_t> consume_target{UINT64_MAX};
  std::atomic<uint64_t> consumed_total{0};
  std::atomic<bool> producers_done{false};
  std::atomic<uint64_t> producers_done_ns{0};
  std::atomic<int> assigned_partitions{0};  // group mode: partitions currently assigned to consumers

  std::mutex positioned_mutex;
  std::set<int32_t> positioned_partitions;  // group mode: partitions given a start offset already
};

struct ThreadResult {
  uint64_t messages = 0;
  uint64_t bytes = 0;
  uint64_t errors = 0;
  uint64_t end_ns = 0;  // when this thread's share of the work was complete
  std::string first_error;
  LatencyHistogram latency_ns;  // producers: produce() to delivery; consumers: end to end
  LatencyTimeline timeline;     // the same latencies by the time each message was sent
  uint64_t measure_ns = 0;      // messages sent before it are the warm-up's (timeline times count from it)

  void NoteError(const std::string& message) {
    if (errors++ == 0) first_error = message;
  }
};

// ---------------------------------------------------------------------------------------------------
// Producers

void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
  const uint64_t now_ns = MonotonicNanos();
  auto* result = static_cast<ThreadResult*>(opaque);
  if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    result->NoteError(std::string("delivery failed: ") + rd_kafka_err2str(message->err));
    return;
  }
  const auto sent_ns = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(message->_private));
  if (sent_ns < result->measure_ns) return;  // sent during the warm-up
  result->latency_ns.Record(now_ns - sent_ns);
  result->timeline.Record(sent_ns - result->measure_ns, now_ns - sent_ns);
  ++result->messages;
  result->bytes += message->len;
}

// Blocks in rd_kafka_poll until `until_ns`, serving delivery reports the moment they arrive: a long
// wait sleeps inside librdkafka's queue (woken by a report), the last sub-millisecond in short naps.
// A producer with a target rate sends while it is on schedule and sleeps only once it is this far
// ahead of it: at a rate it sends bursts of up to 1 ms worth of messages, as Kafka's
// ProducerPerformance throttler does (it sleeps in steps of at least 2 ms). Sleeping until each
// message's own slot (every 6 us at 170,000 msgs/s) cost this 2-vCPU VM more than the messages:
// in the end-to-end cell at half the peak, the machine was 82-85% busy against 52-58% this way, and
// a sleep shorter than the timer slack ends late anyway.
constexpr uint64_t kPaceAheadNs = 1'000'000;

void PollUntil(rd_kafka_t* producer, uint64_t until_ns) {
  for (uint64_t now = MonotonicNanos(); now < until_ns; now = MonotonicNanos()) {
    const uint64_t remaining_ns = until_ns - now;
    if (remaining_ns >= 1'000'000) {
      rd_kafka_poll(producer, static_cast<int>(remaining_ns / 1'000'000));
    } else {
      rd_kafka_poll(producer, 0);
      std::this_thread::sleep_for(std::chrono::nanoseconds(std::min<uint64_t>(remaining_ns, 50'000)));
    }
  }
}

void RunProducer(Run& run, int index, ThreadResult& result) {
  const Settings& settings = run.settings;
  ConfPtr conf = MakeConf(settings, Role::kProducer);
  rd_kafka_conf_set_dr_msg_cb(conf.get(), OnDelivery);
  rd_kafka_conf_set_opaque(conf.get(), &result);
  KafkaPtr producer = NewClient(RD_KAFKA_PRODUCER, std::move(conf));
  rd_kafka_topic_t* topic = rd_kafka_topic_new(producer.get(), settings.topic.c_str(), nullptr);

  // Random capital letters, as kafka-producer-perf-test sends, so compression has something to do
  // without the payload being trivially compressible.
  std::vector<char> payload(static_cast<size_t>(settings.message_size_bytes));
  std::mt19937_64 random(run.run_id + static_cast<uint64_t>(index));
  for (char& byte : payload) byte = static_cast<char>('A' + random() % 26);
  if (settings.message_size_bytes >= kStampBytes) std::memcpy(payload.data() + 8, &run.run_id, 8);

  // This producer's share of the count and of the rate.
  const uint64_t producers = static_cast<uint64_t>(settings.producers);
  const uint64_t quota = settings.count == 0 ? UINT64_MAX
                                             : static_cast<uint64_t>(settings.count) / producers +
                                                   (static_cast<uint64_t>(index) < settings.count % producers ? 1 : 0);
  const double interval_ns = settings.rate_msgs_per_s > 0 ? 1e9 * settings.producers / settings.rate_msgs_per_s : 0;

  run.ready.count_down();
  run.go.wait();
  const uint64_t start_ns = run.start_ns.load();
  result.measure_ns = run.measure_ns.load();
  const uint64_t deadline_ns =
      settings.duration_s > 0 ? result.measure_ns + static_cast<uint64_t>(settings.duration_s * 1e9) : UINT64_MAX;

  for (uint64_t sent = 0; sent < quota; ++sent) {
    if (interval_ns > 0) {
      const uint64_t due_ns = start_ns + static_cast<uint64_t>(interval_ns * static_cast<double>(sent));
      if (due_ns > MonotonicNanos() + kPaceAheadNs) PollUntil(producer.get(), due_ns);
    }
    uint64_t now_ns = MonotonicNanos();
    if (now_ns >= deadline_ns) break;
    for (;;) {
      if (settings.message_size_bytes >= 8) std::memcpy(payload.data(), &now_ns, 8);
      if (rd_kafka_produce(topic, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, payload.data(), payload.size(),
                           nullptr, 0, reinterpret_cast<void*>(static_cast<uintptr_t>(now_ns))) == 0) {
        break;
      }
      const rd_kafka_resp_err_t error = rd_kafka_last_error();
      if (error != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        result.NoteError(std::string("produce: ") + rd_kafka_err2str(error));
        break;
      }
      rd_kafka_poll(producer.get(), 1);  // the local queue is full: wait for deliveries to drain it
      now_ns = MonotonicNanos();
    }
    rd_kafka_poll(producer.get(), 0);
  }
  constexpr int kFlushTimeoutMs = 60'000;
  if (rd_kafka_flush(producer.get(), kFlushTimeoutMs) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    const int undelivered = rd_kafka_outq_len(producer.get());
    for (int i = 0; i < undelivered; ++i) result.NoteError("not delivered within the 60 s flush timeout");
  }
  result.end_ns = MonotonicNanos();
  rd_kafka_topic_destroy(topic);
  run.finished.count_down();
  // The client is destroyed after main has read the broker's CPU time.
}

// ---------------------------------------------------------------------------------------------------
// Consumers

// Where a consumer starts reading a partition: the start of the log to consume what is there, the
// end as it was before producing for end-to-end latency (so nothing produced by this run is missed).
// Both are explicit offsets, so no ListOffsets round trip falls inside the measured interval.
int64_t StartOffset(const Run& run, int32_t partition) {
  const auto index = static_cast<size_t>(partition);
  return run.settings.mode == Mode::kConsume ? run.layout.low_watermarks[index] : run.layout.high_watermarks[index];
}

struct GroupConsumerState {
  Run* run;
  int assigned = 0;
  // Until the clock starts, assigned partitions stay paused so that no message is read unmeasured.
  // Only the consumer's own thread touches this (the rebalance callback runs inside its poll).
  bool measuring = false;
};

void OnRebalance(rd_kafka_t* consumer, rd_kafka_resp_err_t reason, rd_kafka_topic_partition_list_t* partitions,
                 void* opaque) {
  auto* state = static_cast<GroupConsumerState*>(opaque);
  Run& run = *state->run;
  if (reason == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    {
      // A partition's first owner in this run starts at the run's start offset; a later owner (after a
      // rebalance) continues from the group's committed offset.
      std::lock_guard lock(run.positioned_mutex);
      for (int i = 0; i < partitions->cnt; ++i) {
        rd_kafka_topic_partition_t& entry = partitions->elems[i];
        if (run.positioned_partitions.insert(entry.partition).second) {
          entry.offset = StartOffset(run, entry.partition);
        }
      }
    }
    rd_kafka_assign(consumer, partitions);
    if (!state->measuring) rd_kafka_pause_partitions(consumer, partitions);
    state->assigned = partitions->cnt;
    run.assigned_partitions += partitions->cnt;
  } else {
    rd_kafka_assign(consumer, nullptr);
    run.assigned_partitions -= state->assigned;
    state->assigned = 0;
  }
}

void RunConsumer(Run& run, int index, ThreadResult& result) {
  const Settings& settings = run.settings;
  const bool in_group = !settings.group.empty();
  GroupConsumerState group_state{.run = &run};
  ConfPtr conf = MakeConf(settings, Role::kConsumer);
  if (in_group) {
    rd_kafka_conf_set_rebalance_cb(conf.get(), OnRebalance);
    rd_kafka_conf_set_opaque(conf.get(), &group_state);
  }
  KafkaPtr consumer = NewClient(RD_KAFKA_CONSUMER, std::move(conf));
  rd_kafka_queue_t* queue = nullptr;
  rd_kafka_topic_t* topic = nullptr;
  std::vector<int32_t> started_partitions;
  if (in_group) {
    rd_kafka_poll_set_consumer(consumer.get());
    rd_kafka_topic_partition_list_t* subscription = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(subscription, settings.topic.c_str(), RD_KAFKA_PARTITION_UA);
    const rd_kafka_resp_err_t error = rd_kafka_subscribe(consumer.get(), subscription);
    rd_kafka_topic_partition_list_destroy(subscription);
    if (error != RD_KAFKA_RESP_ERR_NO_ERROR) Die(std::string("subscribe: ") + rd_kafka_err2str(error));
    queue = rd_kafka_queue_get_consumer(consumer.get());
  } else {
    // Partitions by hand with the simple consumer API: no group, no coordinator. A metadata request
    // first, so that connecting to the broker happens before the clock starts.
    queue = rd_kafka_queue_new(consumer.get());
    topic = rd_kafka_topic_new(consumer.get(), settings.topic.c_str(), nullptr);
    const rd_kafka_metadata_t* metadata = nullptr;
    const rd_kafka_resp_err_t error = rd_kafka_metadata(consumer.get(), 0, topic, &metadata, 10'000);
    if (error != RD_KAFKA_RESP_ERR_NO_ERROR) Die(std::string("consumer metadata: ") + rd_kafka_err2str(error));
    rd_kafka_metadata_destroy(metadata);
  }
  auto start_partitions = [&] {
    for (int32_t p = index; p < run.layout.partitions; p += settings.consumers) {
      if (rd_kafka_consume_start_queue(topic, p, StartOffset(run, p), queue) != 0) {
        Die("consume_start partition " + std::to_string(p) + ": " + rd_kafka_err2str(rd_kafka_last_error()));
      }
      started_partitions.push_back(p);
    }
  };
  // End to end, fetching starts before producing (nothing is there to read yet); consuming what the
  // topic holds, it starts with the clock.
  if (!in_group && settings.mode == Mode::kEndToEnd) start_partitions();

  constexpr size_t kBatchMessages = 1024;
  std::vector<rd_kafka_message_t*> batch(kBatchMessages);
  // Waits up to timeout_ms for one message, then takes whatever else is already queued without
  // waiting: a batch call with a timeout would hold messages back until the batch is full.
  auto consume_some = [&](int timeout_ms) -> size_t {
    rd_kafka_message_t* first =
        in_group ? rd_kafka_consumer_poll(consumer.get(), timeout_ms) : rd_kafka_consume_queue(queue, timeout_ms);
    if (first == nullptr) return 0;
    batch[0] = first;
    const ssize_t more = rd_kafka_consume_batch_queue(queue, 0, batch.data() + 1, batch.size() - 1);
    if (more < 0) result.NoteError(std::string("consume: ") + rd_kafka_err2str(rd_kafka_last_error()));
    const ssize_t got = 1 + std::max<ssize_t>(more, 0);
    const uint64_t now_ns = MonotonicNanos();
    size_t messages = 0;
    for (ssize_t i = 0; i < got; ++i) {
      const rd_kafka_message_t* message = batch[static_cast<size_t>(i)];
      if (message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        // not a message
      } else if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        result.NoteError(std::string("consume: ") + rd_kafka_message_errstr(message));
      } else {
        const auto* payload = static_cast<const unsigned char*>(message->payload);
        uint64_t sent_ns = 0, run_id = 0;
        if (message->len >= static_cast<size_t>(kStampBytes)) {
          std::memcpy(&sent_ns, payload, 8);
          std::memcpy(&run_id, payload + 8, 8);
        }
        // End to end, only this run's measured messages count: anything else in the topic is not
        // its traffic, and what was sent during the warm-up is not measured.
        const uint64_t measure_ns = run.measure_ns.load();
        const bool counts = run.settings.mode != Mode::kEndToEnd ||
                            (run_id == run.run_id && sent_ns <= now_ns && sent_ns >= measure_ns);
        if (counts) {
          if (run.settings.mode == Mode::kEndToEnd) {
            result.latency_ns.Record(now_ns - sent_ns);
            result.timeline.Record(sent_ns - measure_ns, now_ns - sent_ns);
          }
          ++messages;
          result.bytes += message->len;
        }
      }
      rd_kafka_message_destroy(batch[static_cast<size_t>(i)]);
    }
    return messages;
  };

  if (in_group) {
    // Join the group before the clock starts: wait until every partition has an owner and (when there
    // are enough partitions) this consumer owns some, so that no rebalance falls inside the measurement.
    const bool expect_partitions = settings.consumers <= run.layout.partitions;
    auto joined = [&] {
      return run.assigned_partitions.load() >= run.layout.partitions && (!expect_partitions || group_state.assigned > 0);
    };
    const uint64_t join_deadline_ns = MonotonicNanos() + 60'000'000'000u;
    while (!joined() && MonotonicNanos() < join_deadline_ns) {
      const size_t early_messages = consume_some(100);
      result.messages += early_messages;
      run.consumed_total += early_messages;
    }
    if (!joined()) Die("consumer group did not assign every partition in 60 s");
  }
  run.ready.count_down();
  run.go.wait();
  if (!in_group && settings.mode == Mode::kConsume) start_partitions();
  if (in_group) {
    group_state.measuring = true;
    rd_kafka_topic_partition_list_t* assignment = nullptr;
    if (rd_kafka_assignment(consumer.get(), &assignment) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_resume_partitions(consumer.get(), assignment);
      rd_kafka_topic_partition_list_destroy(assignment);
    }
  }

  uint64_t last_message_ns = run.start_ns.load();
  const uint64_t deadline_ns = settings.duration_s > 0 && settings.mode == Mode::kConsume
                                   ? run.start_ns.load() + static_cast<uint64_t>(settings.duration_s * 1e9)
                                   : UINT64_MAX;
  const uint64_t idle_timeout_ns = static_cast<uint64_t>(settings.idle_timeout_s * 1e9);
  for (;;) {
    const size_t messages = consume_some(100);
    const uint64_t now_ns = MonotonicNanos();
    if (messages > 0) {
      result.messages += messages;
      last_message_ns = now_ns;
      if (run.consumed_total.fetch_add(messages) + messages >= run.consume_target.load()) break;
    }
    if (run.consumed_total.load() >= run.consume_target.load()) break;
    if (now_ns >= deadline_ns) {
      last_message_ns = now_ns;
      break;
    }
    // Idle means: nothing for a while, and (end to end) nothing more coming from the producers.
    const uint64_t idle_since_ns =
        run.settings.mode == Mode::kEndToEnd ? std::max(last_message_ns, run.producers_done_ns.load()) : last_message_ns;
    const bool may_idle = run.settings.mode != Mode::kEndToEnd || run.producers_done.load();
    if (may_idle && now_ns - idle_since_ns > idle_timeout_ns) {
      std::fprintf(stderr, "rb-load: consumer %d: no message for %.1f s, stopping\n", index, settings.idle_timeout_s);
      break;
    }
  }
  result.end_ns = last_message_ns;
  run.finished.count_down();

  if (in_group) {
    rd_kafka_queue_destroy(queue);
    rd_kafka_consumer_close(consumer.get());
  } else {
    for (int32_t p : started_partitions) rd_kafka_consume_stop(topic, p);
    rd_kafka_queue_destroy(queue);
    rd_kafka_topic_destroy(topic);
  }
}

// ---------------------------------------------------------------------------------------------------
// Reporting

struct Summary {
  uint64_t messages = 0;
  uint64_t bytes = 0;
  uint64_t errors = 0;
  double seconds = 0;
  LatencyHistogram latency_ns;      // produce latency (produce and e2e) or empty (consume)
  LatencyHistogram e2e_latency_ns;  // e2e only
  uint64_t consumed_messages = 0;   // e2e only
  uint64_t consumed_bytes = 0;      // e2e only
  std::optional<double> broker_cpu_seconds;
  std::optional<double> load_cpu_seconds;       // this process, every thread
  std::optional<MachineCpu> machine_cpu;        // all CPUs over the same window
  LatencyHistogram wakeup_late_ns;              // --wakeup-probe-us: how late each sleep ended
  LatencyTimeline produce_timeline;             // --timeline-ms
  LatencyTimeline e2e_timeline;                 // --timeline-ms, e2e only
  double start_unix_s = 0;                      // wall clock when the measured interval began
  std::vector<std::string> error_samples;
};

class JsonWriter {
 public:
  std::string Take() { return std::move(out_); }
  JsonWriter& Key(const std::string& key) {
    Comma();
    Quoted(key);
    out_ += ':';
    fresh_ = true;  // the value that follows takes no comma
    return *this;
  }
  JsonWriter& String(const std::string& value) {
    Comma();
    Quoted(value);
    return *this;
  }
  JsonWriter& Integer(uint64_t value) { Comma(); out_ += std::to_string(value); return *this; }
  JsonWriter& Number(double value, int significant_digits = 6) {
    Comma();
    if (!std::isfinite(value)) { out_ += "null"; return *this; }
    char text[64];
    std::snprintf(text, sizeof(text), "%.*g", significant_digits, value);
    out_ += text;
    return *this;
  }
  JsonWriter& Null() { Comma(); out_ += "null"; return *this; }
  JsonWriter& Open(char bracket) { Comma(); out_ += bracket; fresh_ = true; return *this; }
  JsonWriter& Close(char bracket) { out_ += bracket; fresh_ = false; return *this; }

 private:
  void Quoted(const std::string& value) {
    out_ += '"';
    for (unsigned char c : value) {
      if (c == '"' || c == '\\') { out_ += '\\'; out_ += static_cast<char>(c); }
      else if (c < 0x20) { char escaped[8]; std::snprintf(escaped, sizeof(escaped), "\\u%04x", c); out_ += escaped; }
      else out_ += static_cast<char>(c);
    }
    out_ += '"';
  }
  void Comma() {
    if (!fresh_) out_ += ',';
    fresh_ = false;
  }
  std::string out_;
  bool fresh_ = true;
};

double Micros(uint64_t nanos) { return static_cast<double>(nanos) / 1000.0; }

void WriteLatency(JsonWriter& json, const LatencyHistogram& histogram) {
  json.Open('{');
  for (const auto& [key, percentile] : {std::pair{"p50", 50.0}, {"p90", 90.0}, {"p99", 99.0}, {"p999", 99.9}}) {
    json.Key(key);
    if (histogram.count() == 0) json.Null();
    else json.Number(Micros(histogram.ValueAtPercentile(percentile)));
  }
  json.Key("max");
  if (histogram.count() == 0) json.Null();
  else json.Number(Micros(histogram.max()));
  json.Key("count").Integer(histogram.count());
  json.Close('}');
}

// The wake-up probe's object: {"period_us": N, "late_us": {...}}.
void WriteWakeupProbe(JsonWriter& json, int64_t period_us, const LatencyHistogram& late_ns) {
  json.Open('{');
  json.Key("period_us").Integer(static_cast<uint64_t>(period_us));
  json.Key("late_us");
  WriteLatency(json, late_ns);
  json.Close('}');
}

void WriteJsonFile(const std::string& path, const std::string& text) {
  std::ofstream file(path);
  file << text;
  if (!file) Die("cannot write " + path);
}

void WriteHistogram(JsonWriter& json, const LatencyHistogram& histogram) {
  json.Open('[');
  for (const LatencyHistogram::Bucket& bucket : histogram.NonEmptyBuckets()) {
    // The top bucket's bound is 2^64 - 1 ns; no latency gets there, but say so as the max.
    const uint64_t bound = std::min(bucket.upper_bound, histogram.max());
    json.Open('[').Number(Micros(bound)).Integer(bucket.count).Close(']');
  }
  json.Close(']');
}

// [[messages sent in the window, worst latency of those in us], ...], one per window from the start.
void WriteTimeline(JsonWriter& json, const LatencyTimeline& timeline) {
  json.Open('[');
  for (const LatencyTimeline::Window& window : timeline.windows()) {
    json.Open('[').Integer(window.count).Number(Micros(window.max_ns)).Close(']');
  }
  json.Close(']');
}

std::string ToJson(const Settings& settings, const TopicLayout& layout, const Summary& summary) {
  JsonWriter json;
  json.Open('{');
  json.Key("mode").String(ModeName(settings.mode));
  json.Key("settings").Open('{');
  json.Key("bootstrap").String(settings.bootstrap);
  json.Key("topic").String(settings.topic);
  json.Key("partitions").Integer(static_cast<uint64_t>(layout.partitions));
  json.Key("message_size").Integer(static_cast<uint64_t>(settings.message_size_bytes));
  json.Key("count");
  if (settings.count > 0) json.Integer(static_cast<uint64_t>(settings.count)); else json.Null();
  json.Key("duration_s");
  if (settings.duration_s > 0) json.Number(settings.duration_s); else json.Null();
  json.Key("rate").Number(settings.rate_msgs_per_s);
  json.Key("acks").String(settings.acks);
  json.Key("compression").String(settings.compression);
  // The producer's effective batch.size and linger.ms, whether given or librdkafka's defaults.
  ConfPtr producer_conf = MakeConf(settings, Role::kProducer);
  json.Key("batch_size").Integer(std::strtoull(GetProperty(producer_conf.get(), "batch.size").c_str(), nullptr, 10));
  json.Key("linger_ms").Number(std::strtod(GetProperty(producer_conf.get(), "linger.ms").c_str(), nullptr));
  json.Key("producers").Integer(static_cast<uint64_t>(settings.producers));
  json.Key("consumers").Integer(static_cast<uint64_t>(settings.consumers));
  json.Key("group");
  if (settings.group.empty()) json.Null(); else json.String(settings.group);
  json.Key("broker_pid");
  if (settings.broker_pid) json.Integer(static_cast<uint64_t>(*settings.broker_pid)); else json.Null();
  json.Key("idle_timeout_s").Number(settings.idle_timeout_s);
  json.Key("warmup_s").Number(settings.warmup_s);
  json.Key("set").Open('{');
  for (const auto& [key, value] : settings.passthrough) json.Key(key).String(value);
  json.Close('}');
  json.Close('}');
  json.Key("messages").Integer(summary.messages);
  json.Key("bytes").Integer(summary.bytes);
  json.Key("seconds").Number(summary.seconds);
  json.Key("msgs_per_sec").Number(static_cast<double>(summary.messages) / summary.seconds);
  json.Key("mb_per_sec").Number(static_cast<double>(summary.bytes) / 1e6 / summary.seconds);
  json.Key("latency_us");
  WriteLatency(json, summary.latency_ns);
  if (settings.mode == Mode::kEndToEnd) {
    json.Key("e2e_latency_us");
    WriteLatency(json, summary.e2e_latency_ns);
    json.Key("consumed_messages").Integer(summary.consumed_messages);
    json.Key("consumed_bytes").Integer(summary.consumed_bytes);
  }
  json.Key("broker_cpu_seconds");
  if (summary.broker_cpu_seconds) json.Number(*summary.broker_cpu_seconds); else json.Null();
  json.Key("broker_cpu_s_per_gb");
  if (summary.broker_cpu_seconds && summary.bytes > 0) {
    json.Number(*summary.broker_cpu_seconds / (static_cast<double>(summary.bytes) / 1e9));
  } else {
    json.Null();
  }
  json.Key("load_cpu_seconds");
  if (summary.load_cpu_seconds) json.Number(*summary.load_cpu_seconds); else json.Null();
  json.Key("machine_busy_cpu_seconds");
  if (summary.machine_cpu) json.Number(summary.machine_cpu->busy_seconds); else json.Null();
  json.Key("machine_total_cpu_seconds");
  if (summary.machine_cpu) json.Number(summary.machine_cpu->total_seconds); else json.Null();
  json.Key("errors").Integer(summary.errors);
  json.Key("wakeup_probe");
  if (settings.wakeup_probe_us > 0) {
    WriteWakeupProbe(json, settings.wakeup_probe_us, summary.wakeup_late_ns);
  } else {
    json.Null();
  }
  json.Key("timeline");
  if (settings.timeline_ms > 0) {
    json.Open('{');
    json.Key("window_ms").Integer(static_cast<uint64_t>(settings.timeline_ms));
    json.Key("start_unix_s").Number(summary.start_unix_s, 16);
    json.Key("produce");
    WriteTimeline(json, summary.produce_timeline);
    if (settings.mode == Mode::kEndToEnd) {
      json.Key("e2e");
      WriteTimeline(json, summary.e2e_timeline);
    }
    json.Close('}');
  } else {
    json.Null();
  }
  json.Key("latency_histogram_us");
  WriteHistogram(json, summary.latency_ns);
  if (settings.mode == Mode::kEndToEnd) {
    json.Key("e2e_latency_histogram_us");
    WriteHistogram(json, summary.e2e_latency_ns);
  }
  json.Close('}');
  return json.Take() + "\n";
}

void PrintLatency(const char* what, const LatencyHistogram& histogram) {
  if (histogram.count() == 0) {
    std::printf("  %s latency: no samples\n", what);
    return;
  }
  std::printf("  %s latency (us): p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  (%" PRIu64 " samples)\n", what,
              Micros(histogram.ValueAtPercentile(50)), Micros(histogram.ValueAtPercentile(90)),
              Micros(histogram.ValueAtPercentile(99)), Micros(histogram.ValueAtPercentile(99.9)),
              Micros(histogram.max()), histogram.count());
}

void PrintText(const Settings& settings, const TopicLayout& layout, const Summary& summary) {
  if (settings.mode == Mode::kConsume) {
    std::printf("rb-load consume: topic %s (%d partitions), %d consumer(s)%s%s\n", settings.topic.c_str(),
                layout.partitions, settings.consumers, settings.group.empty() ? "" : " in group ",
                settings.group.c_str());
  } else {
    std::printf("rb-load %s: topic %s (%d partitions), %" PRId64 " B messages, acks=%s, compression=%s, "
                "%d producer(s)",
                ModeName(settings.mode), settings.topic.c_str(), layout.partitions, settings.message_size_bytes,
                settings.acks.c_str(), settings.compression.c_str(), settings.producers);
    if (settings.mode == Mode::kEndToEnd) std::printf(", %d consumer(s)", settings.consumers);
    if (settings.warmup_s > 0) std::printf(", measured after a %.1f s warm-up", settings.warmup_s);
    std::printf("\n");
  }
  std::printf("  %" PRIu64 " messages, %" PRIu64 " bytes in %.3f s\n", summary.messages, summary.bytes, summary.seconds);
  std::printf("  %.0f msgs/s, %.2f MB/s (MB = 10^6 bytes), %.2f MiB/s\n",
              static_cast<double>(summary.messages) / summary.seconds,
              static_cast<double>(summary.bytes) / 1e6 / summary.seconds,
              static_cast<double>(summary.bytes) / (1024.0 * 1024.0) / summary.seconds);
  if (settings.mode != Mode::kConsume) PrintLatency("produce", summary.latency_ns);
  if (settings.mode == Mode::kEndToEnd) {
    std::printf("  consumed %" PRIu64 " messages, %" PRIu64 " bytes\n", summary.consumed_messages,
                summary.consumed_bytes);
    PrintLatency("end-to-end", summary.e2e_latency_ns);
  }
  if (summary.broker_cpu_seconds) {
    std::printf("  broker CPU: %.3f s, %.3f CPU-s per GB (GB = 10^9 payload bytes)\n", *summary.broker_cpu_seconds,
                summary.bytes > 0 ? *summary.broker_cpu_seconds / (static_cast<double>(summary.bytes) / 1e9) : NAN);
  }
  if (summary.machine_cpu && summary.load_cpu_seconds) {
    const MachineCpu& machine = *summary.machine_cpu;
    const double broker = summary.broker_cpu_seconds.value_or(0);
    std::printf("  machine CPU: %.2f s busy of %.2f s (%.0f%%): ", machine.busy_seconds, machine.total_seconds,
                machine.total_seconds > 0 ? 100 * machine.busy_seconds / machine.total_seconds : 0.0);
    if (summary.broker_cpu_seconds) std::printf("broker %.2f s, ", broker);
    std::printf("load tool %.2f s, everything else %.2f s\n", *summary.load_cpu_seconds,
                machine.busy_seconds - broker - *summary.load_cpu_seconds);
  }
  if (settings.wakeup_probe_us > 0) {
    char what[96];
    std::snprintf(what, sizeof what, "wake-up (a thread sleeping %" PRId64 " us at a time woke this late)",
                  settings.wakeup_probe_us);
    PrintLatency(what, summary.wakeup_late_ns);
  }
  if (settings.timeline_ms > 0) {
    const LatencyTimeline& timeline =
        settings.mode == Mode::kEndToEnd ? summary.e2e_timeline : summary.produce_timeline;
    const auto& windows = timeline.windows();
    const auto worst = std::max_element(windows.begin(), windows.end(),
                                        [](const auto& a, const auto& b) { return a.max_ns < b.max_ns; });
    if (worst != windows.end()) {
      std::printf("  timeline (%" PRId64 " ms windows by send time): worst %s latency %.1f us, "
                  "in the window at %.3f s\n",
                  settings.timeline_ms, settings.mode == Mode::kEndToEnd ? "end-to-end" : "produce",
                  Micros(worst->max_ns),
                  static_cast<double>(worst - windows.begin()) * static_cast<double>(settings.timeline_ms) / 1e3);
    }
  }
  std::printf("  errors: %" PRIu64 "\n", summary.errors);
}

// ---------------------------------------------------------------------------------------------------
// The wake-up probe. Every request that finds the broker's shard asleep waits, before any broker
// code runs, for the machine to give that thread a CPU again; so does every client thread. The
// probe measures that wait on its own, beside the run's load: it sleeps and records how late each
// sleep ends.

void RunWakeupProbe(int64_t period_us, const std::atomic<bool>& stop, LatencyHistogram& late_ns) {
  // The default 50 us of timer slack would be counted as lateness; ask for none.
  (void)prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
  const uint64_t period_ns = static_cast<uint64_t>(period_us) * 1000;
  while (!stop.load(std::memory_order_relaxed)) {
    const uint64_t target_ns = MonotonicNanos() + period_ns;
    timespec until{.tv_sec = static_cast<time_t>(target_ns / 1'000'000'000),
                   .tv_nsec = static_cast<long>(target_ns % 1'000'000'000)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, nullptr) == EINTR) {
    }
    const uint64_t woke_ns = MonotonicNanos();
    late_ns.Record(woke_ns > target_ns ? woke_ns - target_ns : 0);
  }
}

// `rb-load probe`: the wake-up probe alone, for as long as asked, with nothing else of rb-load
// running: the delay with which the machine hands a CPU back to a sleeping thread before any load.
int RunProbeAlone(const Settings& settings) {
  std::atomic<bool> stop{false};
  LatencyHistogram late_ns;
  const std::optional<MachineCpuSample> machine_before = SampleMachineCpu();
  const uint64_t start_ns = MonotonicNanos();
  std::thread probe(RunWakeupProbe, settings.wakeup_probe_us, std::cref(stop), std::ref(late_ns));
  std::this_thread::sleep_for(std::chrono::duration<double>(settings.duration_s));
  stop = true;
  probe.join();
  const double seconds = static_cast<double>(MonotonicNanos() - start_ns) / 1e9;
  const std::optional<MachineCpuSample> machine_after = SampleMachineCpu();

  std::printf("rb-load probe: a thread slept %" PRId64 " us at a time for %.1f s\n", settings.wakeup_probe_us, seconds);
  PrintLatency("wake-up (how late each sleep ended)", late_ns);
  std::optional<MachineCpu> machine;
  if (machine_before && machine_after) {
    machine = MachineCpuBetween(*machine_before, *machine_after);
    std::printf("  machine CPU: %.2f s busy of %.2f s\n", machine->busy_seconds, machine->total_seconds);
  }
  if (!settings.json_path.empty()) {
    JsonWriter json;
    json.Open('{');
    json.Key("mode").String("probe");
    json.Key("seconds").Number(seconds);
    json.Key("machine_busy_cpu_seconds");
    if (machine) json.Number(machine->busy_seconds); else json.Null();
    json.Key("machine_total_cpu_seconds");
    if (machine) json.Number(machine->total_seconds); else json.Null();
    json.Key("wakeup_probe");
    WriteWakeupProbe(json, settings.wakeup_probe_us, late_ns);
    json.Close('}');
    WriteJsonFile(settings.json_path, json.Take() + "\n");
  }
  return late_ns.count() > 0 ? 0 : 1;
}

int Main(int argc, char** argv) {
  const Settings settings = ParseSettings(argc, argv);
  if (settings.mode == Mode::kProbe) return RunProbeAlone(settings);
  // librdkafka receives each fetch response into one malloc'd buffer of its full size. glibc serves
  // such a request above its mmap threshold with a fresh mapping and unmaps it on free, and trims a
  // thread arena's free top back to the kernel, so every large response was page-faulted in anew: an
  // e2e consumer catching up after its start (12 MB responses) took 25,000 faults/s and 1.5 CPUs of
  // this 2-vCPU VM, and fell further behind. Buffers up to 32 MiB (glibc's largest threshold; the
  // bench asks for fetch.max.bytes 16 MiB) now come from the heap and stay there once touched.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  TopicLayout layout = PrepareTopic(settings);

  const int producers = settings.mode == Mode::kConsume ? 0 : settings.producers;
  const int consumers = settings.mode == Mode::kProduce ? 0 : settings.consumers;
  Run run(settings, layout, producers + consumers);
  if (settings.mode == Mode::kConsume) {
    uint64_t available = 0;
    for (int p = 0; p < layout.partitions; ++p) {
      available += static_cast<uint64_t>(layout.high_watermarks[p] - layout.low_watermarks[p]);
    }
    const uint64_t target = settings.count > 0 ? static_cast<uint64_t>(settings.count)
                            : settings.duration_s > 0 ? UINT64_MAX
                                                      : available;
    if (target == 0) Die("topic '" + settings.topic + "' is empty; nothing to consume");
    run.consume_target = target;
  }

  std::vector<ThreadResult> producer_results(static_cast<size_t>(producers));
  std::vector<ThreadResult> consumer_results(static_cast<size_t>(consumers));
  const LatencyTimeline no_samples_yet(static_cast<uint64_t>(settings.timeline_ms) * 1'000'000);
  for (ThreadResult& result : producer_results) result.timeline = no_samples_yet;
  for (ThreadResult& result : consumer_results) result.timeline = no_samples_yet;
  std::vector<std::thread> threads;
  // Consumers first: in e2e mode they position themselves before anything is produced.
  for (int i = 0; i < consumers; ++i) {
    threads.emplace_back(RunConsumer, std::ref(run), i, std::ref(consumer_results[static_cast<size_t>(i)]));
  }
  for (int i = 0; i < producers; ++i) {
    threads.emplace_back(RunProducer, std::ref(run), i, std::ref(producer_results[static_cast<size_t>(i)]));
  }
  run.ready.wait();

  // Without a warm-up, the CPU times are read just before the threads are released; with one, once it
  // is over (the producers run meanwhile): either way, over exactly the measured interval.
  const uint64_t warmup_ns = static_cast<uint64_t>(settings.warmup_s * 1e9);
  auto release = [&] {
    const uint64_t go_ns = MonotonicNanos();
    run.start_ns = go_ns;
    run.measure_ns = go_ns + warmup_ns;
    run.go.count_down();
  };
  if (warmup_ns > 0) {
    release();
    std::this_thread::sleep_for(std::chrono::nanoseconds(warmup_ns));
  }
  const std::optional<double> cpu_before = settings.broker_pid ? ProcessCpuSeconds(*settings.broker_pid) : std::nullopt;
  if (settings.broker_pid && !cpu_before) Die("cannot read /proc/" + std::to_string(*settings.broker_pid) + "/stat");
  const std::optional<double> load_cpu_before = ProcessCpuSeconds(getpid());
  const std::optional<MachineCpuSample> machine_before = SampleMachineCpu();
  timespec start_wall{};
  clock_gettime(CLOCK_REALTIME, &start_wall);
  if (warmup_ns == 0) release();
  const uint64_t start_ns = run.measure_ns.load();
  std::atomic<bool> probe_stop{false};
  LatencyHistogram probe_late_ns;
  std::thread probe;
  if (settings.wakeup_probe_us > 0) {
    probe = std::thread(RunWakeupProbe, settings.wakeup_probe_us, std::cref(probe_stop), std::ref(probe_late_ns));
  }

  Summary summary;
  if (settings.mode == Mode::kEndToEnd) {
    // Producers finish first; then consumers know how many messages to wait for.
    for (int i = 0; i < producers; ++i) threads[static_cast<size_t>(consumers + i)].join();
    uint64_t delivered = 0;
    for (const ThreadResult& result : producer_results) delivered += result.messages;
    run.producers_done_ns = MonotonicNanos();
    run.consume_target = delivered;
    run.producers_done = true;
  }
  run.finished.wait();
  probe_stop = true;
  if (probe.joinable()) probe.join();
  const std::optional<double> cpu_after = settings.broker_pid ? ProcessCpuSeconds(*settings.broker_pid) : std::nullopt;
  const std::optional<double> load_cpu_after = ProcessCpuSeconds(getpid());
  const std::optional<MachineCpuSample> machine_after = SampleMachineCpu();
  for (std::thread& thread : threads) {
    if (thread.joinable()) thread.join();
  }

  uint64_t end_ns = start_ns;
  for (const ThreadResult& result : producer_results) {
    summary.messages += result.messages;
    summary.bytes += result.bytes;
    summary.errors += result.errors;
    summary.latency_ns.Merge(result.latency_ns);
    summary.produce_timeline.Merge(result.timeline);
    end_ns = std::max(end_ns, result.end_ns);
    if (result.errors > 0) summary.error_samples.push_back(result.first_error);
  }
  for (const ThreadResult& result : consumer_results) {
    summary.errors += result.errors;
    if (result.errors > 0) summary.error_samples.push_back(result.first_error);
    if (settings.mode == Mode::kConsume) {
      summary.messages += result.messages;
      summary.bytes += result.bytes;
      end_ns = std::max(end_ns, result.end_ns);
    } else {
      summary.consumed_messages += result.messages;
      summary.consumed_bytes += result.bytes;
      summary.e2e_latency_ns.Merge(result.latency_ns);
      summary.e2e_timeline.Merge(result.timeline);
    }
  }
  summary.seconds = static_cast<double>(end_ns - start_ns) / 1e9;
  summary.start_unix_s =
      static_cast<double>(start_wall.tv_sec) + static_cast<double>(start_wall.tv_nsec) / 1e9;
  summary.wakeup_late_ns = probe_late_ns;
  if (cpu_before && cpu_after) summary.broker_cpu_seconds = *cpu_after - *cpu_before;
  if (load_cpu_before && load_cpu_after) summary.load_cpu_seconds = *load_cpu_after - *load_cpu_before;
  if (machine_before && machine_after) {
    summary.machine_cpu = MachineCpuBetween(*machine_before, *machine_after);
  }

  PrintText(settings, layout, summary);
  if (!settings.json_path.empty()) {
    WriteJsonFile(settings.json_path, ToJson(settings, layout, summary));
  }
  int exit_code = 0;
  if (summary.errors > 0) {
    std::fprintf(stderr, "rb-load: %" PRIu64 " errors; first: %s\n", summary.errors, summary.error_samples.front().c_str());
    exit_code = 1;
  }
  if (settings.mode == Mode::kEndToEnd && summary.consumed_messages < summary.messages) {
    std::fprintf(stderr, "rb-load: only %" PRIu64 " of %" PRIu64 " produced messages were consumed\n",
                 summary.consumed_messages, summary.messages);
    exit_code = 1;
  }
  if (settings.mode == Mode::kConsume && settings.count > 0 && summary.messages < static_cast<uint64_t>(settings.count)) {
    std::fprintf(stderr, "rb-load: consumed only %" PRIu64 " of the %" PRId64 " messages asked for\n",
                 summary.messages, settings.count);
    exit_code = 1;
  }
  return exit_code;
}

}  // namespace
}  // namespace ringbroker::bench

int main(int argc, char** argv) { return ringbroker::bench::Main(argc, argv); }
