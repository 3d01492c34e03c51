#include "broker/reactor/page_cache.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "gtest/gtest.h"

namespace ringbroker::reactor {
namespace {

constexpr size_t kFileBytes = 1 << 20;

// A file of kFileBytes in the working directory (the build tree: a disk, not a tmpfs, whose pages
// could not be evicted), unlinked at once.
int TempFile() {
  char path[] = "page_cache_testXXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return -1;
  unlink(path);
  const std::string bytes(kFileBytes, 'x');
  if (write(fd, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size())) {
    close(fd);
    return -1;
  }
  return fd;
}

TEST(PageCacheTest, AnswersFalseForWhatItCannotKnow) {
  EXPECT_FALSE(RangeInPageCache(-1, 0, 4096));
  int fd = TempFile();
  ASSERT_GE(fd, 0);
  EXPECT_FALSE(RangeInPageCache(fd, 0, 0));
  close(fd);
}

TEST(PageCacheTest, TellsCachedFromEvictedPages) {
  if (!CachestatSupported()) GTEST_SKIP() << "kernel without cachestat (before 6.5)";
  int fd = TempFile();
  ASSERT_GE(fd, 0);
  // Pages of a tmpfs are never dropped, and an overlay answers for its upper file: neither can
  // show an eviction.
  struct statfs fs{};
  ASSERT_EQ(fstatfs(fd, &fs), 0);
  if (fs.f_type == TMPFS_MAGIC || fs.f_type == OVERLAYFS_SUPER_MAGIC) {
    close(fd);
    GTEST_SKIP() << "the build tree is on a tmpfs or an overlay";
  }
  // Just written: all of it is in the page cache, whatever the alignment of the range.
  EXPECT_TRUE(RangeInPageCache(fd, 0, kFileBytes));
  EXPECT_TRUE(RangeInPageCache(fd, 4095, 2));
  // Written back and dropped: none of it is.
  ASSERT_EQ(fdatasync(fd), 0);
  ASSERT_EQ(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
  EXPECT_FALSE(RangeInPageCache(fd, 0, kFileBytes));
  // One page read back (readahead may bring a few more): that page is, a range reaching the end of
  // the file is not.
  char byte;
  ASSERT_EQ(pread(fd, &byte, 1, 0), 1);
  EXPECT_TRUE(RangeInPageCache(fd, 0, 4096));
  EXPECT_FALSE(RangeInPageCache(fd, 0, kFileBytes));
  EXPECT_FALSE(RangeInPageCache(fd, kFileBytes - 4096, 4096));
  close(fd);
}

}  // namespace
}  // namespace ringbroker::reactor
