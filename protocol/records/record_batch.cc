#include "protocol/records/record_batch.h"

#include "absl/strings/str_cat.h"
#include "protocol/records/crc32c.h"
#include "protocol/records/varint.h"

namespace ringbroker::protocol {

using records::ByteReader;

// ---- headers ----

RecordHeaders::iterator::iterator(absl::Span<const uint8_t> rest, int32_t left)
    : rest_(rest), left_(left) {
  if (left_ > 0) Decode();
}

RecordHeaders::iterator& RecordHeaders::iterator::operator++() {
  if (--left_ > 0) Decode();
  return *this;
}

// The bytes were checked by RecordReader; a failed read here would be a bug in that check, and
// still cannot read out of bounds (ByteReader returns empty views).
void RecordHeaders::iterator::Decode() {
  ByteReader r(rest_);
  int32_t key_length = r.ReadVarint();
  current_.key = AsStringView(r.ReadBytes(size_t(key_length < 0 ? 0 : key_length)));
  current_.value = r.ReadNullableBytes(r.ReadVarint());
  rest_ = rest_.subspan(rest_.size() - r.remaining());
}

// ---- records ----

RecordReader::RecordReader(absl::Span<const uint8_t> records, int32_t record_count)
    : rest_(records), left_(record_count) {
  if (record_count < 0) status_ = absl::InvalidArgumentError("negative record count");
}

namespace {

absl::Status Malformed(std::string_view what, int32_t left) {
  return absl::InvalidArgumentError(absl::StrCat(
      "malformed record (", left, " left to read): ", absl::string_view(what.data(), what.size())));
}

}  // namespace

absl::StatusOr<RecordView> RecordReader::Next() {
  if (!status_.ok()) return status_;
  if (left_ <= 0) return absl::OutOfRangeError("no records left in batch");
  ByteReader outer(rest_);
  int32_t length = outer.ReadVarint();
  if (!outer.ok()) {
    status_ = Malformed("bad or truncated length varint", left_);
    return status_;
  }
  if (length < 0 || size_t(length) > outer.remaining()) {
    status_ = Malformed("length overruns the records section", left_);
    return status_;
  }
  absl::Span<const uint8_t> body = outer.ReadBytes(size_t(length));
  RecordView record;
  record.bytes = rest_.subspan(0, rest_.size() - outer.remaining());

  ByteReader r(body);
  record.attributes = r.ReadInt8();
  record.timestamp_delta = r.ReadVarlong();
  record.offset_delta = r.ReadVarint();
  record.key = r.ReadNullableBytes(r.ReadVarint());
  record.value = r.ReadNullableBytes(r.ReadVarint());
  int32_t header_count = r.ReadVarint();
  if (header_count < 0) r.Fail();
  absl::Span<const uint8_t> headers_start = body.subspan(body.size() - r.remaining());
  // Each header takes at least two bytes, so a failed read ends this loop early whatever the count.
  for (int32_t i = 0; i < header_count && r.ok(); ++i) {
    int32_t key_length = r.ReadVarint();
    if (key_length < 0) r.Fail();  // header keys are not nullable
    r.ReadBytes(size_t(key_length < 0 ? 0 : key_length));
    r.ReadNullableBytes(r.ReadVarint());
  }
  if (!r.ok()) {
    status_ = Malformed("field overruns the record or bad varint", left_);
    return status_;
  }
  if (r.remaining() != 0) {
    status_ = Malformed("bytes left over after the last header", left_);
    return status_;
  }
  record.headers =
      RecordHeaders(headers_start.subspan(0, headers_start.size() - r.remaining()), header_count);
  rest_ = rest_.subspan(record.bytes.size());
  --left_;
  return record;
}

absl::Status RecordReader::Finish() const {
  if (!status_.ok()) return status_;
  if (left_ > 0) {
    return absl::InvalidArgumentError(absl::StrCat(left_, " declared records were not read"));
  }
  if (!rest_.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(rest_.size(), " bytes follow the last declared record"));
  }
  return absl::OkStatus();
}

// ---- batches ----

uint32_t ComputeBatchCrc(const BatchHeader& header, absl::Span<const uint8_t> batch) {
  return Crc32c(
      batch.subspan(batch_layout::kAttributes, header.total_size() - batch_layout::kAttributes));
}

absl::Status VerifyBatchCrc(absl::Span<const uint8_t> batch) {
  absl::StatusOr<BatchHeader> header = ParseBatchHeader(batch);
  if (!header.ok()) return header.status();
  if (batch.size() < header->total_size()) return absl::OutOfRangeError("record batch truncated");
  uint32_t actual = ComputeBatchCrc(*header, batch);
  if (actual != header->crc) {
    return absl::DataLossError(
        absl::StrCat("record batch CRC mismatch: stored ", header->crc, ", computed ", actual));
  }
  return absl::OkStatus();
}

absl::StatusOr<RecordBatchView> RecordBatchView::Parse(absl::Span<const uint8_t> bytes) {
  absl::StatusOr<BatchHeader> header = ParseBatchHeader(bytes);
  if (!header.ok()) return header.status();
  if (bytes.size() < header->total_size()) {
    return absl::OutOfRangeError(absl::StrCat("record batch truncated: ", header->total_size(),
                                              " bytes declared, ", bytes.size(), " present"));
  }
  return RecordBatchView(*header, bytes.subspan(0, header->total_size()));
}

absl::StatusOr<RecordReader> RecordBatchView::records() const {
  if (header_.compression() != 0) {
    return absl::FailedPreconditionError("compressed batch: use Decode()");
  }
  return RecordReader(records_section(), header_.record_count);
}

absl::StatusOr<DecodedRecords> RecordBatchView::Decode(size_t decompressed_bytes_max) const {
  absl::StatusOr<Compression> codec = CompressionFromId(header_.compression());
  if (!codec.ok()) return codec.status();
  if (*codec == Compression::kNone) {
    return DecodedRecords({}, records_section(), header_.record_count);
  }
  absl::StatusOr<std::vector<uint8_t>> plain =
      Decompress(*codec, records_section(), decompressed_bytes_max);
  if (!plain.ok()) return plain.status();
  absl::Span<const uint8_t> span(plain->data(), plain->size());
  return DecodedRecords(std::move(*plain), span, header_.record_count);
}

int64_t RecordTimestamp(const BatchHeader& header, const RecordView& record) {
  if (header.attributes & batch_attributes::kTimestampLogAppendTime) return header.max_timestamp;
  return int64_t(uint64_t(header.base_timestamp) + uint64_t(record.timestamp_delta));
}

absl::StatusOr<ControlRecordType> ParseControlRecordKey(const NullableBytes& key) {
  if (!key.has_value() || key->size() < 4) {
    return absl::InvalidArgumentError("control record key shorter than 4 bytes");
  }
  int16_t version = int16_t(LoadBigEndian16(key->data()));
  if (version < 0) return absl::InvalidArgumentError("negative control record key version");
  // Version 0 keys are exactly 4 bytes; later versions may append fields, which we skip.
  if (version == 0 && key->size() != 4) {
    return absl::InvalidArgumentError("control record key version 0 is not 4 bytes");
  }
  return ControlRecordType(int16_t(LoadBigEndian16(key->data() + 2)));
}

absl::StatusOr<BatchSummary> ValidateBatch(absl::Span<const uint8_t> batch,
                                           const BatchValidationOptions& options) {
  absl::StatusOr<RecordBatchView> view = RecordBatchView::Parse(batch);
  if (!view.ok()) return view.status();
  const BatchHeader& h = view->header();
  if (h.total_size() != batch.size()) {
    return absl::InvalidArgumentError(absl::StrCat("batch length says ", h.total_size(),
                                                   " bytes but ", batch.size(), " were given"));
  }
  if (absl::Status crc = view->VerifyCrc(); !crc.ok()) return crc;
  if (h.record_count < 0) return absl::InvalidArgumentError("negative record count");
  if (h.record_count == 0 && !options.allow_empty) {
    return absl::InvalidArgumentError("batch has no records");
  }
  if (h.last_offset_delta < 0) return absl::InvalidArgumentError("negative lastOffsetDelta");
  if (options.require_contiguous_offsets && h.record_count > 0 &&
      int64_t(h.last_offset_delta) + 1 != h.record_count) {
    return absl::InvalidArgumentError(absl::StrCat("lastOffsetDelta ", h.last_offset_delta,
                                                   " does not match ", h.record_count, " records"));
  }
  // Every record takes at least 7 bytes (a length and six one-byte fields); a count beyond what
  // the bytes can hold is rejected here, before decompressing anything.
  if (h.compression() == 0 && size_t(h.record_count) > view->records_section().size() / 7) {
    return absl::InvalidArgumentError("record count exceeds what the batch can hold");
  }

  absl::StatusOr<DecodedRecords> decoded = view->Decode(options.decompressed_bytes_max);
  if (!decoded.ok()) return decoded.status();
  BatchSummary summary{.header = h, .records_bytes = decoded->bytes().size()};
  RecordReader reader = decoded->reader();
  int64_t previous_delta = -1;
  for (int32_t i = 0; !reader.Done(); ++i) {
    absl::StatusOr<RecordView> record = reader.Next();
    if (!record.ok()) return record.status();
    if (options.require_contiguous_offsets ? record->offset_delta != i
                                           : record->offset_delta <= previous_delta) {
      return absl::InvalidArgumentError(
          absl::StrCat("record ", i, " has offsetDelta ", record->offset_delta));
    }
    if (record->offset_delta > h.last_offset_delta) {
      return absl::InvalidArgumentError(
          absl::StrCat("record ", i, " offsetDelta beyond lastOffsetDelta"));
    }
    previous_delta = record->offset_delta;
    if (h.is_control()) {
      if (absl::StatusOr<ControlRecordType> type = ParseControlRecordKey(record->key); !type.ok()) {
        return type.status();
      }
    }
    if (!record->key.has_value()) summary.has_null_key = true;
    int64_t ts = RecordTimestamp(h, *record);
    if (i == 0 || ts > summary.max_record_timestamp) summary.max_record_timestamp = ts;
  }
  if (absl::Status done = reader.Finish(); !done.ok()) return done;
  return summary;
}

}  // namespace ringbroker::protocol
