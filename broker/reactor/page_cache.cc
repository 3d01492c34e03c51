#include "broker/reactor/page_cache.h"

#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>

namespace ringbroker::reactor {
namespace {

// Debian bookworm's glibc and kernel headers predate cachestat: its number (451 in the kernel's
// common syscall table, which x86_64 and arm64 follow) and argument layouts, as in <linux/mman.h>.
#ifdef SYS_cachestat
constexpr long kSysCachestat = SYS_cachestat;
#else
constexpr long kSysCachestat = 451;
#endif

struct CachestatRange {
  uint64_t offset;
  uint64_t length;
};

struct Cachestat {
  uint64_t nr_cache;
  uint64_t nr_dirty;
  uint64_t nr_writeback;
  uint64_t nr_evicted;
  uint64_t nr_recently_evicted;
};

long CallCachestat(int fd, CachestatRange* range, Cachestat* stat) {
  return syscall(kSysCachestat, fd, range, stat, 0u);
}

}  // namespace

bool CachestatSupported() {
  // An fd that cannot be open: a kernel with the call answers EBADF, one without it ENOSYS.
  CachestatRange range{0, 1};
  Cachestat stat{};
  return CallCachestat(-1, &range, &stat) != 0 && errno == EBADF;
}

bool RangeInPageCache(int fd, uint64_t offset, uint64_t length) {
  if (length == 0) return false;
  CachestatRange range{offset, length};
  Cachestat stat{};
  if (CallCachestat(fd, &range, &stat) != 0) return false;
  // cachestat counts pages: every page the range touches, from the first to the last.
  static const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  const uint64_t pages = (offset + length - 1) / page - offset / page + 1;
  if (stat.nr_cache < pages) return false;
  // cachestat also counts pages whose read from the disk is still in flight (readahead puts them
  // there ahead of the reader). The last byte must be readable without waiting; readahead fills
  // pages in order, so the earlier ones then almost always are too. At the end of the file the
  // read finds nothing, which is no wait either.
  char byte;
  iovec iov{&byte, 1};
  return preadv2(fd, &iov, 1, static_cast<off_t>(offset + length - 1), RWF_NOWAIT) >= 0;
}

}  // namespace ringbroker::reactor
