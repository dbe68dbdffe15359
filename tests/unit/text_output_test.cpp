#include <gtest/gtest.h>
#include <sys/inotify.h>

#include "output/event_text.h"
#include "util/text_encoding.h"

namespace inotrace {
namespace {

TEST(TextOutput, OneLineEvenForHostilePaths) {
  Event e;
  e.type = EventType::Add;
  e.task = TaskInfo{1, 1, 0, 0, "x"};
  e.wd = 1;
  e.dev = KernelDev{(8u << 20) | 1};
  e.ino = 12;
  e.mask = IN_ALL_EVENTS;
  e.path = "/a\nb\xff";
  std::string line = event_to_text(e, WallClock(0));
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_NE(line.find("/a\\nb\\xff"), std::string::npos) << line;
  EXPECT_NE(line.find("8:1:12"), std::string::npos) << line;
  EXPECT_NE(line.find("IN_ALL_EVENTS"), std::string::npos) << line;
}

// The fixed columns are written into room measured before: every column at its longest
// (numbers at their limits, every mask bit, a comm that escapes to six bytes a byte) fits, and
// comes out whole (the sanitizer tier runs this too).
TEST(TextOutput, EveryColumnAtItsLongestFits) {
  Event e;
  e.type = EventType::Add;
  e.task = TaskInfo{2147483647, 2147483647, 0, 0, std::string(15, '\x1b')};
  e.wd = 2147483647;
  e.dev = KernelDev{0xffffffffu};
  e.ino = UINT64_MAX;
  e.mask = 0xffffffffu;
  e.path = "/p";
  std::string line = event_to_text(e, WallClock(0));
  EXPECT_NE(line.find("2147483647"), std::string::npos) << line;
  EXPECT_NE(line.find(std::string(":") + std::to_string(UINT64_MAX)), std::string::npos) << line;
  std::string escaped;
  for (int i = 0; i < 15; i++) escaped += "\\x1b";
  EXPECT_NE(line.find(escaped), std::string::npos) << line;
  EXPECT_NE(line.find(" /p"), std::string::npos) << line;
  e.type = EventType::InstanceCreate;
  e.fd = -1;
  e.req_mask = 0xffffffffu;
  line = event_to_text(e, WallClock(0));
  EXPECT_NE(line.find("fd -1"), std::string::npos) << line;
}

TEST(TextOutput, ColumnsAlignWithTheHeader) {
  Event e;
  e.type = EventType::Remove;
  e.task = TaskInfo{123, 123, 0, 0, "inotifywait"};
  e.wd = 3;
  e.reason = Reason::RmWatch;
  e.dev = KernelDev{(254u << 20)};
  e.ino = 99;
  e.mask = IN_MODIFY;
  e.path = "/tmp/x";
  std::string head = text_header(), line = event_to_text(e, WallClock(0));
  EXPECT_EQ(head.find("PATH"), line.find("/tmp/x"));
  EXPECT_NE(line.find("rm_watch"), std::string::npos);
}

TEST(TextOutput, MultibyteCommKeepsColumnsAligned) {
  Event e;
  e.type = EventType::Add;
  e.task = TaskInfo{7, 7, 0, 0, "\xc3\xb1" "ame" "\xe2\x9c\x93"};  // 5 columns, 8 bytes
  e.wd = 1;
  e.mask = IN_MODIFY;
  e.path = "/tmp/y";
  std::string head = text_header(), line = event_to_text(e, WallClock(0));
  // Columns count code points, not bytes: PATH starts 3 bytes later than in the header.
  EXPECT_EQ(head.find("PATH") + 3, line.find("/tmp/y")) << head << "\n" << line;
}

TEST(TextOutput, ConsecutiveEventsGetTheirOwnMasks) {
  Event a, b;
  a.type = b.type = EventType::Add;
  a.task = b.task = TaskInfo{1, 1, 0, 0, "x"};
  a.mask = IN_MODIFY;
  b.mask = IN_ALL_EVENTS | IN_ONLYDIR;
  std::string la = event_to_text(a, WallClock(0)), lb = event_to_text(b, WallClock(0)),
              la2 = event_to_text(a, WallClock(0));
  EXPECT_NE(la.find("IN_MODIFY"), std::string::npos) << la;
  EXPECT_NE(lb.find("IN_ALL_EVENTS|IN_ONLYDIR"), std::string::npos) << lb;
  EXPECT_EQ(la, la2);
}

TEST(TextOutput, EscapesControlBytes) {
  EXPECT_EQ(escape_for_text("a\tb\\c\x7f"), "a\\tb\\\\c\\x7f");
  EXPECT_EQ(escape_for_text("\xe2\x9c\x93"), "\xe2\x9c\x93");
  EXPECT_EQ(escape_for_text("plain/ascii-name_1"), "plain/ascii-name_1");
  EXPECT_EQ(escape_for_text(std::string_view("a\0b", 3)), "a\\x00b");
}

// A terminal acts on C1 controls (U+009B is an 8-bit CSI: "\u009b2J" clears the screen) and
// bidi overrides reorder what is shown (a name can display as another name): escaped like C0.
// Names are checked eight bytes at a time for anything to escape: a byte that needs it is
// found at every place of a block, and one that does not leaves the name as it is.
TEST(TextOutput, EveryByteAtEveryPlaceOfABlockIsEscapedOrKept) {
  for (int c = 0; c < 0x100; c++) {
    bool kept = c >= 0x20 && c < 0x7f && c != '\\';
    for (size_t at = 0; at <= 17; at++) {
      std::string s(18, 'a');
      s.insert(s.begin() + static_cast<long>(at), static_cast<char>(c));
      EXPECT_EQ(escape_for_text(s) == s, kept) << c << " at " << at;
    }
  }
}

TEST(TextOutput, EscapesC1ControlsBidiOverridesAndLineSeparators) {
  EXPECT_EQ(escape_for_text("a\xc2\x9b" "2Jb"), "a\\u009b2Jb");
  EXPECT_EQ(escape_for_text("\xc2\x80\xc2\x85\xc2\x9f"), "\\u0080\\u0085\\u009f");
  for (const char* cp : {"\xe2\x80\xaa", "\xe2\x80\xab", "\xe2\x80\xac", "\xe2\x80\xad", "\xe2\x80\xae",
                         "\xe2\x81\xa6", "\xe2\x81\xa7", "\xe2\x81\xa8", "\xe2\x81\xa9", "\xe2\x80\xa8",
                         "\xe2\x80\xa9"}) {
    std::string out = escape_for_text(std::string("x") + cp + "y");
    EXPECT_EQ(out.find(cp), std::string::npos) << out;
    EXPECT_EQ(out.substr(0, 3), "x\\u") << out;
    EXPECT_EQ(out.size(), 8u) << out;  // x \uXXXX y
  }
  EXPECT_EQ(escape_for_text("evil\xe2\x80\xaegnp.exe"), "evil\\u202egnp.exe");
  EXPECT_EQ(escape_for_text("\xe2\x80\xa8"), "\\u2028");
  // Neighbours stay as they are: U+00A0 (after C1), U+2029's neighbour U+202F, U+2065, U+206A.
  for (const char* keep : {"\xc2\xa0", "\xe2\x80\xaf", "\xe2\x81\xa5", "\xe2\x81\xaa", "\xe2\x80\xa7", "\xc3\xa9"})
    EXPECT_EQ(escape_for_text(keep), keep);
  // What is escaped cannot be confused with the text "\u009b": the backslash is escaped too.
  EXPECT_EQ(escape_for_text("\\u009b"), "\\\\u009b");
}

TEST(TextOutput, EventLineEscapesC1AndBidiInCommAndPath) {
  Event e;
  e.type = EventType::Add;
  e.task = TaskInfo{1, 1, 0, 0, "a\xc2\x9b" "31m"};
  e.wd = 1;
  e.path = "/tmp/\xe2\x80\xaetxt.sh";
  std::string line = event_to_text(e, WallClock(0));
  EXPECT_EQ(line.find("\xc2\x9b"), std::string::npos) << line;
  EXPECT_EQ(line.find("\xe2\x80\xae"), std::string::npos) << line;
  EXPECT_NE(line.find("a\\u009b31m"), std::string::npos) << line;
  EXPECT_NE(line.find("/tmp/\\u202etxt.sh"), std::string::npos) << line;
}

// Issue 11 items 15, 18: an uncertain reason ends in '?' with the alternatives; a deduced pid
// that is only the adder's says so.
TEST(TextOutput, UncertainReasonAndAdderPid) {
  Event e;
  e.type = EventType::Remove;
  e.wd = 1;
  e.path = "/f";
  e.reason = Reason::InstanceClosed;
  e.possible_reasons = reason_bit(Reason::InstanceClosed) | reason_bit(Reason::InodeDeleted);
  e.from_snapshot = true;
  e.pid_source = PidSource::Adder;
  std::string line = event_to_text(e, WallClock(0));
  EXPECT_NE(line.find("instance_closed? (or inode_deleted)  (from snapshot; pid of the adder)"), std::string::npos) << line;
  e.possible_reasons = 0;
  e.pid_source = PidSource::LastHolder;
  line = event_to_text(e, WallClock(0));
  EXPECT_NE(line.find("instance_closed  (from snapshot)"), std::string::npos) << line;
}

}  // namespace
}  // namespace inotrace
