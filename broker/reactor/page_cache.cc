#include "broker/reactor/page_cache.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace ringbroker::reactor {
namespace {

// Debian bookworm's glibc and kernel headers predate cachestat: its number (the same on every
// architecture, from the common syscall table) and argument layouts, as in <linux/mman.h>.
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
  return stat.nr_cache >= pages;
}

}  // namespace ringbroker::reactor
