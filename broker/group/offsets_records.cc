#include "broker/group/offsets_records.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "protocol/wire/reader.h"
#include "protocol/wire/writer.h"

namespace ringbroker::group {
namespace {

using protocol::wire::Reader;
using protocol::wire::Writer;

constexpr int16_t kOffsetKeyVersion = 1;
constexpr int16_t kGroupKeyVersion = 2;
constexpr int16_t kOffsetValueVersion = 3;
constexpr int16_t kOffsetValueVersionWithExpiry = 1;
constexpr int16_t kGroupValueVersion = 3;

std::string_view AsView(absl::Span<const uint8_t> b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }
absl::Span<const uint8_t> AsSpan(std::string_view s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

std::optional<std::string> OptString(const std::optional<std::string_view>& s) {
  if (!s) return std::nullopt;
  return std::string(*s);
}

absl::Status Finish(const Reader& r, const char* what) {
  if (!r.ok()) return absl::InvalidArgumentError(absl::StrCat("malformed ", what, ": ", r.status().message()));
  return absl::OkStatus();
}

}  // namespace

int32_t JavaStringHashCode(std::string_view utf8) {
  // Java hashes UTF-16 code units; decode UTF-8 (invalid bytes count as themselves, as Latin-1).
  uint32_t h = 0;
  auto mix = [&h](uint32_t unit) { h = h * 31 + unit; };
  for (size_t i = 0; i < utf8.size();) {
    const uint8_t c = static_cast<uint8_t>(utf8[i]);
    uint32_t cp = c;
    size_t len = 1;
    if (c >= 0xF0 && c < 0xF8) len = 4, cp = c & 0x07;
    else if (c >= 0xE0) len = 3, cp = c & 0x0F;
    else if (c >= 0xC0) len = 2, cp = c & 0x1F;
    bool valid = len == 1 || i + len <= utf8.size();
    for (size_t k = 1; valid && k < len; ++k) {
      const uint8_t cc = static_cast<uint8_t>(utf8[i + k]);
      if ((cc & 0xC0) != 0x80) valid = false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (!valid) {
      mix(c);
      ++i;
      continue;
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      mix(0xD800 + (cp >> 10));
      mix(0xDC00 + (cp & 0x3FF));
    } else {
      mix(cp);
    }
    i += len;
  }
  return static_cast<int32_t>(h);
}

int32_t PartitionForGroup(std::string_view group_id, int32_t partition_count) {
  const int32_t hash = JavaStringHashCode(group_id);
  // Kafka's Utils.abs maps Integer.MIN_VALUE to 0 rather than overflowing.
  const int32_t positive = hash == INT32_MIN ? 0 : std::abs(hash);
  return partition_count <= 0 ? 0 : positive % partition_count;
}

std::vector<uint8_t> EncodeKey(const RecordKey& key) {
  Writer w;
  if (const auto* k = std::get_if<OffsetCommitKey>(&key)) {
    w.Int16(kOffsetKeyVersion);
    w.String(k->group, false);
    w.String(k->topic, false);
    w.Int32(k->partition);
  } else {
    const auto& g = std::get<GroupMetadataKey>(key);
    w.Int16(kGroupKeyVersion);
    w.String(g.group, false);
  }
  return w.Release();
}

std::vector<uint8_t> EncodeOffsetValue(const OffsetCommitValue& v) {
  Writer w;
  if (v.expire_timestamp_ms >= 0) {
    w.Int16(kOffsetValueVersionWithExpiry);
    w.Int64(v.offset);
    w.String(v.metadata, false);
    w.Int64(v.commit_timestamp_ms);
    w.Int64(v.expire_timestamp_ms);
  } else {
    w.Int16(kOffsetValueVersion);
    w.Int64(v.offset);
    w.Int32(v.leader_epoch);
    w.String(v.metadata, false);
    w.Int64(v.commit_timestamp_ms);
  }
  return w.Release();
}

std::vector<uint8_t> EncodeGroupValue(const GroupMetadataValue& v) {
  Writer w;
  w.Int16(kGroupValueVersion);
  w.String(v.protocol_type, false);
  w.Int32(v.generation);
  w.NullableString(v.protocol ? std::optional<std::string_view>(*v.protocol) : std::nullopt, false, true);
  w.NullableString(v.leader ? std::optional<std::string_view>(*v.leader) : std::nullopt, false, true);
  w.Int64(v.current_state_timestamp_ms);
  w.Int32(static_cast<int32_t>(v.members.size()));
  for (const StoredMember& m : v.members) {
    w.String(m.member_id, false);
    w.NullableString(m.group_instance_id ? std::optional<std::string_view>(*m.group_instance_id) : std::nullopt,
                     false, true);
    w.String(m.client_id, false);
    w.String(m.client_host, false);
    w.Int32(m.rebalance_timeout_ms);
    w.Int32(m.session_timeout_ms);
    w.WriteBytes(AsSpan(m.subscription), false);
    w.WriteBytes(AsSpan(m.assignment), false);
  }
  return w.Release();
}

absl::StatusOr<RecordKey> DecodeKey(absl::Span<const uint8_t> bytes) {
  Reader r(bytes);
  const int16_t version = r.Int16();
  if (!r.ok()) return absl::InvalidArgumentError("offsets key too short");
  if (version == 0 || version == 1) {
    OffsetCommitKey k;
    k.group = std::string(r.String(false));
    k.topic = std::string(r.String(false));
    k.partition = r.Int32();
    if (absl::Status s = Finish(r, "offset commit key"); !s.ok()) return s;
    return RecordKey(std::move(k));
  }
  if (version == 2) {
    GroupMetadataKey k;
    k.group = std::string(r.String(false));
    if (absl::Status s = Finish(r, "group metadata key"); !s.ok()) return s;
    return RecordKey(std::move(k));
  }
  return absl::UnimplementedError(absl::StrCat("offsets key version ", version));
}

absl::StatusOr<OffsetCommitValue> DecodeOffsetValue(absl::Span<const uint8_t> bytes) {
  Reader r(bytes);
  OffsetCommitValue v;
  const int16_t version = r.Int16();
  if (version < 0 || version > 3) return absl::UnimplementedError(absl::StrCat("offset value version ", version));
  v.offset = r.Int64();
  if (version >= 3) v.leader_epoch = r.Int32();
  v.metadata = std::string(r.String(false));
  v.commit_timestamp_ms = r.Int64();
  if (version == 1) v.expire_timestamp_ms = r.Int64();
  if (absl::Status s = Finish(r, "offset commit value"); !s.ok()) return s;
  return v;
}

absl::StatusOr<GroupMetadataValue> DecodeGroupValue(absl::Span<const uint8_t> bytes) {
  Reader r(bytes);
  GroupMetadataValue v;
  const int16_t version = r.Int16();
  if (version < 0 || version > 3) return absl::UnimplementedError(absl::StrCat("group value version ", version));
  v.protocol_type = std::string(r.String(false));
  v.generation = r.Int32();
  v.protocol = OptString(r.NullableString(false, true));
  v.leader = OptString(r.NullableString(false, true));
  if (version >= 2) v.current_state_timestamp_ms = r.Int64();
  const int32_t count = r.ArrayLength(false, false, 2);
  for (int32_t i = 0; r.ok() && i < count; ++i) {
    StoredMember m;
    m.member_id = std::string(r.String(false));
    if (version >= 3) m.group_instance_id = OptString(r.NullableString(false, true));
    m.client_id = std::string(r.String(false));
    m.client_host = std::string(r.String(false));
    m.rebalance_timeout_ms = version >= 1 ? r.Int32() : 0;
    m.session_timeout_ms = r.Int32();
    if (version == 0) m.rebalance_timeout_ms = m.session_timeout_ms;
    m.subscription = std::string(AsView(r.ReadBytes(false)));
    m.assignment = std::string(AsView(r.ReadBytes(false)));
    v.members.push_back(std::move(m));
  }
  if (absl::Status s = Finish(r, "group metadata value"); !s.ok()) return s;
  return v;
}

std::vector<std::string> ConsumerSubscriptionTopics(absl::Span<const uint8_t> metadata) {
  Reader r(metadata);
  (void)r.Int16();  // version: the topics come first in every version
  const int32_t count = r.ArrayLength(false, false, 2);
  std::vector<std::string> topics;
  for (int32_t i = 0; r.ok() && i < count; ++i) topics.emplace_back(r.String(false));
  if (!r.ok()) return {};
  return topics;
}

}  // namespace ringbroker::group
