// Storage benchmarks on real files, through the POSIX file seam and through the broker's io_uring
// one (broker/reactor/uring_file.h, on a reactor shard):
//  - append throughput of 16 KiB batches (16 records of 1 KiB) without sync, beside a plain
//    sequential write() loop of the same bytes to the same directory (target: >= 90% of it);
//  - the same appends acknowledged after fdatasync, one sync per append and group-committed;
//  - read-by-offset lookup time over logs of growing size, up to 1 million batches (target:
//    median under 2 us, flat as the log grows).
// The directory is $RB_BENCH_DIR, or a fresh one under /tmp; it is removed at exit.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <utility>

#include "absl/synchronization/notification.h"
#include "benchmark/benchmark.h"
#include "broker/reactor/reactor.h"
#include "broker/reactor/uring_file.h"
#include "protocol/records/batch_header.h"
#include "storage/crc.h"
#include "storage/io/posix_file.h"
#include "storage/log.h"

namespace ringbroker::storage {
namespace {

const std::string& BenchDir() {
  // Never destroyed: the exit handler that removes the directory runs after static destructors
  // registered later than it, such as a plain static string's.
  static const std::string* const dir = [] {
    if (const char* env = getenv("RB_BENCH_DIR")) return new std::string(env);
    char tmpl[] = "/tmp/rb_storage_bench_XXXXXX";
    if (mkdtemp(tmpl) == nullptr) abort();
    std::atexit([] { std::filesystem::remove_all(BenchDir()); });
    return new std::string(tmpl);
  }();
  return *dir;
}

void PutVarlong(std::vector<uint8_t>& out, int64_t v) {
  uint64_t z = (uint64_t(v) << 1) ^ uint64_t(v >> 63);
  while (z >= 0x80) {
    out.push_back(uint8_t(z) | 0x80);
    z >>= 7;
  }
  out.push_back(uint8_t(z));
}

// A valid v2 batch of `records` records with `value_bytes`-byte values and 8-byte keys.
std::vector<uint8_t> MakeBatch(int records, size_t value_bytes) {
  namespace layout = protocol::batch_layout;
  std::vector<uint8_t> out(layout::kHeaderSize, 0);
  for (int i = 0; i < records; ++i) {
    std::vector<uint8_t> body{0};
    PutVarlong(body, 0);
    PutVarlong(body, i);
    PutVarlong(body, 8);
    for (int k = 0; k < 8; ++k) body.push_back(uint8_t('0' + (i + k) % 10));
    PutVarlong(body, int64_t(value_bytes));
    body.insert(body.end(), value_bytes, uint8_t('x'));
    PutVarlong(body, 0);
    PutVarlong(out, int64_t(body.size()));
    out.insert(out.end(), body.begin(), body.end());
  }
  uint8_t* p = out.data();
  protocol::StoreBigEndian32(p + layout::kBatchLength, uint32_t(out.size() - layout::kLogOverhead));
  p[layout::kMagic] = 2;
  protocol::StoreBigEndian32(p + layout::kLastOffsetDelta, uint32_t(records - 1));
  protocol::StoreBigEndian64(p + layout::kBaseTimestamp, 1'700'000'000'000);
  protocol::StoreBigEndian64(p + layout::kMaxTimestamp, 1'700'000'000'000);
  protocol::StoreBigEndian64(p + layout::kProducerId, uint64_t(-1));
  protocol::StoreBigEndian32(p + layout::kRecordCount, uint32_t(records));
  protocol::StoreBigEndian32(p + layout::kCrc,
                             Crc32c(absl::MakeConstSpan(out).subspan(layout::kAttributes)));
  return out;
}

// 16 records of 1 KiB values: a little over 16 KiB.
const std::vector<uint8_t>& SixteenKiBBatch() {
  static const std::vector<uint8_t> batch = MakeBatch(16, 1024 - 8 - 8);
  return batch;
}

constexpr int64_t kLogBytesMax = int64_t{1} << 30;  // retention keeps each log under ~1 GiB

LogConfig BenchConfig() {
  LogConfig config;
  config.segment_bytes = 256 << 20;
  config.retention_bytes = kLogBytesMax;
  config.retention_ms = -1;
  return config;
}

std::string FreshLogDir(const std::string& name) {
  std::string dir = BenchDir() + "/" + name;
  std::filesystem::remove_all(dir);
  return dir;
}

void BM_PlainWriteLoop(benchmark::State& state) {
  std::string path = FreshLogDir("plain") + ".bin";
  int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) return state.SkipWithError("open failed");
  const std::vector<uint8_t>& batch = SixteenKiBBatch();
  int64_t written = 0;
  for (auto _ : state) {
    if (::write(fd, batch.data(), batch.size()) != ssize_t(batch.size())) {
      state.SkipWithError("write failed");
      break;
    }
    written += int64_t(batch.size());
    if (written >= kLogBytesMax) {  // same disk footprint as the log's retention
      ::ftruncate(fd, 0);
      ::lseek(fd, 0, SEEK_SET);
      written = 0;
    }
  }
  state.SetBytesProcessed(state.iterations() * int64_t(batch.size()));
  ::close(fd);
  ::unlink(path.c_str());
}
BENCHMARK(BM_PlainWriteLoop)->UseRealTime();

// The plain loop with the one sync the log makes without acks=all: Kafka's flush on roll, an
// fdatasync of every segment.bytes written (here into a fresh file, as a roll starts one). Not
// the target's reference; it shows what the log's own work costs beside the disk's.
void BM_PlainWriteLoopSyncPerSegment(benchmark::State& state) {
  const std::string dir = FreshLogDir("plain_sync");
  std::filesystem::create_directories(dir);
  const std::vector<uint8_t>& batch = SixteenKiBBatch();
  const int64_t segment_bytes = BenchConfig().segment_bytes;
  int files = 0;
  auto open_next = [&] {
    std::string path = dir + "/" + std::to_string(files++ % 4) + ".bin";  // retention: 4 files
    return ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
  };
  int fd = open_next();
  if (fd < 0) return state.SkipWithError("open failed");
  int64_t written = 0;
  for (auto _ : state) {
    if (written + int64_t(batch.size()) > segment_bytes) {
      if (::fdatasync(fd) != 0) {
        state.SkipWithError("fdatasync failed");
        break;
      }
      ::close(fd);
      fd = open_next();
      written = 0;
      if (fd < 0) {
        state.SkipWithError("open failed");
        break;
      }
    }
    if (::write(fd, batch.data(), batch.size()) != ssize_t(batch.size())) {
      state.SkipWithError("write failed");
      break;
    }
    written += int64_t(batch.size());
  }
  state.SetBytesProcessed(state.iterations() * int64_t(batch.size()));
  if (fd >= 0) ::close(fd);
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_PlainWriteLoopSyncPerSegment)->UseRealTime();

void BM_AppendNoSync(benchmark::State& state) {
  PosixFileSystem fs;
  LogConfig config = BenchConfig();
  config.sync_before_ack = false;
  auto log = Log::Open(fs, FreshLogDir("nosync"), config);
  if (!log.ok()) return state.SkipWithError(log.status().ToString().c_str());
  std::vector<uint8_t> batch = SixteenKiBBatch();
  int64_t appended = 0;
  for (auto _ : state) {
    bool ok = false;
    (*log)->Append(absl::MakeSpan(batch), AppendOptions{.durable = false},
                   [&](absl::StatusOr<AppendResult> r) { ok = r.ok(); });
    if (!ok) {
      state.SkipWithError("append failed");
      break;
    }
    if (++appended % 4096 == 0) {
      (*log)->set_high_watermark((*log)->log_end_offset());
      (void)(*log)->Maintain(0);
    }
  }
  state.SetBytesProcessed(state.iterations() * int64_t(batch.size()));
  (void)(*log)->Close();
}
BENCHMARK(BM_AppendNoSync)->UseRealTime();

void BM_AppendSyncEach(benchmark::State& state) {
  PosixFileSystem fs;
  auto log = Log::Open(fs, FreshLogDir("synceach"), BenchConfig());
  if (!log.ok()) return state.SkipWithError(log.status().ToString().c_str());
  std::vector<uint8_t> batch = SixteenKiBBatch();
  for (auto _ : state) {
    bool ok = false;
    (*log)->Append(absl::MakeSpan(batch), AppendOptions{.durable = true},
                   [&](absl::StatusOr<AppendResult> r) { ok = r.ok(); });
    if (!ok) {
      state.SkipWithError("append failed");
      break;
    }
  }
  state.SetBytesProcessed(state.iterations() * int64_t(batch.size()));
  (void)(*log)->Close();
}
BENCHMARK(BM_AppendSyncEach)->UseRealTime()->MinTime(2.0);

// POSIX files whose Datasync waits in a queue until Poll(), as with an asynchronous backend where
// many appends are in flight while a sync runs: that is when group commit shares syncs.
class QueuedSyncFile final : public File {
 public:
  QueuedSyncFile(std::unique_ptr<File> file, std::deque<std::pair<File*, StatusCallback>>* queue)
      : file_(std::move(file)), queue_(queue) {}
  void Write(uint64_t offset, absl::Span<const iovec> iov, IoCallback done) override {
    file_->Write(offset, iov, std::move(done));
  }
  void Read(uint64_t offset, absl::Span<uint8_t> dest, IoCallback done) override {
    file_->Read(offset, dest, std::move(done));
  }
  void Datasync(StatusCallback done) override { queue_->emplace_back(file_.get(), std::move(done)); }
  void Truncate(uint64_t size, StatusCallback done) override { file_->Truncate(size, std::move(done)); }
  absl::StatusOr<size_t> BlockingRead(uint64_t offset, absl::Span<uint8_t> dest) override {
    return file_->BlockingRead(offset, dest);
  }
  absl::Status BlockingWrite(uint64_t offset, absl::Span<const uint8_t> bytes) override {
    return file_->BlockingWrite(offset, bytes);
  }
  absl::Status BlockingTruncate(uint64_t size) override { return file_->BlockingTruncate(size); }
  absl::Status BlockingDatasync() override { return file_->BlockingDatasync(); }
  uint64_t size() const override { return file_->size(); }
  int fd() const override { return file_->fd(); }

 private:
  std::unique_ptr<File> file_;
  std::deque<std::pair<File*, StatusCallback>>* queue_;
};

class QueuedSyncFileSystem final : public FileSystem {
 public:
  absl::StatusOr<std::unique_ptr<File>> Open(std::string_view path, OpenMode mode) override {
    auto file = posix_.Open(path, mode);
    if (!file.ok()) return file.status();
    return std::make_unique<QueuedSyncFile>(std::move(*file), &queue_);
  }
  absl::Status Remove(std::string_view path) override { return posix_.Remove(path); }
  absl::Status Rename(std::string_view from, std::string_view to) override {
    return posix_.Rename(from, to);
  }
  absl::StatusOr<std::vector<std::string>> List(std::string_view dir) override {
    return posix_.List(dir);
  }
  absl::Status Mkdir(std::string_view dir) override { return posix_.Mkdir(dir); }
  absl::Status SyncDir(std::string_view dir) override { return posix_.SyncDir(dir); }
  bool Exists(std::string_view path) override { return posix_.Exists(path); }
  // Runs the queued syncs (and those their completions queue); returns how many ran.
  int64_t Poll() {
    int64_t ran = 0;
    while (!queue_.empty()) {
      auto [file, done] = std::move(queue_.front());
      queue_.pop_front();
      done(file->BlockingDatasync());
      ++ran;
    }
    return ran;
  }

 private:
  PosixFileSystem posix_;
  std::deque<std::pair<File*, StatusCallback>> queue_;
};

// Appends arrive in groups of state.range(0) (a produce burst from many connections); the log
// writes each at once and shares syncs among those waiting.
void BM_AppendGroupCommit(benchmark::State& state) {
  QueuedSyncFileSystem fs;
  auto log = Log::Open(fs, FreshLogDir("group"), BenchConfig());
  if (!log.ok()) return state.SkipWithError(log.status().ToString().c_str());
  const int group = int(state.range(0));
  std::vector<std::vector<uint8_t>> batches(group, SixteenKiBBatch());
  int64_t syncs = 0;
  for (auto _ : state) {
    int acked = 0;
    for (auto& batch : batches) {
      (*log)->Append(absl::MakeSpan(batch), AppendOptions{.durable = true},
                     [&](absl::StatusOr<AppendResult> r) { acked += r.ok(); });
    }
    syncs += fs.Poll();
    if (acked != group) {
      state.SkipWithError("append failed");
      break;
    }
  }
  state.SetBytesProcessed(state.iterations() * group * int64_t(batches[0].size()));
  state.counters["syncs_per_append"] =
      double(syncs) / double(std::max<int64_t>(1, state.iterations() * group));
  (void)(*log)->Close();
}
BENCHMARK(BM_AppendGroupCommit)->Arg(8)->Arg(64)->UseRealTime()->MinTime(2.0);

// The appends the broker makes: UringFile on a reactor shard, the log driven from the shard's
// thread. Writes and syncs complete later, from the shard's loop, so up to state.range(0) appends
// are in flight (1: one at a time, like the plain write() loop; more: a burst of produce
// requests). A rolled segment's sealing sync runs in the kernel while appends go on. The timed
// loop hands the shard rounds of kAppendsPerRound appends and waits for each round to complete.
constexpr int kAppendsPerRound = 256;

class UringAppender {
 public:
  UringAppender(reactor::Shard& shard, Log& log, int depth, bool durable)
      : shard_(shard), log_(log), durable_(durable), batches_(depth, SixteenKiBBatch()) {}

  // On the shard: appends `count` batches, keeping up to `depth` in flight, then runs `done` with
  // whether every append succeeded.
  void Round(int count, absl::AnyInvocable<void(bool)> done) {
    to_issue_ = count;
    outstanding_ = count;
    round_done_ = std::move(done);
    IssueMore();
  }

 private:
  void IssueMore() {
    // Completions come in append order, so the buffer of append i is free again once append
    // i - depth has completed: at most `depth` are in flight.
    while (to_issue_ > 0 && in_flight_ < int(batches_.size())) {
      --to_issue_;
      ++in_flight_;
      std::vector<uint8_t>& batch = batches_[next_buffer_++ % batches_.size()];
      log_.Append(absl::MakeSpan(batch), AppendOptions{.durable = durable_},
                  [this](absl::StatusOr<AppendResult> r) { OnAppended(r.ok()); });
    }
  }

  void OnAppended(bool ok) {
    --in_flight_;
    --outstanding_;
    ok_ = ok_ && ok;
    if (++appended_ % 4096 == 0) {
      log_.set_high_watermark(log_.log_end_offset());
      ok_ = ok_ && log_.Maintain(0).ok();
    }
    if (!ok_) {  // a failed log refuses every later append: issue no more
      outstanding_ -= to_issue_;
      to_issue_ = 0;
    }
    if (outstanding_ == 0) {
      // Deferred: the callback must not run inside Append's own call chain.
      shard_.Defer([this] { std::exchange(round_done_, nullptr)(ok_); });
      return;
    }
    IssueMore();
  }

  reactor::Shard& shard_;
  Log& log_;
  bool durable_;
  std::vector<std::vector<uint8_t>> batches_;
  size_t next_buffer_ = 0;
  int to_issue_ = 0;
  int outstanding_ = 0;
  int in_flight_ = 0;
  int64_t appended_ = 0;
  bool ok_ = true;
  absl::AnyInvocable<void(bool)> round_done_;
};

// Runs `task` on the reactor's only shard and waits for it to call its `finish` argument.
void OnShard(reactor::Reactor& reactor,
             absl::AnyInvocable<void(reactor::Shard&, absl::AnyInvocable<void()> finish)> task) {
  absl::Notification done;
  absl::Status posted = reactor.Post(0, [&](reactor::Shard& shard) {
    task(shard, [&done] { done.Notify(); });
  });
  if (!posted.ok()) abort();
  done.WaitForNotification();
}

void UringAppend(benchmark::State& state, bool durable) {
  reactor::ReactorOptions options;
  options.smp = 1;
  options.recv_slot_count = 16;
  options.recv_slot_bytes = 4096;
  auto reactor = reactor::Reactor::Start(options);
  if (!reactor.ok()) return state.SkipWithError(reactor.status().ToString().c_str());
  reactor::UringFileSystem fs;
  LogConfig config = BenchConfig();
  config.sync_before_ack = durable;
  std::string dir = FreshLogDir(durable ? "uring_durable" : "uring_nosync");
  std::unique_ptr<Log> log;
  std::unique_ptr<UringAppender> appender;
  absl::Status opened;
  OnShard(**reactor, [&](reactor::Shard& shard, absl::AnyInvocable<void()> finish) {
    auto made = Log::Open(fs, dir, config);
    if (made.ok()) {
      log = std::move(*made);
      appender = std::make_unique<UringAppender>(shard, *log, int(state.range(0)), durable);
    } else {
      opened = made.status();
    }
    finish();
  });
  if (!opened.ok()) return state.SkipWithError(opened.ToString().c_str());
  for (auto _ : state) {
    bool ok = false;
    OnShard(**reactor, [&](reactor::Shard&, absl::AnyInvocable<void()> finish) {
      appender->Round(kAppendsPerRound, [&ok, finish = std::move(finish)](bool all_ok) mutable {
        ok = all_ok;
        finish();
      });
    });
    if (!ok) {
      state.SkipWithError("append failed");
      break;
    }
  }
  state.SetBytesProcessed(state.iterations() * kAppendsPerRound *
                          int64_t(SixteenKiBBatch().size()));
  // Close waits for the log to go idle (a sealing sync may still be in flight).
  OnShard(**reactor, [&](reactor::Shard& shard, absl::AnyInvocable<void()> finish) {
    struct Closer {
      static void Try(reactor::Shard& shard, Log& log, absl::AnyInvocable<void()> finish) {
        if (!log.idle()) {
          shard.Defer([&shard, &log, finish = std::move(finish)]() mutable {
            Try(shard, log, std::move(finish));
          });
          return;
        }
        (void)log.Close();
        finish();
      }
    };
    Closer::Try(shard, *log, std::move(finish));
  });
  OnShard(**reactor, [&](reactor::Shard&, absl::AnyInvocable<void()> finish) {
    appender.reset();
    log.reset();
    finish();
  });
  (*reactor)->RequestStop();
  (*reactor)->Join();
}

void BM_UringAppendNoSync(benchmark::State& state) { UringAppend(state, /*durable=*/false); }
BENCHMARK(BM_UringAppendNoSync)->Arg(1)->Arg(8)->Arg(64)->UseRealTime();

void BM_UringAppendGroupCommit(benchmark::State& state) { UringAppend(state, /*durable=*/true); }
BENCHMARK(BM_UringAppendGroupCommit)->Arg(8)->Arg(64)->UseRealTime()->MinTime(2.0);

// Read-by-offset lookups: a log of state.range(0) small batches (one 100-byte record each), then
// Read(random offset, 1 byte) — index lookup plus the bounded header scan — timed one by one.
void BM_ReadLookup(benchmark::State& state) {
  const int64_t batches_total = state.range(0);
  PosixFileSystem fs;
  LogConfig config = BenchConfig();
  config.sync_before_ack = false;
  config.retention_bytes = -1;
  auto log = Log::Open(fs, FreshLogDir("lookup"), config);
  if (!log.ok()) return state.SkipWithError(log.status().ToString().c_str());
  std::vector<uint8_t> batch = MakeBatch(1, 100);
  for (int64_t i = 0; i < batches_total; ++i) {
    bool ok = false;
    (*log)->Append(absl::MakeSpan(batch), AppendOptions{.durable = false},
                   [&](absl::StatusOr<AppendResult> r) { ok = r.ok(); });
    if (!ok) return state.SkipWithError("append failed");
  }
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<int64_t> pick(0, batches_total - 1);
  // Each lookup is timed on its own, for the median and the tail, besides the mean.
  std::vector<int64_t> lookup_ns;
  lookup_ns.reserve(1 << 20);
  for (auto _ : state) {
    int64_t offset = pick(rng);
    int64_t first = -1;
    auto start = std::chrono::steady_clock::now();
    (*log)->Read(offset, 1, INT64_MAX, [&](absl::StatusOr<ReadResult> r) {
      if (r.ok()) first = r->first_offset;
    });
    auto elapsed = std::chrono::steady_clock::now() - start;
    if (lookup_ns.size() < lookup_ns.capacity()) {
      lookup_ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count());
    }
    if (first != offset) {
      state.SkipWithError("lookup returned the wrong batch");
      break;
    }
  }
  if (!lookup_ns.empty()) {
    std::sort(lookup_ns.begin(), lookup_ns.end());
    state.counters["p50_ns"] = double(lookup_ns[lookup_ns.size() / 2]);
    state.counters["p99_ns"] = double(lookup_ns[lookup_ns.size() * 99 / 100]);
  }
  state.counters["segments"] = double((*log)->segment_count());
  (void)(*log)->Close();
}
BENCHMARK(BM_ReadLookup)->Arg(10'000)->Arg(100'000)->Arg(1'000'000)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace ringbroker::storage

BENCHMARK_MAIN();
