#include "util/huge_page_allocator.h"

#include <sys/mman.h>

#include <atomic>

namespace inotrace {

namespace {
size_t round_up(size_t bytes) { return (bytes + kHugePage - 1) & ~(kHugePage - 1); }
std::atomic<size_t> mapped{0};
}  // namespace

size_t huge_block_bytes() { return mapped.load(std::memory_order_relaxed); }

// Mapped with a huge page of slack, then trimmed at both ends to a 2 MiB-aligned range: a
// huge page needs an aligned virtual range, and mmap promises only page alignment.
void* map_huge_block(size_t bytes) {
  size_t len = round_up(bytes);
  if (len < bytes || len + kHugePage < len) throw std::bad_alloc();
  void* raw = mmap(nullptr, len + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  uintptr_t start = reinterpret_cast<uintptr_t>(raw), aligned = (start + kHugePage - 1) & ~(kHugePage - 1);
  if (aligned > start) munmap(raw, aligned - start);
  if (size_t tail = start + len + kHugePage - (aligned + len)) munmap(reinterpret_cast<void*>(aligned + len), tail);
  madvise(reinterpret_cast<void*>(aligned), len, MADV_HUGEPAGE);  // advice: refused is harmless
  mapped.fetch_add(len, std::memory_order_relaxed);
  return reinterpret_cast<void*>(aligned);
}

void unmap_huge_block(void* p, size_t bytes) {
  munmap(p, round_up(bytes));
  mapped.fetch_sub(round_up(bytes), std::memory_order_relaxed);
}

}  // namespace inotrace
