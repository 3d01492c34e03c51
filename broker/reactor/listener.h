// Listener: one shard's accept loop on its SO_REUSEPORT socket (internal to the reactor).
//
// Uses one multishot accept request for all connections when the kernel allows it, else re-arms a
// single-shot accept after each connection. Closed when the shard stops.
#pragma once

#include <sys/socket.h>

#include <cstdint>

#include "broker/reactor/completion.h"
#include "broker/reactor/connection.h"

namespace ringbroker::reactor {

class Shard;

class Listener final : public Completion {
 public:
  // Takes ownership of the listening socket `fd`.
  Listener(Shard* shard, int fd, ConnectionFactory factory);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  void Start();
  // Stops accepting; the shard forgets the listener once its accept request has ended.
  void Stop();

  void OnComplete(int32_t result, uint32_t flags) override;

 private:
  void Arm();

  Shard* const shard_;
  int fd_;
  ConnectionFactory factory_;
  bool armed_ = false;
  bool stopped_ = false;
  bool saw_connection_ = false;  // a multishot -EINVAL after this is not "unsupported"
};

}  // namespace ringbroker::reactor
