// FrameAssembler: turns the byte stream of one connection into Kafka request frames
// (a 4-byte big-endian size, then that many bytes).
//
// A frame that arrived inside one receive buffer is handed on as a share of that buffer (no copy).
// A frame split over several receive buffers is gathered into one heap buffer of exactly the frame's
// size, allocated only once the size has been checked against the limit, so a lying size costs
// nothing. A size below zero or above the limit poisons the assembler: the caller closes the
// connection, as Kafka does (InvalidReceiveException).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>

#include "absl/status/statusor.h"
#include "broker/reactor/buffer.h"

namespace ringbroker::net {

class FrameAssembler {
 public:
  explicit FrameAssembler(int32_t frame_bytes_max) : frame_bytes_max_(frame_bytes_max) {}

  // Adds received bytes. Bytes are kept only until the frames they belong to are taken.
  void Append(reactor::Buffer data);

  // The next complete frame without its size prefix; nullopt when more bytes are needed; an error
  // (InvalidArgument) when the stream announced an impossible size. After an error every call
  // returns the same error.
  absl::StatusOr<std::optional<reactor::Buffer>> Next();

  // Bytes held, complete frames or not.
  size_t buffered_bytes() const { return buffered_bytes_; }

 private:
  // Copies `n` bytes from the front of the queue into `dest`, dropping consumed buffers.
  void TakeFront(size_t n, char* dest);
  void DropFront(size_t n);

  const int32_t frame_bytes_max_;
  std::deque<reactor::Buffer> chunks_;
  size_t buffered_bytes_ = 0;
  absl::Status poisoned_;
};

}  // namespace ringbroker::net
