// The compression codecs of Kafka record batches and legacy message sets, as Kafka clients frame
// them: gzip (RFC 1952), snappy (xerial-framed as the Java client writes it; raw snappy also read),
// LZ4 (the LZ4 frame format, independent 64 KiB blocks), and zstd (frames).
//
// Decompression is bounded: the caller names the largest output it accepts, and more than that is
// an error, found while decoding (not after), so a small hostile input cannot make us allocate
// more than about that bound.
//
// Errors: InvalidArgument for a malformed or corrupt input, ResourceExhausted when the output
// would exceed the bound, Unimplemented for a codec id Kafka does not define.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace ringbroker::protocol {

// The values of the compression bits in batch and message attributes.
enum class Compression : int8_t { kNone = 0, kGzip = 1, kSnappy = 2, kLz4 = 3, kZstd = 4 };

// Maps attribute bits 0-2 to a codec; 5, 6 and 7 are not defined by Kafka.
absl::StatusOr<Compression> CompressionFromId(int id);
std::string_view CompressionName(Compression codec);

// How to treat the header checksum byte of an LZ4 frame. Kafka's first LZ4 writer (message
// format v0, Kafka before 0.10) hashed the frame magic along with the frame descriptor, so its
// frames carry a wrong checksum; Kafka reads magic-0 LZ4 without checking that byte.
enum class Lz4HeaderChecksum { kVerify, kIgnore };

// Compresses `input` with `codec` (kNone copies it). Output is framed as Kafka clients expect.
absl::StatusOr<std::vector<uint8_t>> Compress(Compression codec, absl::Span<const uint8_t> input);

// Decompresses `input`; fails with ResourceExhausted once the output would exceed
// `output_bytes_max`. Concatenated gzip members, LZ4 frames and zstd frames are all decoded.
absl::StatusOr<std::vector<uint8_t>> Decompress(
    Compression codec, absl::Span<const uint8_t> input, size_t output_bytes_max,
    Lz4HeaderChecksum lz4_header_checksum = Lz4HeaderChecksum::kVerify);

namespace compression_internal {
// XXH32 (the hash the LZ4 frame format uses for its checksums); exposed for tests.
uint32_t XxHash32(absl::Span<const uint8_t> data, uint32_t seed);
}  // namespace compression_internal

}  // namespace ringbroker::protocol
