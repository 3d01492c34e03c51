#include "storage/io/mapped_region.h"

#include <errno.h>
#include <sys/mman.h>

#include <system_error>
#include <thread>

#include "absl/strings/str_cat.h"

namespace ringbroker::storage {

absl::StatusOr<MappedRegion> MappedRegion::Map(int fd, uint64_t length) {
  if (fd < 0 || length == 0) return absl::InvalidArgumentError("nothing to map");
  void* address = ::mmap(nullptr, size_t(length), PROT_READ, MAP_SHARED, fd, 0);
  if (address == MAP_FAILED) {
    return absl::ErrnoToStatus(errno, absl::StrCat("mmap of ", length, " bytes"));
  }
  return MappedRegion(static_cast<const uint8_t*>(address), length);
}

MappedRegion& MappedRegion::operator=(MappedRegion&& other) noexcept {
  if (this != &other) {
    Unmap();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void MappedRegion::ReleaseInBackground(MappedRegion region) {
  if (region.data_ == nullptr) return;
  try {
    std::thread([r = std::move(region)]() mutable { r.Unmap(); }).detach();
  } catch (const std::system_error&) {
    // No thread to be had (a resource limit): the mapping, owned by the lambda that never ran,
    // was unmapped here as the lambda was destroyed.
  }
}

void MappedRegion::Unmap() {
  if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), size_t(size_));
  data_ = nullptr;
  size_ = 0;
}

}  // namespace ringbroker::storage
