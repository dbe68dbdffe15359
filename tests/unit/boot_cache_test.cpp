// BootCache: what start-up keeps per boot is read back only from a directory and files only
// root could have written, only for this boot, and only whole.
#include "util/boot_cache.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "util/small_file.h"

namespace inotrace {
namespace {

namespace fs = std::filesystem;

std::string boot_id() {
  std::string id = read_small_file("/proc/sys/kernel/random/boot_id").value_or("");
  return id.substr(0, id.find('\n'));
}

class BootCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "SKIPPED: the cache is root's (run the unit tier as root to test it)";
    char tmpl[] = "/tmp/inotrace-boot-cache-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    dir_ = base_ + "/cache";
  }
  void TearDown() override {
    if (!base_.empty()) fs::remove_all(base_);
  }
  std::string entry(const std::string& name) const { return dir_ + "/boot-" + boot_id() + "." + name; }
  void plant(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

  std::string base_, dir_;
};

TEST_F(BootCacheTest, AnEntryWrittenIsReadBackWholeFromADirectoryMadeRootOnly) {
  BootCache cache(dir_);
  ASSERT_TRUE(cache.usable()) << cache.why_not();
  struct stat st {};
  ASSERT_EQ(stat(dir_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  std::string bytes(100000, '\0');
  for (size_t i = 0; i < bytes.size(); i++) bytes[i] = (char)(i * 7);
  ASSERT_TRUE(cache.write("blob", bytes));
  EXPECT_EQ(cache.read("blob", bytes.size()), bytes);
  EXPECT_EQ(cache.read("blob", bytes.size() - 1), std::nullopt) << "longer than the caller takes: a miss";
  ASSERT_EQ(stat(entry("blob").c_str(), &st), 0) << "named after this boot";
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_TRUE(cache.write("blob", "second"));
  EXPECT_EQ(cache.read("blob", 100), "second");
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir_)) files++, (void)e;
  EXPECT_EQ(files, 1u) << "replaced in place, no temporary left behind";
  EXPECT_EQ(cache.read("absent", 100), std::nullopt);
}

TEST_F(BootCacheTest, AnotherBootsEntryIsNeverReadAndGoesAtTheNextWrite) {
  BootCache cache(dir_);
  ASSERT_TRUE(cache.usable()) << cache.why_not();
  std::string old = dir_ + "/boot-00000000-0000-0000-0000-000000000000.blob";
  std::string not_ours = dir_ + "/00000000-0000-0000-0000-000000000000.blob";
  plant(old, "old boot");
  plant(not_ours, "another program's");
  plant(dir_ + "/instance-key", "not an entry");
  EXPECT_EQ(cache.read("blob", 100), std::nullopt);
  ASSERT_TRUE(cache.write("other", "x"));
  EXPECT_FALSE(fs::exists(old));
  EXPECT_TRUE(fs::exists(dir_ + "/instance-key")) << "what is not a boot's entry stays";
  EXPECT_TRUE(fs::exists(not_ours)) << "only names the cache makes are removed";
}

TEST_F(BootCacheTest, ADirectoryAnyoneElseCouldWriteIsNotUsed) {
  ASSERT_EQ(mkdir(dir_.c_str(), 0700), 0);
  ASSERT_EQ(chmod(dir_.c_str(), 0777), 0);
  EXPECT_FALSE(BootCache(dir_).usable()) << "world-writable";
  ASSERT_EQ(chmod(dir_.c_str(), 0770), 0);
  EXPECT_FALSE(BootCache(dir_).usable()) << "group-writable";
  ASSERT_EQ(chmod(dir_.c_str(), 0700), 0);
  ASSERT_EQ(chown(dir_.c_str(), 65534, 65534), 0);
  BootCache theirs(dir_);
  EXPECT_FALSE(theirs.usable()) << "a stranger's";
  EXPECT_NE(theirs.why_not().find("owner 65534"), std::string::npos) << theirs.why_not();
  fs::remove_all(dir_);
  std::string real = base_ + "/real";
  ASSERT_EQ(mkdir(real.c_str(), 0700), 0);
  ASSERT_EQ(symlink(real.c_str(), dir_.c_str()), 0);
  ASSERT_EQ(lchown(dir_.c_str(), 65534, 65534), 0);
  EXPECT_FALSE(BootCache(dir_).usable()) << "a stranger's symlink to a root-only directory";
}

TEST_F(BootCacheTest, AtMost32EntriesOfABootAreKeptTheOldestGoFirst) {
  BootCache cache(dir_);
  ASSERT_TRUE(cache.usable()) << cache.why_not();
  for (int i = 0; i < 40; i++) {
    ASSERT_TRUE(cache.write(fmt::format("e{}", i), "x"));
    timespec t[2] = {{1000 + i, 0}, {1000 + i, 0}};  // distinct ages, whatever the clock's grain
    ASSERT_EQ(utimensat(AT_FDCWD, entry(fmt::format("e{}", i)).c_str(), t, 0), 0);
  }
  plant(entry("e0.new-0123456789abcdef"), "a write cut short");  // the oldest of all: goes first
  timespec t0[2] = {{999, 0}, {999, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, entry("e0.new-0123456789abcdef").c_str(), t0, 0), 0);
  ASSERT_TRUE(cache.write("last", "x"));
  EXPECT_FALSE(fs::exists(entry("e0.new-0123456789abcdef")));
  for (int i = 0; i < 9; i++) EXPECT_EQ(cache.read(fmt::format("e{}", i), 10), std::nullopt) << i;
  for (int i = 9; i < 40; i++) EXPECT_EQ(cache.read(fmt::format("e{}", i), 10), "x") << i;
  EXPECT_EQ(cache.read("last", 10), "x");
}

TEST_F(BootCacheTest, AnEntryOnlyRootCouldHaveWrittenIsRead) {
  BootCache cache(dir_);
  ASSERT_TRUE(cache.usable()) << cache.why_not();
  // A symlink to a root file, a stranger's file, a group-writable one, a second hard link,
  // a FIFO (which must not block the reader) and a directory: all misses.
  std::string target = base_ + "/target";
  plant(target, "planted");
  ASSERT_EQ(symlink(target.c_str(), entry("link").c_str()), 0);
  plant(entry("theirs"), "planted");
  ASSERT_EQ(chown(entry("theirs").c_str(), 65534, 65534), 0);
  plant(entry("writable"), "planted");
  ASSERT_EQ(chmod(entry("writable").c_str(), 0620), 0);
  plant(entry("linked"), "planted");
  ASSERT_EQ(link(entry("linked").c_str(), (base_ + "/other-name").c_str()), 0);
  ASSERT_EQ(mkfifo(entry("fifo").c_str(), 0600), 0);
  ASSERT_EQ(mkdir(entry("dir").c_str(), 0700), 0);
  for (const char* name : {"link", "theirs", "writable", "linked", "fifo", "dir"}) {
    EXPECT_EQ(cache.read(name, 100), std::nullopt) << name;
    EXPECT_FALSE(cache.open(name).valid()) << name;
  }
  plant(entry("good"), "kept");
  EXPECT_EQ(cache.read("good", 100), "kept");
}

TEST_F(BootCacheTest, NoCacheForAProcessThatIsNotRoot) {
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0) _exit(2);
    BootCache cache("/tmp/inotrace-boot-cache-never");
    _exit(!cache.usable() && cache.why_not() == "not running as root" ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_FALSE(fs::exists("/tmp/inotrace-boot-cache-never"));
}

}  // namespace
}  // namespace inotrace
