#include "protocol/wire/request_frame.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace ringbroker::protocol {

absl::StatusOr<RequestHeader> DecodeRequestHeader(wire::Reader& r) {
  // Peek the key and version without consuming them: the header decode reads them again.
  wire::Reader peek(r.rest());
  const int16_t api_key = peek.Int16();
  const int16_t api_version = peek.Int16();
  if (!peek.ok()) return absl::InvalidArgumentError("request header truncated");
  const int16_t header_version = RequestHeaderVersion(api_key, api_version);
  if (header_version < 0) {
    return absl::InvalidArgumentError(absl::StrCat("unknown api key ", api_key));
  }
  RequestHeader header;
  absl::Status status = header.Decode(r, header_version);
  if (!status.ok()) return status;
  return header;
}

void EncodeRequestHeader(wire::Writer& w, const RequestHeader& header) {
  const int16_t version = RequestHeaderVersion(header.request_api_key, header.request_api_version);
  // Encoding a request for an API the codec does not know is a programmer error.
  if (version < 0) std::abort();
  header.Encode(w, version);
}

void EncodeResponseHeader(wire::Writer& w, int32_t correlation_id, int16_t api_key,
                          int16_t api_version) {
  const int16_t version = ResponseHeaderVersion(api_key, api_version);
  if (version < 0) std::abort();
  ResponseHeader header;
  header.correlation_id = correlation_id;
  header.Encode(w, version);
}

size_t ResponseHeaderSize(int16_t api_key, int16_t api_version) {
  const int16_t version = ResponseHeaderVersion(api_key, api_version);
  if (version < 0) std::abort();
  return ResponseHeader{}.EncodedSize(version);
}

}  // namespace ringbroker::protocol
