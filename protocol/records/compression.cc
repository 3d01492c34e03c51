#include "protocol/records/compression.h"

#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstring>
#include <limits>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ringbroker::protocol {

namespace compression_internal {

namespace {
constexpr uint32_t kPrime1 = 2654435761u;
constexpr uint32_t kPrime2 = 2246822519u;
constexpr uint32_t kPrime3 = 3266489917u;
constexpr uint32_t kPrime4 = 668265263u;
constexpr uint32_t kPrime5 = 374761393u;

inline uint32_t Rotl(uint32_t v, int r) { return (v << r) | (v >> (32 - r)); }
inline uint32_t Load32Le(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
inline uint32_t Round(uint32_t acc, uint32_t lane) {
  return Rotl(acc + lane * kPrime2, 13) * kPrime1;
}
}  // namespace

uint32_t XxHash32(absl::Span<const uint8_t> data, uint32_t seed) {
  const uint8_t* p = data.data();
  size_t n = data.size();
  uint32_t h;
  if (n >= 16) {
    uint32_t v1 = seed + kPrime1 + kPrime2, v2 = seed + kPrime2, v3 = seed, v4 = seed - kPrime1;
    while (n >= 16) {
      v1 = Round(v1, Load32Le(p));
      v2 = Round(v2, Load32Le(p + 4));
      v3 = Round(v3, Load32Le(p + 8));
      v4 = Round(v4, Load32Le(p + 12));
      p += 16;
      n -= 16;
    }
    h = Rotl(v1, 1) + Rotl(v2, 7) + Rotl(v3, 12) + Rotl(v4, 18);
  } else {
    h = seed + kPrime5;
  }
  h += uint32_t(data.size());
  for (; n >= 4; n -= 4, p += 4) h = Rotl(h + Load32Le(p) * kPrime3, 17) * kPrime4;
  for (; n > 0; --n, ++p) h = Rotl(h + uint32_t(*p) * kPrime5, 11) * kPrime1;
  h ^= h >> 15;
  h *= kPrime2;
  h ^= h >> 13;
  h *= kPrime3;
  h ^= h >> 16;
  return h;
}

}  // namespace compression_internal

namespace {

// Debian's abseil has its own string_view type, not std::string_view.
absl::string_view Sv(std::string_view s) { return absl::string_view(s.data(), s.size()); }

absl::Status TooLarge(Compression codec, size_t bytes_max) {
  return absl::ResourceExhaustedError(absl::StrCat(
      Sv(CompressionName(codec)), " output exceeds the limit of ", bytes_max, " bytes"));
}
absl::Status Corrupt(Compression codec, std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("corrupt ", Sv(CompressionName(codec)), " data: ", Sv(what)));
}

// A growing output buffer that never grows past bytes_max + 1: holding one byte more than allowed
// is how a decoder loop learns the output is too large without allocating for all of it.
class BoundedOutput {
 public:
  BoundedOutput(size_t bytes_max, size_t size_hint)
      : bytes_max_(bytes_max),
        capacity_max_(bytes_max == std::numeric_limits<size_t>::max() ? bytes_max : bytes_max + 1) {
    buf_.resize(std::min(capacity_max_, std::max<size_t>(size_hint, 256)));
  }

  // Makes room for at least one more byte. False only when the buffer is already over the bound.
  bool Reserve() {
    if (size_ < buf_.size()) return true;
    if (buf_.size() >= capacity_max_) return false;
    size_t grown = buf_.size() > capacity_max_ / 2 ? capacity_max_ : buf_.size() * 2;
    buf_.resize(std::max(grown, buf_.size() + 1));
    return true;
  }
  uint8_t* tail() { return buf_.data() + size_; }
  size_t spare() const { return buf_.size() - size_; }
  void Advance(size_t n) { size_ += n; }
  size_t size() const { return size_; }
  bool over() const { return size_ > bytes_max_; }

  std::vector<uint8_t> Take() && {
    buf_.resize(size_);
    return std::move(buf_);
  }

 private:
  size_t bytes_max_;
  size_t capacity_max_;
  std::vector<uint8_t> buf_;
  size_t size_ = 0;
};

size_t HintFor(size_t input_size) {
  return input_size > (size_t(1) << 40) ? input_size : input_size * 3 + 1024;
}

// ---- gzip ----

constexpr int kGzipWindowBits = 15 + 16;  // 32 KiB window, gzip wrapper (not zlib, not raw)

absl::StatusOr<std::vector<uint8_t>> GzipCompress(absl::Span<const uint8_t> in) {
  if (in.size() > UINT_MAX / 2) return absl::InvalidArgumentError("gzip input too large");
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, kGzipWindowBits, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    return absl::InternalError("deflateInit2 failed");
  }
  std::vector<uint8_t> out(deflateBound(&zs, uLong(in.size())));
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = uInt(in.size());
  zs.next_out = out.data();
  zs.avail_out = uInt(out.size());
  int rc = deflate(&zs, Z_FINISH);
  size_t produced = zs.total_out;
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return absl::InternalError("deflate did not finish");
  out.resize(produced);
  return out;
}

absl::StatusOr<std::vector<uint8_t>> GzipDecompress(absl::Span<const uint8_t> in,
                                                    size_t bytes_max) {
  constexpr Compression kCodec = Compression::kGzip;
  if (in.size() > UINT_MAX) return Corrupt(kCodec, "input too large");
  z_stream zs{};
  if (inflateInit2(&zs, kGzipWindowBits) != Z_OK) return absl::InternalError("inflateInit2 failed");
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&zs, inflateEnd);
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = uInt(in.size());
  BoundedOutput out(bytes_max, HintFor(in.size()));
  for (;;) {
    if (!out.Reserve()) return TooLarge(kCodec, bytes_max);
    size_t room = std::min<size_t>(out.spare(), UINT_MAX);
    zs.next_out = out.tail();
    zs.avail_out = uInt(room);
    int rc = inflate(&zs, Z_NO_FLUSH);
    out.Advance(room - zs.avail_out);
    if (out.over()) return TooLarge(kCodec, bytes_max);
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0) break;
      // Another gzip member follows (GZIPInputStream reads concatenated members too).
      if (inflateReset(&zs) != Z_OK) return absl::InternalError("inflateReset failed");
      continue;
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) return Corrupt(kCodec, zs.msg ? zs.msg : "inflate failed");
    // Room left over with all input consumed means the stream ended early.
    if (zs.avail_in == 0 && zs.avail_out != 0) return Corrupt(kCodec, "truncated");
    if (rc == Z_BUF_ERROR && zs.avail_out != 0) return Corrupt(kCodec, "no progress");
  }
  return std::move(out).Take();
}

// ---- snappy ----

// snappy-java's stream header: magic, then int32 version and int32 minimum compatible version.
constexpr std::array<uint8_t, 8> kXerialMagic = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
constexpr size_t kXerialHeaderSize = 16;
constexpr size_t kXerialBlockSize = 32 * 1024;  // snappy-java's default block size

uint32_t LoadBe32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}
void AppendBe32(std::vector<uint8_t>& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(uint8_t(v >> shift));
}

absl::StatusOr<std::vector<uint8_t>> SnappyCompress(absl::Span<const uint8_t> in) {
  std::vector<uint8_t> out(kXerialMagic.begin(), kXerialMagic.end());
  AppendBe32(out, 1);
  AppendBe32(out, 1);
  for (size_t pos = 0; pos < in.size(); pos += kXerialBlockSize) {
    size_t n = std::min(kXerialBlockSize, in.size() - pos);
    size_t at = out.size();
    out.resize(at + 4 + snappy::MaxCompressedLength(n));
    size_t compressed = 0;
    snappy::RawCompress(reinterpret_cast<const char*>(in.data() + pos), n,
                        reinterpret_cast<char*>(out.data() + at + 4), &compressed);
    out.resize(at + 4 + compressed);
    out[at] = uint8_t(compressed >> 24);
    out[at + 1] = uint8_t(compressed >> 16);
    out[at + 2] = uint8_t(compressed >> 8);
    out[at + 3] = uint8_t(compressed);
  }
  return out;
}

// Appends the raw snappy block `block` to `out`, bounded.
absl::Status SnappyRawBlock(absl::Span<const uint8_t> block, size_t bytes_max,
                            std::vector<uint8_t>& out) {
  constexpr Compression kCodec = Compression::kSnappy;
  const char* src = reinterpret_cast<const char*>(block.data());
  size_t length = 0;
  if (!snappy::GetUncompressedLength(src, block.size(), &length))
    return Corrupt(kCodec, "bad length");
  if (length > bytes_max - out.size()) return TooLarge(kCodec, bytes_max);
  size_t at = out.size();
  out.resize(at + length);
  if (!snappy::RawUncompress(src, block.size(), reinterpret_cast<char*>(out.data() + at))) {
    return Corrupt(kCodec, "bad block");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<uint8_t>> SnappyDecompress(absl::Span<const uint8_t> in,
                                                      size_t bytes_max) {
  constexpr Compression kCodec = Compression::kSnappy;
  std::vector<uint8_t> out;
  bool xerial = in.size() >= kXerialMagic.size() &&
                std::memcmp(in.data(), kXerialMagic.data(), kXerialMagic.size()) == 0;
  if (!xerial) {
    // librdkafka writes a raw snappy block when its peer is not a Java client; accept that too.
    if (absl::Status s = SnappyRawBlock(in, bytes_max, out); !s.ok()) return s;
    return out;
  }
  if (in.size() < kXerialHeaderSize) return Corrupt(kCodec, "truncated xerial header");
  size_t pos = kXerialHeaderSize;
  while (pos < in.size()) {
    if (in.size() - pos < 4) return Corrupt(kCodec, "truncated xerial block length");
    uint32_t n = LoadBe32(in.data() + pos);
    pos += 4;
    if (n > in.size() - pos) return Corrupt(kCodec, "xerial block overruns input");
    if (absl::Status s = SnappyRawBlock(in.subspan(pos, n), bytes_max, out); !s.ok()) return s;
    pos += n;
  }
  return out;
}

// ---- LZ4 ----

constexpr uint32_t kLz4FrameMagic = 0x184D2204;

absl::StatusOr<std::vector<uint8_t>> Lz4Compress(absl::Span<const uint8_t> in) {
  // What Kafka's own LZ4 stream reads: independent blocks of at most 64 KiB.
  LZ4F_preferences_t prefs;
  std::memset(&prefs, 0, sizeof prefs);
  prefs.frameInfo.blockSizeID = LZ4F_max64KB;
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;
  prefs.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum;
  std::vector<uint8_t> out(LZ4F_compressFrameBound(in.size(), &prefs));
  size_t n = LZ4F_compressFrame(out.data(), out.size(), in.data(), in.size(), &prefs);
  if (LZ4F_isError(n)) return absl::InternalError(LZ4F_getErrorName(n));
  out.resize(n);
  return out;
}

struct Lz4ContextDeleter {
  void operator()(LZ4F_dctx* ctx) const { LZ4F_freeDecompressionContext(ctx); }
};

absl::StatusOr<std::vector<uint8_t>> Lz4Decompress(absl::Span<const uint8_t> in, size_t bytes_max,
                                                   Lz4HeaderChecksum header_checksum) {
  constexpr Compression kCodec = Compression::kLz4;
  // With kIgnore, the frame header goes to the decoder with its checksum byte recomputed,
  // so a wrong one passes; the rest of the input is fed unchanged.
  std::array<uint8_t, 4 + 14 + 1> patched_header{};
  absl::Span<const uint8_t> segments[2] = {{}, in};
  if (header_checksum == Lz4HeaderChecksum::kIgnore) {
    if (in.size() < 7) return Corrupt(kCodec, "truncated frame header");
    if (compression_internal::Load32Le(in.data()) != kLz4FrameMagic)
      return Corrupt(kCodec, "bad frame magic");
    uint8_t flags = in[4];
    size_t descriptor = 2 + ((flags & 0x08) ? 8 : 0) + ((flags & 0x01) ? 4 : 0);
    size_t header = 4 + descriptor + 1;
    if (in.size() < header) return Corrupt(kCodec, "truncated frame header");
    std::memcpy(patched_header.data(), in.data(), header);
    patched_header[header - 1] =
        uint8_t(compression_internal::XxHash32(in.subspan(4, descriptor), 0) >> 8);
    segments[0] = absl::Span<const uint8_t>(patched_header.data(), header);
    segments[1] = in.subspan(header);
  }

  LZ4F_dctx* raw = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&raw, LZ4F_VERSION))) {
    return absl::InternalError("LZ4F_createDecompressionContext failed");
  }
  std::unique_ptr<LZ4F_dctx, Lz4ContextDeleter> ctx(raw);
  BoundedOutput out(bytes_max, HintFor(in.size()));
  size_t hint = 1;  // nonzero until a frame is complete
  for (absl::Span<const uint8_t> segment : segments) {
    size_t pos = 0;
    for (;;) {
      if (!out.Reserve()) return TooLarge(kCodec, bytes_max);
      size_t room = out.spare();
      size_t dst_n = room;
      size_t src_n = segment.size() - pos;
      hint = LZ4F_decompress(ctx.get(), out.tail(), &dst_n, segment.data() + pos, &src_n, nullptr);
      if (LZ4F_isError(hint)) return Corrupt(kCodec, LZ4F_getErrorName(hint));
      pos += src_n;
      out.Advance(dst_n);
      if (out.over()) return TooLarge(kCodec, bytes_max);
      // Done with this segment once its input is consumed and the decoder had room to spare:
      // it has nothing buffered left to write.
      if (pos == segment.size() && dst_n < room) break;
      if (src_n == 0 && dst_n == 0) return Corrupt(kCodec, "no progress");
    }
  }
  if (hint != 0) return Corrupt(kCodec, "truncated frame");
  return std::move(out).Take();
}

// ---- zstd ----

struct ZstdContextDeleter {
  void operator()(ZSTD_DCtx* ctx) const { ZSTD_freeDCtx(ctx); }
};

absl::StatusOr<std::vector<uint8_t>> ZstdCompress(absl::Span<const uint8_t> in) {
  constexpr int kLevel = 3;  // Kafka's default zstd level
  std::vector<uint8_t> out(ZSTD_compressBound(in.size()));
  size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), kLevel);
  if (ZSTD_isError(n)) return absl::InternalError(ZSTD_getErrorName(n));
  out.resize(n);
  return out;
}

absl::StatusOr<std::vector<uint8_t>> ZstdDecompress(absl::Span<const uint8_t> in,
                                                    size_t bytes_max) {
  constexpr Compression kCodec = Compression::kZstd;
  std::unique_ptr<ZSTD_DCtx, ZstdContextDeleter> ctx(ZSTD_createDCtx());
  if (!ctx) return absl::InternalError("ZSTD_createDCtx failed");
  // A frame declares its window and the decoder allocates it: cap the window near the output
  // bound (never below 8 MiB, which every ordinary encoder setting fits, nor above zstd's
  // default 128 MiB limit) so a tiny frame cannot demand a huge allocation.
  int window_log = 23;
  while (window_log < 27 && (size_t(1) << window_log) < bytes_max) ++window_log;
  ZSTD_DCtx_setParameter(ctx.get(), ZSTD_d_windowLogMax, window_log);
  ZSTD_inBuffer src{in.data(), in.size(), 0};
  BoundedOutput out(bytes_max, HintFor(in.size()));
  size_t hint = 1;
  for (;;) {
    if (!out.Reserve()) return TooLarge(kCodec, bytes_max);
    ZSTD_outBuffer dst{out.tail(), out.spare(), 0};
    size_t src_before = src.pos;
    hint = ZSTD_decompressStream(ctx.get(), &dst, &src);
    if (ZSTD_isError(hint)) return Corrupt(kCodec, ZSTD_getErrorName(hint));
    out.Advance(dst.pos);
    if (out.over()) return TooLarge(kCodec, bytes_max);
    if (src.pos == src.size && dst.pos < dst.size) break;  // input used up, nothing left buffered
    if (src.pos == src_before && dst.pos == 0) return Corrupt(kCodec, "no progress");
  }
  if (hint != 0) return Corrupt(kCodec, "truncated frame");
  return std::move(out).Take();
}

}  // namespace

absl::StatusOr<Compression> CompressionFromId(int id) {
  if (id < 0 || id > 4)
    return absl::UnimplementedError(absl::StrCat("unknown compression codec ", id));
  return Compression(id);
}

std::string_view CompressionName(Compression codec) {
  switch (codec) {
    case Compression::kNone: return "none";
    case Compression::kGzip: return "gzip";
    case Compression::kSnappy: return "snappy";
    case Compression::kLz4: return "lz4";
    case Compression::kZstd: return "zstd";
  }
  return "unknown";
}

absl::StatusOr<std::vector<uint8_t>> Compress(Compression codec, absl::Span<const uint8_t> input) {
  switch (codec) {
    case Compression::kNone: return std::vector<uint8_t>(input.begin(), input.end());
    case Compression::kGzip: return GzipCompress(input);
    case Compression::kSnappy: return SnappyCompress(input);
    case Compression::kLz4: return Lz4Compress(input);
    case Compression::kZstd: return ZstdCompress(input);
  }
  return absl::UnimplementedError("unknown compression codec");
}

absl::StatusOr<std::vector<uint8_t>> Decompress(Compression codec, absl::Span<const uint8_t> input,
                                                size_t output_bytes_max,
                                                Lz4HeaderChecksum lz4_header_checksum) {
  switch (codec) {
    case Compression::kNone:
      if (input.size() > output_bytes_max) return TooLarge(codec, output_bytes_max);
      return std::vector<uint8_t>(input.begin(), input.end());
    case Compression::kGzip: return GzipDecompress(input, output_bytes_max);
    case Compression::kSnappy: return SnappyDecompress(input, output_bytes_max);
    case Compression::kLz4: return Lz4Decompress(input, output_bytes_max, lz4_header_checksum);
    case Compression::kZstd: return ZstdDecompress(input, output_bytes_max);
  }
  return absl::UnimplementedError("unknown compression codec");
}

}  // namespace ringbroker::protocol
