// Request and response framing around the generated messages.
//
// A request frame (the bytes after Kafka's 4-byte size prefix) is a RequestHeader followed by
// the body; the header's own version depends on the API key and version it carries, so it is
// decoded in two steps: peek the key and version, then decode the whole header at the right
// version. Typical use on a received frame:
//
//   wire::Reader r(frame);
//   absl::StatusOr<RequestHeader> header = DecodeRequestHeader(r);
//   if (!header.ok()) ...                   // unknown API or malformed header: close
//   ProduceRequest req;                       // chosen by header->request_api_key
//   absl::Status s = req.Decode(r, header->request_api_version);
//
// Views in `header` and `req` point into `frame`.
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"
#include "protocol/messages/api.h"
#include "protocol/messages/headers.h"
#include "protocol/wire/reader.h"
#include "protocol/wire/writer.h"

namespace ringbroker::protocol {

// Decodes the request header at the version its API key and version call for, leaving `r` at
// the start of the body. Fails on a truncated header and on an API key the codec does not
// know (its header version is unknowable). An unsupported version of a known API decodes
// (the header layout only depends on flexibility), so the broker can still answer
// UNSUPPORTED_VERSION with the right correlation id.
absl::StatusOr<RequestHeader> DecodeRequestHeader(wire::Reader& r);

// Encodes a request header, choosing its version from the key and version in `header`.
void EncodeRequestHeader(wire::Writer& w, const RequestHeader& header);

// Encodes the response header for a response to (api_key, api_version).
void EncodeResponseHeader(wire::Writer& w, int32_t correlation_id, int16_t api_key,
                          int16_t api_version);
size_t ResponseHeaderSize(int16_t api_key, int16_t api_version);

}  // namespace ringbroker::protocol
