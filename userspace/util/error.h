// A user-facing failure: one clear line, printed by main as "inotrace: error: <what>".
#pragma once

#include <stdexcept>
#include <string>

namespace inotrace {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace inotrace
