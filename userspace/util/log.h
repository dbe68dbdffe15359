// Diagnostics on stderr that never kill or stop the process. stderr may be closed, /dev/full
// or a pipe whose reader exited: fmt::print would throw (abort) and a write to a dead pipe would
// raise SIGPIPE. Here every line is one write(2); failures are counted and otherwise ignored.
#pragma once

#include <cstdint>
#include <string_view>

namespace inotrace {

// Call first in main: ignores SIGPIPE (a dead reader is an EPIPE error return, handled where
// the write is) and puts /dev/null on fds 0-2 if they are closed, so that no file the process
// opens later becomes "stderr" by accident (opened read-only: writes still fail, and are counted).
void init_process_io();

// Writes "inotrace: <message>\n" to stderr.
void log_line(std::string_view message);
// Writes text to stderr as it is (already formatted, e.g. libbpf's own lines).
void log_raw(std::string_view text);
// Log writes that failed (or were cut short) since the start.
uint64_t log_write_failures();

}  // namespace inotrace
