#include "broker/reactor/buffer.h"

#include <cassert>
#include <cstring>
#include <memory>
#include <utility>

namespace ringbroker::reactor {
namespace {

// Heap memory allocated together with its owner: one allocation per Buffer::Allocate.
class HeapOwner final : public BufferOwner {
 public:
  explicit HeapOwner(size_t size_bytes) : bytes_(new char[size_bytes > 0 ? size_bytes : 1]) {}
  char* bytes() { return bytes_.get(); }

 private:
  void Free() override { delete this; }
  std::unique_ptr<char[]> bytes_;
};

class StringOwner final : public BufferOwner {
 public:
  explicit StringOwner(std::string bytes) : bytes_(std::move(bytes)) {}
  char* bytes() { return bytes_.data(); }

 private:
  void Free() override { delete this; }
  std::string bytes_;
};

}  // namespace

Buffer Buffer::Allocate(size_t size_bytes) {
  auto* owner = new HeapOwner(size_bytes);
  return Buffer(owner->bytes(), size_bytes, owner);
}

Buffer Buffer::CopyOf(std::string_view bytes) {
  Buffer buffer = Allocate(bytes.size());
  if (!bytes.empty()) std::memcpy(buffer.mutable_data(), bytes.data(), bytes.size());
  return buffer;
}

Buffer Buffer::FromString(std::string bytes) {
  size_t size = bytes.size();
  auto* owner = new StringOwner(std::move(bytes));
  return Buffer(owner->bytes(), size, owner);
}

Buffer& Buffer::operator=(Buffer&& other) noexcept {
  if (this != &other) {
    Release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    owner_ = std::exchange(other.owner_, nullptr);
  }
  return *this;
}

Buffer Buffer::Share(size_t offset, size_t length) const {
  assert(offset <= size_ && length <= size_ - offset);
  if (owner_ == nullptr) return Buffer();
  owner_->Ref();
  return Buffer(data_ + offset, length, owner_);
}

void Buffer::RemovePrefix(size_t n) {
  assert(n <= size_);
  data_ += n;
  size_ -= n;
}

void Buffer::RemoveSuffix(size_t n) {
  assert(n <= size_);
  size_ -= n;
}

void Buffer::Release() {
  if (owner_ != nullptr) std::exchange(owner_, nullptr)->Unref();
  data_ = nullptr;
  size_ = 0;
}

}  // namespace ringbroker::reactor
