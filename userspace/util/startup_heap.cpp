#include "util/startup_heap.h"

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>

namespace inotrace {

namespace {
constexpr size_t kHugePage = size_t{2} << 20;
// Enough for the BTF copies, the loaded objects and a 100k-watch snapshot's first growth.
constexpr size_t kHeapPad = size_t{64} << 20;
// glibc's defaults (mallopt(3)), restored by end_startup_heap().
constexpr int kDefaultThreshold = 128 * 1024;
// The range advised, withdrawn by end_startup_heap().
uintptr_t g_advised_from = 0, g_advised_to = 0;
}  // namespace

void begin_startup_heap() {
  // Allocations below this come from the heap, which is advised below; glibc's default (128 KiB)
  // would put every BTF copy in a fresh mmap of its own.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TOP_PAD, static_cast<int>(kHeapPad));
  mallopt(M_TRIM_THRESHOLD, static_cast<int>(2 * kHeapPad));
  // A second thread (trace loads the snapshot iterator on one) allocates here too, not in an
  // arena of its own that would get the thresholds but not the advice: its BTF parse took
  // ~40 ms of 4 KiB faults there. Later threads (the daemon's) are set by their command.
  mallopt(M_ARENA_MAX, 1);
  // One allocation past the heap's top makes glibc extend it by the pad now, untouched (no RSS).
  void* grow = malloc(kHugePage);
  const auto from = (reinterpret_cast<uintptr_t>(grow) + kHugePage - 1) & ~(kHugePage - 1);
  const auto top = reinterpret_cast<uintptr_t>(sbrk(0));
  // Only the pad just added to the brk heap: not where `grow` came from anywhere else (mmap
  // when brk failed, a sanitizer's allocator).
  if (grow != nullptr && top > from && top - from <= kHeapPad + kHugePage &&
      madvise(reinterpret_cast<void*>(from), top - from, MADV_HUGEPAGE) == 0)
    g_advised_from = from, g_advised_to = top;
  free(grow);
}

void end_startup_heap() {
  mallopt(M_TOP_PAD, kDefaultThreshold);
  mallopt(M_TRIM_THRESHOLD, kDefaultThreshold);
  mallopt(M_MMAP_THRESHOLD, kDefaultThreshold);
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  mallopt(M_ARENA_MAX, 8 * static_cast<int>(cpus > 0 ? cpus : 1));  // glibc's default on 64-bit
  if (g_advised_to > g_advised_from)
    madvise(reinterpret_cast<void*>(g_advised_from), g_advised_to - g_advised_from, MADV_NOHUGEPAGE);
  g_advised_from = g_advised_to = 0;
  malloc_trim(0);
}

}  // namespace inotrace
