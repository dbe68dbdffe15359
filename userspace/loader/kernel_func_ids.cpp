#include "loader/kernel_func_ids.h"

#include <bpf/btf.h>
#include <fmt/format.h>

#include <charconv>
#include <map>
#include <mutex>
#include <optional>

#include "loader/kernel_btf.h"
#include "loader/program_table.h"
#include "loader/typed_reads.h"
#include "util/boot_cache.h"

namespace inotrace {

namespace {

constexpr const char* kEntry = "func-ids";
constexpr std::string_view kHeader = "inotrace func ids 1\n";

using Ids = std::map<std::string, int, std::less<>>;

constexpr std::string_view kStructPrefix = "struct:";

// Every name start-up asks about: what the fentry probes try, the iterators' target, and what
// typed reads need (loader/typed_reads.h). Structs are kept as "struct:NAME".
std::vector<std::string> start_up_names() {
  std::vector<std::string> names = probed_targets(Backend::Fentry);
  names.emplace_back("bpf_iter_task_file");
  for (std::string_view n : typed_read_kernel_names()) names.emplace_back(n);
  return names;
}

// A name of start_up_names() looked up in `kernel`: its id, or -1.
int find_id(const btf* kernel, const std::string& name) {
  bool is_struct = name.starts_with(kStructPrefix);
  int id = btf__find_by_name_kind(kernel, is_struct ? name.c_str() + kStructPrefix.size() : name.c_str(),
                                  is_struct ? BTF_KIND_STRUCT : BTF_KIND_FUNC);
  return id > 0 ? id : -1;
}

// "NAME ID" lines after the header; nullopt for anything else (then it is made again).
std::optional<Ids> parse_entry(std::string_view text) {
  if (!text.starts_with(kHeader)) return std::nullopt;
  text.remove_prefix(kHeader.size());
  Ids ids;
  while (!text.empty()) {
    size_t eol = text.find('\n'), sp = text.find(' ');
    if (eol == std::string_view::npos || sp == std::string_view::npos || sp == 0 || sp > eol) return std::nullopt;
    int id = 0;
    auto [end, ec] = std::from_chars(text.data() + sp + 1, text.data() + eol, id);
    if (ec != std::errc() || end != text.data() + eol || id < -1 || id == 0) return std::nullopt;
    ids.emplace(text.substr(0, sp), id);
    text.remove_prefix(eol + 1);
  }
  return ids;
}

bool answers_all(const Ids& ids) {
  for (const std::string& n : start_up_names())
    if (!ids.contains(n)) return false;
  return true;
}

struct State {
  std::mutex mu;
  bool loaded = false;
  Ids ids;  // of the running kernel's BTF
};

State& state() {
  static State s;
  return s;
}

// Under s.mu: the cached ids, read once. Kept even when they answer only part of what this
// build asks (another build wrote them): a parse adds the rest, and the entry keeps both.
void load(State& s) {
  if (s.loaded) return;
  s.loaded = true;
  if (auto text = BootCache::process().read(kEntry, 1 << 20))
    if (auto ids = parse_entry(*text)) s.ids = std::move(*ids);
}

}  // namespace

int kernel_struct_id(const std::string& btf_path, const std::string& name) {
  return kernel_func_id(btf_path, std::string(kStructPrefix) + name);
}

int kernel_func_id(const std::string& btf_path, const std::string& name) {
  if (btf_path != kRunningKernelBtf) return find_id(shared_kernel_btf(btf_path).get(), name);
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  load(s);
  if (auto it = s.ids.find(name); it != s.ids.end()) return it->second;
  KernelBtfPtr kernel = shared_kernel_btf(btf_path);
  std::vector<std::string> names = start_up_names();
  names.push_back(name);
  for (const std::string& n : names) s.ids[n] = find_id(kernel.get(), n);
  std::string text(kHeader);
  for (const auto& [n, id] : s.ids) text += fmt::format("{} {}\n", n, id);
  BootCache::process().write(kEntry, text);
  return s.ids[name];
}

bool kernel_func_ids_cached(const std::string& btf_path) {
  if (btf_path != kRunningKernelBtf) return false;
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  load(s);
  return answers_all(s.ids);
}

}  // namespace inotrace
