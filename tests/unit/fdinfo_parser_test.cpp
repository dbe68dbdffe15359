#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "snapshot/fdinfo_parser.h"

namespace inotrace {
namespace {

std::vector<uint8_t> bytes(std::initializer_list<int> v) { return {v.begin(), v.end()}; }

// A complete file as a 6.x kernel prints it: header lines, then marks newest first.
const char* kModernFile =
    "pos:\t0\n"
    "flags:\t02004000\n"
    "mnt_id:\t15\n"
    "ino:\t1057\n"
    "inotify wd:3 ino:a8a276 sdev:fe00000 mask:84000fff ignored_mask:0 fhandle-bytes:8 "
    "fhandle-type:1 f_handle:76a2a80067772881\n"
    "inotify wd:2 ino:e49 sdev:16 mask:fff ignored_mask:0 fhandle-bytes:c fhandle-type:81 "
    "f_handle:490e00000000000001000000\n"
    "inotify wd:1 ino:2 sdev:1b mask:300 ignored_mask:0 \n";

TEST(FdinfoParser, ModernFileAllFields) {
  auto p = parse_inotify_fdinfo(kModernFile);
  EXPECT_TRUE(p.warnings.empty()) << p.warnings.front();
  EXPECT_TRUE(p.saw_inotify_line);
  ASSERT_EQ(p.flags, 02004000u);
  ASSERT_EQ(p.mnt_id, 15);
  ASSERT_EQ(p.watches.size(), 3u);

  const auto& w = p.watches[0];
  EXPECT_EQ(w.wd, 3);
  EXPECT_EQ(w.ino, 0xa8a276u);
  EXPECT_EQ(w.dev.raw, 0xfe00000u);
  EXPECT_EQ(w.dev.str(), "254:0");
  EXPECT_EQ(w.mask, 0x84000fffu);  // IN_ONESHOT | IN_EXCL_UNLINK | IN_ALL_EVENTS
  EXPECT_EQ(w.ignored_mask, 0u);
  ASSERT_TRUE(w.handle);
  EXPECT_EQ(w.handle->type, 1u);
  EXPECT_EQ(w.handle->bytes, bytes({0x76, 0xa2, 0xa8, 0x00, 0x67, 0x77, 0x28, 0x81}));

  EXPECT_EQ(p.watches[1].handle->type, 0x81u);
  EXPECT_EQ(p.watches[1].handle->bytes.size(), 12u);

  // No fhandle part (no CONFIG_EXPORTFS), with the kernel's trailing space.
  EXPECT_EQ(p.watches[2].wd, 1);
  EXPECT_EQ(p.watches[2].mask, 0x300u);
  EXPECT_FALSE(p.watches[2].handle);
}

TEST(FdinfoParser, RealProcfsAndSysfsLines) {
  // fhandle-type 81 (FILEID_KERNFS / procfs-style) and a type 1 line, as captured on 6.x.
  auto p = parse_inotify_fdinfo(
      "inotify wd:5 ino:e49 sdev:16 mask:84000fff ignored_mask:0 fhandle-bytes:c fhandle-type:81 "
      "f_handle:490e00000000000001000000\n"
      "inotify wd:1 ino:2 sdev:1b mask:84000fff ignored_mask:0 fhandle-bytes:c fhandle-type:1 "
      "f_handle:3cb5a1f50200000000000000\n");
  EXPECT_TRUE(p.warnings.empty());
  ASSERT_EQ(p.watches.size(), 2u);
  EXPECT_EQ(p.watches[0].wd, 5);
  EXPECT_EQ(p.watches[0].ino, 0xe49u);
  EXPECT_EQ(p.watches[0].dev.str(), "0:22");
  EXPECT_EQ(p.watches[0].handle->type, 0x81u);
  EXPECT_EQ(p.watches[0].handle->bytes,
            bytes({0x49, 0x0e, 0, 0, 0, 0, 0, 0, 0x01, 0, 0, 0}));
  EXPECT_EQ(p.watches[1].wd, 1);
  EXPECT_EQ(p.watches[1].ino, 2u);
  EXPECT_EQ(p.watches[1].dev.str(), "0:27");
  EXPECT_EQ(p.watches[1].handle->type, 1u);
  EXPECT_EQ(p.watches[1].handle->bytes,
            bytes({0x3c, 0xb5, 0xa1, 0xf5, 0x02, 0, 0, 0, 0, 0, 0, 0}));
}

TEST(FdinfoParser, RealCaptureFromThisMachine) {
  // Kernel 6.18: watches on /dev/shm (tmpfs), /proc/<pid>, /sys/kernel and / (ext4).
  auto p = parse_inotify_fdinfo(
      "pos:\t0\n"
      "flags:\t00\n"
      "mnt_id:\t17\n"
      "ino:\t1038\n"
      "inotify wd:4 ino:1 sdev:1b mask:fff ignored_mask:0 fhandle-bytes:c fhandle-type:1 "
      "f_handle:afcd3bf30100000000000000\n"
      "inotify wd:3 ino:e49 sdev:16 mask:fff ignored_mask:0 fhandle-bytes:c fhandle-type:81 "
      "f_handle:490e00000000000001000000\n"
      "inotify wd:2 ino:5a00 sdev:15 mask:fff ignored_mask:0 fhandle-bytes:c fhandle-type:81 "
      "f_handle:005a00000000000000000000\n"
      "inotify wd:1 ino:3c51a sdev:fe00000 mask:fff ignored_mask:0 fhandle-bytes:8 fhandle-type:1 "
      "f_handle:1ac5030000000000\n");
  EXPECT_TRUE(p.warnings.empty());
  EXPECT_EQ(p.flags, 0u);
  EXPECT_EQ(p.mnt_id, 17);
  ASSERT_EQ(p.watches.size(), 4u);
  for (size_t i = 0; i < 4; i++) EXPECT_EQ(p.watches[i].wd, static_cast<int>(4 - i));  // file order
  EXPECT_EQ(p.watches[3].dev.str(), "254:0");
  EXPECT_EQ(p.watches[3].ino, 0x3c51au);
  EXPECT_EQ(p.watches[3].handle->bytes.size(), 8u);
}

TEST(FdinfoParser, NoHandleVariants) {
  // Trailing space, no trailing space, no final newline, CRLF: all the same watch.
  for (const char* text : {"inotify wd:1 ino:10 sdev:800001 mask:2 ignored_mask:0 \n",
                           "inotify wd:1 ino:10 sdev:800001 mask:2 ignored_mask:0\n",
                           "inotify wd:1 ino:10 sdev:800001 mask:2 ignored_mask:0",
                           "inotify wd:1 ino:10 sdev:800001 mask:2 ignored_mask:0 \r\n"}) {
    SCOPED_TRACE(text);
    auto p = parse_inotify_fdinfo(text);
    EXPECT_TRUE(p.warnings.empty());
    ASSERT_EQ(p.watches.size(), 1u);
    EXPECT_EQ(p.watches[0].ino, 0x10u);
    EXPECT_EQ(p.watches[0].dev.str(), "8:1");
    EXPECT_EQ(p.watches[0].mask, 2u);
    EXPECT_FALSE(p.watches[0].handle);
  }
}

TEST(FdinfoParser, OldKernelFormat) {
  // 4.18-era: mask is only IN_ALL_EVENTS bits, ignored_mask printed from the mark.
  auto p = parse_inotify_fdinfo(
      "pos:\t0\nflags:\t00\nmnt_id:\t13\n"
      "inotify wd:2 ino:4000 sdev:fd00000 mask:fff ignored_mask:8000000 fhandle-bytes:8 "
      "fhandle-type:1 f_handle:0040000001000000\n"
      "inotify wd:1 ino:80 sdev:fd00000 mask:3c8 ignored_mask:ffffffff\n");
  EXPECT_TRUE(p.warnings.empty());
  ASSERT_EQ(p.watches.size(), 2u);
  EXPECT_EQ(p.watches[0].ignored_mask, 0x8000000u);
  EXPECT_EQ(p.watches[0].mask, 0xfffu);
  EXPECT_TRUE(p.watches[0].handle);
  EXPECT_EQ(p.watches[1].ignored_mask, 0xffffffffu);
  EXPECT_EQ(p.watches[1].dev.str(), "253:0");
  EXPECT_FALSE(p.watches[1].handle);
}

TEST(FdinfoParser, ExtremeButValidValues) {
  auto p = parse_inotify_fdinfo(
      "inotify wd:7fffffff ino:ffffffffffffffff sdev:ffffffff mask:ffffffff ignored_mask:0 "
      "fhandle-bytes:0 fhandle-type:ff f_handle:\n"
      "inotify wd:0001 ino:0 sdev:0 mask:0 ignored_mask:0 fhandle-bytes:4 fhandle-type:1 "
      "f_handle:DEADbeef\n");
  EXPECT_TRUE(p.warnings.empty()) << p.warnings.front();
  ASSERT_EQ(p.watches.size(), 2u);
  EXPECT_EQ(p.watches[0].wd, INT32_MAX);
  EXPECT_EQ(p.watches[0].ino, UINT64_MAX);
  EXPECT_EQ(p.watches[0].dev.str(), "4095:1048575");
  EXPECT_EQ(p.watches[0].mask, UINT32_MAX);
  ASSERT_TRUE(p.watches[0].handle);  // an empty handle is still a handle
  EXPECT_TRUE(p.watches[0].handle->bytes.empty());
  EXPECT_EQ(p.watches[1].wd, 1);
  EXPECT_EQ(p.watches[1].handle->bytes, bytes({0xde, 0xad, 0xbe, 0xef}));
}

struct BadLine {
  const char* line;
  const char* field;  // must be named in the warning
};

class FdinfoBadLine : public ::testing::TestWithParam<BadLine> {};

TEST_P(FdinfoBadLine, SkippedWithOneWarningNamingTheField) {
  const auto& c = GetParam();
  // Sandwiched between good lines: the neighbours must survive.
  std::string text = fmt::format(
      "inotify wd:9 ino:1 sdev:1 mask:1 ignored_mask:0\n{}\ninotify wd:8 ino:2 sdev:1 mask:1 "
      "ignored_mask:0\n",
      c.line);
  auto p = parse_inotify_fdinfo(text);
  ASSERT_EQ(p.warnings.size(), 1u);
  EXPECT_NE(p.warnings[0].find(c.field), std::string::npos) << p.warnings[0];
  EXPECT_NE(p.warnings[0].find("line 2"), std::string::npos) << p.warnings[0];
  ASSERT_EQ(p.watches.size(), 2u);
  EXPECT_EQ(p.watches[0].wd, 9);
  EXPECT_EQ(p.watches[1].wd, 8);
  EXPECT_TRUE(p.saw_inotify_line);
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, FdinfoBadLine,
    ::testing::Values(
        BadLine{"inotify wd:zz ino:1 sdev:1 mask:1 ignored_mask:0", "wd 'zz' not hex"},
        BadLine{"inotify wd: ino:1 sdev:1 mask:1 ignored_mask:0", "wd '' empty"},
        BadLine{"inotify wd:0 ino:1 sdev:1 mask:1 ignored_mask:0", "wd '0' out of range"},
        BadLine{"inotify wd:80000000 ino:1 sdev:1 mask:1 ignored_mask:0", "wd '80000000' out of range"},
        BadLine{"inotify wd:ffffffff ino:1 sdev:1 mask:1 ignored_mask:0", "wd 'ffffffff'"},
        BadLine{"inotify wd:100000000 ino:1 sdev:1 mask:1 ignored_mask:0", "wd '100000000' overflows"},
        BadLine{"inotify wd:-1 ino:1 sdev:1 mask:1 ignored_mask:0", "wd '-1' not hex"},
        BadLine{"inotify wd:1 ino:10000000000000000 sdev:1 mask:1 ignored_mask:0", "ino '10000000000000000' overflows"},
        BadLine{"inotify wd:1 ino:12g4 sdev:1 mask:1 ignored_mask:0", "ino '12g4' not hex"},
        BadLine{"inotify wd:1 ino:1 sdev:100000000 mask:1 ignored_mask:0", "sdev '100000000' overflows"},
        BadLine{"inotify wd:1 ino:1 sdev:fe00000 mask:0x84 ignored_mask:0", "mask '0x84' not hex"},
        BadLine{"inotify wd:1 ino:1 sdev:fe00000 mask:84000fffg ignored_mask:0", "mask '84000fffg' not hex"},
        BadLine{"inotify wd:1 ino:1 sdev:fe00000 mask:+1 ignored_mask:0", "mask '+1' not hex"},
        BadLine{"inotify wd:1 ino:1 sdev:1 mask:1 ignored_mask:1ffffffff", "ignored_mask '1ffffffff' overflows"},
        BadLine{"inotify wd:1 ino:1 sdev:1 mask:1 ignored_mask:", "ignored_mask '' empty"},
        // Truncated lines: the first missing field is named.
        BadLine{"inotify wd:3 ino:a8a276 sdev:fe0", "missing 'mask'"},
        BadLine{"inotify wd:3 ino:a8a276 sdev:fe00000 mask:", "mask '' empty"},
        BadLine{"inotify wd:3 ino:a8a276 sdev:fe00000 mask:84000fff", "missing 'ignored_mask'"},
        BadLine{"inotify wd:3 ino:a8a2", "missing 'sdev'"},
        BadLine{"inotify wd", "missing 'wd'"},  // cut inside the first key
        BadLine{"inotify", "missing 'wd'"},
        BadLine{"inotify ", "missing 'wd'"},
        BadLine{"inotify ino:1 sdev:1 mask:1 ignored_mask:0", "missing 'wd'"},
        BadLine{"inotify wd:1 ino:1 junk sdev:1 mask:1 ignored_mask:0", "without ':' ('junk')"},
        BadLine{"inotify wd:1 wd:2 ino:1 sdev:1 mask:1 ignored_mask:0", "repeats 'wd'"},
        BadLine{"inotify wd:9 ino:1 sdev:1 mask:1 ignored_mask:0", "duplicate wd 9"}));

TEST(FdinfoParser, HandleProblemsDropOnlyTheHandle) {
  struct Case {
    const char* tail;
    const char* warning;
  };
  const Case cases[] = {
      {"fhandle-bytes:8 fhandle-type:1 f_handle:76a2a8006777288", "odd number of hex digits (15)"},
      {"fhandle-bytes:8 fhandle-type:1 f_handle:76a2a800", "4 bytes but fhandle-bytes says 8"},
      {"fhandle-bytes:2 fhandle-type:1 f_handle:76a2a800", "4 bytes but fhandle-bytes says 2"},
      {"fhandle-bytes:4 fhandle-type:1 f_handle:76a2zz00", "f_handle '76a2zz00' not hex"},
      {"fhandle-bytes:4 fhandle-type:1 f_handle:", "0 bytes but fhandle-bytes says 4"},
      {"fhandle-bytes:8 fhandle-ty", "ends mid-token ('fhandle-ty', truncated?)"},
      {"fhandle-bytes:8 fhandle-type:1 f_han", "ends mid-token ('f_han'"},
      {"fhan", "ends mid-token ('fhan'"},
      {"fhandle-bytes:8 fhandle-type:1", "without 'f_handle'"},
      {"fhandle-bytes:8", "without 'fhandle-type'"},
      {"f_handle:76a2a800", "without 'fhandle-bytes'"},
      {"fhandle-bytes:100000000 fhandle-type:1 f_handle:00", "fhandle-bytes '100000000' overflows"},
      {"fhandle-bytes:ffffffff fhandle-type:1 f_handle:00", "1 bytes but fhandle-bytes says 4294967295"},
      {"fhandle-bytes: fhandle-type:1 f_handle:00", "fhandle-bytes '' empty"},
      {"fhandle-bytes:1 fhandle-type:1q f_handle:00", "fhandle-type '1q' not hex"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.tail);
    auto p = parse_inotify_fdinfo(
        fmt::format("inotify wd:3 ino:a8a276 sdev:fe00000 mask:84000fff ignored_mask:0 {}", c.tail));
    ASSERT_EQ(p.watches.size(), 1u);
    EXPECT_EQ(p.watches[0].ino, 0xa8a276u);
    EXPECT_FALSE(p.watches[0].handle);
    ASSERT_EQ(p.warnings.size(), 1u);
    EXPECT_NE(p.warnings[0].find(c.warning), std::string::npos) << p.warnings[0];
    EXPECT_NE(p.warnings[0].find("handle dropped"), std::string::npos);
  }
}

TEST(FdinfoParser, UnknownKeysAndLinesAreIgnored) {
  auto p = parse_inotify_fdinfo(
      "pos:\t0\n"
      "eventfd-count:   0\n"
      "random garbage without colon\n"
      "fanotify flags:10 event-flags:0\n"
      "inotifyX wd:1\n"
      "inotify wd:1 ino:1 sdev:1 mask:1 ignored_mask:0 future-field:42 fhandle-bytes:1 "
      "fhandle-type:1 f_handle:ab\n");
  EXPECT_TRUE(p.warnings.empty());
  ASSERT_EQ(p.watches.size(), 1u);
  EXPECT_EQ(p.watches[0].handle->bytes, bytes({0xab}));
  EXPECT_FALSE(p.flags);
  EXPECT_FALSE(p.mnt_id);
}

TEST(FdinfoParser, HeaderLineProblems) {
  auto p = parse_inotify_fdinfo("flags:\t0200x\nmnt_id:\t-3\n");
  EXPECT_FALSE(p.flags);
  EXPECT_FALSE(p.mnt_id);
  ASSERT_EQ(p.warnings.size(), 2u);
  EXPECT_NE(p.warnings[0].find("flags '0200x' not octal"), std::string::npos);
  EXPECT_NE(p.warnings[1].find("mnt_id '-3' not decimal"), std::string::npos);

  p = parse_inotify_fdinfo("flags:\t08\nmnt_id:\t99999999999\nflags:\t\n");
  EXPECT_FALSE(p.flags);
  EXPECT_FALSE(p.mnt_id);
  ASSERT_EQ(p.warnings.size(), 3u);
  EXPECT_NE(p.warnings[0].find("not octal"), std::string::npos);
  EXPECT_NE(p.warnings[1].find("overflows"), std::string::npos);
  EXPECT_NE(p.warnings[2].find("flags '' empty"), std::string::npos);

  p = parse_inotify_fdinfo("flags:\t040000000000\nmnt_id:\t2147483648\n");
  EXPECT_NE(p.warnings.at(0).find("flags '040000000000' overflows"), std::string::npos);
  EXPECT_NE(p.warnings.at(1).find("mnt_id '2147483648' overflows"), std::string::npos);

  p = parse_inotify_fdinfo("flags:\t01\nflags:\t02\nmnt_id: 5\nmnt_id: 6\n");
  EXPECT_EQ(p.flags, 1u);  // the first wins
  EXPECT_EQ(p.mnt_id, 5);
  EXPECT_EQ(p.warnings.size(), 2u);
}

TEST(FdinfoParser, EmptyAndNonInotifyInput) {
  auto p = parse_inotify_fdinfo("");
  EXPECT_TRUE(p.watches.empty());
  EXPECT_TRUE(p.warnings.empty());
  EXPECT_FALSE(p.saw_inotify_line);

  p = parse_inotify_fdinfo("pos:\t0\nflags:\t02\nmnt_id:\t16\nino:\t22992\n");
  EXPECT_TRUE(p.watches.empty());
  EXPECT_TRUE(p.warnings.empty());
  EXPECT_FALSE(p.saw_inotify_line);
  EXPECT_EQ(p.flags, 2u);
  EXPECT_EQ(p.mnt_id, 16);

  p = parse_inotify_fdinfo("\n\n\n");
  EXPECT_TRUE(p.watches.empty());
  EXPECT_TRUE(p.warnings.empty());
}

TEST(FdinfoParser, FileCutMidLine) {
  // A read that stopped early: the last line ends inside f_handle, without a newline.
  std::string full = kModernFile;
  size_t cut = full.find("f_handle:490e") + 13;
  auto p = parse_inotify_fdinfo(std::string_view(full).substr(0, cut));
  ASSERT_EQ(p.watches.size(), 2u);
  EXPECT_TRUE(p.watches[0].handle);
  EXPECT_FALSE(p.watches[1].handle);
  ASSERT_EQ(p.warnings.size(), 1u);
  EXPECT_NE(p.warnings[0].find("line 6"), std::string::npos) << p.warnings[0];

  // Every possible cut point: never a crash, never a watch with a wrong wd or handle.
  for (size_t n = 0; n <= full.size(); n++) {
    auto q = parse_inotify_fdinfo(std::string_view(full).substr(0, n));
    for (const auto& w : q.watches) {
      EXPECT_TRUE(w.wd >= 1 && w.wd <= 3) << n;
      if (w.handle) {
        EXPECT_TRUE(w.handle->bytes.size() == 8 || w.handle->bytes.size() == 12) << n;
      }
    }
  }
}

TEST(FdinfoParser, BinaryGarbageIsSafeAndEscapedInWarnings) {
  const char raw[] = "inotify wd:\x01\xff\0zz ino:1 sdev:1 mask:1 ignored_mask:0\n\0\0\n";
  std::string text(raw, sizeof(raw) - 1);  // embedded NULs included
  auto p = parse_inotify_fdinfo(text);
  EXPECT_TRUE(p.watches.empty());
  ASSERT_EQ(p.warnings.size(), 1u);
  EXPECT_NE(p.warnings[0].find("\\x01\\xff\\x00zz"), std::string::npos) << p.warnings[0];

  std::string junk;
  for (int i = 0; i < 4096; i++) junk += static_cast<char>((i * 7919) & 0xff);
  (void)parse_inotify_fdinfo(junk);  // no crash, no sanitizer report
  (void)parse_inotify_fdinfo("inotify " + junk);
}

TEST(FdinfoParser, LongValuesAreBoundedInWarnings) {
  std::string text = "inotify wd:1 ino:" + std::string(100000, 'f') + " sdev:1 mask:1 ignored_mask:0";
  auto p = parse_inotify_fdinfo(text);
  ASSERT_EQ(p.warnings.size(), 1u);
  EXPECT_LT(p.warnings[0].size(), 200u);
  EXPECT_NE(p.warnings[0].find("overflows"), std::string::npos);
}

TEST(FdinfoParser, TenThousandWatches) {
  std::string text = "pos:\t0\nflags:\t02004000\nmnt_id:\t15\nino:\t1057\n";
  constexpr int kN = 10000;
  for (int wd = kN; wd >= 1; wd--)
    text += fmt::format(
        "inotify wd:{:x} ino:{:x} sdev:fe00000 mask:84000fff ignored_mask:0 fhandle-bytes:8 "
        "fhandle-type:1 f_handle:{:016x}\n",
        wd, 0x100000000ull + wd, static_cast<uint64_t>(wd) * 0x0101010101ull);
  auto p = parse_inotify_fdinfo(text);
  EXPECT_TRUE(p.warnings.empty());
  ASSERT_EQ(p.watches.size(), static_cast<size_t>(kN));
  for (int i = 0; i < kN; i++) {
    const auto& w = p.watches[i];
    int wd = kN - i;
    ASSERT_EQ(w.wd, wd);
    ASSERT_EQ(w.ino, 0x100000000ull + wd);
    ASSERT_EQ(w.dev.str(), "254:0");
    ASSERT_TRUE(w.handle);
    uint64_t h = 0;
    for (uint8_t b : w.handle->bytes) h = h << 8 | b;
    ASSERT_EQ(h, static_cast<uint64_t>(wd) * 0x0101010101ull);
  }
}

TEST(FdinfoParser, WarningsAreCapped) {
  std::string text;
  for (int i = 0; i < 500; i++) text += "inotify wd:1 ino:zz sdev:1 mask:1 ignored_mask:0\n";
  auto p = parse_inotify_fdinfo(text);
  EXPECT_TRUE(p.watches.empty());
  ASSERT_EQ(p.warnings.size(), kFdinfoMaxWarnings + 1);
  EXPECT_EQ(p.warnings.back(), "fdinfo: 400 more warnings suppressed");
}

// The running kernel's format, whichever it is, must parse cleanly.
TEST(FdinfoParser, LiveInotifyFd) {
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) GTEST_SKIP() << "inotify unavailable";
  struct stat root_st {}, proc_st {};
  ASSERT_EQ(stat("/", &root_st), 0);
  ASSERT_EQ(stat("/proc/self/fdinfo", &proc_st), 0);
  int wd_root = inotify_add_watch(fd, "/", IN_CREATE | IN_DELETE);
  int wd_proc = inotify_add_watch(fd, "/proc/self/fdinfo", IN_MODIFY | IN_EXCL_UNLINK);
  ASSERT_GT(wd_root, 0);
  ASSERT_GT(wd_proc, 0);

  std::ifstream f(fmt::format("/proc/self/fdinfo/{}", fd));
  std::stringstream buf;
  buf << f.rdbuf();
  close(fd);
  std::string text = buf.str();
  auto p = parse_inotify_fdinfo(text);

  EXPECT_TRUE(p.warnings.empty()) << text;
  EXPECT_TRUE(p.saw_inotify_line);
  ASSERT_TRUE(p.flags);
  EXPECT_EQ(*p.flags & (O_NONBLOCK | O_CLOEXEC), static_cast<uint32_t>(O_NONBLOCK | O_CLOEXEC));
  EXPECT_TRUE(p.mnt_id);
  ASSERT_EQ(p.watches.size(), 2u) << text;
  EXPECT_EQ(p.watches[0].wd, wd_proc);  // newest first
  EXPECT_EQ(p.watches[0].ino, proc_st.st_ino);
  EXPECT_EQ(p.watches[0].mask & IN_ALL_EVENTS, static_cast<uint32_t>(IN_MODIFY));
  EXPECT_EQ(p.watches[1].wd, wd_root);
  EXPECT_EQ(p.watches[1].ino, root_st.st_ino);
  EXPECT_EQ(p.watches[1].mask & IN_ALL_EVENTS, static_cast<uint32_t>(IN_CREATE | IN_DELETE));
  EXPECT_EQ(p.watches[1].ignored_mask, 0u);
}

}  // namespace
}  // namespace inotrace
