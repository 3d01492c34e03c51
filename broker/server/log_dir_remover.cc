#include "broker/server/log_dir_remover.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace ringbroker::server {
namespace {

constexpr char kRemovingPrefix[] = "~removing-";

// One thread for the whole process, started on first use, removing directories in turn: a topic
// of a thousand partitions is a thousand directories, and a thread each would be refused by a
// process limit or fight over the disk. Detached: nothing waits for it. A process that exits first
// leaves renamed directories behind, and the next start removes them (RemoveLeftoverLogDirs).
class Remover {
 public:
  // False when no thread could be started; the caller then removes the paths itself.
  bool Enqueue(std::vector<std::filesystem::path> paths) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!started_) {
      try {
        std::thread([this] { Run(); }).detach();
      } catch (const std::system_error&) {
        return false;
      }
      started_ = true;
    }
    for (auto& path : paths) queue_.push_back(std::move(path));
    ready_.notify_one();
    return true;
  }

 private:
  [[noreturn]] void Run() {
    for (;;) {
      std::filesystem::path path;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        ready_.wait(lock, [this] { return !queue_.empty(); });
        path = std::move(queue_.front());
        queue_.pop_front();
      }
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  }

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::filesystem::path> queue_;
  bool started_ = false;
};

// Never destroyed: its thread may still run while the process exits.
Remover& TheRemover() {
  static Remover* remover = new Remover();
  return *remover;
}

void RemoveNowOrInBackground(std::vector<std::filesystem::path> paths) {
  if (TheRemover().Enqueue(paths)) return;
  for (const auto& path : paths) {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
}

}  // namespace

void RemoveLogDirInBackground(const std::string& dir) {
  static std::atomic<uint64_t> sequence{0};
  // Beside `dir`, under a name without the topic's (a long topic name plus a suffix could pass
  // the file system's limit). The time keeps names of this process apart from an earlier one's.
  const std::filesystem::path from(dir);
  const std::filesystem::path renamed =
      from.parent_path() / absl::StrCat(kRemovingPrefix, absl::ToUnixNanos(absl::Now()), "-",
                                        sequence.fetch_add(1, std::memory_order_relaxed));
  std::error_code ec;
  std::filesystem::rename(from, renamed, ec);
  if (ec) {
    std::filesystem::remove_all(from, ec);  // a missing directory is fine: nothing to remove
    return;
  }
  RemoveNowOrInBackground({renamed});
}

bool IsLogDirBeingRemoved(std::string_view name) { return name.starts_with(kRemovingPrefix); }

void RemoveLeftoverLogDirs(const std::string& data_dir) {
  std::vector<std::filesystem::path> leftovers;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(data_dir, ec)) {
    if (IsLogDirBeingRemoved(entry.path().filename().string())) leftovers.push_back(entry.path());
  }
  if (!leftovers.empty()) RemoveNowOrInBackground(std::move(leftovers));
}

}  // namespace ringbroker::server
