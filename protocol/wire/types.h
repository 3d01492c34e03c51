// Value types shared by the wire primitives and the generated messages.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "absl/types/span.h"

namespace ringbroker::protocol::wire {

// A `bytes` or `records` field: a view, never a copy. After a decode it points into the
// frame the Reader was given and stays valid exactly as long as that frame buffer does.
// Before an encode it may point anywhere that outlives the Encode() call.
using Bytes = absl::Span<const uint8_t>;

// Kafka's uuid type: 16 raw bytes on the wire, all-zero by default ("no id").
struct Uuid {
  std::array<uint8_t, 16> bytes{};

  bool operator==(const Uuid&) const = default;
  bool IsZero() const { return *this == Uuid{}; }
  // Canonical 8-4-4-4-12 hex form, for logs and tests.
  std::string ToString() const;
};

}  // namespace ringbroker::protocol::wire
