// A user-facing failure: one clear line, printed by main as "inotrace: error: <what>".
#pragma once

#include <cstring>
#include <stdexcept>
#include <string>

namespace inotrace {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Error("call(path): strerror(err)") for a failed system call on a path.
[[noreturn]] inline void throw_sys(const std::string& call, const std::string& path, int err) {
  throw Error(call + "(" + path + "): " + std::strerror(err));
}

}  // namespace inotrace
