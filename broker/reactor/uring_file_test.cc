#include "broker/reactor/uring_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "broker/reactor/reactor.h"
#include "gtest/gtest.h"

namespace ringbroker::reactor {
namespace {

class UringFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/uring_file_testXXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    ReactorOptions options;
    options.smp = 1;
    options.recv_slot_count = 16;
    options.recv_slot_bytes = 4096;
    auto reactor = Reactor::Start(options);
    ASSERT_TRUE(reactor.ok()) << reactor.status();
    reactor_ = std::move(*reactor);
  }
  void TearDown() override {
    reactor_.reset();
    std::string command = "rm -rf " + dir_;
    ASSERT_EQ(system(command.c_str()), 0);
  }

  // Runs `fn` on the shard; `fn` calls `finish` (on the shard, from any later callback) when done.
  void OnShard(std::function<void(Shard&, std::function<void()> finish)> fn) {
    absl::Notification done;
    ASSERT_TRUE(reactor_->Post(0, [&](Shard& shard) { fn(shard, [&] { done.Notify(); }); }).ok());
    ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  }

  std::string dir_;
  std::unique_ptr<Reactor> reactor_;
  UringFileSystem fs_;
};

std::string RandomBytes(size_t size, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out(size, '\0');
  for (char& c : out) c = static_cast<char>(rng());
  return out;
}

TEST_F(UringFileTest, WriteReadDatasyncTruncateThroughTheRing) {
  auto file = fs_.Open(dir_ + "/a", storage::OpenMode::kCreateExclusive);
  ASSERT_TRUE(file.ok()) << file.status();
  storage::File* f = file->get();

  // More iovecs than one writev takes (IOV_MAX), of uneven sizes, some empty.
  const std::string data = RandomBytes(3 << 20, 1);
  std::vector<iovec> iov;
  size_t offset = 0;
  for (int i = 0; offset < data.size(); ++i) {
    size_t n = std::min<size_t>(data.size() - offset, (i % 7 == 0) ? 0 : 1 + (i * 37) % 3000);
    iov.push_back(iovec{const_cast<char*>(data.data()) + offset, n});
    offset += n;
  }
  ASSERT_GT(iov.size(), 1024u);
  std::vector<uint8_t> back(data.size() + 100);
  bool inline_callback = false;
  std::string events;
  OnShard([&](Shard& shard, std::function<void()> finish) {
    bool returned = false;
    f->Write(100, iov, [&, finish](absl::StatusOr<size_t> written) {
      inline_callback = !returned;
      EXPECT_EQ(Shard::Current(), &shard);
      ASSERT_TRUE(written.ok()) << written.status();
      EXPECT_EQ(*written, data.size());
      EXPECT_EQ(f->size(), data.size() + 100);
      events += "w";
      f->Datasync([&, finish](absl::Status synced) {
        ASSERT_TRUE(synced.ok()) << synced;
        events += "s";
        // Asks for more than the file holds: a short read only at end of file.
        f->Read(100, absl::MakeSpan(back), [&, finish](absl::StatusOr<size_t> got) {
          ASSERT_TRUE(got.ok()) << got.status();
          EXPECT_EQ(*got, data.size());
          events += "r";
          f->Truncate(1000, [&, finish](absl::Status truncated) {
            ASSERT_TRUE(truncated.ok()) << truncated;
            EXPECT_EQ(f->size(), 1000u);
            events += "t";
            finish();
          });
        });
      });
    });
    returned = true;
  });
  EXPECT_FALSE(inline_callback) << "ring completions run from the loop, not inside the call";
  EXPECT_EQ(events, "wsrt");
  EXPECT_EQ(std::string(reinterpret_cast<char*>(back.data()), data.size()), data);

  // The blocking view agrees: the file is 1000 bytes, zeros then the data's prefix.
  std::vector<uint8_t> head(2000);
  absl::StatusOr<size_t> got = f->BlockingRead(0, absl::MakeSpan(head));
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(*got, 1000u);
  EXPECT_EQ(std::string(100, '\0'), std::string(reinterpret_cast<char*>(head.data()), 100));
  EXPECT_EQ(data.substr(0, 900), std::string(reinterpret_cast<char*>(head.data()) + 100, 900));
}

TEST_F(UringFileTest, ManyConcurrentWritesToDisjointRanges) {
  auto file = fs_.Open(dir_ + "/b", storage::OpenMode::kCreate);
  ASSERT_TRUE(file.ok());
  storage::File* f = file->get();
  constexpr int kWrites = 200;
  constexpr size_t kBlock = 4096;
  const std::string data = RandomBytes(kWrites * kBlock, 2);
  std::vector<iovec> iovs(kWrites);
  OnShard([&](Shard&, std::function<void()> finish) {
    auto remaining = std::make_shared<int>(kWrites);
    for (int i = 0; i < kWrites; ++i) {
      iovs[i] = iovec{const_cast<char*>(data.data()) + i * kBlock, kBlock};
      f->Write(i * kBlock, absl::MakeConstSpan(&iovs[i], 1),
               [remaining, finish](absl::StatusOr<size_t> written) {
                 EXPECT_TRUE(written.ok());
                 if (--*remaining == 0) finish();
               });
    }
  });
  EXPECT_EQ(f->size(), data.size());
  std::string back(data.size(), '\0');
  absl::StatusOr<size_t> got =
      f->BlockingRead(0, absl::MakeSpan(reinterpret_cast<uint8_t*>(back.data()), back.size()));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(back, data);
}

TEST_F(UringFileTest, SmallWritesCompleteInlineUnlessAWriteIsInFlight) {
  auto file = fs_.Open(dir_ + "/c", storage::OpenMode::kCreate);
  ASSERT_TRUE(file.ok());
  storage::File* f = file->get();
  const std::string big = RandomBytes(2 << 20, 4);
  const std::string small = RandomBytes(4096, 5);
  iovec big_iov{const_cast<char*>(big.data()), big.size()};
  iovec small_iov{const_cast<char*>(small.data()), small.size()};
  bool small_alone_inline = false;
  bool small_behind_big_inline = true;
  std::string order;
  // Outside the shard's lambda: the last write's callback runs after that lambda has returned.
  bool returned = false;
  OnShard([&](Shard&, std::function<void()> finish) {
    // Alone, a small write is a pwritev: its callback runs before the call returns.
    f->Write(0, absl::MakeConstSpan(&small_iov, 1), [&](absl::StatusOr<size_t> n) {
      EXPECT_TRUE(n.ok());
      small_alone_inline = !returned;
    });
    returned = true;
    // Behind a large write still in the ring, it goes through the ring too.
    f->Write(small.size(), absl::MakeConstSpan(&big_iov, 1), [&, finish](absl::StatusOr<size_t> n) {
      EXPECT_TRUE(n.ok());
      order += "b";
      if (order.size() == 2) finish();
    });
    returned = false;
    f->Write(small.size() + big.size(), absl::MakeConstSpan(&small_iov, 1),
             [&, finish](absl::StatusOr<size_t> n) {
               EXPECT_TRUE(n.ok());
               small_behind_big_inline = !returned;
               order += "s";
               if (order.size() == 2) finish();
             });
    returned = true;
  });
  EXPECT_TRUE(small_alone_inline);
  EXPECT_FALSE(small_behind_big_inline);
  EXPECT_EQ(order.size(), 2u);
  EXPECT_EQ(f->size(), 2 * small.size() + big.size());
  std::string back(f->size(), '\0');
  absl::StatusOr<size_t> got =
      f->BlockingRead(0, absl::MakeSpan(reinterpret_cast<uint8_t*>(back.data()), back.size()));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(back, small + big + small);
}

TEST_F(UringFileTest, ReadErrorIsReported) {
  // A directory opened read-write is refused at open; a descriptor without read permission fails at
  // read time. Use a write-only descriptor to provoke EBADF through the ring.
  std::string path = dir_ + "/wo";
  int fd = open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  UringFile f(fd, path, 0);
  absl::Status error;
  OnShard([&](Shard&, std::function<void()> finish) {
    static uint8_t buffer[16];
    f.Read(0, absl::MakeSpan(buffer), [&, finish](absl::StatusOr<size_t> got) {
      error = got.status();
      finish();
    });
  });
  EXPECT_FALSE(error.ok());
  EXPECT_NE(std::string(error.message()).find(path), std::string::npos) << error;
}

TEST_F(UringFileTest, OffShardCallsCompleteInline) {
  auto file = fs_.Open(dir_ + "/c", storage::OpenMode::kCreate);
  ASSERT_TRUE(file.ok());
  const std::string data = "hello, ring";
  iovec v{const_cast<char*>(data.data()), data.size()};
  bool wrote = false;
  (*file)->Write(0, absl::MakeConstSpan(&v, 1), [&](absl::StatusOr<size_t> n) {
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, data.size());
    wrote = true;
  });
  EXPECT_TRUE(wrote);
  std::string back(data.size(), '\0');
  bool read = false;
  (*file)->Read(0, absl::MakeSpan(reinterpret_cast<uint8_t*>(back.data()), back.size()),
                [&](absl::StatusOr<size_t> n) {
                  ASSERT_TRUE(n.ok());
                  read = true;
                });
  EXPECT_TRUE(read);
  EXPECT_EQ(back, data);
}

TEST_F(UringFileTest, FileSystemOperations) {
  EXPECT_TRUE(absl::IsNotFound(fs_.Open(dir_ + "/missing", storage::OpenMode::kReadWrite).status()));
  ASSERT_TRUE(fs_.Mkdir(dir_ + "/x/y").ok());
  ASSERT_TRUE(fs_.Open(dir_ + "/x/y/f", storage::OpenMode::kCreate).ok());
  EXPECT_TRUE(absl::IsAlreadyExists(
      fs_.Open(dir_ + "/x/y/f", storage::OpenMode::kCreateExclusive).status()));
  ASSERT_TRUE(fs_.Rename(dir_ + "/x/y/f", dir_ + "/x/y/g").ok());
  EXPECT_FALSE(fs_.Exists(dir_ + "/x/y/f"));
  EXPECT_TRUE(fs_.Exists(dir_ + "/x/y/g"));
  auto names = fs_.List(dir_ + "/x/y");
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, std::vector<std::string>{"g"});
  ASSERT_TRUE(fs_.SyncDir(dir_ + "/x/y").ok());
  ASSERT_TRUE(fs_.Remove(dir_ + "/x/y/g").ok());
  EXPECT_FALSE(fs_.Exists(dir_ + "/x/y/g"));
}

TEST_F(UringFileTest, SyncDirAsyncCompletesFromTheLoopOnAShardAndInlineElsewhere) {
  ASSERT_TRUE(fs_.Mkdir(dir_ + "/s").ok());
  absl::Status on_shard = absl::UnknownError("not run");
  absl::Status missing;
  bool returned_first = false;
  bool returned = false;  // outlives the shard lambda, whose callbacks read it
  OnShard([&](Shard&, std::function<void()> finish) {
    fs_.SyncDirAsync(dir_ + "/s", [&, finish](absl::Status s) {
      on_shard = s;
      returned_first = returned;
      fs_.SyncDirAsync(dir_ + "/no-such-dir", [&, finish](absl::Status s2) {
        missing = s2;
        finish();
      });
    });
    returned = true;
  });
  EXPECT_TRUE(on_shard.ok()) << on_shard;
  EXPECT_TRUE(returned_first) << "a shard's directory sync completes from the loop, not inside the call";
  EXPECT_TRUE(absl::IsNotFound(missing)) << missing;

  bool inline_done = false;
  fs_.SyncDirAsync(dir_ + "/s", [&](absl::Status s) {
    EXPECT_TRUE(s.ok()) << s;
    inline_done = true;
  });
  EXPECT_TRUE(inline_done) << "off a shard it is the blocking SyncDir";
}

TEST_F(UringFileTest, WriteBackThroughTheRingAndInlineOffAShard) {
  auto file = fs_.Open(dir_ + "/w", storage::OpenMode::kCreate);
  ASSERT_TRUE(file.ok());
  const std::string data = RandomBytes(4 << 20, 5);
  ASSERT_TRUE((*file)->BlockingWrite(0, absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(data.data()),
                                                            data.size()))
                  .ok());
  absl::Status first = absl::UnknownError("not run");
  absl::Status second = absl::UnknownError("not run");
  bool returned_first = false;
  bool returned = false;
  OnShard([&](Shard&, std::function<void()> finish) {
    (*file)->WriteBack(0, 1 << 20, [&, finish](absl::Status s) {
      first = s;
      returned_first = returned;
      (*file)->WriteBack(1 << 20, 3 << 20, [&, finish](absl::Status s2) {
        second = s2;
        finish();
      });
    });
    returned = true;
  });
  EXPECT_TRUE(first.ok()) << first;
  EXPECT_TRUE(second.ok()) << second;
  EXPECT_TRUE(returned_first) << "a shard's write-back completes from the loop";
  // Nothing written back is changed by it.
  std::string back(data.size(), '\0');
  auto n = (*file)->BlockingRead(0, absl::MakeSpan(reinterpret_cast<uint8_t*>(back.data()), back.size()));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(back, data);

  bool inline_done = false;
  (*file)->WriteBack(0, data.size(), [&](absl::Status s) {
    EXPECT_TRUE(s.ok()) << s;
    inline_done = true;
  });
  EXPECT_TRUE(inline_done) << "off a shard it is the blocking sync_file_range";
}

TEST_F(UringFileTest, AllocateReservesBlocksWithoutTheSizeAndKeepsSmallWritesOffTheShardMeanwhile) {
  const std::string path = dir_ + "/p";
  auto file = fs_.Open(path, storage::OpenMode::kCreate);
  ASSERT_TRUE(file.ok());
  storage::File* f = file->get();
  const std::string head = RandomBytes(4096, 6);
  ASSERT_TRUE(f->BlockingWrite(0, absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(head.data()),
                                                      head.size()))
                  .ok());
  const std::string small = RandomBytes(4096, 7);
  iovec small_iov{const_cast<char*>(small.data()), small.size()};
  absl::Status allocated = absl::UnknownError("not run");
  bool allocate_inline = true;
  bool write_inline = true;
  int done_count = 0;
  bool returned = false;
  OnShard([&](Shard&, std::function<void()> finish) {
    f->Allocate(head.size(), 8 << 20, [&, finish](absl::Status s) {
      allocated = s;
      allocate_inline = !returned;
      if (++done_count == 2) finish();
    });
    // The worker holds the inode while it allocates: this write must not wait for it here.
    f->Write(head.size(), absl::MakeConstSpan(&small_iov, 1), [&, finish](absl::StatusOr<size_t> n) {
      EXPECT_TRUE(n.ok()) << n.status();
      write_inline = !returned;
      if (++done_count == 2) finish();
    });
    returned = true;
  });
  if (absl::IsUnimplemented(allocated)) GTEST_SKIP() << "this filesystem has no fallocate: " << allocated;
  ASSERT_TRUE(allocated.ok()) << allocated;
  EXPECT_FALSE(allocate_inline) << "a shard's allocation completes from the loop";
  EXPECT_FALSE(write_inline) << "a small write behind an allocation goes through the ring";
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(uint64_t(st.st_size), head.size() + small.size()) << "the size is the writes' alone";
  EXPECT_GE(uint64_t(st.st_blocks) * 512, head.size() + (8u << 20)) << "the blocks are reserved";
  EXPECT_EQ(f->size(), head.size() + small.size());

  // Off a shard it is the blocking fallocate.
  bool inline_done = false;
  f->Allocate(0, 1 << 20, [&](absl::Status s) {
    EXPECT_TRUE(s.ok()) << s;
    inline_done = true;
  });
  EXPECT_TRUE(inline_done);
}

TEST_F(UringFileTest, PauseAsyncWaitsInTheLoopWhileTheShardServesOthers) {
  absl::Time paused_at;
  absl::Time resumed_at;
  bool deferred_ran_during_pause = false;
  bool resumed = false;
  OnShard([&](Shard& shard, std::function<void()> finish) {
    paused_at = absl::Now();
    fs_.PauseAsync(30, [&, finish] {
      resumed_at = absl::Now();
      resumed = true;
      finish();
    });
    // The shard is not blocked: other work runs while the pause is pending.
    shard.Defer([&] { deferred_ran_during_pause = !resumed; });
  });
  EXPECT_TRUE(deferred_ran_during_pause);
  EXPECT_GE(resumed_at - paused_at, absl::Milliseconds(30)) << "a ring timeout does not fire early";

  bool inline_done = false;
  fs_.PauseAsync(1000, [&] { inline_done = true; });
  EXPECT_TRUE(inline_done) << "off a shard nothing is served, so there is no wait";
}

TEST_F(UringFileTest, APauseInFlightHoldsTheStopAndPausesWhileStoppingDoNotWait) {
  std::atomic<int> resumed{0};
  absl::Notification submitted;
  ASSERT_TRUE(reactor_
                  ->Post(0,
                         [&](Shard& shard) {
                           fs_.PauseAsync(50, [&] { ++resumed; });
                           // Issued while the shard stops: must not hold it up for a minute.
                           shard.AtStop([&] { fs_.PauseAsync(60'000, [&] { ++resumed; }); });
                           submitted.Notify();
                         })
                  .ok());
  submitted.WaitForNotification();
  const absl::Time start = absl::Now();
  reactor_->RequestStop();
  reactor_->Join();
  EXPECT_EQ(resumed.load(), 2);
  EXPECT_LT(absl::Now() - start, absl::Seconds(30));
}

TEST_F(UringFileTest, StopWaitsForFileOperationsInFlight) {
  auto file = fs_.Open(dir_ + "/d", storage::OpenMode::kCreate);
  ASSERT_TRUE(file.ok());
  const std::string data = RandomBytes(1 << 20, 4);
  iovec v{const_cast<char*>(data.data()), data.size()};
  std::atomic<bool> completed{false};
  absl::Notification submitted;
  ASSERT_TRUE(reactor_
                  ->Post(0,
                         [&](Shard&) {
                           (*file)->Write(0, absl::MakeConstSpan(&v, 1),
                                          [&](absl::StatusOr<size_t> n) {
                                            EXPECT_TRUE(n.ok());
                                            completed = true;
                                          });
                           submitted.Notify();
                         })
                  .ok());
  submitted.WaitForNotification();
  reactor_->RequestStop();
  reactor_->Join();
  EXPECT_TRUE(completed.load());
}

}  // namespace
}  // namespace ringbroker::reactor
