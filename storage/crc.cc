#include "storage/crc.h"

#ifdef RINGBROKER_STORAGE_PROTOCOL_CRC
#include "protocol/records/crc32c.h"
#endif

namespace ringbroker::storage {

#ifdef RINGBROKER_STORAGE_PROTOCOL_CRC

uint32_t Crc32cExtend(uint32_t crc, absl::Span<const uint8_t> data) {
  return protocol::Crc32cExtend(crc, data);
}

#else

namespace {
struct Table {
  uint32_t entries[256];
  constexpr Table() : entries() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      entries[i] = c;
    }
  }
};
constexpr Table kTable;
}  // namespace

uint32_t Crc32cExtend(uint32_t crc, absl::Span<const uint8_t> data) {
  crc = ~crc;
  for (uint8_t b : data) crc = kTable.entries[(crc ^ b) & 0xff] ^ (crc >> 8);
  return ~crc;
}

#endif

}  // namespace ringbroker::storage
