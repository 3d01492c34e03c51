#include "protocol/records/legacy_message_set.h"

#include <zlib.h>

#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "protocol/records/batch_header.h"
#include "protocol/records/record_batch_builder.h"
#include "protocol/records/varint.h"

namespace ringbroker::protocol {

using records::ByteReader;

namespace {

uint32_t Crc32Ieee(absl::Span<const uint8_t> bytes) {
  // zlib's crc32 takes a 32-bit length; a message is at most 2 GiB (int32 size), so one call does.
  return uint32_t(crc32(0, bytes.data(), uInt(bytes.size())));
}

}  // namespace

absl::StatusOr<LegacyMessageView> LegacyMessageSetReader::Next() {
  using namespace legacy_layout;
  if (!status_.ok()) return status_;
  if (rest_.empty()) return absl::OutOfRangeError("no messages left in message set");
  auto fail = [this](absl::Status s) {
    status_ = std::move(s);
    return status_;
  };
  if (rest_.size() < kLogOverhead)
    return fail(absl::OutOfRangeError("message set ends inside a message header"));
  LegacyMessageView m;
  m.offset = int64_t(LoadBigEndian64(rest_.data() + kOffset));
  int32_t size = int32_t(LoadBigEndian32(rest_.data() + kMessageSize));
  if (size < int32_t(kMessageSizeMinV0)) {
    return fail(absl::InvalidArgumentError(absl::StrCat("message size ", size, " too small")));
  }
  if (size_t(size) > rest_.size() - kLogOverhead) {
    return fail(absl::OutOfRangeError("message set ends inside a message"));
  }
  m.bytes = rest_.subspan(0, kLogOverhead + size_t(size));
  m.crc = LoadBigEndian32(m.bytes.data() + kCrc);
  m.magic = int8_t(m.bytes[kMagic]);
  if (m.magic != 0 && m.magic != 1) {
    return fail(
        absl::InvalidArgumentError(absl::StrCat("message magic ", m.magic, " is not 0 or 1")));
  }
  if (m.magic == 1 && size_t(size) < kMessageSizeMinV1) {
    return fail(absl::InvalidArgumentError("magic 1 message too small"));
  }
  uint32_t actual = Crc32Ieee(m.bytes.subspan(kMagic));
  if (actual != m.crc) {
    return fail(absl::DataLossError(
        absl::StrCat("message CRC mismatch: stored ", m.crc, ", computed ", actual)));
  }
  ByteReader r(m.bytes.subspan(kAttributes));
  m.attributes = r.ReadInt8();
  if (m.magic == 1) m.timestamp = r.ReadInt64();
  m.key = r.ReadNullableBytes(r.ReadInt32());
  m.value = r.ReadNullableBytes(r.ReadInt32());
  if (!r.ok()) return fail(absl::InvalidArgumentError("message key or value overruns the message"));
  if (r.remaining() != 0) return fail(absl::InvalidArgumentError("bytes left over in message"));
  rest_ = rest_.subspan(m.bytes.size());
  return m;
}

absl::Status ForEachLegacyRecord(absl::Span<const uint8_t> message_set,
                                 size_t decompressed_bytes_max,
                                 absl::FunctionRef<absl::Status(const LegacyRecord&)> fn) {
  LegacyMessageSetReader reader(message_set);
  std::vector<LegacyMessageView> inner_messages;
  while (!reader.Done()) {
    absl::StatusOr<LegacyMessageView> m = reader.Next();
    if (!m.ok()) return m.status();
    if (m->compression() == 0) {
      absl::Status s = fn({.offset = m->offset,
                           .magic = m->magic,
                           .timestamp = m->timestamp,
                           .log_append_time = m->log_append_time(),
                           .key = m->key,
                           .value = m->value});
      if (!s.ok()) return s;
      continue;
    }

    // A wrapper: its value is a compressed message set.
    if (m->compression() == int(Compression::kZstd)) {
      return absl::InvalidArgumentError("zstd needs message format v2");
    }
    absl::StatusOr<Compression> codec = CompressionFromId(m->compression());
    if (!codec.ok()) return codec.status();
    if (!m->value.has_value())
      return absl::InvalidArgumentError("compressed message with null value");
    absl::StatusOr<std::vector<uint8_t>> inner =
        Decompress(*codec, *m->value, decompressed_bytes_max,
                   m->magic == 0 ? Lz4HeaderChecksum::kIgnore : Lz4HeaderChecksum::kVerify);
    if (!inner.ok()) return inner.status();

    // Read all inner messages first: under magic 1 their absolute offsets depend on the last one.
    inner_messages.clear();
    LegacyMessageSetReader inner_reader(*inner);
    while (!inner_reader.Done()) {
      absl::StatusOr<LegacyMessageView> im = inner_reader.Next();
      if (!im.ok()) return im.status();
      if (im->compression() != 0) {
        return absl::InvalidArgumentError("compressed message nested in a compressed message");
      }
      if (im->magic != m->magic) {
        return absl::InvalidArgumentError("inner message magic differs from its wrapper's");
      }
      inner_messages.push_back(*im);
    }
    if (inner_messages.empty())
      return absl::InvalidArgumentError("compressed message holds no messages");

    // Magic 1 inner offsets are relative; the wrapper carries the absolute offset of the last.
    uint64_t base =
        m->magic == 1 ? uint64_t(m->offset) - uint64_t(inner_messages.back().offset) : 0;
    for (const LegacyMessageView& im : inner_messages) {
      LegacyRecord record{.offset = int64_t(base + uint64_t(im.offset)),
                          .magic = im.magic,
                          .timestamp = im.timestamp,
                          .log_append_time = im.log_append_time(),
                          .key = im.key,
                          .value = im.value};
      if (m->log_append_time()) {
        record.timestamp = m->timestamp;
        record.log_append_time = true;
      }
      absl::Status s = fn(record);
      if (!s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateLegacyMessageSet(absl::Span<const uint8_t> message_set,
                                      size_t decompressed_bytes_max) {
  size_t count = 0;
  absl::Status s =
      ForEachLegacyRecord(message_set, decompressed_bytes_max, [&count](const LegacyRecord&) {
        ++count;
        return absl::OkStatus();
      });
  if (!s.ok()) return s;
  if (count == 0) return absl::InvalidArgumentError("message set holds no messages");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<uint8_t>> ConvertLegacyMessageSet(
    absl::Span<const uint8_t> message_set, const LegacyConversionOptions& options) {
  std::optional<RecordBatchBuilder> builder;
  absl::Status s = ForEachLegacyRecord(
      message_set, options.decompressed_bytes_max, [&](const LegacyRecord& r) -> absl::Status {
        if (!builder) {
          builder.emplace(RecordBatchOptions{.compression = options.compression,
                                             .base_offset = r.offset,
                                             .log_append_time = r.log_append_time,
                                             .records_bytes_max = options.records_bytes_max});
        }
        return builder->Add({.timestamp = r.timestamp, .key = r.key, .value = r.value});
      });
  if (!s.ok()) return s;
  if (!builder) return absl::InvalidArgumentError("message set holds no messages");
  return builder->Build();
}

namespace {

void AppendBe32(std::vector<uint8_t>& out, uint32_t v) {
  uint8_t b[4];
  StoreBigEndian32(b, v);
  out.insert(out.end(), b, b + 4);
}
void AppendBe64(std::vector<uint8_t>& out, uint64_t v) {
  uint8_t b[8];
  StoreBigEndian64(b, v);
  out.insert(out.end(), b, b + 8);
}
void AppendBytes(std::vector<uint8_t>& out, const NullableBytes& b) {
  if (!b.has_value()) {
    AppendBe32(out, uint32_t(-1));
    return;
  }
  AppendBe32(out, uint32_t(b->size()));
  out.insert(out.end(), b->begin(), b->end());
}

void AppendMessage(std::vector<uint8_t>& out, int8_t magic, int64_t offset, int8_t attributes,
                   int64_t timestamp, const NullableBytes& key, const NullableBytes& value) {
  using namespace legacy_layout;
  size_t start = out.size();
  AppendBe64(out, uint64_t(offset));
  AppendBe32(out, 0);  // size, patched below
  AppendBe32(out, 0);  // crc, patched below
  out.push_back(uint8_t(magic));
  out.push_back(uint8_t(attributes));
  if (magic == 1) AppendBe64(out, uint64_t(timestamp));
  AppendBytes(out, key);
  AppendBytes(out, value);
  StoreBigEndian32(out.data() + start + kMessageSize, uint32_t(out.size() - start - kLogOverhead));
  uint32_t crc = Crc32Ieee(absl::MakeConstSpan(out).subspan(start + kMagic));
  StoreBigEndian32(out.data() + start + kCrc, crc);
}

}  // namespace

absl::StatusOr<std::vector<uint8_t>> BuildLegacyMessageSet(int8_t magic, Compression compression,
                                                           absl::Span<const LegacyRecord> records) {
  if (magic != 0 && magic != 1) return absl::InvalidArgumentError("legacy magic must be 0 or 1");
  if (compression == Compression::kZstd) return absl::InvalidArgumentError("zstd needs magic 2");
  for (const LegacyRecord& r : records) {
    auto too_long = [](const NullableBytes& b) {
      return b.has_value() && b->size() > (size_t(1) << 30);
    };
    if (too_long(r.key) || too_long(r.value)) return absl::InvalidArgumentError("field too long");
  }
  auto attributes_of = [magic](const LegacyRecord& r) {
    return int8_t(magic == 1 && r.log_append_time ? legacy_layout::kTimestampLogAppendTime : 0);
  };
  std::vector<uint8_t> out;
  if (compression == Compression::kNone) {
    for (const LegacyRecord& r : records) {
      AppendMessage(out, magic, r.offset, attributes_of(r), r.timestamp, r.key, r.value);
    }
    return out;
  }
  if (records.empty()) return absl::InvalidArgumentError("a compressed message needs records");
  std::vector<uint8_t> inner;
  int64_t max_timestamp = -1;
  for (const LegacyRecord& r : records) {
    // Magic 1 inner offsets are relative to the first; magic 0 keeps them absolute.
    int64_t offset =
        magic == 1 ? int64_t(uint64_t(r.offset) - uint64_t(records.front().offset)) : r.offset;
    AppendMessage(inner, magic, offset, 0, r.timestamp, r.key, r.value);
    max_timestamp = std::max(max_timestamp, r.timestamp);
  }
  absl::StatusOr<std::vector<uint8_t>> packed = Compress(compression, inner);
  if (!packed.ok()) return packed.status();
  if (compression == Compression::kLz4 && magic == 0) {
    // Write the header checksum as Kafka's magic-0 writer did (over the frame magic too), which
    // is what pre-0.10 consumers check for.
    std::vector<uint8_t>& f = *packed;
    size_t descriptor = 2 + ((f[4] & 0x08) ? 8 : 0) + ((f[4] & 0x01) ? 4 : 0);
    f[4 + descriptor] = uint8_t(
        compression_internal::XxHash32(absl::MakeConstSpan(f.data(), 4 + descriptor), 0) >> 8);
  }
  int8_t wrapper_attributes = int8_t(int(compression) | attributes_of(records.front()));
  AppendMessage(out, magic, records.back().offset, wrapper_attributes, max_timestamp, std::nullopt,
                absl::MakeConstSpan(*packed));
  return out;
}

}  // namespace ringbroker::protocol
