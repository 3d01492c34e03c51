// A Log on the in-memory file system with synchronous helpers, shared by the storage tests.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "protocol/records/batch_header.h"
#include "storage/io/memory_file.h"
#include "storage/log.h"
#include "storage/test_util.h"

namespace ringbroker::storage::testing {

struct BatchInfo {
  int64_t base_offset;
  int64_t last_offset;
  int64_t max_timestamp;
  bool operator==(const BatchInfo&) const = default;
};

class LogHarness {
 public:
  explicit LogHarness(LogConfig config = {}) : config_(config) {}

  absl::Status Open() {
    LogOptions options;
    options.clock_ms = [this] { return now_ms; };
    auto log = Log::Open(fs, dir, config_, options);
    if (!log.ok()) return log.status();
    log_ = std::move(*log);
    return absl::OkStatus();
  }
  Log& log() { return *log_; }
  void Drop() { log_.reset(); }
  absl::Status CloseAndReopen() {
    if (absl::Status s = log_->Close(); !s.ok()) return s;
    log_.reset();
    return Open();
  }
  absl::Status CrashAndReopen() {
    fs.Poll();
    log_.reset();
    fs.Crash();
    return Open();
  }

  absl::StatusOr<AppendResult> Append(std::vector<uint8_t> batch, bool durable = true) {
    buffers_.push_back(std::move(batch));
    std::optional<absl::StatusOr<AppendResult>> result;
    log_->Append(absl::MakeSpan(buffers_.back()), AppendOptions{.durable = durable},
                 [&](absl::StatusOr<AppendResult> r) { result = std::move(r); });
    while (!result && fs.Poll() > 0) {
    }
    if (buffers_.size() > 64) buffers_.pop_front();
    if (!result) return absl::InternalError("append never completed");
    return *result;
  }

  absl::StatusOr<ReadResult> Read(int64_t offset, size_t bytes_max,
                                  int64_t max_offset = INT64_MAX) {
    std::optional<absl::StatusOr<ReadResult>> result;
    log_->Read(offset, bytes_max, max_offset,
               [&](absl::StatusOr<ReadResult> r) { result = std::move(r); });
    while (!result && fs.Poll() > 0) {
    }
    if (!result) return absl::InternalError("read never completed");
    return *result;
  }

  absl::Status Truncate(int64_t offset) {
    // Truncation needs an idle log: let rolled segments finish sealing first.
    while (!log_->idle() && fs.Poll() > 0) {
    }
    std::optional<absl::Status> result;
    log_->Truncate(offset, [&](absl::Status s) { result = s; });
    while (!result && fs.Poll() > 0) {
    }
    if (!result) return absl::InternalError("truncate never completed");
    return *result;
  }

  absl::StatusOr<std::optional<TimestampLookup>> FindByTime(int64_t timestamp) {
    std::optional<absl::StatusOr<std::optional<TimestampLookup>>> result;
    log_->FindOffsetByTimestamp(timestamp, [&](auto r) { result = std::move(r); });
    while (!result && fs.Poll() > 0) {
    }
    if (!result) return absl::InternalError("lookup never completed");
    return *result;
  }

  // The bytes of a slice, and the batches in it (checking they are whole and parse).
  static std::vector<uint8_t> Bytes(const ReadSlice& slice) {
    std::vector<uint8_t> bytes(slice.size);
    if (slice.size == 0) return bytes;
    auto n = slice.file->BlockingRead(slice.position, absl::MakeSpan(bytes));
    EXPECT_TRUE(n.ok() && *n == slice.size);
    return bytes;
  }
  static std::vector<BatchInfo> Batches(const ReadSlice& slice) {
    std::vector<uint8_t> bytes = Bytes(slice);
    std::vector<BatchInfo> out;
    size_t at = 0;
    while (at < bytes.size()) {
      auto h = protocol::ParseBatchHeader(absl::MakeConstSpan(bytes).subspan(at));
      EXPECT_TRUE(h.ok());
      if (!h.ok()) break;
      EXPECT_LE(at + h->total_size(), bytes.size()) << "batch split";
      uint32_t crc = Crc32c(absl::MakeConstSpan(bytes).subspan(
          at + protocol::batch_layout::kAttributes,
          h->total_size() - protocol::batch_layout::kAttributes));
      EXPECT_EQ(crc, h->crc) << "batch at offset " << h->base_offset << " damaged";
      out.push_back({h->base_offset, h->last_offset(), h->max_timestamp});
      at += h->total_size();
    }
    return out;
  }

  MemoryFileSystem fs;
  std::string dir = "/data/topic-0";
  int64_t now_ms = 1'700'000'000'000;

 private:
  LogConfig config_;
  std::unique_ptr<Log> log_;
  std::deque<std::vector<uint8_t>> buffers_;
};

}  // namespace ringbroker::storage::testing
