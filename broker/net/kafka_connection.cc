#include "broker/net/kafka_connection.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "broker/server/logging.h"
#include "absl/time/clock.h"
#include "broker/handlers/registry.h"
#include "broker/reactor/shard.h"
#include "protocol/messages/api_versions.h"

namespace ringbroker::net {
namespace {

// Kafka reports a member's host as InetAddress.toString() of the peer: "/" and the address.
std::string PeerHost(const sockaddr_storage& peer) {
  char text[INET6_ADDRSTRLEN] = {};
  if (peer.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(peer).sin_addr, text, sizeof(text));
  } else if (peer.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(peer).sin6_addr, text, sizeof(text));
  } else {
    return "";
  }
  return std::string("/") + text;
}

// Requests a connection may have in progress at once. Clients pipeline a handful (the Java client
// defaults to 5 per connection; librdkafka allows up to a million); past this bound the broker
// stops reading from the socket until half of them are answered, so a fast pipeliner is slowed
// down, not disconnected, and the memory a connection holds stays bounded.
constexpr size_t kInFlightRequestsMax = 256;

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

}  // namespace

KafkaConnection::KafkaConnection(server::BrokerContext& broker, reactor::Connection& connection)
    : broker_(broker),
      connection_(connection),
      assembler_(static_cast<int32_t>(broker.config->GetLong("socket.request.max.bytes"))),
      state_(std::make_shared<State>()),
      idle_ms_max_(broker.config->GetLong("connections.max.idle.ms")),
      client_host_(PeerHost(connection.peer_address())) {
  state_->connection = &connection;
  state_->owner = this;
  state_->last_activity_ms = NowMs();
  ArmIdleTimer();
}

KafkaConnection::~KafkaConnection() {
  state_->owner = nullptr;
  if (idle_timer_) connection_.shard().Cancel(*idle_timer_);
}

void KafkaConnection::ArmIdleTimer() {
  if (idle_ms_max_ <= 0) return;
  std::weak_ptr<State> weak = state_;
  const int64_t idle_ms_max = idle_ms_max_;
  KafkaConnection* self = this;
  absl::StatusOr<reactor::TimerId> id = connection_.shard().Schedule(idle_ms_max, [weak, idle_ms_max, self] {
    std::shared_ptr<State> state = weak.lock();
    if (!state || state->connection == nullptr) return;
    self->idle_timer_.reset();
    const int64_t idle_for = NowMs() - state->last_activity_ms;
    if (idle_for >= idle_ms_max && state->in_flight == 0) {
      RB_LOG(INFO) << "closing connection " << state->connection->id() << " idle for " << idle_for << " ms";
      state->connection->Close();
      return;
    }
    self->ArmIdleTimer();
  });
  if (id.ok()) idle_timer_ = *id;
}

void KafkaConnection::OnData(reactor::Connection& connection, reactor::Buffer data) {
  state_->last_activity_ms = NowMs();
  assembler_.Append(std::move(data));
  (void)connection;
  DispatchReady();
}

void KafkaConnection::DispatchReady() {
  while (state_->connection != nullptr) {
    if (state_->in_flight >= kInFlightRequestsMax) {
      state_->reading_held = true;
      connection_.HoldReading();
      return;
    }
    absl::StatusOr<std::optional<reactor::Buffer>> frame = assembler_.Next();
    if (!frame.ok()) {
      RB_LOG(WARNING) << "closing connection " << connection_.id() << ": " << frame.status().message();
      connection_.Abort(frame.status());
      return;
    }
    if (!frame->has_value()) return;
    Dispatch(std::move(**frame));
  }
}

void KafkaConnection::OnClose(reactor::Connection& connection, const absl::Status& reason) {
  if (!reason.ok() && !absl::IsCancelled(reason)) {
    RB_LOG(INFO) << "connection " << connection.id() << " closed: " << reason.message();
  }
  state_->connection = nullptr;
  state_->owner = nullptr;
  state_->ready.clear();
  if (idle_timer_) {
    connection_.shard().Cancel(*idle_timer_);
    idle_timer_.reset();
  }
}

void KafkaConnection::Deliver(const std::shared_ptr<State>& state, uint64_t seq,
                              std::vector<handlers::ResponsePart> parts) {
  state->in_flight--;
  if (state->connection == nullptr) return;
  if (state->reading_held && state->in_flight <= kInFlightRequestsMax / 2) {
    // Resumed from a task of its own: this may run inside a handler's Respond, and dispatching
    // from here would re-enter it (and this loop) with the next request.
    state->reading_held = false;
    (void)state->connection->shard().Schedule(0, [state] {
      if (state->owner == nullptr) return;
      state->owner->DispatchReady();
      if (!state->reading_held && state->connection != nullptr) state->connection->ReleaseReading();
    });
  }
  state->ready.emplace(seq, std::move(parts));
  while (!state->ready.empty() && state->ready.begin()->first == state->next_to_send) {
    for (handlers::ResponsePart& part : state->ready.begin()->second) {
      if (auto* buffer = std::get_if<reactor::Buffer>(&part)) {
        state->connection->Send(std::move(*buffer));
      } else if (std::holds_alternative<handlers::CloseConnection>(part)) {
        RB_LOG(WARNING) << "closing connection " << state->connection->id() << ": malformed request body";
        state->connection->Abort(absl::InvalidArgumentError("malformed request"));
        state->connection = nullptr;
        state->ready.clear();
        return;
      } else {
        state->connection->SendFile(std::move(std::get<reactor::FileRange>(part)));
      }
    }
    state->ready.erase(state->ready.begin());
    state->next_to_send++;
  }
  state->last_activity_ms = NowMs();
}

void KafkaConnection::Dispatch(reactor::Buffer frame) {
  protocol::wire::Reader r(
      absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(frame.data()), frame.size()));
  absl::StatusOr<protocol::RequestHeader> header = protocol::DecodeRequestHeader(r);
  if (!header.ok()) {
    RB_LOG(WARNING) << "closing connection " << connection_.id() << ": bad request header: " << header.status().message();
    connection_.Abort(header.status());
    return;
  }
  const int16_t api_key = header->request_api_key;
  const int16_t version = header->request_api_version;
  const handlers::ApiHandler* handler = handlers::FindHandler(api_key);

  const uint64_t seq = next_seq_++;
  state_->in_flight++;
  std::shared_ptr<State> state = state_;
  handlers::Responder responder([state, seq](std::vector<handlers::ResponsePart> parts) {
    Deliver(state, seq, std::move(parts));
  });

  if (handler == nullptr || version < handler->min_version || version > handler->max_version) {
    if (api_key == protocol::ApiVersionsRequest::kApiKey) {
      // KIP-511: a client newer than us gets the error with a v0 body so it can pick a version.
      protocol::ApiVersionsResponse response;
      response.error_code = protocol::ToWire(protocol::ErrorCode::kUnsupportedVersion);
      for (const handlers::ApiHandler& api : handlers::ServedApis()) {
        auto& entry = response.api_keys.emplace_back();
        entry.api_key = api.api_key;
        entry.min_version = api.min_version;
        entry.max_version = api.max_version;
      }
      protocol::wire::Writer w;
      w.Int32(0);
      w.Int32(header->correlation_id);  // ApiVersions responses always use header v0
      response.Encode(w, 0);
      w.PatchInt32(0, static_cast<int32_t>(w.size() - 4));
      std::vector<handlers::ResponsePart> parts;
      reactor::Buffer out = reactor::Buffer::Allocate(w.size());
      std::memcpy(out.mutable_data(), w.data().data(), w.size());
      parts.emplace_back(std::move(out));
      responder.Send(std::move(parts));
      return;
    }
    RB_LOG(WARNING) << "closing connection " << connection_.id() << ": unsupported API " << api_key << " v" << version;
    responder.None();
    connection_.Abort(absl::InvalidArgumentError("unsupported API or version"));
    return;
  }

  reactor::Shard& shard = connection_.shard();
  auto ctx = std::unique_ptr<handlers::RequestContext>(new handlers::RequestContext{
      .broker = broker_,
      .shard = shard,
      .services = *broker_.shards[shard.id()],
      .header = *header,
      .frame = std::move(frame),
      .body_offset = r.position(),
      .client_host = client_host_,
  });
  handler->handle(std::move(ctx), std::move(responder));
}

}  // namespace ringbroker::net
