// Parser for /proc/<pid>/stat: the task's flags word. Read instead of /proc/<pid>/cmdline to
// tell kernel threads, because reading cmdline takes the target's mmap_lock, which a hostile
// process can keep from us for as long as it likes; stat takes none.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace inotrace {

constexpr uint32_t kPfKthread = 0x00200000;  // PF_KTHREAD, include/linux/sched.h (unchanged since 2.6.27)

// Field 9 (flags) of "pid (comm) state ppid ...": counted after the last ')', since the comm
// may hold spaces and parentheses. nullopt when the text has no such field or it is not a
// decimal number.
std::optional<uint32_t> parse_proc_stat_flags(std::string_view stat);

}  // namespace inotrace
