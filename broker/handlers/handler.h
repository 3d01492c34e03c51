// What every Kafka API handler sees: the decoded request header, the frame that holds the body,
// the shard and broker services, and a Responder that sends the response in its turn.
//
// A handler decodes its body (views point into `frame`, which the context keeps alive), does its
// work (possibly hopping to other shards), and calls respond exactly once — or Responder::None()
// for a request that gets no response (Produce with acks=0). Handlers run on the connection's
// shard; the Responder and context must be used on that shard only.
#pragma once

#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "broker/reactor/buffer.h"
#include "broker/reactor/connection.h"
#include "broker/reactor/shard.h"
#include "broker/server/broker_context.h"
#include "broker/server/partition_manager.h"
#include "protocol/error_codes.h"
#include "protocol/messages/headers.h"
#include "protocol/wire/request_frame.h"
#include "protocol/wire/reader.h"
#include "protocol/wire/writer.h"

namespace ringbroker::handlers {

using protocol::ErrorCode;
using protocol::ToWire;

// One response, as the pieces the connection sends in order: encoded bytes and file ranges
// (record data spliced from the page cache).
// CloseConnection ends the connection where the response would go: Kafka's answer to a request
// whose body cannot be decoded.
struct CloseConnection {};
using ResponsePart = std::variant<reactor::Buffer, reactor::FileRange, CloseConnection>;

class Responder {
 public:
  using SendFn = absl::AnyInvocable<void(std::vector<ResponsePart>)>;
  Responder() = default;
  explicit Responder(SendFn send) : send_(std::move(send)) {}
  Responder(Responder&&) = default;
  Responder& operator=(Responder&&) = default;
  // A handler that forgets to respond would wedge the connection's response order: the destructor
  // sends "no response" so later responses still go out.
  ~Responder() {
    if (send_) std::move(send_)({});
  }

  void Send(std::vector<ResponsePart> parts) {
    if (send_) std::move(send_)(std::move(parts));
    send_ = nullptr;
  }
  void None() { Send({}); }
  // The request was malformed: close the connection in its turn.
  void Malformed() {
    std::vector<ResponsePart> parts;
    parts.emplace_back(CloseConnection{});
    Send(std::move(parts));
  }

 private:
  SendFn send_;
};

struct RequestContext {
  server::BrokerContext& broker;
  reactor::Shard& shard;
  server::ShardServices& services;
  protocol::RequestHeader header;
  reactor::Buffer frame;      // owns the bytes behind every view in header and body
  size_t body_offset = 0;     // where the body starts in `frame`
  std::string client_host;    // the peer's address as Kafka prints it ("/127.0.0.1")
  // Strings the response points at (string_view members) live here until it is encoded.
  std::deque<std::string> strings;

  int16_t version() const { return header.request_api_version; }
  protocol::wire::Reader BodyReader() const {
    return protocol::wire::Reader(absl::Span<const uint8_t>(
        reinterpret_cast<const uint8_t*>(frame.data()) + body_offset, frame.size() - body_offset));
  }
  absl::Span<uint8_t> MutableFrameBytes() {
    return absl::Span<uint8_t>(reinterpret_cast<uint8_t*>(frame.mutable_data()), frame.size());
  }
  std::string_view Keep(std::string s) { return strings.emplace_back(std::move(s)); }
};

using RequestPtr = std::unique_ptr<RequestContext>;

// Encodes a whole response frame (size, response header, body) into one buffer.
template <typename Response>
reactor::Buffer EncodeResponse(const RequestContext& ctx, const Response& response) {
  const int16_t api_key = ctx.header.request_api_key;
  const int16_t version = ctx.version();
  const size_t header_size = protocol::ResponseHeaderSize(api_key, version);
  const size_t body_size = response.EncodedSize(version);
  protocol::wire::Writer w;
  w.Reserve(4 + header_size + body_size);
  w.Int32(static_cast<int32_t>(header_size + body_size));
  protocol::EncodeResponseHeader(w, ctx.header.correlation_id, api_key, version);
  response.Encode(w, version);
  reactor::Buffer out = reactor::Buffer::Allocate(w.size());
  std::memcpy(out.mutable_data(), w.data().data(), w.size());
  return out;
}

template <typename Response>
void Respond(RequestContext& ctx, Responder& responder, const Response& response) {
  std::vector<ResponsePart> parts;
  parts.emplace_back(EncodeResponse(ctx, response));
  responder.Send(std::move(parts));
}

using Handler = void (*)(RequestPtr ctx, Responder responder);

}  // namespace ringbroker::handlers
