// KafkaConnection: the Kafka protocol on one client connection. Splits the byte stream into
// frames, decodes request headers, dispatches to the API handlers, and sends the responses in
// request order (Kafka clients match responses by order as well as by correlation id), however the
// handlers' completions interleave.
//
// Errors are answered as Kafka does: an oversized or negative frame size, an unknown API key, a
// malformed header or an unsupported version of any API but ApiVersions close the connection;
// ApiVersions at an unsupported version gets UNSUPPORTED_VERSION with a v0 body listing what is
// supported.
//
// Threading: the connection's shard only.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "broker/handlers/handler.h"
#include "broker/net/frame_assembler.h"
#include "broker/reactor/connection.h"

namespace ringbroker::net {

class KafkaConnection final : public reactor::ConnectionHandler {
 public:
  KafkaConnection(server::BrokerContext& broker, reactor::Connection& connection);
  ~KafkaConnection() override;

  void OnData(reactor::Connection& connection, reactor::Buffer data) override;
  void OnClose(reactor::Connection& connection, const absl::Status& reason) override;

 private:
  // Shared with outstanding Responders, which may outlive the connection.
  struct State {
    reactor::Connection* connection = nullptr;  // null once closed
    uint64_t next_to_send = 0;
    std::map<uint64_t, std::vector<handlers::ResponsePart>> ready;
    size_t in_flight = 0;
    int64_t last_activity_ms = 0;
    KafkaConnection* owner = nullptr;  // null once closed
    bool reading_held = false;         // at kInFlightRequestsMax; released at half of it
  };

  // Dispatches the complete frames the assembler holds, while fewer than kInFlightRequestsMax
  // requests are in progress; at the bound it holds reading from the socket.
  void DispatchReady();
  void Dispatch(reactor::Buffer frame);
  void ArmIdleTimer();
  static void Deliver(const std::shared_ptr<State>& state, uint64_t seq, std::vector<handlers::ResponsePart> parts);

  server::BrokerContext& broker_;
  reactor::Connection& connection_;
  FrameAssembler assembler_;
  std::shared_ptr<State> state_;
  uint64_t next_seq_ = 0;
  int64_t idle_ms_max_;
  std::optional<reactor::TimerId> idle_timer_;
  const std::string client_host_;  // "/" + the peer's address, as Kafka names a group member's host
};

}  // namespace ringbroker::net
