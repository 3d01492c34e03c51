// A partition's identity, and which shard owns it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/hash/hash.h"

namespace ringbroker::server {

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;

  bool operator==(const TopicPartition&) const = default;
  template <typename H>
  friend H AbslHashValue(H h, const TopicPartition& tp) {
    return H::combine(std::move(h), tp.topic, tp.partition);
  }
};

// The shard that owns a partition's log. Stable across restarts for a fixed shard count (FNV-1a
// over the name, not absl::Hash, whose seed changes per process).
inline uint32_t OwnerShard(std::string_view topic, int32_t partition, uint32_t shard_count) {
  uint64_t h = 1469598103934665603ULL;
  for (char c : topic) {
    h ^= static_cast<uint8_t>(c);
    h *= 1099511628211ULL;
  }
  h ^= static_cast<uint32_t>(partition);
  h *= 1099511628211ULL;
  return static_cast<uint32_t>(h % shard_count);
}

}  // namespace ringbroker::server
