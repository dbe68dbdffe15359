// A command's output to stdout through stdio: a failed write (a reader that went away, a full
// disk) is an OutputError that says so, never an internal error and never lost in silence.
#pragma once

#include <fmt/format.h>

#include <string>
#include <system_error>
#include <utility>

#include "util/error.h"

namespace inotrace {

// The command's output could not be written; main exits with the command's code for that.
class OutputError : public Error {
 public:
  using Error::Error;
};

// Why a write failed, as every command says it: a closed pipe (EPIPE) is its reader gone,
// anything else strerror(err).
std::string write_error_text(int err);

// OutputError("writing WHAT: <write_error_text>; the output is incomplete").
[[noreturn]] void throw_output_error(const char* what, int err);

template <typename... T>
void print_out(fmt::format_string<T...> format, T&&... args) {
  try {
    fmt::print(format, std::forward<T>(args)...);
  } catch (const std::system_error& e) {  // fmt: a short fwrite
    throw_output_error("standard output", e.code().value());
  }
}

// fflush(stdout), an OutputError if it fails or an earlier write to stdout failed.
void flush_out();

}  // namespace inotrace
