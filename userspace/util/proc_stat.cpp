#include "util/proc_stat.h"

#include <charconv>

namespace inotrace {

std::optional<uint32_t> parse_proc_stat_flags(std::string_view stat) {
  size_t close = stat.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  std::string_view rest = stat.substr(close + 1);
  // Fields 3 (state) to 9 (flags), each after one space.
  for (int field = 3; field <= 9; field++) {
    if (rest.empty() || rest.front() != ' ') return std::nullopt;
    rest.remove_prefix(1);
    size_t end = rest.find_first_of(" \n");
    std::string_view value = rest.substr(0, end);
    if (field == 9) {
      uint32_t flags = 0;
      auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), flags);
      if (ec != std::errc() || ptr != value.data() + value.size() || value.empty()) return std::nullopt;
      return flags;
    }
    if (value.empty() || end == std::string_view::npos) return std::nullopt;
    rest.remove_prefix(end);
  }
  return std::nullopt;
}

}  // namespace inotrace
