// The one place where storage statuses become Kafka error codes for produce and fetch.
#pragma once

#include "absl/status/status.h"
#include "protocol/error_codes.h"

namespace ringbroker::server {

inline protocol::ErrorCode StorageErrorCode(const absl::Status& status) {
  using protocol::ErrorCode;
  switch (status.code()) {
    case absl::StatusCode::kOk: return ErrorCode::kNone;
    case absl::StatusCode::kNotFound: return ErrorCode::kUnknownTopicOrPartition;
    case absl::StatusCode::kOutOfRange: return ErrorCode::kOffsetOutOfRange;
    case absl::StatusCode::kInvalidArgument: return ErrorCode::kCorruptMessage;
    case absl::StatusCode::kUnavailable: return ErrorCode::kRequestTimedOut;
    case absl::StatusCode::kFailedPrecondition: return ErrorCode::kNotLeaderOrFollower;
    // Full disk, I/O errors, unreadable files.
    default: return ErrorCode::kKafkaStorageError;
  }
}

}  // namespace ringbroker::server
