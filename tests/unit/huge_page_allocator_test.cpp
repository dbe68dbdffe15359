#include "util/huge_page_allocator.h"

#include <absl/container/flat_hash_set.h>
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace inotrace {
namespace {

// The VmFlags of the mapping holding `p`, from /proc/self/smaps ("" when not found).
std::string vm_flags_of(const void* p) {
  std::ifstream smaps("/proc/self/smaps");
  uintptr_t at = reinterpret_cast<uintptr_t>(p);
  bool inside = false;
  for (std::string line; std::getline(smaps, line);) {
    unsigned long lo, hi;
    if (sscanf(line.c_str(), "%lx-%lx ", &lo, &hi) == 2 && line.find(':') > line.find(' ')) {
      inside = lo <= at && at < hi;
    } else if (inside && line.rfind("VmFlags:", 0) == 0) {
      return line;
    }
  }
  return "";
}

TEST(HugePageAllocator, BigBlocksAreAlignedAdvisedAndCounted) {
  HugePageAllocator<uint64_t> alloc;
  size_t before = huge_block_bytes();
  size_t n = (3 * kHugePage + 100) / sizeof(uint64_t);
  uint64_t* p = alloc.allocate(n);
  if (kHugeBlockThreshold != kHugePage) {  // AddressSanitizer: malloc's, bounds checked
    EXPECT_EQ(huge_block_bytes(), before);
    p[n - 1] = 1;
    return alloc.deallocate(p, n);
  }
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % kHugePage, 0u);
  EXPECT_EQ(huge_block_bytes() - before, 4 * kHugePage);  // rounded up to whole huge pages
  EXPECT_EQ(huge_allocated_bytes(n * sizeof(uint64_t)), 4 * kHugePage) << "tables count it as mapped";
  EXPECT_EQ(huge_allocated_bytes(kHugePage - 1), kHugePage - 1) << "a small block is malloc's, as asked";
  for (size_t i = 0; i < n; i++) p[i] = i;  // the whole block is writable
  EXPECT_EQ(p[n - 1], n - 1);
  // "hg": the range asked for huge pages (VM_HUGEPAGE), whatever THP mode the machine is in; a
  // kernel without THP refuses the advice (EINVAL), which the allocator ignores.
  if (std::filesystem::exists("/sys/kernel/mm/transparent_hugepage"))
    EXPECT_NE(vm_flags_of(p).find(" hg"), std::string::npos) << vm_flags_of(p);
  else
    EXPECT_EQ(vm_flags_of(p).find(" hg"), std::string::npos) << "no THP in this kernel: " << vm_flags_of(p);
  alloc.deallocate(p, n);
  EXPECT_EQ(huge_block_bytes(), before);
}

TEST(HugePageAllocator, SmallBlocksComeFromMallocUncounted) {
  HugePageAllocator<char> alloc;
  size_t before = huge_block_bytes();
  char* p = alloc.allocate(kHugePage - 1);
  memset(p, 1, kHugePage - 1);
  EXPECT_EQ(huge_block_bytes(), before);
  alloc.deallocate(p, kHugePage - 1);
}

TEST(HugePageAllocator, ContainersGrowAcrossTheThresholdAndKeepTheirContents) {
  size_t before = huge_block_bytes();
  {
    std::vector<uint32_t, HugePageAllocator<uint32_t>> v;
    absl::flat_hash_set<uint32_t, absl::Hash<uint32_t>, std::equal_to<uint32_t>, HugePageAllocator<uint32_t>> s;
    for (uint32_t i = 0; i < 2'000'000; i++) v.push_back(i), s.insert(i * 7);
    if (kHugeBlockThreshold == kHugePage) EXPECT_GT(huge_block_bytes(), before);
    for (uint32_t i = 0; i < 2'000'000; i += 999) {
      ASSERT_EQ(v[i], i);
      ASSERT_TRUE(s.contains(i * 7));
    }
    EXPECT_FALSE(s.contains(3));
  }
  EXPECT_EQ(huge_block_bytes(), before);  // everything given back
}

TEST(HugePageAllocator, AnImpossibleSizeThrowsInsteadOfMappingTooLittle) {
  HugePageAllocator<uint64_t> alloc;
  EXPECT_THROW(alloc.allocate(SIZE_MAX / 4), std::bad_array_new_length);
  EXPECT_THROW(alloc.allocate(SIZE_MAX / 8 - 1), std::bad_alloc);
}

}  // namespace
}  // namespace inotrace
