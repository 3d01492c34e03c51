// The wire layout of every generated message, as data compiled into the codec.
//
// gen.py emits the table (build tree, protocol/messages/layout.cc) from the same parsed schemas
// it generates the codec from, so kafka-schema-dump can show exactly what the codec encodes and
// ../shared/tools/check-protocol-schema can compare it with Kafka's specs version by version.
#pragma once

#include <cstdint>
#include <string_view>

#include "absl/types/span.h"

namespace ringbroker::protocol {

// Inclusive; empty when lo > hi. hi == kVersionOpen means "and every later version".
struct VersionRange {
  int16_t lo;
  int16_t hi;

  bool empty() const { return lo > hi; }
  bool Contains(int16_t v) const { return lo <= v && v <= hi; }
};
inline constexpr int16_t kVersionOpen = 0x7fff;

struct FieldLayout {
  std::string_view name;
  std::string_view type;  // Kafka spelling: "int32", "[]string", "[]TopicData", "Cursor"
  VersionRange versions;
  VersionRange nullable_versions;
  VersionRange tagged_versions;
  int32_t tag;  // -1 when never tagged
  bool has_flexible_override;
  VersionRange flexible_versions;  // per-field override (RequestHeader.ClientId)
  bool ignorable;
  std::string_view default_value;  // as written in the schema; empty when none
  absl::Span<const FieldLayout> fields;  // members of a struct or struct-array type
};

struct MessageLayout {
  std::string_view name;  // "ProduceRequest", "RequestHeader"
  std::string_view kind;  // "request", "response" or "header"
  int16_t api_key;        // -1 for headers
  VersionRange valid_versions;
  VersionRange flexible_versions;
  absl::Span<const FieldLayout> fields;
};

// Every message the codec implements, headers included.
absl::Span<const MessageLayout> AllMessageLayouts();

}  // namespace ringbroker::protocol
