#include "broker/server/log_dir_remover.h"

#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace ringbroker::server {
namespace {

namespace fs = std::filesystem;

class LogDirRemoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/log_dir_remover_testXXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    root_ = dir;
  }
  void TearDown() override { fs::remove_all(root_); }

  std::string MakeLogDir(const std::string& name) {
    const fs::path dir = fs::path(root_) / name;
    fs::create_directories(dir);
    for (const char* file : {"00000000000000000000.log", "00000000000000000000.index", "topic-id"}) {
      std::ofstream(dir / file) << std::string(100000, 'x');
    }
    return dir.string();
  }

  std::vector<std::string> Names() {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(root_)) names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

  // The background thread's work: true once `root_` holds exactly `names`.
  bool EventuallyHolds(const std::vector<std::string>& names) {
    for (int i = 0; i < 1000; ++i) {
      if (Names() == names) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  std::string root_;
};

TEST_F(LogDirRemoverTest, TheDirectoryIsGoneAtOnceAndItsRenamedCopySoonAfter) {
  const std::string doomed = MakeLogDir("orders-3");
  MakeLogDir("orders-4");
  RemoveLogDirInBackground(doomed);
  EXPECT_FALSE(fs::exists(doomed)) << "a topic of that name may be created again at once";
  EXPECT_TRUE(EventuallyHolds({"orders-4"}));
}

TEST_F(LogDirRemoverTest, ATopicNameAsLongAsKafkaAllowsIsRenamedToo) {
  const std::string doomed = MakeLogDir(std::string(249, 't') + "-0");
  RemoveLogDirInBackground(doomed);
  EXPECT_FALSE(fs::exists(doomed));
  EXPECT_TRUE(EventuallyHolds({}));
}

TEST_F(LogDirRemoverTest, AMissingDirectoryIsNothingToRemove) {
  RemoveLogDirInBackground(root_ + "/never-0");
  EXPECT_TRUE(Names().empty());
}

TEST_F(LogDirRemoverTest, LeftoversOfAnEarlierProcessAreRemovedAtStart) {
  MakeLogDir("kept-0");
  const std::string leftover = MakeLogDir("kept-1");
  // What a rename by an earlier process looks like.
  RemoveLogDirInBackground(MakeLogDir("gone-0"));
  fs::rename(leftover, root_ + "/~removing-1700000000000000000-0");
  EXPECT_TRUE(IsLogDirBeingRemoved("~removing-1700000000000000000-0"));
  EXPECT_FALSE(IsLogDirBeingRemoved("kept-1"));
  RemoveLeftoverLogDirs(root_);
  EXPECT_TRUE(EventuallyHolds({"kept-0"}));
}

}  // namespace
}  // namespace ringbroker::server
