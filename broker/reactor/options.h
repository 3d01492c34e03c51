// ReactorOptions: sizes and limits of the reactor, one place for every bound it keeps.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ringbroker::reactor {

// Kernel features the reactor uses when the kernel has them. Each may be switched off through
// ReactorOptions::disabled_features to exercise the fallback path (tests do this).
enum Feature : uint32_t {
  kFeatureMsgRing = 1u << 0,          // IORING_OP_MSG_RING wakeups (else: eventfd)
  kFeatureBufRing = 1u << 1,          // provided-buffer ring receives (else: heap buffer per recv)
  kFeatureMultishotAccept = 1u << 2,  // one accept SQE for many connections (else: re-arm)
  kFeatureMultishotRecv = 1u << 3,    // one recv SQE for many chunks (else: re-arm)
  kFeatureSplice = 1u << 4,           // file -> pipe -> socket sends (else: read, then sendmsg)
  kFeatureDeferTaskrun = 1u << 5,     // IORING_SETUP_DEFER_TASKRUN | SINGLE_ISSUER
  kFeatureDirectSend = 1u << 6,       // cached file ranges sent by sendfile() on the shard (else: splice)
};

struct ReactorOptions {
  // Number of shards (threads, rings). 0: one per CPU this process may run on (sched_getaffinity).
  uint32_t smp = 0;
  // Pin shard i to the i-th allowed CPU.
  bool pin_threads = false;
  // Submission queue entries per ring (the completion queue gets 4x as many).
  uint32_t ring_entries = 256;
  // Provided receive buffers per shard: count (power of two) x bytes each.
  uint32_t recv_slot_count = 256;
  uint32_t recv_slot_bytes = 16 * 1024;
  // Per connection: once more than this many bytes are queued but unsent, reading pauses until the
  // backlog falls to half of it.
  size_t send_bytes_max = 4 * 1024 * 1024;
  // Per shard: accepted sockets beyond this are closed at once.
  uint32_t connections_max = 16384;
  // Per ordered shard pair: requests in flight (sent, reply not yet processed). The pair's queue
  // holds twice this, so replies always fit.
  uint32_t cross_shard_inflight_max = 1024;
  // Per shard: submissions waiting for in-flight budget, over all targets; beyond it SubmitTo fails.
  uint32_t cross_shard_backlog_max = 65536;
  // Per shard: pending timers.
  size_t timers_max = 1 << 20;
  // Per shard: tasks posted from non-shard threads (Reactor::Post) and not yet run.
  size_t external_tasks_max = 4096;
  // Bit set of Feature values to leave unused even when the kernel has them.
  uint32_t disabled_features = 0;
};

}  // namespace ringbroker::reactor
