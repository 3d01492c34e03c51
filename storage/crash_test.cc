// Crash test on a real directory with the POSIX files: a child process appends with group-committed
// fdatasync and reports each acknowledged batch through a pipe; the parent kills it with SIGKILL at
// a random moment, reopens the log and checks that every acknowledged batch is there, intact, and
// that the log holds nothing but whole valid batches.
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include "gtest/gtest.h"
#include "storage/io/posix_file.h"
#include "storage/log.h"
#include "storage/test_util.h"

namespace ringbroker::storage {
namespace {

struct Acked {
  int64_t base_offset;
  int64_t last_offset;
  uint32_t crc;
};

LogConfig CrashConfig() {
  LogConfig config;
  config.segment_bytes = 64 * 1024;  // several rolls per run
  config.index_interval_bytes = 1024;
  return config;
}

[[noreturn]] void ChildAppendForever(const std::string& dir, int out_fd, uint32_t seed) {
  PosixFileSystem fs;
  auto log = Log::Open(fs, dir, CrashConfig());
  if (!log.ok()) _exit(2);
  std::mt19937 rng(seed);
  std::vector<uint8_t> batch;
  for (uint64_t i = 0;; ++i) {
    int records = 1 + int(rng() % 8);
    size_t value = rng() % 2000;
    batch = testing::MakeSimpleBatch(records, value, 1'000'000 + int64_t(i), char('a' + i % 26));
    bool ok = false;
    (*log)->Append(absl::MakeSpan(batch), AppendOptions{.durable = true},
                   [&](absl::StatusOr<AppendResult> r) {
                     if (!r.ok()) _exit(3);
                     auto h = protocol::ParseBatchHeader(batch);
                     Acked acked{r->base_offset, r->last_offset, h->crc};
                     if (write(out_fd, &acked, sizeof acked) != sizeof acked) _exit(4);
                     ok = true;
                   });
    if (!ok) _exit(5);  // POSIX files complete inline
  }
}

std::vector<Acked> ReadAcks(int fd) {
  std::vector<Acked> acks;
  std::vector<uint8_t> bytes;
  uint8_t buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    bytes.insert(bytes.end(), buf, buf + n);
  }
  for (size_t at = 0; at + sizeof(Acked) <= bytes.size(); at += sizeof(Acked)) {
    Acked a;
    memcpy(&a, bytes.data() + at, sizeof a);
    acks.push_back(a);
  }
  return acks;
}

TEST(CrashTest, AcknowledgedBatchesSurviveSigkill) {
  char tmpl[] = "/tmp/rb_crash_test_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = std::string(tmpl) + "/topic-0";
  std::mt19937 rng(20261125);
  std::vector<Acked> all_acked;  // across rounds, in offset order
  size_t total_acked = 0;
  for (int round = 0; round < 8; ++round) {
    SCOPED_TRACE(round);
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      ChildAppendForever(dir, fds[1], rng());
    }
    close(fds[1]);
    usleep(useconds_t(100'000 + rng() % 500'000));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
    std::vector<Acked> acked = ReadAcks(fds[0]);
    close(fds[0]);
    all_acked.insert(all_acked.end(), acked.begin(), acked.end());

    PosixFileSystem fs;
    auto log = Log::Open(fs, dir, CrashConfig());
    ASSERT_TRUE(log.ok()) << log.status();
    // Walk the whole log: whole valid batches with contiguous offsets, every acked one present.
    size_t next_ack = 0;
    int64_t offset = (*log)->log_start_offset();
    while (offset < (*log)->log_end_offset()) {
      std::optional<absl::StatusOr<ReadResult>> read;
      (*log)->Read(offset, 1 << 20, INT64_MAX, [&](auto r) { read = std::move(r); });
      ASSERT_TRUE(read && read->ok());
      const ReadSlice& slice = (*read)->slice;
      ASSERT_GT(slice.size, 0u);
      std::vector<uint8_t> bytes(slice.size);
      ASSERT_EQ(pread(slice.fd(), bytes.data(), bytes.size(), off_t(slice.position)),
                ssize_t(bytes.size()));
      for (size_t at = 0; at < bytes.size();) {
        auto h = protocol::ParseBatchHeader(absl::MakeConstSpan(bytes).subspan(at));
        ASSERT_TRUE(h.ok());
        ASSERT_LE(at + h->total_size(), bytes.size());
        ASSERT_EQ(h->base_offset, offset);
        uint32_t crc = Crc32c(absl::MakeConstSpan(bytes).subspan(
            at + protocol::batch_layout::kAttributes,
            h->total_size() - protocol::batch_layout::kAttributes));
        ASSERT_EQ(crc, h->crc) << "batch " << offset << " damaged";
        if (next_ack < all_acked.size() && all_acked[next_ack].base_offset == h->base_offset) {
          ASSERT_EQ(all_acked[next_ack].last_offset, h->last_offset());
          ASSERT_EQ(all_acked[next_ack].crc, h->crc);
          ++next_ack;
        }
        offset = h->last_offset() + 1;
        at += h->total_size();
      }
    }
    ASSERT_EQ(next_ack, all_acked.size()) << "acknowledged batch missing after the crash; log ends at "
                                          << (*log)->log_end_offset();
    // Batches written but not acknowledged may survive; the next round's acks continue after them,
    // and every round checks the acknowledgements of all earlier rounds again.
    total_acked += acked.size();
    if (round % 2 == 0) {
      ASSERT_TRUE((*log)->Close().ok());
    }
  }
  // Enough appends happened for the test to mean something (each waits for an fdatasync).
  EXPECT_GT(total_acked, 50u);
  std::filesystem::remove_all(tmpl);
}

}  // namespace
}  // namespace ringbroker::storage
