#include "broker/reactor/listener.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "broker/reactor/shard.h"

namespace ringbroker::reactor {

Listener::Listener(Shard* shard, int fd, ConnectionFactory factory)
    : shard_(shard), fd_(fd), factory_(std::move(factory)) {}

Listener::~Listener() {
  if (fd_ >= 0) close(fd_);
}

void Listener::Start() { Arm(); }

void Listener::Arm() {
  if (armed_ || stopped_) return;
  io_uring_sqe* sqe = shard_->GetSqe();
  // Non-blocking sockets: the shard itself sends cached file ranges with sendfile() and splice()
  // (see Connection), which must return EAGAIN on a full socket rather than stall the shard. The
  // ring's own socket operations wait for readiness either way.
  if (shard_->features_.multishot_accept) {
    io_uring_prep_multishot_accept(sqe, fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  } else {
    io_uring_prep_accept(sqe, fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  }
  shard_->Arm(sqe, this);
  armed_ = true;
}

void Listener::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (armed_) {
    shard_->CancelOp(this);  // the final CQE then retires us
  } else {
    shard_->ForgetListener(this);
  }
}

void Listener::OnComplete(int32_t result, uint32_t flags) {
  const bool final = (flags & IORING_CQE_F_MORE) == 0;
  if (final) armed_ = false;
  if (result >= 0) {
    saw_connection_ = true;
    const int fd = result;
    if (stopped_ || shard_->connections_.size() >= shard_->options().connections_max) {
      close(fd);  // over the limit: the client sees a reset rather than an unbounded shard
    } else {
      sockaddr_storage peer;
      std::memset(&peer, 0, sizeof(peer));
      socklen_t peer_length = sizeof(peer);
      (void)getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_length);
      int one = 1;
      (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      std::unique_ptr<Connection> connection(
          new Connection(shard_, fd, shard_->next_connection_id_++, peer));
      Connection* raw = connection.get();
      std::unique_ptr<ConnectionHandler> handler = factory_(*raw);
      if (handler == nullptr) {
        // The factory refused the connection; ~Connection closes the socket.
      } else {
        shard_->Adopt(std::move(connection));
        raw->Start(std::move(handler));
      }
    }
  } else if (result == -EINVAL && shard_->features_.multishot_accept && !saw_connection_) {
    shard_->features_.multishot_accept = false;  // old kernel: single-shot from now on
  }
  // Other errors (ECANCELED when stopping; EMFILE/ENFILE/ECONNABORTED under pressure) end this
  // request; while running we simply re-arm.
  if (!final) return;
  if (stopped_) {
    shard_->ForgetListener(this);
    return;
  }
  if (result == -EMFILE || result == -ENFILE || result == -ENOMEM || result == -ENOBUFS) {
    // Out of descriptors or memory: retry later instead of spinning on the same error.
    absl::StatusOr<TimerId> timer = shard_->Schedule(10, [this] { Arm(); });
    if (timer.ok()) return;
  }
  Arm();
}

}  // namespace ringbroker::reactor
