#include "util/proc_stat.h"

#include <charconv>

#include "util/small_file.h"

namespace inotrace {

std::optional<std::string> read_proc_stat(const std::string& proc, uint32_t pid) {
  return read_file_prefix(proc + "/" + std::to_string(pid) + "/stat", 4096);
}

std::optional<std::string_view> proc_stat_field(std::string_view stat, int field) {
  size_t close = stat.rfind(')');
  if (close == std::string_view::npos || field < 3) return std::nullopt;
  std::string_view rest = stat.substr(close + 1);
  // Each field after one space, up to the next space or the line's end.
  for (int at = 3;; at++) {
    if (rest.empty() || rest.front() != ' ') return std::nullopt;
    rest.remove_prefix(1);
    size_t end = rest.find_first_of(" \n");
    std::string_view value = rest.substr(0, end);
    if (value.empty()) return std::nullopt;
    if (at == field) return value;
    if (end == std::string_view::npos) return std::nullopt;
    rest.remove_prefix(end);
  }
}

namespace {
template <class Number>
std::optional<Number> decimal_field(std::string_view stat, int field) {
  auto value = proc_stat_field(stat, field);
  if (!value) return std::nullopt;
  Number n = 0;
  auto [ptr, ec] = std::from_chars(value->data(), value->data() + value->size(), n);
  if (ec != std::errc() || ptr != value->data() + value->size()) return std::nullopt;
  return n;
}
}  // namespace

std::optional<char> parse_proc_stat_state(std::string_view stat) {
  auto value = proc_stat_field(stat, 3);
  if (!value || value->size() != 1) return std::nullopt;
  return value->front();
}

std::optional<uint32_t> parse_proc_stat_flags(std::string_view stat) { return decimal_field<uint32_t>(stat, 9); }

std::optional<uint64_t> parse_proc_stat_start_time(std::string_view stat) {
  return decimal_field<uint64_t>(stat, 22);
}

}  // namespace inotrace
