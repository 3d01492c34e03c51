#include "broker/reactor/reactor.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "broker/reactor/listener.h"

namespace ringbroker::reactor {
namespace {

absl::Status ErrnoStatus(const std::string& what, int err) {
  return absl::UnavailableError(absl::StrCat(what, ": ", strerror(err)));
}

std::vector<int> AllowedCpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
    }
  }
  if (cpus.empty()) cpus.push_back(0);
  return cpus;
}

// Closes a listening socket unless a shard took it over.
struct OwnedFd {
  explicit OwnedFd(int fd) : fd(fd) {}
  OwnedFd(OwnedFd&& other) noexcept : fd(std::exchange(other.fd, -1)) {}
  OwnedFd(const OwnedFd&) = delete;
  OwnedFd& operator=(const OwnedFd&) = delete;
  ~OwnedFd() {
    if (fd >= 0) close(fd);
  }
  int Release() { return std::exchange(fd, -1); }
  int fd;
};

absl::StatusOr<sockaddr_storage> ResolveListenAddress(const std::string& host, uint16_t port,
                                                      socklen_t* length) {
  sockaddr_storage address;
  std::memset(&address, 0, sizeof(address));
  if (host.empty() || host == "0.0.0.0") {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&address);
    v4->sin_family = AF_INET;
    v4->sin_addr.s_addr = htonl(INADDR_ANY);
    v4->sin_port = htons(port);
    *length = sizeof(sockaddr_in);
    return address;
  }
  addrinfo hints;
  std::memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* result = nullptr;
  int rc = getaddrinfo(host.c_str(), nullptr, &hints, &result);
  if (rc != 0 || result == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot resolve listen host '", host, "': ", gai_strerror(rc)));
  }
  std::memcpy(&address, result->ai_addr, result->ai_addrlen);
  *length = result->ai_addrlen;
  freeaddrinfo(result);
  if (address.ss_family == AF_INET) {
    reinterpret_cast<sockaddr_in*>(&address)->sin_port = htons(port);
  } else {
    reinterpret_cast<sockaddr_in6*>(&address)->sin6_port = htons(port);
  }
  return address;
}

}  // namespace

Reactor::Reactor(const ReactorOptions& options) : options_(options) {}

absl::StatusOr<std::unique_ptr<Reactor>> Reactor::Start(const ReactorOptions& options,
                                                        std::function<void(Shard&)> on_start) {
  const std::vector<int> cpus = AllowedCpus();
  ReactorOptions resolved = options;
  if (resolved.smp == 0) resolved.smp = static_cast<uint32_t>(cpus.size());
  if (resolved.smp > 1024) return absl::InvalidArgumentError("smp above 1024");
  if (resolved.cross_shard_inflight_max == 0 || resolved.ring_entries == 0) {
    return absl::InvalidArgumentError("reactor limits must be positive");
  }
  std::unique_ptr<Reactor> reactor(new Reactor(resolved));
  reactor->on_start_ = std::move(on_start);
  const uint32_t n = resolved.smp;

  // Blocking eventfds: io_uring polls them for the shard, and writers add 1, which never blocks.
  for (uint32_t i = 0; i < n; ++i) {
    int fd = eventfd(0, EFD_CLOEXEC);
    if (fd < 0) return ErrnoStatus("eventfd", errno);  // ~Reactor closes the ones made so far
    reactor->wake_fds_.push_back(fd);
  }
  for (uint32_t i = 0; i < n; ++i) {
    reactor->shards_.push_back(
        std::unique_ptr<Shard>(new Shard(reactor.get(), i, reactor->wake_fds_[i])));
  }
  reactor->queues_.resize(size_t{n} * n);
  for (uint32_t from = 0; from < n; ++from) {
    for (uint32_t to = 0; to < n; ++to) {
      if (from == to) continue;
      reactor->queues_[from * n + to] = std::make_unique<SpscQueue<CrossShardMessage>>(
          size_t{resolved.cross_shard_inflight_max} * 2);
    }
  }
  reactor->init_latch_ = std::make_unique<std::latch>(n);
  reactor->go_latch_ = std::make_unique<std::latch>(1);
  reactor->exit_latch_ = std::make_unique<std::latch>(n);
  for (uint32_t i = 0; i < n; ++i) {
    Shard* shard = reactor->shards_[i].get();
    int cpu = resolved.pin_threads ? cpus[i % cpus.size()] : -1;
    shard->thread_ = std::thread([r = reactor.get(), shard, cpu] { r->ShardMain(shard, cpu); });
  }
  reactor->init_latch_->wait();
  if (reactor->init_failed_.load()) {
    reactor->stop_requested_.store(true);
    reactor->go_latch_->count_down();
    reactor->Join();
    absl::MutexLock lock(&reactor->init_mu_);
    return reactor->init_status_;
  }
  reactor->go_latch_->count_down();
  return reactor;
}

void Reactor::ShardMain(Shard* shard, int cpu) {
  if (cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    // Pinning is best effort: a restricted container may refuse it, and the shard works anyway.
    (void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
  }
  // sendfile() and splice() to a socket the peer has closed raise SIGPIPE (they take no
  // MSG_NOSIGNAL). Blocked on the shard threads, it stays pending there and the call fails with
  // EPIPE, whatever the process does with the signal elsewhere.
  sigset_t pipe_signal;
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  (void)pthread_sigmask(SIG_BLOCK, &pipe_signal, nullptr);
  absl::Status status = shard->InitRing();
  if (!status.ok()) {
    absl::MutexLock lock(&init_mu_);
    if (init_status_.ok()) {
      init_status_ = absl::Status(status.code(),
                                  absl::StrCat("shard ", shard->id(), ": ", status.message()));
    }
    init_failed_.store(true);
  }
  init_latch_->count_down();
  go_latch_->wait();
  if (!init_failed_.load()) {
    if (on_start_) on_start_(*shard);
    shard->Loop();
  }
  // A shard may still be posting MSG_RING wakeups to our ring until it leaves its loop.
  exit_latch_->arrive_and_wait();
  shard->TearDown();
}

Reactor::~Reactor() {
  RequestStop();
  Join();
  shards_.clear();
  for (int fd : wake_fds_) close(fd);
}

void Reactor::RequestStop() {
  stop_requested_.store(true, std::memory_order_release);
  for (int fd : wake_fds_) {
    uint64_t one = 1;
    ssize_t rc = write(fd, &one, sizeof(one));
    (void)rc;
  }
}

void Reactor::Join() {
  if (joined_) return;
  for (auto& shard : shards_) {
    if (shard->thread_.joinable()) shard->thread_.join();
  }
  joined_ = true;
}

void Reactor::NoteQuiescent() {
  if (quiescent_count_.fetch_add(1, std::memory_order_acq_rel) + 1 == shard_count()) {
    for (auto& shard : shards_) shard->WakeViaEventfd();
  }
}

absl::Status Reactor::Post(uint32_t id, absl::AnyInvocable<void(Shard&)> task) {
  if (id >= shards_.size()) return absl::InvalidArgumentError("no such shard");
  return shards_[id]->PostExternal(std::move(task));
}

absl::StatusOr<uint16_t> Reactor::Listen(const std::string& host, uint16_t port,
                                         ConnectionFactory factory) {
  socklen_t address_length = 0;
  absl::StatusOr<sockaddr_storage> address = ResolveListenAddress(host, port, &address_length);
  if (!address.ok()) return address.status();
  std::vector<OwnedFd> sockets;
  // Shard 0 binds first; with port 0 the kernel picks a port, and the other shards join it.
  for (uint32_t i = 0; i < shard_count(); ++i) {
    int fd = socket(address->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return ErrnoStatus("socket", errno);
    sockets.emplace_back(fd);
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
      return ErrnoStatus("setsockopt", errno);
    }
    if (bind(fd, reinterpret_cast<const sockaddr*>(&*address), address_length) != 0) {
      return ErrnoStatus(absl::StrCat("bind ", host, ":", port), errno);
    }
    if (listen(fd, 1024) != 0) return ErrnoStatus("listen", errno);
    if (i == 0 && port == 0) {
      sockaddr_storage bound;
      socklen_t bound_length = sizeof(bound);
      if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_length) != 0) {
        return ErrnoStatus("getsockname", errno);
      }
      port = ntohs(bound.ss_family == AF_INET
                       ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                       : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
      if (address->ss_family == AF_INET) {
        reinterpret_cast<sockaddr_in*>(&*address)->sin_port = htons(port);
      } else {
        reinterpret_cast<sockaddr_in6*>(&*address)->sin6_port = htons(port);
      }
    }
  }
  // The sockets already queue connections; each shard starts accepting when it runs the task.
  for (uint32_t i = 0; i < shard_count(); ++i) {
    absl::Status posted =
        Post(i, [fd = std::move(sockets[i]), factory](Shard& shard) mutable {
          shard.AddListener(std::make_unique<Listener>(&shard, fd.Release(), std::move(factory)));
        });
    if (!posted.ok()) return posted;  // the remaining sockets close with `sockets`
  }
  return port;
}

}  // namespace ringbroker::reactor
