// Shared by the procfs text parsers (fdinfo, mountinfo): capped per-line warnings and a
// printable excerpt of hostile input.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>
#include <vector>

namespace inotrace {

// A bounded, printable excerpt of input for warnings: the input may be binary garbage.
std::string excerpt(std::string_view s);

// "<what> line N: ..." warnings, at most `cap`, then one "N more warnings suppressed": a
// corrupt file with thousands of lines must not produce thousands of messages.
class ParseWarnings {
 public:
  ParseWarnings(std::vector<std::string>& out, std::string what, size_t cap) : out_(out), what_(std::move(what)), cap_(cap) {}
  void finish() {
    if (suppressed_) out_.push_back(fmt::format("{}: {} more warnings suppressed", what_, suppressed_));
  }
  template <typename... Args>
  void add(size_t line, fmt::format_string<Args...> f, Args&&... args) {
    if (out_.size() >= cap_) {
      suppressed_++;
      return;
    }
    out_.push_back(fmt::format("{} line {}: {}", what_, line, fmt::format(f, std::forward<Args>(args)...)));
  }

 private:
  std::vector<std::string>& out_;
  std::string what_;
  size_t cap_;
  size_t suppressed_ = 0;
};

}  // namespace inotrace
