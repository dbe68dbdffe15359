// Opaque instance ids: no kernel pointer in any output, the same id for the same instance in
// every command of one boot (a key file in /run), and a key file nobody else could have planted.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <filesystem>
#include <regex>

#include "events/event.h"
#include "events/instance_id_key.h"
#include "util/error.h"

namespace inotrace {
namespace {

// The reference vector of the SipHash paper (appendix A): key 00..0f, message 00..0e.
TEST(InstanceId, SipHash24ReferenceVector) {
  unsigned char msg[15];
  for (int i = 0; i < 15; i++) msg[i] = i;
  EXPECT_EQ(siphash24(0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL, msg, sizeof msg), 0xa129ca6149be45e5ULL);
  EXPECT_EQ(siphash24(0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL, msg, 0), 0x726fdb47dd0e0e31ULL);
}

TEST(InstanceId, StrIsSixteenHexDigitsWithoutThePointer) {
  InstanceId id{0xffff888104b3c400ULL, 18431115141009ULL};
  std::string s = id.str();
  EXPECT_TRUE(std::regex_match(s, std::regex("[0-9a-f]{16}"))) << s;
  EXPECT_EQ(s.find("ffff8881"), std::string::npos);
  EXPECT_EQ(s.find("104b3c4"), std::string::npos);
  EXPECT_EQ(s, id.str());                                   // stable within the process
  EXPECT_NE(s, (InstanceId{id.group, id.seq + 1}).str());   // a reused pointer is another instance
  EXPECT_NE(s, (InstanceId{id.group + 0x200, id.seq}).str());
}

// The kept ids (a few, reused round-robin) must never hand one instance another's id: cycle
// through more instances than are kept and check each against SipHash computed here.
TEST(InstanceId, KeptIdsAreAlwaysTheInstancesOwn) {
  const InstanceIdKey& key = instance_id_key();
  auto expected = [&](uint64_t group, uint64_t seq) {
    unsigned char in[16];
    for (int i = 0; i < 8; i++) in[i] = group >> (8 * i), in[8 + i] = seq >> (8 * i);
    return fmt::format("{:016x}", siphash24(key.k0, key.k1, in, sizeof in));
  };
  for (int round = 0; round < 3; round++)
    for (uint64_t i = 0; i < 7; i++) {
      uint64_t group = 0xffff888000000000ULL + i * 0x40, seq = i % 2;
      EXPECT_EQ(opaque_instance_id(group, seq), expected(group, seq)) << i;
      EXPECT_EQ(std::string(InstanceId{group, seq}.text()), expected(group, seq)) << i;
      EXPECT_EQ(opaque_instance_id(group, seq + 1), expected(group, seq + 1)) << i;  // same pointer, reused
    }
}

class BootKeyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/inotrace-key-test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    dir_ = root_ + "/inotrace";
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::string root_, dir_;
};

TEST_F(BootKeyTest, CreatedOnceOwnerOnlyThenReadBack) {
  InstanceIdKey a = load_or_create_boot_key(dir_);
  struct stat st {};
  ASSERT_EQ(stat(dir_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(lstat((dir_ + "/instance-key").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 16);
  EXPECT_EQ(st.st_uid, geteuid());
  InstanceIdKey b = load_or_create_boot_key(dir_);  // a later command of the same boot
  EXPECT_EQ(a.k0, b.k0);
  EXPECT_EQ(a.k1, b.k1);
  EXPECT_TRUE(a.k0 || a.k1);
  // Another boot (the file gone with the tmpfs): another key.
  unlink((dir_ + "/instance-key").c_str());
  InstanceIdKey c = load_or_create_boot_key(dir_);
  EXPECT_FALSE(a.k0 == c.k0 && a.k1 == c.k1);
}

TEST_F(BootKeyTest, RefusesASymlinkedKeyFile) {
  ASSERT_EQ(mkdir(dir_.c_str(), 0700), 0);
  std::string planted = root_ + "/known";
  int fd = open(planted.c_str(), O_WRONLY | O_CREAT, 0600);
  ASSERT_EQ(write(fd, "0123456789abcdef", 16), 16);
  close(fd);
  ASSERT_EQ(symlink(planted.c_str(), (dir_ + "/instance-key").c_str()), 0);
  EXPECT_THROW(load_or_create_boot_key(dir_), Error);
}

TEST_F(BootKeyTest, RefusesAKeyFileOthersCanRead) {
  ASSERT_EQ(mkdir(dir_.c_str(), 0700), 0);
  int fd = open((dir_ + "/instance-key").c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_EQ(write(fd, "0123456789abcdef", 16), 16);
  fchmod(fd, 0644);
  close(fd);
  try {
    load_or_create_boot_key(dir_);
    FAIL() << "a world-readable key was used";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("mode 644"), std::string::npos) << e.what();
  }
}

TEST_F(BootKeyTest, RefusesADirectoryOthersCanWrite) {
  ASSERT_EQ(mkdir(dir_.c_str(), 0700), 0);
  ASSERT_EQ(chmod(dir_.c_str(), 0777), 0);
  EXPECT_THROW(load_or_create_boot_key(dir_), Error);
}

TEST_F(BootKeyTest, RefusesAStrangersKeyFile) {
  if (geteuid() != 0) GTEST_SKIP() << "SKIPPED: planting a stranger's file needs root (chown)";
  ASSERT_EQ(mkdir(dir_.c_str(), 0700), 0);
  int fd = open((dir_ + "/instance-key").c_str(), O_WRONLY | O_CREAT, 0600);
  ASSERT_EQ(write(fd, "0123456789abcdef", 16), 16);
  ASSERT_EQ(fchown(fd, 65534, 65534), 0);
  close(fd);
  EXPECT_THROW(load_or_create_boot_key(dir_), Error);
}

}  // namespace
}  // namespace inotrace
