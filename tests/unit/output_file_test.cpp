// open_output_file: a planted symlink or a stranger's file never redirects root's output.
#include "util/output_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "util/error.h"

namespace inotrace {
namespace {

class OutputFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/inotrace-output-file.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string read(const std::string& p) {
    std::ifstream f(p);
    return std::string(std::istreambuf_iterator<char>(f), {});
  }
  void write(const std::string& p, const std::string& s) { std::ofstream(p) << s; }
  std::string dir_;
};

TEST_F(OutputFileTest, CreatesAndTruncatesOwnRegularFile) {
  std::string p = dir_ + "/out";
  write(p, "old contents");
  auto fd = open_output_file(p, OutputMode::Replace);
  ASSERT_TRUE(fd);
  ASSERT_EQ(::write(fd.get(), "new", 3), 3);
  EXPECT_EQ(read(p), "new");
}

TEST_F(OutputFileTest, RefusesSymlinkAsLastComponent) {
  std::string victim = dir_ + "/victim";
  write(victim, "precious");
  ASSERT_EQ(symlink(victim.c_str(), (dir_ + "/out").c_str()), 0);
  try {
    open_output_file(dir_ + "/out", OutputMode::Replace);
    FAIL() << "a symlink was followed";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("symlink"), std::string::npos) << e.what();
  }
  EXPECT_EQ(read(victim), "precious");
}

TEST_F(OutputFileTest, CreateNewRefusesAnExistingFile) {
  write(dir_ + "/out", "x");
  EXPECT_THROW(open_output_file(dir_ + "/out", OutputMode::CreateNew), Error);
  EXPECT_EQ(read(dir_ + "/out"), "x");
}

TEST_F(OutputFileTest, RefusesHardLinkedFile) {
  write(dir_ + "/victim", "precious");
  ASSERT_EQ(link((dir_ + "/victim").c_str(), (dir_ + "/out").c_str()), 0);
  EXPECT_THROW(open_output_file(dir_ + "/out", OutputMode::Replace), Error);
  EXPECT_EQ(read(dir_ + "/victim"), "precious");
}

TEST_F(OutputFileTest, FollowsOwnDirectorySymlinkButNotAStrangers) {
  ASSERT_EQ(mkdir((dir_ + "/real").c_str(), 0755), 0);
  ASSERT_EQ(symlink("real", (dir_ + "/mine").c_str()), 0);
  auto fd = open_output_file(dir_ + "/mine/out", OutputMode::CreateNew);
  EXPECT_TRUE(fd);
  EXPECT_EQ(access((dir_ + "/real/out").c_str(), F_OK), 0);
  if (geteuid() != 0) GTEST_SKIP() << "SKIPPED: a stranger's symlink needs root to plant (lchown)";
  ASSERT_EQ(symlink("real", (dir_ + "/theirs").c_str()), 0);
  ASSERT_EQ(lchown((dir_ + "/theirs").c_str(), 65534, 65534), 0);
  EXPECT_THROW(open_output_file(dir_ + "/theirs/out2", OutputMode::CreateNew), Error);
  EXPECT_NE(access((dir_ + "/real/out2").c_str(), F_OK), 0);
}

TEST_F(OutputFileTest, RefusesAStrangersFile) {
  if (geteuid() != 0) GTEST_SKIP() << "SKIPPED: a stranger's file needs root to plant (chown)";
  write(dir_ + "/out", "theirs");
  ASSERT_EQ(chown((dir_ + "/out").c_str(), 65534, 65534), 0);
  EXPECT_THROW(open_output_file(dir_ + "/out", OutputMode::Replace), Error);
  EXPECT_EQ(read(dir_ + "/out"), "theirs");
}

TEST_F(OutputFileTest, DevNullIsAcceptedDirectoriesAreNot) {
  EXPECT_TRUE(open_output_file("/dev/null", OutputMode::Replace));
  EXPECT_THROW(open_output_file(dir_, OutputMode::Replace), Error);
  EXPECT_THROW(open_output_file("/", OutputMode::Replace), Error);
}

}  // namespace
}  // namespace inotrace
