// Incremental fetch sessions (KIP-227) for one shard. A client that opens a session (session id 0,
// epoch 0) later sends only the partitions whose fetch position changed, and hears back only the
// partitions with news (records, a changed high watermark or log start offset, or an error).
//
// Bounded: at most kSessionsMax sessions per shard; the least recently used is evicted and its
// client, on its next incremental fetch, gets FETCH_SESSION_ID_NOT_FOUND and starts a new one, as
// Kafka does. Threading: one cache per shard, used on that shard only.
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"

namespace ringbroker::server {

struct FetchSessionPartition {
  int64_t fetch_offset = 0;
  int32_t max_bytes = 0;
  // What the client was last told, to decide whether a partition has news.
  int64_t high_watermark = -1;
  int64_t log_start_offset = -1;
};

struct FetchSession {
  int32_t id = 0;
  int32_t epoch = 0;  // the epoch the next request must carry
  std::map<std::pair<std::string, int32_t>, FetchSessionPartition> partitions;
};

class FetchSessionCache {
 public:
  static constexpr size_t kSessionsMax = 1000;

  explicit FetchSessionCache(uint32_t shard_id) : shard_id_(shard_id) {}

  FetchSession& Create();
  // nullptr when unknown (evicted or never created).
  FetchSession* Find(int32_t id);
  void Remove(int32_t id);
  size_t size() const { return sessions_.size(); }

 private:
  uint32_t shard_id_;
  int32_t next_id_ = 1;
  std::list<FetchSession> lru_;  // most recently used first
  absl::flat_hash_map<int32_t, std::list<FetchSession>::iterator> sessions_;
};

}  // namespace ringbroker::server
