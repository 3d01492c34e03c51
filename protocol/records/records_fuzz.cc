// libFuzzer target: every input goes through each reader in this folder, which must reject or
// accept it without reading out of bounds, leaking, or allocating beyond the bounds given.
// Seeds: testdata/ (real client batches and message sets).
#include <cstddef>
#include <cstdint>

#include "protocol/records/compression.h"
#include "protocol/records/legacy_message_set.h"
#include "protocol/records/record_batch.h"

namespace {

using namespace ringbroker::protocol;

constexpr size_t kBytesMax = 1 << 20;

void ReadV2(absl::Span<const uint8_t> data) {
  for (bool contiguous : {true, false}) {
    absl::StatusOr<BatchSummary> summary = ValidateBatch(
        data, {.decompressed_bytes_max = kBytesMax, .require_contiguous_offsets = contiguous});
    (void)summary;
  }
  absl::StatusOr<RecordBatchView> view = RecordBatchView::Parse(data);
  if (!view.ok()) return;
  absl::StatusOr<DecodedRecords> decoded = view->Decode(kBytesMax);
  if (!decoded.ok()) return;
  RecordReader reader = decoded->reader();
  while (!reader.Done()) {
    absl::StatusOr<RecordView> record = reader.Next();
    if (!record.ok()) return;
    for (const RecordHeaderView& h : record->headers) (void)h;
    (void)ParseControlRecordKey(record->key);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  absl::Span<const uint8_t> data(bytes, size);
  ReadV2(data);
  (void)ValidateLegacyMessageSet(data, kBytesMax);
  (void)ConvertLegacyMessageSet(data, {.decompressed_bytes_max = kBytesMax,
                                       .records_bytes_max = kBytesMax});
  for (int id = 1; id <= 4; ++id) {
    for (Lz4HeaderChecksum check : {Lz4HeaderChecksum::kVerify, Lz4HeaderChecksum::kIgnore}) {
      (void)Decompress(Compression(id), data, kBytesMax, check);
    }
  }
  return 0;
}
