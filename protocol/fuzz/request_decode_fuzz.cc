// libFuzzer target: arbitrary bytes as a request frame (the bytes after the 4-byte size).
// Decodes the request header, then the body as the request (and, for coverage of the response
// decoders, as the response) of the API and version the header names. Every successful decode
// must re-encode to exactly EncodedSize() bytes, and that encoding must decode and re-encode to
// the same bytes. Any violation aborts, which libFuzzer reports as a crash.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "protocol/messages/all.h"
#include "protocol/wire/reader.h"
#include "protocol/wire/request_frame.h"
#include "protocol/wire/writer.h"

namespace ringbroker::protocol {
namespace {

[[noreturn]] void Violated(const char* what, std::string_view message, int16_t version) {
  std::fprintf(stderr, "%s v%d: %s\n", std::string(message).c_str(), version, what);
  std::abort();
}

template <typename M>
void CheckMessage(absl::Span<const uint8_t> body, int16_t version) {
  wire::Reader r(body);
  M m;
  const bool decoded = m.Decode(r, version).ok();
  if (version < M::kMinVersion || version > M::kMaxVersion) {
    if (decoded) Violated("unsupported version decoded", M::kName, version);
    return;
  }
  if (!decoded) return;
  wire::Writer w;
  m.Encode(w, version);
  if (w.size() != m.EncodedSize(version)) Violated("EncodedSize mismatch", M::kName, version);
  wire::Reader r2(w.data());
  M m2;
  if (!m2.Decode(r2, version).ok()) Violated("re-encoding does not decode", M::kName, version);
  if (r2.remaining() != 0) Violated("re-encoding has trailing bytes", M::kName, version);
  wire::Writer w2;
  m2.Encode(w2, version);
  if (!(w2.data() == w.data())) Violated("encoding is not stable", M::kName, version);
}

void CheckFrame(absl::Span<const uint8_t> frame) {
  wire::Reader r(frame);
  absl::StatusOr<RequestHeader> header = DecodeRequestHeader(r);
  if (!header.ok()) return;
  wire::Writer hw;
  EncodeRequestHeader(hw, *header);
  wire::Reader hr(hw.data());
  absl::StatusOr<RequestHeader> again = DecodeRequestHeader(hr);
  if (!again.ok() || !(*again == *header)) Violated("header does not round trip", "RequestHeader", 0);

  const int16_t version = header->request_api_version;
  const absl::Span<const uint8_t> body = r.rest();
  switch (header->request_api_key) {
#define RB_FUZZ_API(Name, key, lo, hi)              \
  case key:                                         \
    CheckMessage<Name##Request>(body, version);     \
    CheckMessage<Name##Response>(body, version);    \
    break;
    RINGBROKER_FOR_EACH_API(RB_FUZZ_API)
#undef RB_FUZZ_API
    default:
      Violated("DecodeRequestHeader accepted an unknown api key", "RequestHeader", 0);
  }
}

}  // namespace
}  // namespace ringbroker::protocol

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ringbroker::protocol::CheckFrame(absl::Span<const uint8_t>(data, size));
  return 0;
}
