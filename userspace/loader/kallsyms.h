// Function addresses from /proc/kallsyms. inotify's file_operations and fsnotify_ops are data
// symbols (only with CONFIG_KALLSYMS_ALL), so inotrace identifies inotify objects by the
// addresses of functions they point to, and kprobes need exact (possibly .isra) names.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace inotrace {

struct KernelSymbol {
  std::string name;  // exact, e.g. "inotify_freeing_mark" or "foo.isra.0"
  uint64_t addr = 0;
};

class Kallsyms {
 public:
  // Reads the symbols whose base name (before any '.') is one of `wanted`, in one pass.
  static Kallsyms load(const std::vector<std::string>& wanted, const std::string& path = "/proc/kallsyms");
  // Parses text in kallsyms format (for tests).
  static Kallsyms parse(const std::string& text, const std::vector<std::string>& wanted);

  // The entry point of `name`: the exact symbol, else a compiler clone (.isra.N,
  // .constprop.N, .part.N); never a .cold fragment, which is not an entry point.
  std::optional<KernelSymbol> entry(const std::string& name) const;
  // True when every address read was 0 (kptr_restrict hides them from this process).
  bool addresses_hidden() const { return seen_ > 0 && nonzero_ == 0; }

 private:
  std::map<std::string, std::vector<KernelSymbol>> by_base_;
  size_t seen_ = 0;
  size_t nonzero_ = 0;
};

}  // namespace inotrace
