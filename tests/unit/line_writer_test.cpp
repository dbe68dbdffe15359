// LineWriter against a file that stops growing: RLIMIT_FSIZE cuts a write short exactly as a
// full filesystem does (a short write, then an error), without privileges.
#include "output/line_writer.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace inotrace {
namespace {

std::string read_all(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    getrlimit(RLIMIT_FSIZE, &saved_);
    old_handler_ = signal(SIGXFSZ, SIG_IGN);  // EFBIG instead of the signal
    rlimit r = saved_;
    r.rlim_cur = bytes;
    setrlimit(RLIMIT_FSIZE, &r);
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &saved_);
    signal(SIGXFSZ, old_handler_);
  }

 private:
  rlimit saved_{};
  sighandler_t old_handler_;
};

class LineWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/inotrace-line-writer.XXXXXX";
    int fd = mkstemp(tmpl);
    ASSERT_GE(fd, 0);
    path_ = tmpl;
    fd_ = fd;
  }
  void TearDown() override {
    close(fd_);
    unlink(path_.c_str());
  }
  std::string path_;
  int fd_ = -1;
};

TEST_F(LineWriterTest, WritesWholeLines) {
  LineWriter w(fd_);
  w.add("one");
  w.add("two");
  EXPECT_TRUE(w.flush());
  EXPECT_EQ(read_all(path_), "one\ntwo\n");
  EXPECT_EQ(w.lines_written(), 2u);
  EXPECT_EQ(w.lines_not_written(), 0u);
  EXPECT_EQ(w.last_error(), 0);
}

TEST_F(LineWriterTest, ShortWriteLeavesOnlyWholeLinesAndCountsTheRest) {
  const std::string line(99, 'x');  // 100 bytes with its newline
  LineWriter w(fd_);
  {
    FileSizeLimit limit(1050);  // room for 10.5 lines
    for (int i = 0; i < 30; i++) w.add(line);
    EXPECT_FALSE(w.flush());
    EXPECT_EQ(w.last_error(), EFBIG);
    // Writes keep failing while the file cannot grow; each line is counted once.
    for (int i = 0; i < 5; i++) w.add(line);
    EXPECT_FALSE(w.flush());
  }
  std::string data = read_all(path_);
  EXPECT_EQ(data.size(), 1000u);
  EXPECT_EQ(data.back(), '\n');
  EXPECT_EQ(w.lines_written(), 10u);
  EXPECT_EQ(w.lines_not_written(), 25u);
  // Room again: the next lines follow the last whole one.
  w.add("after");
  EXPECT_TRUE(w.flush());
  data = read_all(path_);
  EXPECT_EQ(data.substr(1000), "after\n");
  EXPECT_EQ(w.lines_written() + w.lines_not_written(), 36u);
}

TEST(LineWriter, ClosedPipeIsBroken) {
  signal(SIGPIPE, SIG_IGN);
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  close(p[0]);
  LineWriter w(p[1]);
  w.add("lost");
  EXPECT_FALSE(w.flush());
  EXPECT_EQ(w.last_error(), EPIPE);
  EXPECT_TRUE(w.broken());
  EXPECT_EQ(w.lines_not_written(), 1u);
  close(p[1]);
}

// A line written in place by add_by() is whole or absent: a fill that throws halfway leaves
// nothing of its line in the batch, and the lines around it are untouched.
TEST(LineWriter, AFillThatThrowsLeavesNoPartOfItsLine) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  {
    LineWriter w(p[1]);
    w.add_by([](std::string& b) { b += "first"; });
    EXPECT_THROW(w.add_by([](std::string& b) {
      b += "half of a line";
      throw std::runtime_error("fill failed");
    }),
                 std::runtime_error);
    w.add("third");
    EXPECT_TRUE(w.flush());
    EXPECT_EQ(w.lines_written(), 2u);
  }
  close(p[1]);
  char buf[64] = {};
  ssize_t n = read(p[0], buf, sizeof buf - 1);
  close(p[0]);
  EXPECT_EQ(std::string(buf, n > 0 ? n : 0), "first\nthird\n");
}

}  // namespace
}  // namespace inotrace
