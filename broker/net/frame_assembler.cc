#include "broker/net/frame_assembler.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace ringbroker::net {

void FrameAssembler::Append(reactor::Buffer data) {
  if (data.empty() || !poisoned_.ok()) return;
  buffered_bytes_ += data.size();
  chunks_.push_back(std::move(data));
}

void FrameAssembler::TakeFront(size_t n, char* dest) {
  while (n > 0) {
    reactor::Buffer& front = chunks_.front();
    const size_t k = std::min(n, front.size());
    std::memcpy(dest, front.data(), k);
    dest += k;
    n -= k;
    buffered_bytes_ -= k;
    if (k == front.size()) {
      chunks_.pop_front();
    } else {
      front.RemovePrefix(k);
    }
  }
}

void FrameAssembler::DropFront(size_t n) {
  while (n > 0) {
    reactor::Buffer& front = chunks_.front();
    const size_t k = std::min(n, front.size());
    n -= k;
    buffered_bytes_ -= k;
    if (k == front.size()) {
      chunks_.pop_front();
    } else {
      front.RemovePrefix(k);
    }
  }
}

absl::StatusOr<std::optional<reactor::Buffer>> FrameAssembler::Next() {
  if (!poisoned_.ok()) return poisoned_;
  if (buffered_bytes_ < 4) return std::nullopt;
  uint8_t prefix[4];
  {
    // Peek at the size without consuming it: it may straddle chunks.
    size_t got = 0;
    for (const reactor::Buffer& chunk : chunks_) {
      const size_t k = std::min<size_t>(4 - got, chunk.size());
      std::memcpy(prefix + got, chunk.data(), k);
      got += k;
      if (got == 4) break;
    }
  }
  const int32_t size = static_cast<int32_t>(uint32_t(prefix[0]) << 24 | uint32_t(prefix[1]) << 16 |
                                            uint32_t(prefix[2]) << 8 | uint32_t(prefix[3]));
  if (size < 0 || size > frame_bytes_max_) {
    poisoned_ = absl::InvalidArgumentError(
        absl::StrCat("request frame of ", size, " bytes is outside 0..", frame_bytes_max_));
    chunks_.clear();
    buffered_bytes_ = 0;
    return poisoned_;
  }
  const size_t frame_size = static_cast<size_t>(size);
  if (buffered_bytes_ < 4 + frame_size) return std::nullopt;

  DropFront(4);
  if (frame_size == 0) return reactor::Buffer::Allocate(0);
  const reactor::Buffer& front = chunks_.front();
  if (front.size() >= frame_size) {
    reactor::Buffer frame = front.Share(0, frame_size);
    DropFront(frame_size);
    return frame;
  }
  reactor::Buffer frame = reactor::Buffer::Allocate(frame_size);
  TakeFront(frame_size, frame.mutable_data());
  return frame;
}

}  // namespace ringbroker::net
