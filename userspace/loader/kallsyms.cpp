#include "loader/kallsyms.h"

#include <charconv>
#include <fstream>
#include <set>
#include <sstream>

namespace inotrace {

Kallsyms Kallsyms::parse(const std::string& text, const std::vector<std::string>& wanted) {
  std::set<std::string, std::less<>> want(wanted.begin(), wanted.end());
  Kallsyms ks;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    // "ffffffff81727610 t inotify_freeing_mark" optionally followed by "\t[module]"
    size_t sp1 = line.find(' ');
    if (sp1 == std::string::npos) continue;
    size_t sp2 = line.find(' ', sp1 + 1);
    if (sp2 == std::string::npos) continue;
    char type = sp2 == sp1 + 2 ? line[sp1 + 1] : '?';  // one letter, else malformed
    if (type != 't' && type != 'T') continue;           // functions only
    size_t end = line.find_first_of(" \t", sp2 + 1);
    std::string name = line.substr(sp2 + 1, end == std::string::npos ? std::string::npos : end - sp2 - 1);
    std::string base = name.substr(0, name.find('.'));
    if (!want.count(base)) continue;
    // Plain hex digits only (stoull also took a sign, "0x", or the digits before any garbage;
    // from_chars takes no sign for an unsigned type).
    uint64_t addr = 0;
    auto [end_addr, ec] = std::from_chars(line.data(), line.data() + sp1, addr, 16);
    if (sp1 == 0 || ec != std::errc() || end_addr != line.data() + sp1)
      continue;  // malformed line: skip, never guess
    ks.seen_++;
    if (addr) ks.nonzero_++;
    ks.by_base_[base].push_back(KernelSymbol{name, addr});
  }
  return ks;
}

Kallsyms Kallsyms::load(const std::vector<std::string>& wanted, const std::string& path) {
  std::ifstream f(path);
  std::stringstream buf;
  buf << f.rdbuf();
  return parse(buf.str(), wanted);
}

std::optional<KernelSymbol> Kallsyms::entry(const std::string& name) const {
  auto it = by_base_.find(name);
  if (it == by_base_.end()) return std::nullopt;
  const KernelSymbol* clone = nullptr;
  for (const auto& s : it->second) {
    if (s.name == name) return s;
    bool cold = s.name.find(".cold") != std::string::npos;
    if (!cold && !clone) clone = &s;
  }
  if (clone) return *clone;
  return std::nullopt;
}

}  // namespace inotrace
