// Removing a partition's directory without making its shard wait for the disk.
//
// Unlinking a segment frees its pages in the page cache and its extents on disk: seconds for a
// topic of a few GB, during which a shard thread that did it served nothing (a deleted topic's
// logs stalled every other partition of their shard for 2 s in the benchmark). Kafka renames a
// deleted log's directory and deletes it later, off the request path; so does this.
#pragma once

#include <string>
#include <string_view>

namespace ringbroker::server {

// Renames `dir`, in its parent directory, to a name no partition directory can have ("~removing-"
// and a unique suffix: topic names cannot hold '~') and has the process's remover thread remove it.
// The rename is one metadata call; when it fails, or no thread can be started, the directory is
// removed here and now instead. `dir` no longer exists when this returns.
void RemoveLogDirInBackground(const std::string& dir);

// True for the name (not the path) of a directory RemoveLogDirInBackground renamed.
bool IsLogDirBeingRemoved(std::string_view name);

// Removes, in the background, directories under `data_dir` that a process stopped before it had
// removed them (renamed by RemoveLogDirInBackground). Called once at start-up.
void RemoveLeftoverLogDirs(const std::string& data_dir);

}  // namespace ringbroker::server
