// A minimal copy of the kernel's BTF for one BPF object's CO-RE relocations (the idea of
// bpftool's `gen min_core_btf`, made per process instead of shipped per kernel).
//
// Why: libbpf resolves each relocated type by scanning every type of the kernel's BTF
// (~150,000 here) for the name; that scan was ~20 ms of each object's load, most of a short
// command's start-up. The copy keeps every kernel type named like a type of the object's own
// BTF, whole, and what those embed by value; a pointer to anything else points to void, which
// CO-RE field relocations never look through. Relocated against it, an object gets the offsets
// and existence answers it would get against the full BTF for what inotrace's objects use (field
// and enum relocations on vmlinux types; tests/live/core_btf_live_test.cpp compares every loaded
// program on each kernel of the VM tier). Not for type relocations on pointer types, kernel type
// ids (bpf_core_type_id_kernel) or module types: an object needing those must not use it.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "loader/preflight.h"
#include "util/unique_fd.h"

namespace inotrace {

class CoreBtf {
 public:
  enum class CachePolicy { Use, Bypass };
  // Throws inotrace::Error when either BTF cannot be read. `elf`: the BPF object's ELF image.
  // The copy of the running kernel's BTF is read from this boot's cache when there, and put
  // there when made (util/boot_cache.h), unless `policy` says Bypass.
  CoreBtf(const std::string& kernel_btf_path, const void* elf, size_t elf_size, CachePolicy policy = CachePolicy::Use);

  // For bpf_object_open_opts.btf_custom_path: a memfd's /proc/self/fd path, valid while this lives.
  const std::string& path() const { return path_; }
  size_t type_count() const { return types_; }
  bool from_cache() const { return from_cache_; }

  // Whether this boot's cache holds the copy for the object (util/boot_cache.h): made from the
  // running kernel's BTF, it needs no parse of it.
  static bool cached(const std::string& kernel_btf_path, const void* elf, size_t elf_size);

 private:
  bool open_cached(const std::string& entry);
  bool from_cache_ = false;

  UniqueFd fd_;
  std::string path_;
  size_t types_ = 0;
};

// The path to relocate an object against: the user's --btf as given, else a CoreBtf kept in
// `holder` (alive until the object is loaded). Where a CoreBtf cannot be built, nullptr: libbpf
// then relocates against the whole kernel BTF, as before, only slower.
const char* core_btf_path(const KernelFacts& facts, const void* elf, size_t elf_size, std::optional<CoreBtf>& holder);

}  // namespace inotrace
