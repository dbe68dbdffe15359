#include <gtest/gtest.h>

#include "loader/kallsyms.h"

namespace inotrace {
namespace {

const char* kText =
    "ffffffff81727610 t inotify_freeing_mark\n"
    "ffffffff81727cd0 t inotify_release\n"
    "ffffffff81217631 t inotify_remove_from_idr.cold\n"
    "ffffffff81727000 t inotify_remove_from_idr.isra.0\n"
    "ffffffff81722900 t fsnotify_handle_inode_event.isra.0\n"
    "ffffffff81000000 D inotify_fops_data_is_ignored\n"
    "garbage line\n"
    "zzzz t inotify_update_watch\n"
    "ffffffffc0000000 t inotify_update_watch\t[some_module]\n";

TEST(Kallsyms, ExactNamesWin) {
  auto ks = Kallsyms::parse(kText, {"inotify_freeing_mark", "inotify_release"});
  ASSERT_TRUE(ks.entry("inotify_freeing_mark"));
  EXPECT_EQ(ks.entry("inotify_freeing_mark")->addr, 0xffffffff81727610ull);
  EXPECT_FALSE(ks.addresses_hidden());
}

TEST(Kallsyms, ClonesButNeverColdFragments) {
  auto ks = Kallsyms::parse(kText, {"inotify_remove_from_idr", "fsnotify_handle_inode_event"});
  EXPECT_EQ(ks.entry("inotify_remove_from_idr")->name, "inotify_remove_from_idr.isra.0");
  EXPECT_EQ(ks.entry("fsnotify_handle_inode_event")->name, "fsnotify_handle_inode_event.isra.0");
  auto cold_only = Kallsyms::parse("ffffffff81217631 t foo.cold\n", {"foo"});
  EXPECT_FALSE(cold_only.entry("foo"));
}

TEST(Kallsyms, MalformedLinesAreSkipped) {
  auto ks = Kallsyms::parse(kText, {"inotify_update_watch"});
  ASSERT_TRUE(ks.entry("inotify_update_watch"));
  EXPECT_EQ(ks.entry("inotify_update_watch")->addr, 0xffffffffc0000000ull);
}

// Found by tests/fuzz/kallsyms_fuzz.cpp: an address field with trailing garbage (here NULs, as in
// the fuzzer's input) was read up to the garbage, i.e. guessed, and so was the type of a type field
// of several bytes. Only plain hex digits are an address; a type is one letter.
TEST(Kallsyms, AddressWithTrailingGarbageIsSkippedNotGuessed) {
  for (std::string bad : {std::string("ffffffff81727610\0\0 t inotify_freeing_mark\n", 42), std::string("12zz t inotify_freeing_mark\n"),
                          std::string("-1 t inotify_freeing_mark\n"), std::string("0x10 t inotify_freeing_mark\n"),
                          std::string("+10 t inotify_freeing_mark\n"), std::string("11111111111111111 t inotify_freeing_mark\n"),
                          std::string("ffffffff81727610 tR\x0f inotify_freeing_mark\n")}) {
    auto ks = Kallsyms::parse(bad, {"inotify_freeing_mark"});
    EXPECT_FALSE(ks.entry("inotify_freeing_mark")) << "guessed address " << std::hex << ks.entry("inotify_freeing_mark")->addr
                                                    << " from " << testing::PrintToString(bad);
  }
}

TEST(Kallsyms, HiddenAddressesAreDetected) {
  auto ks = Kallsyms::parse("0000000000000000 t inotify_release\n", {"inotify_release"});
  EXPECT_TRUE(ks.addresses_hidden());
}

}  // namespace
}  // namespace inotrace
