#pragma once

namespace inotrace {

// Start-up of a short command is dominated by first touches of fresh memory: libbpf copies the
// kernel's 5.5 MB vmlinux BTF twice per parse, and on a paravirtualised guest each 4 KiB page
// fault costs ~8-16 µs (a cold BTF parse 48 ms, a warm one 4 ms). This keeps allocations in the
// brk heap and asks for transparent huge pages there (MADV_HUGEPAGE), so one 2 MiB fault serves
// what 512 did. Threads share that one arena (M_ARENA_MAX 1). Where THP is "never", or under a
// sanitizer's allocator (whose heap is not the brk heap), it changes nothing but glibc's
// thresholds and arena limit. Called by main() for the commands whose
// start-up a user waits for (snapshot, check, trace), before anything big is allocated.
void begin_startup_heap();

// For a long-running command once it is ready (trace): glibc's thresholds and arena limit back
// to their defaults (fixed, not glibc's dynamic threshold), the huge-page advice withdrawn so khugepaged
// does not fill sparse ranges later, and the unused pad returned to the kernel.
void end_startup_heap();

}  // namespace inotrace
