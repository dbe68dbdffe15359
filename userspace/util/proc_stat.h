// Parser for /proc/<pid>/stat. Its flags word is read instead of /proc/<pid>/cmdline to tell
// kernel threads, because reading cmdline takes the target's mmap_lock, which a hostile
// process can keep from us for as long as it likes; stat takes none.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace inotrace {

constexpr uint32_t kPfKthread = 0x00200000;  // PF_KTHREAD, include/linux/sched.h (unchanged since 2.6.27)

// The text of <proc>/<pid>/stat (a few hundred bytes; read within 4 KiB), nullopt when the
// process is gone.
std::optional<std::string> read_proc_stat(const std::string& proc, uint32_t pid);

// Field `field` (3 = state and up) of "pid (comm) state ppid ...", counted after the last
// ')', since the comm may hold spaces and parentheses. nullopt when the text has no such field
// or an empty one before it.
std::optional<std::string_view> proc_stat_field(std::string_view stat, int field);

// Field 3, the state letter (R, S, D, Z, X, ...).
std::optional<char> parse_proc_stat_state(std::string_view stat);
// Field 9, the task's flags; nullopt when it is not a decimal 32-bit number.
std::optional<uint32_t> parse_proc_stat_flags(std::string_view stat);
// Field 22, the start time in clock ticks since boot; nullopt when not a decimal number.
std::optional<uint64_t> parse_proc_stat_start_time(std::string_view stat);

}  // namespace inotrace
