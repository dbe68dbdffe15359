// executable_bytes_identity: bytes built into the executable's read-only image are named by
// its build id and their place; anything else (heap, writable data) has no such name.
#include "util/executable_identity.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

namespace inotrace {
namespace {

const char kFirst[] = "bytes fixed at link time";
const char kSecond[] = "other bytes fixed at link time";
char writable[] = "bytes the program may change";

// The build id as binutils reads it from the file.
std::string readelf_build_id() {
  std::string cmd = "readelf -n /proc/" + std::to_string(getpid()) + "/exe 2>/dev/null";
  std::unique_ptr<FILE, decltype(&pclose)> p(popen(cmd.c_str(), "r"), pclose);
  char line[512];
  while (p && fgets(line, sizeof line, p.get())) {
    std::string l(line);
    if (auto at = l.find("Build ID: "); at != std::string::npos) return l.substr(at + 10, l.find_last_not_of(" \n") - at - 9);
  }
  return {};
}

TEST(ExecutableIdentity, ReadOnlyBytesAreNamedByBuildIdPlaceAndSize) {
  std::string id = readelf_build_id();
  if (id.empty()) GTEST_SKIP() << "SKIPPED: readelf finds no build id in this test binary (built with --build-id=none?)";
  auto first = executable_bytes_identity(kFirst, sizeof kFirst);
  auto second = executable_bytes_identity(kSecond, sizeof kSecond);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->substr(0, id.size() + 1), id + "-");
  EXPECT_TRUE(first->ends_with("-" + std::to_string(sizeof kFirst))) << *first;
  EXPECT_NE(*first, *second);
  EXPECT_EQ(executable_bytes_identity(kFirst, sizeof kFirst), first) << "the same every time";
}

TEST(ExecutableIdentity, BytesThatMayChangeHaveNoSuchName) {
  std::string heap(100, 'x');
  EXPECT_EQ(executable_bytes_identity(heap.data(), heap.size()), std::nullopt);
  EXPECT_EQ(executable_bytes_identity(writable, sizeof writable), std::nullopt) << "writable data";
  EXPECT_EQ(executable_bytes_identity(kFirst, size_t{1} << 40), std::nullopt) << "running past the segment";
}

}  // namespace
}  // namespace inotrace
