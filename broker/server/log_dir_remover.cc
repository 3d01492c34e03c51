#include "broker/server/log_dir_remover.h"

#include <atomic>
#include <filesystem>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace ringbroker::server {
namespace {

constexpr char kRemovingMarker[] = "~removing-";

void RemoveOnThreadOfItsOwn(std::vector<std::filesystem::path> paths) {
  // Detached: nothing waits for it. A process that exits first leaves the renamed directories,
  // and the next start removes them (RemoveLeftoverLogDirs).
  std::thread([paths = std::move(paths)] {
    for (const std::filesystem::path& path : paths) {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  }).detach();
}

}  // namespace

void RemoveLogDirInBackground(const std::string& dir) {
  static std::atomic<uint64_t> sequence{0};
  // The time keeps names of this process apart from leftovers of an earlier one.
  const std::string renamed = absl::StrCat(dir, kRemovingMarker, absl::ToUnixNanos(absl::Now()), "-",
                                           sequence.fetch_add(1, std::memory_order_relaxed));
  std::error_code ec;
  std::filesystem::rename(dir, renamed, ec);
  if (ec) {
    std::filesystem::remove_all(dir, ec);  // a missing directory is fine: nothing to remove
    return;
  }
  RemoveOnThreadOfItsOwn({renamed});
}

bool IsLogDirBeingRemoved(std::string_view name) { return name.find(kRemovingMarker) != std::string_view::npos; }

void RemoveLeftoverLogDirs(const std::string& data_dir) {
  std::vector<std::filesystem::path> leftovers;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(data_dir, ec)) {
    if (IsLogDirBeingRemoved(entry.path().filename().string())) leftovers.push_back(entry.path());
  }
  if (!leftovers.empty()) RemoveOnThreadOfItsOwn(std::move(leftovers));
}

}  // namespace ringbroker::server
