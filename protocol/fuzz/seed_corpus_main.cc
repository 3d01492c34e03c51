// Writes the fuzzer's seed corpus: one request frame (header + FillSample body) per API and
// version, into the directory given as the only argument.
#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "protocol/messages/all.h"
#include "protocol/messages/sample.h"
#include "protocol/wire/request_frame.h"
#include "protocol/wire/writer.h"

namespace ringbroker::protocol {
namespace {

template <typename M>
int WriteSeeds(const std::string& dir) {
  for (int16_t v = M::kMinVersion; v <= M::kMaxVersion; ++v) {
    RequestHeader header;
    header.request_api_key = M::kApiKey;
    header.request_api_version = v;
    header.correlation_id = v + 1;
    header.client_id = "seed";
    M m;
    FillSample(m, v);
    wire::Writer w;
    EncodeRequestHeader(w, header);
    m.Encode(w, v);
    const std::string path = absl::StrCat(dir, "/", std::string(M::kName), "-v", static_cast<int>(v));
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) return 1;
    const bool ok = std::fwrite(w.data().data(), 1, w.size(), f) == w.size();
    if (std::fclose(f) != 0 || !ok) return 1;
  }
  return 0;
}

}  // namespace
}  // namespace ringbroker::protocol

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT_DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    std::fprintf(stderr, "cannot create %s: %s\n", dir.c_str(), ec.message().c_str());
    return 1;
  }
  int failed = 0;
#define RB_SEED_API(Name, key, lo, hi) failed |= ringbroker::protocol::WriteSeeds<ringbroker::protocol::Name##Request>(dir);
  RINGBROKER_FOR_EACH_API(RB_SEED_API)
#undef RB_SEED_API
  if (failed) std::fprintf(stderr, "cannot write seeds into %s\n", dir.c_str());
  return failed;
}
