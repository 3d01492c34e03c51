// Whether a file's bytes are in the page cache, asked of the kernel without waiting for them.
//
// The shard may send a cached file range with sendfile() on its own thread: the bytes go from the
// page cache to the socket without a copy and, since they are there, without waiting for the disk.
// A range that is not cached would stall the shard (and every connection on it) on the disk, so it
// goes to an io-wq worker instead. cachestat(2) (Linux 6.5+) is how we tell the two apart; on older
// kernels every range takes the worker's path.
#pragma once

#include <cstdint>

namespace ringbroker::reactor {

// The kernel has cachestat(2).
bool CachestatSupported();

// Every page of [offset, offset + length) of `fd` was in the page cache when asked, and its last
// byte readable without waiting (a page may still be evicted right after, or an earlier one still
// be in flight from the disk: a short wait on the shard, not a wrong answer). False on any error,
// including a kernel without cachestat or a file the caller may not ask about, and for an empty
// range.
bool RangeInPageCache(int fd, uint64_t offset, uint64_t length);

}  // namespace ringbroker::reactor
