#include "util/small_file.h"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

namespace inotrace {

std::optional<std::string> read_small_file(const std::string& path) {
  std::ifstream f(path);
  if (!f) return std::nullopt;
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::optional<long long> read_long_file(const std::string& path) {
  auto text = read_small_file(path);
  if (!text) return std::nullopt;
  try {
    return std::stoll(*text);
  } catch (...) {
    return std::nullopt;
  }
}

bool write_long_file(const std::string& path, long long value, std::string* error) {
  std::ofstream f(path);
  f << value << '\n';
  f.flush();
  if (!f) {
    if (error) *error = fmt::format("cannot write {} to {}", value, path);
    return false;
  }
  return true;
}

}  // namespace inotrace
