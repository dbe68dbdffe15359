#include "loader/core_btf.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "loader/kernel_btf.h"
#include "util/boot_cache.h"
#include "util/error.h"
#include "util/executable_identity.h"

namespace inotrace {

namespace {

// This boot's cache entry for an object: named after the executable's build id and the
// object's place in it (util/executable_identity.h), which change with any change to the object
// or to the copying below. Where those are not to be had, after FNV-1a of the object's bytes
// (~1 ms and a first touch of its pages) and the version of the copying, which must change
// whenever what it keeps changes, so that an upgrade never reads an older copy.
std::string cache_entry(const void* elf, size_t size) {
  if (auto id = executable_bytes_identity(elf, size)) return "core-btf-" + *id;
  constexpr int kCopyVersion = 1;
  uint64_t h = 14695981039346656037ull;
  const auto* p = static_cast<const unsigned char*>(elf);
  size_t i = 0;
  for (uint64_t word; i + 8 <= size; i += 8) std::memcpy(&word, p + i, 8), h = (h ^ word) * 1099511628211ull;
  for (; i < size; i++) h = (h ^ p[i]) * 1099511628211ull;
  return fmt::format("core-btf-v{}-{:016x}-{}", kCopyVersion, h, size);
}

using BtfPtr = std::unique_ptr<btf, decltype(&btf__free)>;

struct NameHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using NameSet = std::unordered_set<std::string, NameHash, std::equal_to<>>;

// libbpf's bpf_core_essential_name_len: "inode___old" is a flavour of "inode".
std::string_view essential_name(std::string_view s) {
  for (size_t i = s.size() >= 5 ? s.size() - 4 : 0; i-- > 0;)
    if (s[i] != '_' && s.substr(i + 1, 3) == "___" && s[i + 4] != '_') return s.substr(0, i + 1);
  return s;
}

bool is_named_kind(const btf_type* t) {
  return btf_is_composite(t) || btf_is_any_enum(t) || btf_is_typedef(t) || btf_is_fwd(t);
}

// The names a relocation of this object may look up: every named type of its own BTF.
NameSet relocated_names(const void* elf, size_t size) {
  LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = "inotrace_core_names");
  std::unique_ptr<bpf_object, decltype(&bpf_object__close)> obj(bpf_object__open_mem(elf, size, &opts), bpf_object__close);
  if (!obj) throw Error(fmt::format("cannot read a BPF object's BTF: {}", strerror(errno)));
  const btf* local = bpf_object__btf(obj.get());
  NameSet names;
  for (uint32_t id = 1; local && id < btf__type_cnt(local); id++) {
    const btf_type* t = btf__type_by_id(local, id);
    const char* name = btf__name_by_offset(local, t->name_off);
    if (is_named_kind(t) && name && *name) names.emplace(essential_name(name));
  }
  return names;
}

// The kernel types to copy: those named like `roots`, and everything they hold by value.
// Pointers are kept but not followed.
std::vector<char> types_to_keep(const btf* kernel, const NameSet& roots) {
  const uint32_t n = btf__type_cnt(kernel);
  std::vector<char> keep(n, 0);
  std::vector<uint32_t> todo;
  auto mark = [&](uint32_t id) {
    if (id != 0 && id < n && !keep[id]) keep[id] = 1, todo.push_back(id);
  };
  for (uint32_t id = 1; id < n; id++) {
    const btf_type* t = btf__type_by_id(kernel, id);
    if (!is_named_kind(t) || !t->name_off) continue;
    if (roots.find(essential_name(btf__name_by_offset(kernel, t->name_off))) != roots.end()) mark(id);
  }
  while (!todo.empty()) {
    const btf_type* t = btf__type_by_id(kernel, todo.back());
    todo.pop_back();
    if (btf_is_composite(t)) {
      for (int i = 0; i < btf_vlen(t); i++) mark(btf_members(t)[i].type);
    } else if (btf_is_array(t)) {
      mark(btf_array(t)->type);
      mark(btf_array(t)->index_type);
    } else if (btf_is_func_proto(t)) {
      mark(t->type);
      for (int i = 0; i < btf_vlen(t); i++) mark(btf_params(t)[i].type);
    } else if (btf_is_mod(t) || btf_is_typedef(t)) {
      mark(t->type);
    }
  }
  return keep;
}

// Rewrites the type ids a copied type refers to into the copy's ids (0 = void: not copied).
void remap_references(btf_type* t, const std::vector<uint32_t>& new_id) {
  if (btf_is_composite(t)) {
    for (int i = 0; i < btf_vlen(t); i++) btf_members(t)[i].type = new_id[btf_members(t)[i].type];
  } else if (btf_is_array(t)) {
    btf_array(t)->type = new_id[btf_array(t)->type];
    btf_array(t)->index_type = new_id[btf_array(t)->index_type];
  } else if (btf_is_func_proto(t)) {
    t->type = new_id[t->type];
    for (int i = 0; i < btf_vlen(t); i++) btf_params(t)[i].type = new_id[btf_params(t)[i].type];
  } else if (btf_is_mod(t) || btf_is_typedef(t) || btf_is_ptr(t)) {
    t->type = new_id[t->type];
  }
}

BtfPtr minimal_copy(const btf* kernel, const std::vector<char>& keep, size_t& count) {
  BtfPtr out(btf__new_empty(), btf__free);
  if (!out) throw Error(fmt::format("cannot build the CO-RE BTF: {}", strerror(errno)));
  std::vector<uint32_t> new_id(keep.size(), 0);
  uint32_t next = 1;
  for (uint32_t id = 1; id < keep.size(); id++)
    if (keep[id]) new_id[id] = next++;
  for (uint32_t id = 1; id < keep.size(); id++) {
    if (!keep[id]) continue;
    int added = btf__add_type(out.get(), kernel, btf__type_by_id(kernel, id));
    if (added != (int)new_id[id]) throw Error(fmt::format("cannot build the CO-RE BTF: adding type {}: {}", id, strerror(-added)));
    // The copy is ours and still being built: its types are writable.
    remap_references(const_cast<btf_type*>(btf__type_by_id(out.get(), added)), new_id);
  }
  count = next - 1;
  return out;
}

}  // namespace

CoreBtf::CoreBtf(const std::string& kernel_btf_path, const void* elf, size_t elf_size, CachePolicy policy) {
  // The running kernel's copies are kept per boot, one per object (util/boot_cache.h).
  const bool cacheable = kernel_btf_path == kRunningKernelBtf && policy == CachePolicy::Use;
  const std::string entry = cacheable ? cache_entry(elf, elf_size) : "";
  if (cacheable && open_cached(entry)) return;

  NameSet roots = relocated_names(elf, elf_size);
  KernelBtfPtr kernel = shared_kernel_btf(kernel_btf_path);
  BtfPtr copy = minimal_copy(kernel.get(), types_to_keep(kernel.get(), roots), types_);
  kernel.reset();  // unless another holder keeps it, ~10 MB of heap given back before libbpf parses its own

  uint32_t size = 0;
  const void* raw = btf__raw_data(copy.get(), &size);
  if (!raw) throw Error(fmt::format("cannot build the CO-RE BTF: {}", strerror(errno)));
  std::string_view bytes(static_cast<const char*>(raw), size);
  if (cacheable) BootCache::process().write(entry, bytes);
  fd_.reset(memfd_create("inotrace-core-btf", MFD_CLOEXEC));
  if (!fd_) throw Error(fmt::format("cannot create a memfd for the CO-RE BTF: {}", strerror(errno)));
  for (size_t done = 0; done < size;) {
    ssize_t w = write(fd_.get(), bytes.data() + done, size - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) throw Error(fmt::format("cannot write the CO-RE BTF: {}", strerror(errno)));
    done += w;
  }
  path_ = fmt::format("/proc/self/fd/{}", fd_.get());
}

bool CoreBtf::cached(const std::string& kernel_btf_path, const void* elf, size_t elf_size) {
  return kernel_btf_path == kRunningKernelBtf && BootCache::process().open(cache_entry(elf, elf_size)).valid();
}

// This boot's copy for the object, when the cache holds one that libbpf parses: only root
// could have written it, and only whole (util/boot_cache.h), but an entry libbpf refused at
// the load would fail every command of the boot; parsing it here (~0.3-1 ms for ~120 KB) makes
// such an entry a miss instead: made again, and replaced.
bool CoreBtf::open_cached(const std::string& entry) {
  UniqueFd fd = BootCache::process().open(entry);
  if (!fd) return false;
  std::string path = fmt::format("/proc/self/fd/{}", fd.get());
  BtfPtr parsed(btf__parse_raw(path.c_str()), btf__free);
  if (!parsed) return false;  // libbpf 1.x: nullptr on error
  types_ = btf__type_cnt(parsed.get()) - 1;
  fd_ = std::move(fd);
  path_ = std::move(path);
  from_cache_ = true;
  return true;
}

const char* core_btf_path(const KernelFacts& facts, const void* elf, size_t elf_size, std::optional<CoreBtf>& holder) {
  if (!facts.custom_btf.empty()) return facts.custom_btf.c_str();
  try {
    holder.emplace(facts.btf_path, elf, elf_size);
    if (access(holder->path().c_str(), R_OK) == 0) return holder->path().c_str();  // no /proc: no path
  } catch (const std::exception&) {
  }
  holder.reset();
  return nullptr;
}

}  // namespace inotrace
