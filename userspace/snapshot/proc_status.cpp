#include "snapshot/proc_status.h"

#include <charconv>

namespace inotrace {

std::optional<uint32_t> parse_status_real_uid(std::string_view text) {
  size_t at = text.starts_with("Uid:") ? 0 : text.find("\nUid:");
  if (at == std::string_view::npos) return std::nullopt;
  text.remove_prefix(at + (text[at] == '\n' ? 5 : 4));
  size_t b = text.find_first_not_of(" \t");
  if (b == std::string_view::npos) return std::nullopt;
  text.remove_prefix(b);
  text = text.substr(0, text.find_first_of(" \t\n"));
  uint32_t uid = 0;
  if (text.empty() || text[0] < '0' || text[0] > '9') return std::nullopt;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), uid);
  if (ec != std::errc() || p != text.data() + text.size()) return std::nullopt;
  return uid;
}

}  // namespace inotrace
