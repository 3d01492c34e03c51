// The on-disk format of a partition log, in one place: file names, index entry layouts and the small
// metadata files. docs/storage-format.md describes the same layout as a grammar.
//
// A log directory holds, for each segment, `<base offset, 20 digits>.log` (record batches byte for
// byte as on the wire), `.index` (sparse offset index) and `.timeindex` (time index); plus
// `log-meta` (log start offset and recovery point) and, only between a clean shutdown and the next
// open, the empty file `.clean_shutdown`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ringbroker::storage::format {

inline constexpr char kLogSuffix[] = ".log";
inline constexpr char kOffsetIndexSuffix[] = ".index";
inline constexpr char kTimeIndexSuffix[] = ".timeindex";
// Compaction writes a segment's replacement files under `<name>.cleaned`; installing removes the
// old index files, then renames the new files over the old ones. Open deletes leftover .cleaned files.
inline constexpr char kCleanedSuffix[] = ".cleaned";
inline constexpr char kCleanShutdownName[] = ".clean_shutdown";
inline constexpr char kMetaName[] = "log-meta";
inline constexpr char kMetaTempName[] = "log-meta.tmp";
// The asynchronous recovery-point checkpoint writes here, so that a blocking log-meta write
// (DeleteRecords, truncation) never shares its temporary file.
inline constexpr char kMetaCheckpointName[] = "log-meta.checkpoint";

// Offset index entry: relative offset (int32, offset - segment base) then byte position of the batch
// in the .log file (int32), both big-endian, as Kafka's .index. Entries are strictly increasing in
// both fields. Our entries name the *base* offset of the batch starting at that position.
inline constexpr size_t kOffsetIndexEntrySize = 8;
// Time index entry: timestamp (int64) then relative offset (int32), big-endian, as Kafka's
// .timeindex. An entry (t, r) promises that every batch before the batch whose base offset is
// base + r has a max timestamp <= t. Timestamps strictly increase from entry to entry.
inline constexpr size_t kTimeIndexEntrySize = 12;

// log-meta: magic "RBLM", version int16 (1), log start offset int64, recovery point int64, then
// CRC32C (uint32) of all the bytes before it. Big-endian. Written to log-meta.tmp and renamed.
inline constexpr uint32_t kMetaMagic = 0x52424c4d;  // "RBLM"
inline constexpr int16_t kMetaVersion = 1;
inline constexpr size_t kMetaSize = 4 + 2 + 8 + 8 + 4;

// "00000000000000012345" for 12345.
std::string SegmentBaseName(int64_t base_offset);
// Parses "<20 digits><suffix>" back to the base offset; nullopt for any other name.
std::optional<int64_t> ParseSegmentName(std::string_view name, std::string_view suffix);

}  // namespace ringbroker::storage::format
