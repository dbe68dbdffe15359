#pragma once

namespace inotrace {

// Start-up of a short command is dominated by first touches of fresh memory: libbpf copies the
// kernel's 5.5 MB vmlinux BTF twice per parse, and on a paravirtualised guest each 4 KiB page
// fault costs ~8-16 µs (bench: 48 ms for one cold parse, 4 ms warm). This keeps start-up
// allocations in the brk heap and asks for transparent huge pages there (MADV_HUGEPAGE; a no-op
// where THP is "never"), so a 2 MiB fault serves what 512 faults did. Call first in main().
void begin_startup_heap();

// For long-running commands once they are ready: back to glibc's defaults, and the start-up
// heap's unused pad is returned to the kernel so a daemon's RSS is what it holds.
void end_startup_heap();

}  // namespace inotrace
