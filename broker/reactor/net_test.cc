// Connections end to end over loopback: echo with many clients, back-pressure, file ranges
// (splice and its fallback), graceful close and stop. Clients are plain threads with blocking
// sockets, as unlike the reactor as possible.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "broker/reactor/reactor.h"
#include "gtest/gtest.h"

namespace ringbroker::reactor {
namespace {

// --- Client side -------------------------------------------------------------------------------

int Connect(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval timeout{10, 0};  // a hung test fails instead of hanging CI
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = send(fd, data, size, MSG_NOSIGNAL);
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool ReadExactly(int fd, char* data, size_t size) {
  while (size > 0) {
    ssize_t n = recv(fd, data, size, 0);
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// Reads until EOF (or error); returns what arrived.
std::string ReadToEnd(int fd) {
  std::string out;
  char chunk[65536];
  while (true) {
    ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
    if (n <= 0) return out;
    out.append(chunk, static_cast<size_t>(n));
  }
}

std::string RandomBytes(size_t size, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out(size, '\0');
  for (char& c : out) c = static_cast<char>(rng());
  return out;
}

// --- Server side -------------------------------------------------------------------------------

struct Stats {
  std::atomic<int> accepted[8] = {};
  std::atomic<int> closed{0};
  std::atomic<int> closed_ok{0};
  std::atomic<int> closed_cancelled{0};
  std::atomic<size_t> max_unsent{0};
  std::atomic<int> paused_seen{0};
  absl::Mutex mu;
  std::vector<absl::Status> reasons ABSL_GUARDED_BY(mu);

  void NoteUnsent(const Connection& c) {
    size_t unsent = c.unsent_bytes();
    size_t seen = max_unsent.load();
    while (unsent > seen && !max_unsent.compare_exchange_weak(seen, unsent)) {
    }
    if (c.reading_paused()) paused_seen++;
  }
  void NoteClose(const absl::Status& reason) {
    closed++;
    if (reason.ok()) closed_ok++;
    if (absl::IsCancelled(reason)) closed_cancelled++;
    absl::MutexLock lock(&mu);
    reasons.push_back(reason);
  }
};

class EchoHandler : public ConnectionHandler {
 public:
  explicit EchoHandler(Stats* stats) : stats_(stats) {}
  void OnData(Connection& c, Buffer data) override {
    c.Send(std::move(data));  // zero-copy: the receive slot goes out as is
    stats_->NoteUnsent(c);
  }
  void OnClose(Connection&, const absl::Status& reason) override { stats_->NoteClose(reason); }

 private:
  Stats* stats_;
};

ConnectionFactory EchoFactory(Stats* stats) {
  return [stats](Connection& c) -> std::unique_ptr<ConnectionHandler> {
    stats->accepted[c.shard().id()]++;
    return std::make_unique<EchoHandler>(stats);
  };
}

ReactorOptions SmallOptions(uint32_t smp) {
  ReactorOptions options;
  options.smp = smp;
  options.recv_slot_count = 64;
  options.recv_slot_bytes = 4096;
  return options;
}

// --- Echo --------------------------------------------------------------------------------------

void EchoManyClients(uint32_t smp, uint32_t disabled_features) {
  ReactorOptions options = SmallOptions(smp);
  options.disabled_features = disabled_features;
  Stats stats;  // outlives the reactor, whose shards report into it
  auto reactor = Reactor::Start(options);
  ASSERT_TRUE(reactor.ok()) << reactor.status();
  absl::StatusOr<uint16_t> port = (*reactor)->Listen("127.0.0.1", 0, EchoFactory(&stats));
  ASSERT_TRUE(port.ok()) << port.status();
  ASSERT_NE(*port, 0);

  constexpr int kClients = 24;
  constexpr int kMessages = 40;
  std::atomic<int> failures{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < kClients; ++t) {
    clients.emplace_back([&, t] {
      int fd = Connect(*port);
      if (fd < 0) {
        failures++;
        return;
      }
      std::mt19937 rng(t);
      for (int m = 0; m < kMessages; ++m) {
        // Sizes from a byte to several receive slots, so chunks split and merge.
        const size_t size = 1 + rng() % 20000;
        std::string sent = RandomBytes(size, t * 1000 + m);
        std::string got(size, '\0');
        if (!WriteAll(fd, sent.data(), size) || !ReadExactly(fd, got.data(), size) || got != sent) {
          failures++;
          break;
        }
      }
      close(fd);
    });
  }
  for (auto& client : clients) client.join();
  EXPECT_EQ(failures.load(), 0);
  int accepted = 0;
  for (uint32_t s = 0; s < smp; ++s) {
    accepted += stats.accepted[s].load();
    // SO_REUSEPORT spreads connections by hash; with 24 of them every shard gets some.
    EXPECT_GT(stats.accepted[s].load(), 0) << "shard " << s << " accepted nothing";
  }
  EXPECT_EQ(accepted, kClients);
  // Peers closed; every connection reports a clean close.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (stats.closed.load() < kClients && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_EQ(stats.closed_ok.load(), kClients);
}

TEST(NetTest, EchoManyClientsOneShard) { EchoManyClients(1, 0); }
TEST(NetTest, EchoManyClientsTwoShards) { EchoManyClients(2, 0); }
TEST(NetTest, EchoWithoutMultishotRecv) { EchoManyClients(2, kFeatureMultishotRecv); }
TEST(NetTest, EchoWithoutBufferRingOrMultishotAccept) {
  EchoManyClients(2, kFeatureBufRing | kFeatureMultishotAccept | kFeatureMsgRing |
                         kFeatureDeferTaskrun);
}

TEST(NetTest, ListenOnExplicitPortSharedByShards) {
  Stats stats;  // outlives the reactor, whose shards report into it
  auto reactor = Reactor::Start(SmallOptions(2));
  ASSERT_TRUE(reactor.ok());
  // Find a free port, then listen on it explicitly.
  int probe = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(probe, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  socklen_t length = sizeof(address);
  ASSERT_EQ(getsockname(probe, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const uint16_t wanted = ntohs(address.sin_port);
  close(probe);
  absl::StatusOr<uint16_t> port = (*reactor)->Listen("localhost", wanted, EchoFactory(&stats));
  ASSERT_TRUE(port.ok()) << port.status();
  EXPECT_EQ(*port, wanted);
  int fd = Connect(wanted);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(WriteAll(fd, "ping", 4));
  char got[4];
  ASSERT_TRUE(ReadExactly(fd, got, 4));
  EXPECT_EQ(std::string(got, 4), "ping");
  close(fd);
}

TEST(NetTest, ListenOnUnresolvableHostFails) {
  Stats stats;  // outlives the reactor, whose shards report into it
  auto reactor = Reactor::Start(SmallOptions(1));
  ASSERT_TRUE(reactor.ok());
  EXPECT_FALSE((*reactor)->Listen("no.such.host.invalid", 0, EchoFactory(&stats)).ok());
}

// --- Back-pressure -----------------------------------------------------------------------------

TEST(NetTest, ClientThatDoesNotReadCannotGrowServerMemory) {
  ReactorOptions options = SmallOptions(1);
  options.send_bytes_max = 256 * 1024;
  Stats stats;  // outlives the reactor, whose shards report into it
  auto reactor = Reactor::Start(options);
  ASSERT_TRUE(reactor.ok());
  absl::StatusOr<uint16_t> port = (*reactor)->Listen("127.0.0.1", 0, EchoFactory(&stats));
  ASSERT_TRUE(port.ok());
  int fd = Connect(*port);
  ASSERT_GE(fd, 0);
  // Small socket buffers keep the kernel's share of the backlog modest and the test quick.
  int small = 64 * 1024;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);

  // Push until the server stops taking data for a while: it must pause rather than buffer.
  const std::string block = RandomBytes(16384, 7);
  std::string sent;
  auto last_progress = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - last_progress < std::chrono::milliseconds(300)) {
    ssize_t n = send(fd, block.data(), block.size(), MSG_NOSIGNAL);
    if (n > 0) {
      sent.append(block.data(), static_cast<size_t>(n));
      last_progress = std::chrono::steady_clock::now();
      ASSERT_LT(sent.size(), size_t{256} << 20) << "server never pushed back";
    } else {
      pollfd p{fd, POLLOUT, 0};
      poll(&p, 1, 10);
    }
  }
  EXPECT_GT(stats.paused_seen.load(), 0);
  // Queued output may exceed the limit by what was already received when reading paused: at most
  // the receive ring (copies beyond a quarter of it) plus one chunk.
  const size_t bound = options.send_bytes_max + size_t{options.recv_slot_count} *
                                                     options.recv_slot_bytes;
  EXPECT_LE(stats.max_unsent.load(), bound);

  // Now read everything back: nothing lost, nothing reordered, and reading resumes.
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  std::string got(sent.size(), '\0');
  ASSERT_TRUE(ReadExactly(fd, got.data(), got.size()));
  EXPECT_TRUE(got == sent);
  // And the connection still works in both directions afterwards.
  ASSERT_TRUE(WriteAll(fd, "tail", 4));
  char tail[4];
  ASSERT_TRUE(ReadExactly(fd, tail, 4));
  EXPECT_EQ(std::string(tail, 4), "tail");
  close(fd);
}

TEST(NetTest, LargeTransferBothWaysConcurrently) {
  Stats stats;  // outlives the reactor, whose shards report into it
  auto reactor = Reactor::Start(SmallOptions(2));
  ASSERT_TRUE(reactor.ok());
  absl::StatusOr<uint16_t> port = (*reactor)->Listen("127.0.0.1", 0, EchoFactory(&stats));
  ASSERT_TRUE(port.ok());
  int fd = Connect(*port);
  ASSERT_GE(fd, 0);
  const std::string sent = RandomBytes(24 << 20, 11);
  std::thread writer([&] { EXPECT_TRUE(WriteAll(fd, sent.data(), sent.size())); });
  std::string got(sent.size(), '\0');
  EXPECT_TRUE(ReadExactly(fd, got.data(), got.size()));
  writer.join();
  EXPECT_TRUE(got == sent);
  close(fd);
}

// --- Closing -----------------------------------------------------------------------------------

// Sends `bytes` on connect, then closes gracefully: everything queued must still arrive.
class SendThenCloseHandler : public ConnectionHandler {
 public:
  SendThenCloseHandler(Connection& c, const std::string* bytes, Stats* stats) : stats_(stats) {
    for (size_t offset = 0; offset < bytes->size(); offset += 100000) {
      c.Send(Buffer::CopyOf(std::string_view(*bytes).substr(offset, 100000)));
    }
    c.Close();
    c.Send(Buffer::CopyOf("after close"));  // dropped: Close ends sending new data
  }
  void OnData(Connection&, Buffer) override {}
  void OnClose(Connection&, const absl::Status& reason) override { stats_->NoteClose(reason); }

 private:
  Stats* stats_;
};

TEST(NetTest, CloseFlushesQueuedBytesFirst) {
  Stats stats;  // outlives the reactor, whose shards report into it
  auto reactor = Reactor::Start(SmallOptions(1));
  ASSERT_TRUE(reactor.ok());
  const std::string payload = RandomBytes(3 << 20, 5);
  absl::StatusOr<uint16_t> port =
      (*reactor)->Listen("127.0.0.1", 0, [&](Connection& c) -> std::unique_ptr<ConnectionHandler> {
        return std::make_unique<SendThenCloseHandler>(c, &payload, &stats);
      });
  ASSERT_TRUE(port.ok());
  int fd = Connect(*port);
  ASSERT_GE(fd, 0);
  std::string got = ReadToEnd(fd);
  close(fd);
  EXPECT_EQ(got.size(), payload.size());
  EXPECT_TRUE(got == payload);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (stats.closed.load() < 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(stats.closed_ok.load(), 1);
}

TEST(NetTest, StopClosesOpenConnectionsWithCancelled) {
  Stats stats;
  std::vector<int> fds;
  {
    auto reactor = Reactor::Start(SmallOptions(2));
    ASSERT_TRUE(reactor.ok());
    absl::StatusOr<uint16_t> port = (*reactor)->Listen("127.0.0.1", 0, EchoFactory(&stats));
    ASSERT_TRUE(port.ok());
    for (int i = 0; i < 8; ++i) {
      int fd = Connect(*port);
      ASSERT_GE(fd, 0);
      // A round trip proves the server side exists before we stop.
      ASSERT_TRUE(WriteAll(fd, "x", 1));
      char c;
      ASSERT_TRUE(ReadExactly(fd, &c, 1));
      fds.push_back(fd);
    }
    (*reactor)->RequestStop();
    (*reactor)->Join();
  }
  EXPECT_EQ(stats.closed_cancelled.load(), 8);
  for (int fd : fds) {
    char c;
    EXPECT_LE(recv(fd, &c, 1, 0), 0);  // the server side is gone
    close(fd);
  }
}

TEST(NetTest, ConnectionsBeyondLimitAreRefused) {
  ReactorOptions options = SmallOptions(1);
  options.connections_max = 2;
  Stats stats;  // outlives the reactor, whose shards report into it
  auto reactor = Reactor::Start(options);
  ASSERT_TRUE(reactor.ok());
  absl::StatusOr<uint16_t> port = (*reactor)->Listen("127.0.0.1", 0, EchoFactory(&stats));
  ASSERT_TRUE(port.ok());
  std::vector<int> fds;
  for (int i = 0; i < 2; ++i) {
    int fd = Connect(*port);
    ASSERT_TRUE(WriteAll(fd, "x", 1));
    char c;
    ASSERT_TRUE(ReadExactly(fd, &c, 1));
    fds.push_back(fd);
  }
  int third = Connect(*port);
  ASSERT_GE(third, 0);  // the kernel completes the handshake; the shard then closes it
  char c;
  EXPECT_LE(recv(third, &c, 1, 0), 0);
  close(third);
  for (int fd : fds) close(fd);
  EXPECT_EQ(stats.accepted[0].load(), 2);
}

// --- File ranges -------------------------------------------------------------------------------

// Serves "offset length\n" requests with SendFile, then a trailer, then closes.
class FileHandler : public ConnectionHandler {
 public:
  FileHandler(int file_fd, Stats* stats) : file_fd_(file_fd), stats_(stats) {}
  void OnData(Connection& c, Buffer data) override {
    request_.append(data.view());
    size_t newline = request_.find('\n');
    if (newline == std::string::npos) return;
    uint64_t offset = std::strtoull(request_.c_str(), nullptr, 10);
    uint64_t length = std::strtoull(request_.c_str() + request_.find(' ') + 1, nullptr, 10);
    c.Send(Buffer::CopyOf("BEGIN"));
    c.SendFile(FileRange{file_fd_, offset, length, nullptr});
    c.Send(Buffer::CopyOf("END"));
    c.Close();
  }
  void OnClose(Connection&, const absl::Status& reason) override { stats_->NoteClose(reason); }

 private:
  int file_fd_;
  Stats* stats_;
  std::string request_;
};

// WriteAll uses send(); files need write().
bool WriteFile(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// An unlinked temporary file holding `contents`, or -1.
int TempFileWith(const std::string& contents) {
  char path[] = "/tmp/reactor_net_testXXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return -1;
  unlink(path);
  if (!WriteFile(fd, contents)) {
    close(fd);
    return -1;
  }
  return fd;
}

// Waits up to 10 s for `count` connections to have closed; their reasons, in order.
std::vector<absl::Status> WaitForCloses(Stats& stats, int count) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (stats.closed.load() < count && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  absl::MutexLock lock(&stats.mu);
  return stats.reasons;
}

// One shard serving `contents` from an unlinked file with FileHandler.
class FileServer {
 public:
  testing::AssertionResult Start(uint32_t disabled_features, const std::string& contents) {
    ReactorOptions options = SmallOptions(1);
    options.disabled_features = disabled_features;
    auto reactor = Reactor::Start(options);
    if (!reactor.ok()) return testing::AssertionFailure() << reactor.status();
    reactor_ = std::move(*reactor);
    file_fd_ = TempFileWith(contents);
    if (file_fd_ < 0) return testing::AssertionFailure() << "temporary file";
    absl::StatusOr<uint16_t> port =
        reactor_->Listen("127.0.0.1", 0, [this](Connection&) -> std::unique_ptr<ConnectionHandler> {
          return std::make_unique<FileHandler>(file_fd_, &stats_);
        });
    if (!port.ok()) return testing::AssertionFailure() << port.status();
    port_ = *port;
    return testing::AssertionSuccess();
  }
  ~FileServer() {
    reactor_.reset();  // before the file it serves
    if (file_fd_ >= 0) close(file_fd_);
  }
  uint16_t port() const { return port_; }
  Stats& stats() { return stats_; }

 private:
  Stats stats_;  // outlives the reactor, whose shard reports into it
  std::unique_ptr<Reactor> reactor_;
  int file_fd_ = -1;
  uint16_t port_ = 0;
};

void FileRangeIsSentByteExact(uint32_t disabled_features) {
  const std::string contents = RandomBytes(5 << 20, 3);
  FileServer server;
  ASSERT_TRUE(server.Start(disabled_features, contents));
  struct Case {
    uint64_t offset, length;
  };
  // An odd start, a range larger than a pipe, the whole file, one byte, the tail.
  for (Case range : {Case{12345, 3 << 20}, Case{0, 5 << 20}, Case{777, 1}, Case{(5 << 20) - 10, 10}}) {
    int fd = Connect(server.port());
    ASSERT_GE(fd, 0);
    std::string request = std::to_string(range.offset) + " " + std::to_string(range.length) + "\n";
    ASSERT_TRUE(WriteAll(fd, request.data(), request.size()));
    std::string got = ReadToEnd(fd);
    close(fd);
    ASSERT_EQ(got.size(), range.length + 8) << range.offset;
    EXPECT_EQ(got.substr(0, 5), "BEGIN");
    EXPECT_TRUE(got.substr(5, range.length) == contents.substr(range.offset, range.length));
    EXPECT_EQ(got.substr(5 + range.length), "END");
  }
  // A range past the end of the file aborts the connection instead of hanging.
  int fd = Connect(server.port());
  ASSERT_GE(fd, 0);
  std::string request = std::to_string((5 << 20) - 100) + " 1000\n";
  ASSERT_TRUE(WriteAll(fd, request.data(), request.size()));
  std::string got = ReadToEnd(fd);
  close(fd);
  EXPECT_LT(got.size(), size_t{1000 + 8});
  std::vector<absl::Status> reasons = WaitForCloses(server.stats(), 5);
  ASSERT_EQ(reasons.size(), 5u);
  EXPECT_EQ(reasons.back().code(), absl::StatusCode::kOutOfRange) << reasons.back();
}

// Answers any request with many small file ranges, each between two buffers, as a fetch response
// of many partitions is laid out; the last range runs past the end of the file.
class ManyRangesHandler : public ConnectionHandler {
 public:
  static constexpr int kRanges = 150;  // more than one sendmsg's worth of iovecs
  static uint64_t Offset(int i) { return uint64_t(i) * 7919; }
  static uint64_t Length(int i) { return 1 + uint64_t(i) * 131 % 5000; }

  ManyRangesHandler(int file_fd, Stats* stats) : file_fd_(file_fd), stats_(stats) {}
  void OnData(Connection& c, Buffer) override {
    if (answered_) return;
    answered_ = true;
    for (int i = 0; i < kRanges; ++i) {
      c.Send(Buffer::CopyOf("<" + std::to_string(i) + ">"));
      c.SendFile(FileRange{file_fd_, Offset(i), Length(i), nullptr});
    }
    c.Send(Buffer::CopyOf("END"));
    c.SendFile(FileRange{file_fd_, kFileBytes - 10, 20, nullptr});
    c.Close();
  }
  void OnClose(Connection&, const absl::Status& reason) override { stats_->NoteClose(reason); }
  static constexpr uint64_t kFileBytes = 2 << 20;

 private:
  int file_fd_;
  Stats* stats_;
  bool answered_ = false;
};

void ManySmallRangesAreSentInOrder(uint32_t disabled_features) {
  ReactorOptions options = SmallOptions(1);
  options.disabled_features = disabled_features;
  Stats stats;
  auto reactor = Reactor::Start(options);
  ASSERT_TRUE(reactor.ok());
  const std::string contents = RandomBytes(ManyRangesHandler::kFileBytes, 5);
  int file_fd = TempFileWith(contents);
  ASSERT_GE(file_fd, 0);
  absl::StatusOr<uint16_t> port =
      (*reactor)->Listen("127.0.0.1", 0, [&](Connection&) -> std::unique_ptr<ConnectionHandler> {
        return std::make_unique<ManyRangesHandler>(file_fd, &stats);
      });
  ASSERT_TRUE(port.ok());
  std::string expected;
  for (int i = 0; i < ManyRangesHandler::kRanges; ++i) {
    expected += "<" + std::to_string(i) + ">";
    expected += contents.substr(ManyRangesHandler::Offset(i), ManyRangesHandler::Length(i));
  }
  expected += "END";
  int fd = Connect(*port);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(WriteAll(fd, "go", 2));
  std::string got = ReadToEnd(fd);
  close(fd);
  // Every range in order, then the tail range's 10 bytes at most before the connection is aborted.
  ASSERT_GE(got.size(), expected.size());
  EXPECT_TRUE(got.substr(0, expected.size()) == expected);
  EXPECT_LE(got.size(), expected.size() + 10);
  std::vector<absl::Status> reasons = WaitForCloses(stats, 1);
  ASSERT_EQ(reasons.size(), 1u);
  EXPECT_EQ(reasons.back().code(), absl::StatusCode::kOutOfRange) << reasons.back();
  reactor->reset();
  close(file_fd);
}

TEST(NetTest, ManySmallFileRangesAreSentInOrder) { ManySmallRangesAreSentInOrder(0); }
TEST(NetTest, ManySmallFileRangesWithoutSplice) { ManySmallRangesAreSentInOrder(kFeatureSplice); }

// The file is freshly written, so in the page cache: with cachestat (Linux 6.5+) the first test
// sends it by sendfile on the shard; the second always splices it through an io-wq worker.
TEST(NetTest, FileRangeIsSentByteExact) { FileRangeIsSentByteExact(0); }
TEST(NetTest, FileRangeIsSplicedByteExact) { FileRangeIsSentByteExact(kFeatureDirectSend); }
TEST(NetTest, FileRangeWithoutSpliceIsReadAndSent) {
  FileRangeIsSentByteExact(kFeatureSplice | kFeatureDirectSend);
}

// A client that waits before reading: the range fills the socket's buffer, the shard's send stops
// at EAGAIN and resumes on POLLOUT, and every byte arrives in order. Meanwhile the same shard
// answers another client in full: the send of the first did not block the shard.
void SlowReaderGetsWholeRange(uint32_t disabled_features) {
  const std::string contents = RandomBytes(16 << 20, 7);
  FileServer server;
  ASSERT_TRUE(server.Start(disabled_features, contents));
  int fd = Connect(server.port());
  ASSERT_GE(fd, 0);
  int small = 64 * 1024;  // a small receive window, so the server's side fills quickly
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  const std::string request = "3 " + std::to_string(contents.size() - 3) + "\n";
  ASSERT_TRUE(WriteAll(fd, request.data(), request.size()));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  int other = Connect(server.port());
  ASSERT_GE(other, 0);
  ASSERT_TRUE(WriteAll(other, "7 100\n", 6));
  EXPECT_EQ(ReadToEnd(other), "BEGIN" + contents.substr(7, 100) + "END");
  close(other);
  std::string got = ReadToEnd(fd);
  close(fd);
  ASSERT_EQ(got.size(), contents.size() - 3 + 8);
  EXPECT_TRUE(got.substr(5, contents.size() - 3) == contents.substr(3));
  EXPECT_EQ(got.substr(got.size() - 3), "END");
  std::vector<absl::Status> reasons = WaitForCloses(server.stats(), 2);
  ASSERT_EQ(reasons.size(), 2u);
  EXPECT_TRUE(reasons[0].ok()) << reasons[0];
  EXPECT_TRUE(reasons[1].ok()) << reasons[1];
}

TEST(NetTest, SlowReaderGetsWholeRange) { SlowReaderGetsWholeRange(0); }
TEST(NetTest, SlowReaderGetsWholeSplicedRange) { SlowReaderGetsWholeRange(kFeatureDirectSend); }

// A client that resets the connection in the middle of a large range: the send fails with EPIPE
// or ECONNRESET (no SIGPIPE kills the process), the connection closes with that error, and the
// shard goes on serving.
void ResetInTheMiddleOfARange(uint32_t disabled_features) {
  const std::string contents = RandomBytes(16 << 20, 9);
  FileServer server;
  ASSERT_TRUE(server.Start(disabled_features, contents));
  int fd = Connect(server.port());
  ASSERT_GE(fd, 0);
  const std::string request = "0 " + std::to_string(contents.size()) + "\n";
  ASSERT_TRUE(WriteAll(fd, request.data(), request.size()));
  char head[1000];
  ASSERT_TRUE(ReadExactly(fd, head, sizeof(head)));
  linger reset{1, 0};  // close with RST
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
  close(fd);
  std::vector<absl::Status> reasons = WaitForCloses(server.stats(), 1);
  ASSERT_EQ(reasons.size(), 1u);
  EXPECT_TRUE(absl::IsUnavailable(reasons[0])) << reasons[0];
  // The shard still serves.
  fd = Connect(server.port());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(WriteAll(fd, "5 10\n", 5));
  std::string got = ReadToEnd(fd);
  close(fd);
  EXPECT_EQ(got, "BEGIN" + contents.substr(5, 10) + "END");
}

// A range that runs past the end of the file from inside its last, cached page: what the file
// holds goes out, then the connection is aborted (by sendfile's 0, or the splice's).
void RangePastTheEndOfACachedPage(uint32_t disabled_features) {
  const std::string contents = RandomBytes(4096 + 100, 11);
  FileServer server;
  ASSERT_TRUE(server.Start(disabled_features, contents));
  int fd = Connect(server.port());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(WriteAll(fd, "4106 1000\n", 10));
  std::string got = ReadToEnd(fd);
  close(fd);
  EXPECT_EQ(got, "BEGIN" + contents.substr(4106));
  std::vector<absl::Status> reasons = WaitForCloses(server.stats(), 1);
  ASSERT_EQ(reasons.size(), 1u);
  EXPECT_EQ(reasons[0].code(), absl::StatusCode::kOutOfRange) << reasons[0];
}

TEST(NetTest, RangePastTheEndOfACachedPage) { RangePastTheEndOfACachedPage(0); }
TEST(NetTest, SplicedRangePastTheEndOfACachedPage) { RangePastTheEndOfACachedPage(kFeatureDirectSend); }

TEST(NetTest, ResetInTheMiddleOfARange) { ResetInTheMiddleOfARange(0); }
TEST(NetTest, ResetInTheMiddleOfASplicedRange) { ResetInTheMiddleOfARange(kFeatureDirectSend); }

// --- Buffer ownership ----------------------------------------------------------------------------

// Keeps every received Buffer (in a store owned by the test) and echoes nothing.
class HoardingHandler : public ConnectionHandler {
 public:
  struct Store {
    absl::Mutex mu;
    std::vector<Buffer> buffers ABSL_GUARDED_BY(mu);
    std::atomic<size_t> bytes{0};
  };
  explicit HoardingHandler(Store* store) : store_(store) {}
  void OnData(Connection&, Buffer data) override {
    const size_t n = data.size();
    {
      absl::MutexLock lock(&store_->mu);
      store_->buffers.push_back(std::move(data));
    }
    store_->bytes += n;
  }
  void OnClose(Connection&, const absl::Status&) override {}

 private:
  Store* store_;
};

TEST(NetTest, ReceivedBuffersMayOutliveTheReactor) {
  HoardingHandler::Store store;
  const std::string sent = RandomBytes(100000, 9);
  {
    auto reactor = Reactor::Start(SmallOptions(1));
    ASSERT_TRUE(reactor.ok());
    absl::StatusOr<uint16_t> port = (*reactor)->Listen(
        "127.0.0.1", 0, [&](Connection&) -> std::unique_ptr<ConnectionHandler> {
          return std::make_unique<HoardingHandler>(&store);
        });
    ASSERT_TRUE(port.ok());
    int fd = Connect(*port);
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(WriteAll(fd, sent.data(), sent.size()));
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (store.bytes.load() < sent.size() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    close(fd);
  }
  // The shard and its ring are gone; the bytes are still readable, and releasing them is safe.
  absl::MutexLock lock(&store.mu);
  std::string got;
  for (const Buffer& buffer : store.buffers) got.append(buffer.view());
  EXPECT_TRUE(got == sent);
  store.buffers.clear();
}

// Moves each received chunk to the other shard, which drops it there; the receive slot must find
// its way back to the owning shard's ring.
class HandOffHandler : public ConnectionHandler {
 public:
  explicit HandOffHandler(std::atomic<int>* zero_copy_seen) : zero_copy_seen_(zero_copy_seen) {}
  void OnData(Connection& c, Buffer data) override {
    Shard& shard = c.shard();
    if (shard.buffer_ring()->slots_in_kernel() < shard.buffer_ring()->slot_count()) {
      (*zero_copy_seen_)++;  // this chunk still occupies a ring slot
    }
    const uint32_t other = (shard.id() + 1) % shard.shard_count();
    Connection* connection = &c;  // the client keeps the connection open until acked
    absl::Status status = shard.SubmitTo(
        other, [held = std::move(data)]() mutable { held.Release(); },
        [connection] { connection->Send(Buffer::CopyOf("k")); });
    EXPECT_TRUE(status.ok()) << status;
  }
  void OnClose(Connection&, const absl::Status&) override {}

 private:
  std::atomic<int>* zero_copy_seen_;
};

TEST(NetTest, BuffersReleasedOnAnotherShardReturnToTheRing) {
  std::atomic<int> zero_copy_seen{0};
  auto reactor = Reactor::Start(SmallOptions(2));
  ASSERT_TRUE(reactor.ok());
  absl::StatusOr<uint16_t> port = (*reactor)->Listen(
      "127.0.0.1", 0, [&](Connection&) -> std::unique_ptr<ConnectionHandler> {
        return std::make_unique<HandOffHandler>(&zero_copy_seen);
      });
  ASSERT_TRUE(port.ok());
  int fd = Connect(*port);
  ASSERT_GE(fd, 0);
  // One byte per message, acked before the next, so each message is its own chunk.
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(WriteAll(fd, "m", 1));
    char ack;
    ASSERT_TRUE(ReadExactly(fd, &ack, 1));
  }
  EXPECT_GT(zero_copy_seen.load(), 0);
  // Every slot is back with the kernel on both shards (remote frees drain each loop iteration).
  for (uint32_t id = 0; id < 2; ++id) {
    bool full = false;
    for (int attempt = 0; attempt < 100 && !full; ++attempt) {
      absl::Notification checked;
      ASSERT_TRUE((*reactor)
                      ->Post(id,
                             [&](Shard& shard) {
                               shard.Defer([&, s = &shard] {
                                 full = s->buffer_ring()->slots_in_kernel() ==
                                        s->buffer_ring()->slot_count();
                                 checked.Notify();
                               });
                             })
                      .ok());
      checked.WaitForNotification();
      if (!full) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_TRUE(full) << "shard " << id << " lost receive slots";
  }
  close(fd);
}

}  // namespace
}  // namespace ringbroker::reactor
