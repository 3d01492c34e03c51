// ringbroker: wires configuration, the metadata store, the reactor and the Kafka handlers together.
//
//   ringbroker [--config server.properties] [--override key=value ...] [--smp N]
#include <arpa/inet.h>
#include <malloc.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#include <sys/stat.h>

#include <sched.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "broker/config/broker_config.h"
#include "broker/net/kafka_connection.h"
#include "broker/reactor/reactor.h"
#include "broker/reactor/shard.h"
#include "broker/server/broker_context.h"
#include "broker/server/log_dir_remover.h"
#include "broker/server/logging.h"
#include "broker/server/partition_manager.h"
#include "coordination/embedded_store.h"
#include "broker/reactor/uring_file.h"

namespace {

using namespace ringbroker;

reactor::Reactor* g_reactor = nullptr;

void OnSignal(int) {
  if (g_reactor != nullptr) g_reactor->RequestStop();
}

// Waits until nothing holds host:port. A broker killed a moment ago can leave its listening
// sockets alive for a while (its io_uring is torn down after the process exits, and pending
// multishot accepts keep the sockets open); since our per-shard sockets use SO_REUSEPORT, binding
// now would join that dying group and the kernel would hand some new connections to it, which
// then reset. A plain bind without SO_REUSEPORT fails while any such socket remains.
bool WaitForFreePort(const std::string& host, int port, int timeout_ms) {
  if (port == 0) return true;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (host.empty() || inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) addr.sin_addr.s_addr = htonl(INADDR_ANY);
  for (int waited = 0;; waited += 20) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));  // TIME_WAIT leftovers are fine
    const bool free = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    const int err = errno;
    close(fd);
    if (free) return true;
    if (err != EADDRINUSE || waited >= timeout_ms) return false;
    usleep(20 * 1000);
  }
}

int Usage(const char* why) {
  std::fprintf(stderr, "ringbroker: %s\nusage: ringbroker [--config FILE] [--override key=value ...] [--smp N]\n", why);
  return 2;
}

// Log maintenance (roll, flush.ms, retention) on each shard, on Kafka's retention check interval
// but at least once a second so that flush.ms and segment.ms are honoured promptly.
void ScheduleMaintenance(reactor::Shard& shard, server::ShardServices* services, int64_t interval_ms) {
  (void)shard.Schedule(interval_ms, [&shard, services, interval_ms] {
    services->partitions.Maintain(absl::ToUnixMillis(absl::Now()));
    ScheduleMaintenance(shard, services, interval_ms);
  });
}

}  // namespace

int main(int argc, char** argv) {
  // Request frames larger than a receive slot (a producer's batches, up to about 1 MB each) are
  // gathered into one heap buffer per request and freed after the append, often on another
  // shard. glibc's defaults hand such sizes fresh pages again and again: above the mmap threshold
  // each is a new mmap, and an arena's freed top beyond the trim threshold goes back to the kernel,
  // so requests kept paying a page fault and a zero-fill per 4 KiB of fresh memory (at full
  // produce rate, 1 KiB messages: about 8 times more page faults than with these settings).
  // Keeping the memory in the arenas lets the next request reuse it; the limits bound what an
  // idle broker holds on to.
  mallopt(M_MMAP_THRESHOLD, 16 << 20);
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  std::string config_path;
  std::vector<std::string> overrides;
  uint32_t smp = 0;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](const char* name) -> const char* {
      if (i + 1 >= argc) return nullptr;
      (void)name;
      return argv[++i];
    };
    if (arg == "--config") {
      const char* v = value("--config");
      if (v == nullptr) return Usage("--config needs a file");
      config_path = v;
    } else if (arg == "--override") {
      const char* v = value("--override");
      if (v == nullptr) return Usage("--override needs key=value");
      overrides.emplace_back(v);
    } else if (arg == "--smp") {
      const char* v = value("--smp");
      if (v == nullptr || !absl::SimpleAtoi(v, &smp) || smp > 1024) return Usage("--smp needs a shard count");
    } else if (arg == "--help" || arg == "-h") {
      Usage("a Kafka-compatible broker");
      return 0;
    } else {
      return Usage(("unknown argument " + arg).c_str());
    }
  }

  absl::StatusOr<config::BrokerConfig> loaded =
      config_path.empty() ? config::BrokerConfig::FromText("", overrides)
                          : config::BrokerConfig::FromFile(config_path, overrides);
  if (!loaded.ok()) {
    std::fprintf(stderr, "ringbroker: bad configuration: %s\n", std::string(loaded.status().message()).c_str());
    return 2;
  }
  const config::BrokerConfig config = *std::move(loaded);
  for (const std::string& w : config.warnings()) RB_LOG(WARNING) << w;
  if (!config.Get("zookeeper.connect").empty()) {
    std::fprintf(stderr, "ringbroker: zookeeper.connect is set, but the ZooKeeper metadata store is not built yet; "
                         "remove it to run a single broker with the embedded store\n");
    return 2;
  }

  const std::string data_dir = config.log_dir();
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) {
    std::fprintf(stderr, "ringbroker: cannot create log directory %s: %s\n", data_dir.c_str(), ec.message().c_str());
    return 1;
  }
  // Directories of topics deleted just before the last stop, not yet removed then.
  server::RemoveLeftoverLogDirs(data_dir);

  coordination::pb::Broker self;
  self.set_id(config.broker_id());
  self.set_host(config.advertised().host);
  self.set_port(config.advertised().port);
  absl::StatusOr<std::unique_ptr<coordination::EmbeddedStore>> store = coordination::EmbeddedStore::Open(data_dir, self);
  if (!store.ok()) {
    std::fprintf(stderr, "ringbroker: cannot open metadata in %s: %s\n", data_dir.c_str(),
                 std::string(store.status().message()).c_str());
    return 1;
  }

  // One shard per CPU this process may run on, unless --smp says otherwise.
  if (smp == 0) {
    cpu_set_t set;
    smp = sched_getaffinity(0, sizeof(set), &set) == 0 ? static_cast<uint32_t>(CPU_COUNT(&set)) : 1;
    smp = std::max(smp, 1u);
  }
  reactor::ReactorOptions options;
  options.smp = smp;
  server::BrokerContext context;
  context.config = &config;
  context.metadata = store->get();
  context.shard_count = smp;
  for (uint32_t i = 0; i < smp; ++i) {
    context.shards.push_back(
        std::make_unique<server::ShardServices>(context, i, std::make_unique<reactor::UringFileSystem>()));
  }

  const int64_t maintenance_ms = std::min<int64_t>(config.GetLong("log.retention.check.interval.ms"), 1000);
  absl::StatusOr<std::unique_ptr<reactor::Reactor>> started =
      reactor::Reactor::Start(options, [&context, maintenance_ms](reactor::Shard& shard) {
        server::ShardServices* services = context.shards[shard.id()].get();
        ScheduleMaintenance(shard, services, maintenance_ms);
        (void)shard.Schedule(0, [services] { services->groups.LoadOwnedPartitions(); });
        shard.AtStop([services] { services->partitions.CloseAll(); });
      });
  if (!started.ok()) {
    std::fprintf(stderr, "ringbroker: cannot start the reactor: %s\n", std::string(started.status().message()).c_str());
    return 1;
  }
  std::unique_ptr<reactor::Reactor> reactor = *std::move(started);
  context.reactor = reactor.get();

  // Topic deletions and re-creations reach every shard's open logs.
  reactor::Reactor* reactor_ptr = reactor.get();
  context.metadata->AddListener([&context, reactor_ptr](const coordination::ClusterSnapshot& snapshot) {
    for (uint32_t i = 0; i < context.shard_count; ++i) {
      (void)reactor_ptr->Post(i, [&context, snapshot](reactor::Shard& shard) {
        context.shards[shard.id()]->partitions.Reconcile(snapshot);
      });
    }
  });

  const config::Endpoint& listener = config.listener();
  if (!WaitForFreePort(listener.host, listener.port, 10000)) {
    std::fprintf(stderr, "ringbroker: %s:%d is in use\n", listener.host.c_str(), listener.port);
    reactor->RequestStop();
    reactor->Join();
    return 1;
  }
  absl::StatusOr<uint16_t> port = reactor->Listen(
      listener.host.empty() ? "0.0.0.0" : listener.host, static_cast<uint16_t>(listener.port),
      [&context](reactor::Connection& connection) -> std::unique_ptr<reactor::ConnectionHandler> {
        return std::make_unique<net::KafkaConnection>(context, connection);
      });
  if (!port.ok()) {
    std::fprintf(stderr, "ringbroker: cannot listen on %s:%d: %s\n", listener.host.c_str(), listener.port,
                 std::string(port.status().message()).c_str());
    reactor->RequestStop();
    reactor->Join();
    return 1;
  }

  g_reactor = reactor.get();
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  RB_LOG(INFO) << "ringbroker " << self.id() << " serving on " << (listener.host.empty() ? "0.0.0.0" : listener.host)
               << ":" << *port << " with " << smp << " shard(s), cluster "
               << context.metadata->Snapshot()->cluster_id() << ", data in " << data_dir;
  reactor->Join();
  g_reactor = nullptr;

  // The shard threads have exited: whatever log was still busy at stop is idle now, and this
  // thread is its only user.
  for (auto& shard : context.shards) shard->partitions.CloseAll();
  RB_LOG(INFO) << "ringbroker stopped cleanly";
  return 0;
}
