#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <cstdio>
#include <chrono>
#include <thread>
#include <fstream>
#include <string>

#include "gtest/gtest.h"
#include "storage/io/file.h"
#include "storage/io/mapped_region.h"
#include "storage/io/memory_file.h"
#include "storage/io/posix_file.h"

namespace ringbroker::storage {
namespace {

// Runs the same contract tests against the POSIX implementation (in a fresh temp dir) and the fake.
class FileContractTest : public testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (GetParam()) {
      char tmpl[] = "/tmp/rb_file_test_XXXXXX";
      ASSERT_NE(mkdtemp(tmpl), nullptr);
      dir_ = tmpl;
      fs_ = std::make_unique<PosixFileSystem>();
    } else {
      dir_ = "/mem";
      fs_ = std::make_unique<MemoryFileSystem>();
    }
  }
  void TearDown() override {
    if (GetParam()) std::filesystem::remove_all(dir_);
  }
  std::string Path(std::string_view name) { return dir_ + "/" + std::string(name); }

  std::string dir_;
  std::unique_ptr<FileSystem> fs_;
};

std::string ReadAll(File& f) {
  std::string out(f.size(), '\0');
  auto n = f.BlockingRead(0, absl::MakeSpan(reinterpret_cast<uint8_t*>(out.data()), out.size()));
  EXPECT_TRUE(n.ok());
  out.resize(n.ok() ? *n : 0);
  return out;
}

TEST_P(FileContractTest, VectorWriteThenReadBack) {
  auto f = fs_->Open(Path("a"), OpenMode::kCreate);
  ASSERT_TRUE(f.ok()) << f.status();
  std::string one = "hello ", two = "world";
  iovec iov[2] = {{one.data(), one.size()}, {two.data(), two.size()}};
  size_t written = 0;
  (*f)->Write(0, iov, [&](absl::StatusOr<size_t> n) { written = n.value(); });
  EXPECT_EQ(written, 11u);
  EXPECT_EQ((*f)->size(), 11u);
  uint8_t buf[32];
  size_t got = 0;
  (*f)->Read(6, absl::MakeSpan(buf), [&](absl::StatusOr<size_t> n) { got = n.value(); });
  ASSERT_EQ(got, 5u);  // short only because the file ends
  EXPECT_EQ(std::string(reinterpret_cast<char*>(buf), got), "world");
  bool synced = false;
  (*f)->Datasync([&](absl::Status s) { synced = s.ok(); });
  EXPECT_TRUE(synced);
}

TEST_P(FileContractTest, WriteBackChangesNothingAndPauseAsyncCompletes) {
  auto f = fs_->Open(Path("w"), OpenMode::kCreate);
  ASSERT_TRUE(f.ok());
  std::string data(3 << 20, 'w');
  ASSERT_TRUE((*f)->BlockingWrite(0, absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(data.data()),
                                                         data.size()))
                  .ok());
  int written_back = 0;
  for (uint64_t at = 0; at < data.size(); at += 1 << 20) {
    (*f)->WriteBack(at, 1 << 20, [&](absl::Status s) { written_back += s.ok(); });
  }
  EXPECT_EQ(written_back, 3);
  EXPECT_EQ(ReadAll(**f), data);
  bool resumed = false;
  fs_->PauseAsync(5, [&] { resumed = true; });
  EXPECT_TRUE(resumed) << "both complete inline";
}

TEST_P(FileContractTest, AllocateChangesNeitherTheSizeNorTheBytes) {
  auto f = fs_->Open(Path("a"), OpenMode::kCreate);
  ASSERT_TRUE(f.ok());
  std::string data(5000, 'a');
  ASSERT_TRUE((*f)->BlockingWrite(0, absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(data.data()),
                                                         data.size()))
                  .ok());
  absl::Status allocated = absl::UnknownError("not run");
  (*f)->Allocate(4096, 4 << 20, [&](absl::Status s) { allocated = s; });
  if (absl::IsUnimplemented(allocated)) GTEST_SKIP() << "no fallocate here: " << allocated;
  EXPECT_TRUE(allocated.ok()) << allocated;
  EXPECT_EQ((*f)->size(), data.size());
  EXPECT_EQ(ReadAll(**f), data);
  // Writes into the reserved range extend the file as any write does.
  ASSERT_TRUE((*f)->BlockingWrite(data.size(), absl::MakeConstSpan(
                                                   reinterpret_cast<const uint8_t*>(data.data()), 100))
                  .ok());
  EXPECT_EQ((*f)->size(), data.size() + 100);
}

TEST_P(FileContractTest, TruncateShrinksAndReopenSeesSize) {
  {
    auto f = fs_->Open(Path("b"), OpenMode::kCreate);
    ASSERT_TRUE(f.ok());
    std::string data(100, 'x');
    ASSERT_TRUE((*f)->BlockingWrite(0, absl::MakeConstSpan(
                                           reinterpret_cast<const uint8_t*>(data.data()), 100))
                    .ok());
    bool done = false;
    (*f)->Truncate(40, [&](absl::Status s) { done = s.ok(); });
    EXPECT_TRUE(done);
    EXPECT_EQ((*f)->size(), 40u);
  }
  auto f = fs_->Open(Path("b"), OpenMode::kReadWrite);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ((*f)->size(), 40u);
  EXPECT_EQ(ReadAll(**f), std::string(40, 'x'));
}

TEST_P(FileContractTest, DirectoryOperations) {
  EXPECT_FALSE(fs_->Open(Path("missing"), OpenMode::kReadWrite).ok());
  EXPECT_EQ(fs_->Open(Path("missing"), OpenMode::kReadWrite).status().code(),
            absl::StatusCode::kNotFound);
  ASSERT_TRUE(fs_->Open(Path("x"), OpenMode::kCreateExclusive).ok());
  EXPECT_EQ(fs_->Open(Path("x"), OpenMode::kCreateExclusive).status().code(),
            absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(fs_->Rename(Path("x"), Path("y")).ok());
  EXPECT_FALSE(fs_->Exists(Path("x")));
  EXPECT_TRUE(fs_->Exists(Path("y")));
  auto names = fs_->List(dir_);
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, std::vector<std::string>{"y"});
  ASSERT_TRUE(fs_->SyncDir(dir_).ok());
  ASSERT_TRUE(fs_->Remove(Path("y")).ok());
  EXPECT_FALSE(fs_->Exists(Path("y")));
  EXPECT_FALSE(fs_->Remove(Path("y")).ok());
  ASSERT_TRUE(fs_->Mkdir(Path("d/e")).ok());
  ASSERT_TRUE(fs_->Mkdir(Path("d/e")).ok());
}

TEST_P(FileContractTest, LargeVectorWriteCompletesWhole) {
  auto f = fs_->Open(Path("big"), OpenMode::kCreate);
  ASSERT_TRUE(f.ok());
  // More entries than IOV_MAX, so the POSIX implementation must loop.
  std::vector<std::string> parts;
  for (int i = 0; i < 2000; ++i) parts.push_back(std::string(3, char('a' + i % 26)));
  std::vector<iovec> iov;
  for (auto& p : parts) iov.push_back({p.data(), p.size()});
  size_t written = 0;
  (*f)->Write(5, iov, [&](absl::StatusOr<size_t> n) { written = n.value(); });
  EXPECT_EQ(written, 6000u);
  std::string all = ReadAll(**f);
  ASSERT_EQ(all.size(), 6005u);
  EXPECT_EQ(all.substr(5, 3), "aaa");
  EXPECT_EQ(all.substr(5 + 3 * 1999, 3), std::string(3, char('a' + 1999 % 26)));
}

INSTANTIATE_TEST_SUITE_P(Impl, FileContractTest, testing::Bool(),
                         [](const testing::TestParamInfo<bool>& info) {
                           return info.param ? "Posix" : "Memory";
                         });

TEST(MemoryFileTest, CrashDropsUnsyncedBytes) {
  MemoryFileSystem fs;
  auto f = fs.Open("/m/f", OpenMode::kCreate).value();
  std::string a = "synced", b = "lost";
  ASSERT_TRUE(f->BlockingWrite(0, absl::MakeConstSpan(reinterpret_cast<uint8_t*>(a.data()), 6)).ok());
  ASSERT_TRUE(f->BlockingDatasync().ok());
  ASSERT_TRUE(f->BlockingWrite(6, absl::MakeConstSpan(reinterpret_cast<uint8_t*>(b.data()), 4)).ok());
  EXPECT_EQ(fs.Contents("/m/f").value(), "syncedlost");
  fs.Crash();
  EXPECT_EQ(fs.Contents("/m/f").value(), "synced");
  EXPECT_EQ(f->size(), 6u);
}

TEST(MemoryFileTest, FullDiskStoresWhatFitsAndFails) {
  MemoryFileSystem fs;
  fs.set_capacity_bytes(10);
  auto f = fs.Open("/m/f", OpenMode::kCreate).value();
  std::string data(16, 'z');
  absl::Status result;
  iovec v{data.data(), data.size()};
  f->Write(0, absl::MakeConstSpan(&v, 1), [&](absl::StatusOr<size_t> n) { result = n.status(); });
  EXPECT_EQ(result.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(f->size(), 10u);
  // Overwriting inside the file needs no new space.
  EXPECT_TRUE(f->BlockingWrite(0, absl::MakeConstSpan(reinterpret_cast<uint8_t*>(data.data()), 4)).ok());
}

TEST(MemoryFileTest, InjectedFaultsHitOnlyMatchingPathsAndCount) {
  MemoryFileSystem fs;
  fs.InjectFault(MemoryFileSystem::Op::kDatasync, ".log", absl::DataLossError("EIO"), 2);
  auto log = fs.Open("/m/0.log", OpenMode::kCreate).value();
  auto idx = fs.Open("/m/0.index", OpenMode::kCreate).value();
  EXPECT_TRUE(idx->BlockingDatasync().ok());
  EXPECT_EQ(log->BlockingDatasync().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(log->BlockingDatasync().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(log->BlockingDatasync().ok());
}

TEST(MemoryFileTest, DeferredCompletionsRunOnPollInOrder) {
  MemoryFileSystem fs;
  fs.set_deferred(true);
  auto f = fs.Open("/m/f", OpenMode::kCreate).value();
  std::string a = "ab";
  iovec v{a.data(), a.size()};
  std::vector<int> order;
  f->Write(0, absl::MakeConstSpan(&v, 1), [&](absl::StatusOr<size_t>) { order.push_back(1); });
  f->Datasync([&](absl::Status) { order.push_back(2); });
  EXPECT_TRUE(order.empty());
  EXPECT_EQ(f->size(), 0u);  // not written until it completes
  EXPECT_EQ(fs.Poll(), 2u);
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
  EXPECT_EQ(fs.Contents("/m/f").value(), "ab");
  fs.Crash();
  EXPECT_EQ(fs.Contents("/m/f").value(), "ab");
}

TEST(MappedRegionTest, SeesWrittenBytesAndWhatTheFileGainsLater) {
  char tmpl[] = "/tmp/rb_mapped_test_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  PosixFileSystem fs;
  auto file = fs.Open(std::string(tmpl) + "/f", OpenMode::kCreateExclusive);
  ASSERT_TRUE(file.ok());
  std::string first(5000, 'a');
  ASSERT_TRUE((*file)->BlockingWrite(0, absl::MakeConstSpan(
                                            reinterpret_cast<const uint8_t*>(first.data()),
                                            first.size())).ok());
  // Longer than the file: the mapping covers what later writes add.
  auto region = MappedRegion::Map((*file)->fd(), 1 << 20);
  ASSERT_TRUE(region.ok()) << region.status();
  EXPECT_EQ(region->size(), 1u << 20);
  EXPECT_EQ(region->data()[4999], 'a');
  std::string more(5000, 'b');
  ASSERT_TRUE((*file)->BlockingWrite(5000, absl::MakeConstSpan(
                                               reinterpret_cast<const uint8_t*>(more.data()),
                                               more.size())).ok());
  EXPECT_EQ(region->data()[5000], 'b');
  EXPECT_EQ(region->data()[9999], 'b');
  MappedRegion moved = std::move(*region);
  EXPECT_EQ(region->data(), nullptr);
  EXPECT_EQ(moved.data()[0], 'a');
  EXPECT_FALSE(MappedRegion::Map(-1, 4096).ok());

  // Released in the background: the region is empty at once, and the address range leaves
  // /proc/self/maps soon after.
  const auto address = reinterpret_cast<uintptr_t>(moved.data());
  auto mapped = [address] {
    std::ifstream maps("/proc/self/maps");
    for (std::string line; std::getline(maps, line);) {
      uintptr_t begin = 0, end = 0;
      if (std::sscanf(line.c_str(), "%lx-%lx", &begin, &end) == 2 && begin <= address && address < end) return true;
    }
    return false;
  };
  ASSERT_TRUE(mapped());
  MappedRegion::ReleaseInBackground(std::move(moved));
  EXPECT_EQ(moved.data(), nullptr);
  for (int i = 0; i < 500 && mapped(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_FALSE(mapped());
  std::filesystem::remove_all(tmpl);
}

}  // namespace
}  // namespace ringbroker::storage
