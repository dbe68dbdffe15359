#include "util/standard_output.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace inotrace {

void throw_output_error(const char* what, int err) {
  if (err == EPIPE) throw OutputError(fmt::format("writing {}: closed by its reader (broken pipe); the output is incomplete", what));
  throw OutputError(fmt::format("writing {}: {}; the output is incomplete", what, strerror(err)));
}

void flush_out() {
  if (fflush(stdout) != 0) throw_output_error("standard output", errno);
  // glibc drops the buffer of a failed write, so a later flush succeeds: its error flag stays.
  if (ferror(stdout)) throw OutputError("writing standard output: a write failed; the output is incomplete");
}

}  // namespace inotrace
