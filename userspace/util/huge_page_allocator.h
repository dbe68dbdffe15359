// An allocator for the watch table's big random-access arrays (the path interner's hash sets,
// nodes and names): blocks of 2 MiB and more are mapped on their own, aligned to 2 MiB and
// advised MADV_HUGEPAGE, so that lookups in a million-entry table miss the TLB less and a
// growing array faults once per 2 MiB (the default THP mode, "madvise", gives huge pages only
// to ranges that ask). Smaller blocks come from malloc as usual. Where THP is off the advice is ignored and
// the mapping is an ordinary one. Under the default defrag mode ("madvise") the first touch of
// each 2 MiB may compact memory on a fragmented node, falling back to 4 KiB pages if that
// fails: a one-off cost per 2 MiB as an array grows, not per event. Under AddressSanitizer
// every block comes from malloc, so that the sanitizer still sees each container's bounds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>

namespace inotrace {

constexpr size_t kHugePage = size_t{2} << 20;
#if defined(__has_feature)
#if __has_feature(address_sanitizer)  // clang's spelling
#define INOTRACE_HUGE_PAGES_UNDER_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(INOTRACE_HUGE_PAGES_UNDER_ASAN)
constexpr size_t kHugeBlockThreshold = SIZE_MAX;
#else
constexpr size_t kHugeBlockThreshold = kHugePage;
#endif

// What a block of `bytes` takes: huge blocks are whole 2 MiB pages (and a huge page backs all
// of one once it is touched), so a table's memory figure rounds them as mapped.
constexpr size_t huge_allocated_bytes(size_t bytes) {
  return bytes < kHugeBlockThreshold ? bytes : (bytes + kHugePage - 1) & ~(kHugePage - 1);
}

// The untyped part, out of line: mapping, trimming to alignment, advice.
void* map_huge_block(size_t bytes);
void unmap_huge_block(void* p, size_t bytes);
// The bytes mapped so by the whole process now (malloc's statistics do not see them).
size_t huge_block_bytes();

template <class T>
struct HugePageAllocator {
  using value_type = T;
  HugePageAllocator() = default;
  template <class U>
  HugePageAllocator(const HugePageAllocator<U>&) noexcept {}

  T* allocate(size_t n) {
    if (n > SIZE_MAX / sizeof(T)) throw std::bad_array_new_length();
    size_t bytes = n * sizeof(T);
    if (bytes < kHugeBlockThreshold) return std::allocator<T>{}.allocate(n);
    return static_cast<T*>(map_huge_block(bytes));
  }
  void deallocate(T* p, size_t n) noexcept {
    size_t bytes = n * sizeof(T);
    if (bytes < kHugeBlockThreshold) return std::allocator<T>{}.deallocate(p, n);
    unmap_huge_block(p, bytes);
  }
  template <class U>
  bool operator==(const HugePageAllocator<U>&) const noexcept {
    return true;
  }
};

}  // namespace inotrace
