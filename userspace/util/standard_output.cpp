#include "util/standard_output.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace inotrace {

std::string write_error_text(int err) {
  return err == EPIPE ? "closed by its reader (broken pipe)" : strerror(err);
}

void throw_output_error(const char* what, int err) {
  throw OutputError(fmt::format("writing {}: {}; the output is incomplete", what, write_error_text(err)));
}

void flush_out() {
  if (fflush(stdout) != 0) throw_output_error("standard output", errno);
  // glibc drops the buffer of a failed write, so a later flush succeeds: its error flag stays.
  if (ferror(stdout)) throw OutputError("writing standard output: a write failed; the output is incomplete");
}

}  // namespace inotrace
