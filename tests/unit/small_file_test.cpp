#include "util/small_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace inotrace {
namespace {

// A file of `bytes` bytes ('a' + i % 26) in a fresh temporary path.
std::string file_of(size_t bytes) {
  char path[] = "/tmp/inotrace-small-file-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) throw std::runtime_error("mkstemp");
  close(fd);
  std::ofstream f(path, std::ios::binary);
  for (size_t i = 0; i < bytes; i++) f.put(static_cast<char>('a' + i % 26));
  return path;
}

// A file someone else shapes (a hostile process's /proc/PID/maps or mountinfo) can be larger
// than the budget: the read stops one byte past it and says so. (It once skipped the read past
// the limit but kept appending the last buffer: unbounded memory for any file over the limit.)
TEST(ReadFilePrefix, StopsAtTheLimitAndSaysThereWasMore) {
  for (auto [size, limit] : {std::pair<size_t, size_t>{10, 4}, {200 << 10, 100}, {200 << 10, 70 << 10}, {5, 5}, {0, 3}}) {
    SCOPED_TRACE(testing::Message() << size << " bytes, limit " << limit);
    std::string path = file_of(size);
    bool cut = true;
    auto text = read_file_prefix(path, limit, &cut);
    ASSERT_TRUE(text);
    EXPECT_EQ(text->size(), std::min(size, limit));
    EXPECT_EQ(cut, size > limit);
    for (size_t i = 0; i < text->size(); i++)
      if ((*text)[i] != static_cast<char>('a' + i % 26)) FAIL() << "byte " << i;
    unlink(path.c_str());
  }
}

TEST(ReadFilePrefix, LinesCutAtTheLimitKeepOnlyWholeLines) {
  char path[] = "/tmp/inotrace-small-file-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << "7f00-7f10 r-xp 0 08:01 12 /usr/lib/libfoo.so\n7f10-7f20 r-xp 0 08:01 13 /usr/lib/libbar.so\n";
  bool cut = false;
  EXPECT_EQ(read_lines_prefix(path, 60, &cut), "7f00-7f10 r-xp 0 08:01 12 /usr/lib/libfoo.so\n");  // not ".../lib"
  EXPECT_TRUE(cut);
  EXPECT_EQ(read_lines_prefix(path, 20, &cut), "") << "no whole line";
  EXPECT_EQ(read_lines_prefix(path, 4096, &cut)->size(), 90u);
  EXPECT_FALSE(cut);
  unlink(path);
}

TEST(ReadFilePrefix, AProcFileWithoutASizeIsReadWhole) {
  bool cut = true;
  auto text = read_file_prefix("/proc/self/stat", 4096, &cut);
  ASSERT_TRUE(text);
  EXPECT_FALSE(cut);
  EXPECT_EQ(text->rfind(std::to_string(getpid()) + " (", 0), 0u) << *text;
  EXPECT_FALSE(read_file_prefix("/nonexistent/inotrace", 10));
}

}  // namespace
}  // namespace inotrace
