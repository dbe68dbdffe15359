#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "paths/mountinfo.h"

namespace inotrace {
namespace {

using Fields = std::vector<std::string>;

TEST(Mountinfo, ManPageExample) {
  auto p = parse_mountinfo(
      "36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n");
  EXPECT_TRUE(p.warnings.empty());
  ASSERT_EQ(p.mounts.size(), 1u);
  const auto& m = p.mounts[0];
  EXPECT_EQ(m.mount_id, 36);
  EXPECT_EQ(m.parent_id, 35);
  EXPECT_EQ(m.dev.major(), 98u);
  EXPECT_EQ(m.dev.minor(), 0u);
  EXPECT_EQ(m.dev.str(), "98:0");
  EXPECT_EQ(m.root, "/mnt1");
  EXPECT_EQ(m.mount_point, "/mnt/parent");
  EXPECT_EQ(m.mount_options, "rw,noatime");
  EXPECT_EQ(m.optional_fields, Fields{"master:1"});
  EXPECT_EQ(m.fstype, "ext3");
  EXPECT_EQ(m.source, "/dev/root");
  EXPECT_EQ(m.super_options, "rw,errors=continue");
}

TEST(Mountinfo, OptionalFieldsZeroOneSeveral) {
  auto p = parse_mountinfo(
      "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
      "2 1 0:5 / /a rw shared:7 - tmpfs tmpfs rw\n"
      "3 1 0:6 / /b rw shared:7 master:3 propagate_from:2 unbindable - tmpfs tmpfs rw\n"
      "4 1 0:7 / /c rw future:9 - tmpfs tmpfs rw\n");  // unknown tags are kept, not rejected
  EXPECT_TRUE(p.warnings.empty());
  ASSERT_EQ(p.mounts.size(), 4u);
  EXPECT_TRUE(p.mounts[0].optional_fields.empty());
  EXPECT_EQ(p.mounts[1].optional_fields, Fields{"shared:7"});
  EXPECT_EQ(p.mounts[2].optional_fields,
            (Fields{"shared:7", "master:3", "propagate_from:2", "unbindable"}));
  EXPECT_EQ(p.mounts[3].optional_fields, Fields{"future:9"});
  EXPECT_EQ(p.mounts[2].fstype, "tmpfs");
}

// Captured from this kernel (6.18) in a private mount namespace: mount points with a space, a
// backslash, a newline and a tab, an empty source, a bind mount, shared/master/unbindable.
const char* kEscapesCapture =
    "65 44 0:39 / /tmp/mi-capture/sp\\040ace rw,relatime - tmpfs my\\040src rw,size=1024k\n"
    "66 44 0:40 / /tmp/mi-capture/back\\134slash rw,relatime - tmpfs none rw,size=1024k\n"
    "67 44 0:41 / /tmp/mi-capture/new\\012line rw,relatime - tmpfs  rw,size=1024k\n"
    "68 44 254:0 /tmp/mi-capture/src/sub /tmp/mi-capture/tab\\011x rw,relatime unbindable - ext4 "
    "/dev/vda rw,discard,resv_strict,resuid=65534,resgid=65534\n"
    "69 44 0:42 / /tmp/mi-capture/shared rw,relatime shared:1 - tmpfs shr rw,size=1024k\n"
    "70 44 0:42 / /tmp/mi-capture/slave rw,relatime master:1 - tmpfs shr rw,size=1024k\n"
    "71 69 0:43 / /tmp/mi-capture/shared/x rw,relatime shared:2 - tmpfs tt rw\n"
    "72 70 0:43 / /tmp/mi-capture/slave/x rw,relatime master:2 - tmpfs tt rw\n";

TEST(Mountinfo, RealCaptureWithEscapes) {
  auto p = parse_mountinfo(kEscapesCapture);
  EXPECT_TRUE(p.warnings.empty()) << p.warnings.front();
  ASSERT_EQ(p.mounts.size(), 8u);
  EXPECT_EQ(p.mounts[0].mount_point, "/tmp/mi-capture/sp ace");
  EXPECT_EQ(p.mounts[0].source, "my src");
  EXPECT_EQ(p.mounts[0].super_options, "rw,size=1024k");
  EXPECT_EQ(p.mounts[1].mount_point, "/tmp/mi-capture/back\\slash");
  EXPECT_EQ(p.mounts[1].source, "none");
  EXPECT_EQ(p.mounts[2].mount_point, "/tmp/mi-capture/new\nline");
  EXPECT_EQ(p.mounts[2].source, "");  // printed as two spaces
  EXPECT_EQ(p.mounts[2].fstype, "tmpfs");
  EXPECT_EQ(p.mounts[2].super_options, "rw,size=1024k");

  const auto& bind = p.mounts[3];  // bind mount of a subtree: root != "/"
  EXPECT_EQ(bind.root, "/tmp/mi-capture/src/sub");
  EXPECT_EQ(bind.mount_point, "/tmp/mi-capture/tab\tx");
  EXPECT_EQ(bind.dev.str(), "254:0");
  EXPECT_EQ(bind.optional_fields, Fields{"unbindable"});
  EXPECT_EQ(bind.super_options, "rw,discard,resv_strict,resuid=65534,resgid=65534");

  EXPECT_EQ(p.mounts[4].optional_fields, Fields{"shared:1"});
  EXPECT_EQ(p.mounts[5].optional_fields, Fields{"master:1"});
  EXPECT_EQ(p.mounts[4].dev, p.mounts[5].dev);  // same superblock seen twice
  EXPECT_EQ(p.mounts[6].parent_id, 69);
}

// Verbatim from `cat /proc/self/mountinfo` on the build VM.
const char* kMachineCapture =
    "22 27 0:21 / /proc rw,relatime - proc proc rw\n"
    "23 27 0:22 / /sys rw,relatime - sysfs sysfs rw\n"
    "24 27 0:6 / /dev rw,relatime - devtmpfs devtmpfs rw,size=12334492k,nr_inodes=3083623,mode=755\n"
    "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard,resv_strict,resuid=65534,resgid=65534\n"
    "28 27 0:25 / /mnt/sandboxing/model_tools_env/v1/python ro,nosuid,nodev,relatime - tmpfs "
    "model_tools_unavailable ro,size=4k,mode=755\n"
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
    "42 23 0:13 / /sys/kernel/tracing rw,relatime - tracefs tracefs rw\n";

TEST(Mountinfo, RealMachineCapture) {
  auto p = parse_mountinfo(kMachineCapture);
  EXPECT_TRUE(p.warnings.empty());
  ASSERT_EQ(p.mounts.size(), 9u);
  const auto& root = p.mounts[3];
  EXPECT_EQ(root.mount_id, 27);
  EXPECT_EQ(root.parent_id, 1);  // outside this view
  EXPECT_EQ(root.mount_point, "/");
  EXPECT_EQ(root.dev.raw, 0xfe00000u);  // fdinfo's sdev:fe00000
  EXPECT_EQ(root.fstype, "ext4");
  EXPECT_EQ(root.source, "/dev/vda");
  EXPECT_EQ(p.mounts[0].dev.str(), "0:21");
  EXPECT_EQ(p.mounts[4].mount_options, "ro,nosuid,nodev,relatime");
  EXPECT_EQ(p.mounts[4].source, "model_tools_unavailable");
  EXPECT_EQ(p.mounts[7].fstype, "cgroup2");
}

TEST(Mountinfo, OtherRealWorldShapes) {
  auto p = parse_mountinfo(
      // nsfs: a root that is not a path
      "600 25 0:4 net:[4026532281] /run/netns/x rw shared:2 - nsfs nsfs rw\n"
      // FUSE with subtype and a colon in the source
      "601 27 0:77 / /home/u/remote rw,nosuid,nodev,relatime shared:300 - fuse.sshfs "
      "u@host:/srv rw,user_id=1000,group_id=1000\n"
      // overlay with long, comma-rich super options
      "602 27 0:78 / /var/lib/docker/overlay2/abc/merged rw,relatime - overlay overlay "
      "rw,lowerdir=/l1:/l2,upperdir=/u,workdir=/w\n"
      // a mount point literally named "-": fields are positional, so this is not the separator
      "603 27 0:79 / /- rw - tmpfs - rw\n"
      // a bind of a deleted directory
      "604 27 254:0 /gone//deleted /mnt/d rw - ext4 /dev/vda rw\n");
  EXPECT_TRUE(p.warnings.empty()) << p.warnings.front();
  ASSERT_EQ(p.mounts.size(), 5u);
  EXPECT_EQ(p.mounts[0].root, "net:[4026532281]");
  EXPECT_EQ(p.mounts[1].fstype, "fuse.sshfs");
  EXPECT_EQ(p.mounts[1].source, "u@host:/srv");
  EXPECT_EQ(p.mounts[2].super_options, "rw,lowerdir=/l1:/l2,upperdir=/u,workdir=/w");
  EXPECT_EQ(p.mounts[3].mount_point, "/-");
  EXPECT_EQ(p.mounts[3].source, "-");
  EXPECT_EQ(p.mounts[4].root, "/gone//deleted");
}

TEST(Mountinfo, DashAsFixedField) {
  // Root "-" (positional) and the separator after it.
  auto p = parse_mountinfo("5 1 0:9 - /x rw - tmpfs t rw\n");
  ASSERT_EQ(p.mounts.size(), 1u) << p.warnings.front();
  EXPECT_EQ(p.mounts[0].root, "-");
  EXPECT_TRUE(p.mounts[0].optional_fields.empty());
}

TEST(Mountinfo, EscapesInRootAndSourceAndInvalidUtf8) {
  auto p = parse_mountinfo(
      "80 27 254:0 /data/my\\040files/\\303\\251t\\351 /mnt/\\377\\376raw rw - ext4 "
      "/dev/disk/by-label/My\\040Disk rw\n"
      "81 27 0:50 / /mnt/caf\xc3\xa9/\xff\xfe rw - tmpfs tmpfs rw\n");
  EXPECT_TRUE(p.warnings.empty());
  ASSERT_EQ(p.mounts.size(), 2u);
  EXPECT_EQ(p.mounts[0].root, "/data/my files/\xc3\xa9t\xe9");
  EXPECT_EQ(p.mounts[0].mount_point, "/mnt/\xff\xferaw");
  EXPECT_EQ(p.mounts[0].source, "/dev/disk/by-label/My Disk");
  EXPECT_EQ(p.mounts[1].mount_point, "/mnt/caf\xc3\xa9/\xff\xfe");  // raw bytes kept as is
}

TEST(Mountinfo, UnescapeRules) {
  EXPECT_EQ(unescape_mountinfo(""), "");
  EXPECT_EQ(unescape_mountinfo("/plain/path"), "/plain/path");
  EXPECT_EQ(unescape_mountinfo("a\\040b"), "a b");
  EXPECT_EQ(unescape_mountinfo("a\\011b"), "a\tb");
  EXPECT_EQ(unescape_mountinfo("a\\012b"), "a\nb");
  EXPECT_EQ(unescape_mountinfo("a\\134b"), "a\\b");
  EXPECT_EQ(unescape_mountinfo("\\040\\040"), "  ");
  EXPECT_EQ(unescape_mountinfo("\\101\\102C"), "ABC");  // any octal, not just the four
  EXPECT_EQ(unescape_mountinfo("\\377"), "\xff");
  EXPECT_EQ(unescape_mountinfo(std::string_view("\\000x")), std::string("\0x", 2));
  // Decoded once: an escaped backslash followed by digits stays a backslash and digits.
  EXPECT_EQ(unescape_mountinfo("\\134040"), "\\040");
  // Invalid or incomplete escapes are kept literally.
  EXPECT_EQ(unescape_mountinfo("\\"), "\\");
  EXPECT_EQ(unescape_mountinfo("a\\"), "a\\");
  EXPECT_EQ(unescape_mountinfo("a\\0"), "a\\0");
  EXPECT_EQ(unescape_mountinfo("a\\04"), "a\\04");
  EXPECT_EQ(unescape_mountinfo("a\\048"), "a\\048");
  EXPECT_EQ(unescape_mountinfo("\\400"), "\\400");  // > 0377: not a byte
  EXPECT_EQ(unescape_mountinfo("\\x41"), "\\x41");
  EXPECT_EQ(unescape_mountinfo("\\\\040"), "\\ ");  // lone backslash, then a valid escape
  EXPECT_EQ(unescape_mountinfo("\xff\\040\xfe"), "\xff \xfe");
}

struct BadLine {
  const char* line;
  const char* warning;  // must appear in the warning
};

class MountinfoBadLine : public ::testing::TestWithParam<BadLine> {};

TEST_P(MountinfoBadLine, SkippedWithOneWarning) {
  const auto& c = GetParam();
  std::string text = fmt::format(
      "20 1 8:1 / / rw - ext4 /dev/sda1 rw\n{}\n21 20 0:5 / /tmp rw - tmpfs tmpfs rw\n", c.line);
  auto p = parse_mountinfo(text);
  ASSERT_EQ(p.warnings.size(), 1u);
  EXPECT_NE(p.warnings[0].find(c.warning), std::string::npos) << p.warnings[0];
  EXPECT_NE(p.warnings[0].find("line 2"), std::string::npos) << p.warnings[0];
  ASSERT_EQ(p.mounts.size(), 2u);
  EXPECT_EQ(p.mounts[0].mount_id, 20);
  EXPECT_EQ(p.mounts[1].mount_id, 21);
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, MountinfoBadLine,
    ::testing::Values(
        BadLine{"36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 ext3 /dev/root rw", "no ' - ' separator"},
        // A "-" among the fixed fields is data (here the mount point), not the separator.
        BadLine{"36 35 98:0 / - rw ext3 /dev/root rw", "no ' - ' separator"},
        BadLine{"x 35 98:0 / /m rw - ext3 /dev/root rw", "bad mount id 'x'"},
        BadLine{"-1 35 98:0 / /m rw - ext3 /dev/root rw", "bad mount id '-1'"},
        BadLine{"+1 35 98:0 / /m rw - ext3 /dev/root rw", "bad mount id '+1'"},
        BadLine{"2147483648 35 98:0 / /m rw - ext3 /dev/root rw", "bad mount id '2147483648'"},
        BadLine{"36 35a 98:0 / /m rw - ext3 /dev/root rw", "bad parent id '35a'"},
        BadLine{"36 99999999999999999999 98:0 / /m rw - ext3 /dev/root rw", "bad parent id"},
        BadLine{"36 35 98-0 / /m rw - ext3 /dev/root rw", "bad major:minor '98-0'"},
        BadLine{"36 35 98: / /m rw - ext3 /dev/root rw", "major:minor '98:'"},
        BadLine{"36 35 :0 / /m rw - ext3 /dev/root rw", "major:minor ':0'"},
        BadLine{"36 35 a:b / /m rw - ext3 /dev/root rw", "major:minor 'a:b'"},
        BadLine{"36 35 0x1:0 / /m rw - ext3 /dev/root rw", "major:minor '0x1:0'"},
        BadLine{"36 35 4096:0 / /m rw - ext3 /dev/root rw", "out-of-range major:minor '4096:0'"},
        BadLine{"36 35 0:1048576 / /m rw - ext3 /dev/root rw", "out-of-range major:minor '0:1048576'"},
        BadLine{"36 35 1:2:3 / /m rw - ext3 /dev/root rw", "major:minor '1:2:3'"},
        BadLine{"36 35 98:0 /mnt1", "too few fields (4)"},
        BadLine{"36", "too few fields (1)"},
        BadLine{"garbage", "too few fields"},
        BadLine{"36 35 98:0 / /m rw -", "missing fstype or source"},
        BadLine{"36 35 98:0 / /m rw - ext4", "missing fstype or source"},
        BadLine{"36 35 98:0 / /m rw -  /dev/root rw", "empty fstype"},
        BadLine{"36 35 98:0  / /m rw - ext4 /dev/root rw", "empty field 4"},
        BadLine{"36 35 98:0 / /m rw  - ext4 /dev/root rw", "empty field 7"},
        BadLine{" 36 35 98:0 / /m rw - ext4 /dev/root rw", "bad mount id ''"},
        BadLine{"20 1 8:1 / /dup rw - ext4 /dev/sda1 rw", "duplicate mount id 20"}));

TEST(Mountinfo, MissingSuperOptionsKeptWithWarning) {
  for (const char* line : {"36 35 98:0 / /m rw - ext4 /dev/root", "36 35 98:0 / /m rw - ext4 /dev/root "}) {
    SCOPED_TRACE(line);
    auto p = parse_mountinfo(line);
    ASSERT_EQ(p.mounts.size(), 1u);
    EXPECT_EQ(p.mounts[0].mount_point, "/m");
    EXPECT_EQ(p.mounts[0].super_options, "");
    ASSERT_EQ(p.warnings.size(), 1u);
    EXPECT_NE(p.warnings[0].find("missing super options"), std::string::npos);
  }
}

TEST(Mountinfo, EmptyAndBlankInput) {
  EXPECT_TRUE(parse_mountinfo("").mounts.empty());
  EXPECT_TRUE(parse_mountinfo("").warnings.empty());
  auto p = parse_mountinfo("\n\n");
  EXPECT_TRUE(p.mounts.empty());
  EXPECT_TRUE(p.warnings.empty());
}

TEST(Mountinfo, LastLineWithoutNewline) {
  auto p = parse_mountinfo("1 0 8:1 / / rw - ext4 /dev/sda1 rw\n2 1 0:5 / /tmp rw - tmpfs tmpfs rw");
  EXPECT_TRUE(p.warnings.empty());
  ASSERT_EQ(p.mounts.size(), 2u);
  EXPECT_EQ(p.mounts[1].super_options, "rw");
}

TEST(Mountinfo, EveryTruncationIsSafe) {
  std::string full = kEscapesCapture;
  for (size_t n = 0; n <= full.size(); n++) {
    auto p = parse_mountinfo(std::string_view(full).substr(0, n));
    EXPECT_LE(p.mounts.size(), 8u);
    for (const auto& m : p.mounts) EXPECT_TRUE(m.mount_id >= 65 && m.mount_id <= 72);
  }
}

TEST(Mountinfo, BinaryGarbageIsSafe) {
  const char raw[] = "1 2 3:4 /\0x /m\x01 rw - ext4 \xff\xfe rw\n\0\0\0\n1 \x80 - - - - - -\n";
  auto p = parse_mountinfo(std::string_view(raw, sizeof(raw) - 1));
  ASSERT_EQ(p.mounts.size(), 1u);
  EXPECT_EQ(p.mounts[0].root, std::string("/\0x", 3));
  EXPECT_EQ(p.mounts[0].source, "\xff\xfe");
  ASSERT_EQ(p.warnings.size(), 2u);
  EXPECT_NE(p.warnings[0].find("\\x00\\x00\\x00"), std::string::npos) << p.warnings[0];
  EXPECT_NE(p.warnings[1].find("\\x80"), std::string::npos) << p.warnings[1];

  std::string junk;
  for (int i = 0; i < 8192; i++) junk += static_cast<char>((i * 7919 + i / 13) & 0xff);
  (void)parse_mountinfo(junk);
}

TEST(Mountinfo, TenThousandMounts) {
  std::string text = "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n";
  constexpr int kN = 10000;
  for (int i = 2; i <= kN; i++)
    text += fmt::format("{} 1 0:{} / /run/user/{}/dir\\040{} rw,nosuid shared:{} - tmpfs tmpfs "
                        "rw,size=100k\n",
                        i, i, i, i, i);
  auto p = parse_mountinfo(text);
  EXPECT_TRUE(p.warnings.empty());
  ASSERT_EQ(p.mounts.size(), static_cast<size_t>(kN));
  for (int i = 2; i <= kN; i++) {
    const auto& m = p.mounts[i - 1];
    ASSERT_EQ(m.mount_id, i);
    ASSERT_EQ(m.dev.minor(), static_cast<uint32_t>(i));
    ASSERT_EQ(m.mount_point, fmt::format("/run/user/{}/dir {}", i, i));
    ASSERT_EQ(m.optional_fields, Fields{fmt::format("shared:{}", i)});
  }
}

TEST(Mountinfo, WarningsAreCapped) {
  std::string text;
  for (int i = 0; i < 300; i++) text += "bad line\n";
  auto p = parse_mountinfo(text);
  ASSERT_EQ(p.warnings.size(), kMountinfoMaxWarnings + 1);
  EXPECT_EQ(p.warnings.back(), "mountinfo: 200 more warnings suppressed");
}

TEST(Mountinfo, LiveSelfFindsRoot) {
  std::ifstream f("/proc/self/mountinfo");
  if (!f) GTEST_SKIP() << "no /proc/self/mountinfo";
  std::stringstream buf;
  buf << f.rdbuf();
  auto p = parse_mountinfo(buf.str());
  EXPECT_TRUE(p.warnings.empty()) << p.warnings.front();
  ASSERT_FALSE(p.mounts.empty());
  // The last mount on "/" is the visible one (mounts stacked on "/" come later in the file).
  const MountEntry* root = nullptr;
  for (const auto& m : p.mounts)
    if (m.mount_point == "/") root = &m;
  ASSERT_NE(root, nullptr);
  EXPECT_FALSE(root->fstype.empty());
  EXPECT_FALSE(root->super_options.empty());
#ifdef STATX_MNT_ID
  struct statx stx {};
  if (statx(AT_FDCWD, "/", 0, STATX_MNT_ID, &stx) == 0 && (stx.stx_mask & STATX_MNT_ID)) {
    EXPECT_EQ(static_cast<uint64_t>(root->mount_id), stx.stx_mnt_id);
  }
#endif
}

}  // namespace
}  // namespace inotrace

namespace inotrace {
namespace {

// A table a user shapes (their own namespace: 100,000 mounts on a 4 KiB mount point whose
// escapes make each line ~16 KiB) is read up to kMountinfoReadLimit, whole lines only, and says
// it was cut. Here as a file of ~4 KiB lines a little over the limit.
TEST(Mountinfo, AHugeTableIsReadUpToTheLimitAndSaysSo) {
  char path[] = "/tmp/inotrace-mountinfo-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  const std::string long_point = "/m" + std::string(4000, 'x');
  auto line = [&](size_t i) { return fmt::format("{} 1 0:5 / {}{} rw - tmpfs tmpfs rw\n", 100 + i, long_point, i); };
  size_t lines = 0, bytes = 0;
  {
    std::ofstream f(path, std::ios::binary);
    for (; bytes <= kMountinfoReadLimit + (1u << 20); lines++) {
      f << line(lines);
      bytes += line(lines).size();
    }
  }
  auto parsed = read_mountinfo(path);
  unlink(path);
  ASSERT_TRUE(parsed);
  EXPECT_GT(parsed->mounts.size(), 0u);
  EXPECT_LT(parsed->mounts.size(), lines) << "the mounts past the limit are not read";
  size_t read_bytes = 0;
  for (size_t i = 0; i < parsed->mounts.size(); i++) read_bytes += line(i).size();
  EXPECT_LE(read_bytes, kMountinfoReadLimit);
  EXPECT_GT(read_bytes + line(parsed->mounts.size()).size(), kMountinfoReadLimit) << "every whole line is read";
  ASSERT_FALSE(parsed->warnings.empty());
  EXPECT_NE(parsed->warnings.back().find("mountinfo over 64 MiB"), std::string::npos) << parsed->warnings.back();
  for (const auto& w : parsed->warnings)
    EXPECT_EQ(w.find("line"), std::string::npos) << "no half line is parsed: " << w;
  EXPECT_EQ(parsed->mounts.back().mount_point, long_point + std::to_string(parsed->mounts.size() - 1)) << "whole";
  EXPECT_FALSE(read_mountinfo("/nonexistent/inotrace/mountinfo"));
}

}  // namespace
}  // namespace inotrace
