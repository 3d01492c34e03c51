// Per-topic settings of a partition log, with the Kafka topic config each one stands for.
#pragma once

#include <cstdint>
#include <limits>

namespace ringbroker::storage {

inline constexpr int64_t kNoLimit = std::numeric_limits<int64_t>::max();

struct LogConfig {
  // segment.bytes: the active segment rolls before an append would take it past this size.
  int64_t segment_bytes = int64_t{1} << 30;
  // segment.ms: the active segment rolls when an append carries a timestamp this much newer than
  // its first batch's, or (Maintain) when it has existed this long.
  int64_t segment_ms = int64_t{7} * 24 * 3600 * 1000;
  // segment.index.bytes: bytes each index may hold; a full index rolls the segment.
  int64_t segment_index_bytes = int64_t{10} << 20;
  // index.interval.bytes: an offset index entry every this many bytes of batches.
  int32_t index_interval_bytes = 4096;
  // max.message.bytes: the largest batch an append accepts.
  int32_t max_message_bytes = 1048588;

  // Durability. When sync_before_ack is true (our default), an append that asks for durability
  // (acks=all) completes only after an fdatasync that covers it; every append waiting at the moment
  // a sync starts shares it (group commit). When false, appends complete when written and the log
  // is synced only by flush.messages / flush.ms, as in Kafka.
  bool sync_before_ack = true;
  // flush.messages: sync after this many records appended since the last sync.
  int64_t flush_messages = kNoLimit;
  // flush.ms: sync when the oldest unsynced append is older than this (checked by Maintain()).
  int64_t flush_ms = kNoLimit;

  // retention.ms: closed segments whose newest batch is older than this are deleted; -1 keeps all.
  int64_t retention_ms = int64_t{7} * 24 * 3600 * 1000;
  // retention.bytes: oldest closed segments are deleted while the log is larger; -1 keeps all.
  int64_t retention_bytes = -1;
  // cleanup.policy: "delete" and/or "compact".
  bool cleanup_delete = true;
  bool cleanup_compact = false;
  // delete.retention.ms: how long compaction keeps a tombstone (a record with a null value).
  int64_t delete_retention_ms = int64_t{24} * 3600 * 1000;

  // Not a Kafka setting: appends in flight (submitted, not yet completed) before Append refuses
  // more with Unavailable, so the in-flight queue has a bound.
  int32_t appends_in_flight_max = 4096;

  // Not Kafka settings: how a rolled segment reaches the disk. Kafka flushes it with one fsync, which
  // puts up to a whole segment of dirty pages in the disk's queue at once, and every acks=all sync
  // of the new active segment then waits behind them. Here the seal first writes it back in steps
  // of this many bytes, pausing between steps, and then syncs it; while a later segment is waiting
  // to be sealed too (the log rolls faster than that pace) it does not pause. 0 bytes: one sync.
  int64_t seal_writeback_step_bytes = int64_t{8} << 20;
  int32_t seal_writeback_pause_ms = 20;

  // Not a Kafka setting: the active segment's disk blocks are reserved ahead of its writes
  // (File::Allocate), as much again as the segment holds, 1 MiB at least and this many bytes at
  // most, never past segment_bytes. With ext4's delayed allocation the blocks are otherwise found by
  // writeback, which holds the inode's block-map lock meanwhile, and a write extending the file
  // waits for it on the shard thread: on the bench VM, 64 partitions at 240,000 msgs/s stalled
  // every partition of the shard for 0.4-1 s. Redpanda reserves ahead in steps of 32 MiB too
  // (segment_fallocation_step). 0: no reservation.
  int64_t preallocate_step_bytes = int64_t{32} << 20;
};

}  // namespace ringbroker::storage
