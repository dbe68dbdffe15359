// Live tier: CoreBtf, the minimal kernel BTF the loaders relocate against, must give every
// loaded program exactly the instructions the whole kernel BTF gives: same field offsets, same
// existence answers. Both objects are loaded twice, once each way, on the running kernel.
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "inotrace_bpf.skel.h"
#include "inotrace_iter.skel.h"
#include "loader/core_btf.h"
#include "loader/environment.h"
#include "loader/kernel_btf.h"
#include "loader/kernel_func_ids.h"
#include "loader/program_table.h"
#include "loader/section_handlers.h"
#include "loader/typed_reads.h"
#include "util/boot_cache.h"
#include "support/live_support.h"

namespace inotrace::testing {
namespace {

bool is_map_ldimm64(const bpf_insn& i) { return i.code == (BPF_LD | BPF_IMM | BPF_DW) && i.src_reg != 0; }

// Instruction by instruction; a map reference's fd differs between two loads, nothing else may.
void expect_same_instructions(bpf_object* whole, bpf_object* minimal, int& compared) {
  bpf_program* a;
  bpf_object__for_each_program(a, whole) {
    if (!bpf_program__autoload(a)) continue;
    bpf_program* b = bpf_object__find_program_by_name(minimal, bpf_program__name(a));
    ASSERT_NE(b, nullptr);
    ASSERT_EQ(bpf_program__insn_cnt(a), bpf_program__insn_cnt(b)) << bpf_program__name(a);
    const bpf_insn* x = bpf_program__insns(a);
    const bpf_insn* y = bpf_program__insns(b);
    for (size_t i = 0; i < bpf_program__insn_cnt(a); i++) {
      bool map_ref = is_map_ldimm64(x[i]) || (i > 0 && is_map_ldimm64(x[i - 1]));
      EXPECT_TRUE(x[i].code == y[i].code && x[i].dst_reg == y[i].dst_reg && x[i].src_reg == y[i].src_reg &&
                  x[i].off == y[i].off && (map_ref || x[i].imm == y[i].imm))
          << bpf_program__name(a) << " instruction " << i;
    }
    compared++;
  }
}

template <typename Skel>
void compare_loads(Skel* (*open)(const bpf_object_open_opts*), int (*load)(Skel*), void (*destroy)(Skel*),
                   const void* (*elf_bytes)(size_t*), const std::function<bool(bpf_program*)>& wanted,
                   const std::function<void(Skel*)>& prepare = [](Skel*) {}) {
  KernelFacts facts = preflight("");
  size_t size = 0;
  const void* elf = elf_bytes(&size);
  CoreBtf core(facts.btf_path, elf, size, CoreBtf::CachePolicy::Bypass);  // made here, from the whole BTF
  EXPECT_GT(core.type_count(), 0u);
  LIBBPF_OPTS(bpf_object_open_opts, whole_opts);
  LIBBPF_OPTS(bpf_object_open_opts, minimal_opts, .btf_custom_path = core.path().c_str());
  std::unique_ptr<Skel, void (*)(Skel*)> whole(open(&whole_opts), destroy), minimal(open(&minimal_opts), destroy);
  ASSERT_TRUE(whole && minimal);
  for (bpf_object* obj : {whole->obj, minimal->obj}) {
    bpf_program* p;
    bpf_object__for_each_program(p, obj) bpf_program__set_autoload(p, wanted(p));
  }
  prepare(whole.get());
  prepare(minimal.get());
  ASSERT_EQ(load(whole.get()), 0) << last_libbpf_message();
  ASSERT_EQ(load(minimal.get()), 0) << last_libbpf_message();
  int compared = 0;
  expect_same_instructions(whole->obj, minimal->obj, compared);
  EXPECT_GT(compared, 0);
}

bool starts_with(const char* s, const char* prefix) { return std::strncmp(s, prefix, std::strlen(prefix)) == 0; }

// A tracer program this kernel can load: the bpf_loop twins (NameWalks::Looped) need 5.17+, the
// typed ones (Reads::Typed) the bpf_rdonly_cast kfunc; all variants are compared where they load.
bool loadable_here(bpf_program* p) {
  for (const ProgramSpec& spec : program_table())
    if (spec.name == bpf_program__name(p))
      return (kernel_has_bpf_loop() || spec.walks != NameWalks::Looped) &&
             (spec.reads != Reads::Typed || typed_read_ids(kRunningKernelBtf));
  return true;  // not in the table: identify_inotify
}

// What the tracer does to the typed programs before their load (loader/typed_reads.h); the
// casts themselves are linked at the load, in a TypedCastsAtLoad scope (loader/section_handlers.h).
void set_typed_ids(inotrace_bpf* skel) {
  if (auto ids = typed_read_ids(kRunningKernelBtf)) set_typed_read_ids(skel, *ids);
}

// Kernels from 6.16 let their BTF be mapped, and shared_kernel_btf parses it from the mapping:
// byte for byte what libbpf reads from the file.
TEST(CoreBtfLive, KernelBtfFromItsMappingEqualsLibbpfsRead) {
  const char* sys = "/sys/kernel/btf/vmlinux";
  KernelBtfPtr shared = shared_kernel_btf(sys);
  btf* read = btf__parse(sys, nullptr);
  ASSERT_TRUE(read);
  uint32_t a = 0, b = 0;
  const void* ra = btf__raw_data(shared.get(), &a);
  const void* rb = btf__raw_data(read, &b);
  EXPECT_EQ(btf__type_cnt(shared.get()), btf__type_cnt(read));
  ASSERT_EQ(a, b);
  EXPECT_EQ(std::memcmp(ra, rb, a), 0);
  btf__free(read);
}

TEST(CoreBtfLive, IteratorProgramsRelocateAsAgainstTheWholeKernelBtf) {
  INOTRACE_REQUIRE_ROOT();
  register_section_handlers();  // the loader's handler of their section, which links the typed casts
  bool has_loop = kernel_has_bpf_loop();
  auto typed = typed_read_ids(kRunningKernelBtf);
  TypedCastsAtLoad casts(typed ? typed->cast_func : 0);  // what the handler links the casts to
  compare_loads<inotrace_iter>(
      inotrace_iter__open_opts, inotrace_iter__load, inotrace_iter__destroy, inotrace_iter__elf_bytes,
      [&](bpf_program* p) {
        // the unbounded walks call bpf_loop (5.17+); the typed one bpf_rdonly_cast too
        if (std::strcmp(bpf_program__name(p), "snapshot_files_typed") == 0) return has_loop && typed.has_value();
        return has_loop || !starts_with(bpf_program__section_name(p), "iter/") ||
               std::strcmp(bpf_program__name(p), "snapshot_files_bounded") == 0;
      },
      [&](inotrace_iter* skel) {  // the casts themselves are linked at the load (loader/section_handlers.h)
        if (typed) set_typed_read_ids(skel, *typed);
      });
}

TEST(CoreBtfLive, TracepointProgramsRelocateAsAgainstTheWholeKernelBtf) {
  INOTRACE_REQUIRE_ROOT();
  register_section_handlers();  // the loader's handler of their section, which links the typed casts
  auto typed = typed_read_ids(kRunningKernelBtf);
  TypedCastsAtLoad casts(typed ? typed->cast_func : 0);
  compare_loads<inotrace_bpf>(inotrace_bpf__open_opts, inotrace_bpf__load, inotrace_bpf__destroy,
                              inotrace_bpf__elf_bytes, [](bpf_program* p) {
                                return (starts_with(bpf_program__section_name(p), "tracepoint/") && loadable_here(p)) ||
                                       std::strcmp(bpf_program__section_name(p), "raw_tp") == 0;
                              },
                              set_typed_ids);
}

// The kprobe backend's programs (where the kernel has a kprobe PMU: the VM tier's guests). The
// fentry backend's need their attach targets resolved at load; the fentry live tests in those
// guests run against the copy.
TEST(CoreBtfLive, KprobeProgramsRelocateAsAgainstTheWholeKernelBtf) {
  INOTRACE_REQUIRE_ROOT();
  if (access("/sys/bus/event_source/devices/kprobe/type", R_OK) != 0)
    GTEST_SKIP() << "SKIPPED: no kprobe PMU on this kernel (CONFIG_KPROBES off): the kprobe programs are "
                    "compared where it has one";
  compare_loads<inotrace_bpf>(inotrace_bpf__open_opts, inotrace_bpf__load, inotrace_bpf__destroy,
                              inotrace_bpf__elf_bytes, [](bpf_program* p) {
                                const char* sec = bpf_program__section_name(p);
                                return ((starts_with(sec, "kprobe") || starts_with(sec, "kretprobe") ||
                                         starts_with(sec, "ksyscall") || starts_with(sec, "kretsyscall")) &&
                                        loadable_here(p)) ||
                                       std::strcmp(sec, "raw_tp") == 0;
                              });
}

// This boot's cache (util/boot_cache.h) must answer exactly as the kernel's whole BTF does: the
// kept copy of each object's CoreBtf byte for byte as one made now, every function id as a
// lookup in a fresh parse.
std::string file_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

TEST(CoreBtfLive, ThisBootsCachedCopiesEqualCopiesMadeNow) {
  INOTRACE_REQUIRE_ROOT();
  if (!BootCache::process().usable()) GTEST_SKIP() << "SKIPPED: no boot cache here: " << BootCache::process().why_not();
  KernelFacts facts = preflight("");
  for (auto elf_bytes : {inotrace_bpf__elf_bytes, inotrace_iter__elf_bytes}) {
    size_t size = 0;
    const void* elf = elf_bytes(&size);
    CoreBtf made(facts.btf_path, elf, size, CoreBtf::CachePolicy::Bypass);
    CoreBtf first(facts.btf_path, elf, size);  // made and kept, or read back
    CoreBtf cached(facts.btf_path, elf, size);
    EXPECT_TRUE(cached.from_cache());
    EXPECT_TRUE(CoreBtf::cached(facts.btf_path, elf, size));
    std::string fresh = file_bytes(made.path());
    EXPECT_GT(fresh.size(), 1000u);
    EXPECT_EQ(file_bytes(first.path()), fresh);
    EXPECT_EQ(file_bytes(cached.path()), fresh);
  }
}

// An object whose bytes are not part of this executable's read-only image (here: a copy on the
// heap) has no build id to be named by: its copy is kept under a hash of its bytes
// ("core-btf-v1-<hash>-<size>"), found again by equal bytes elsewhere, and equals a copy made now.
TEST(CoreBtfLive, AnObjectOutsideTheExecutableIsKeptUnderAHashOfItsBytes) {
  INOTRACE_REQUIRE_ROOT();
  if (!BootCache::process().usable()) GTEST_SKIP() << "SKIPPED: no boot cache here: " << BootCache::process().why_not();
  KernelFacts facts = preflight("");
  size_t size = 0;
  const auto* image = static_cast<const char*>(inotrace_iter__elf_bytes(&size));
  std::vector<char> copy_a(image, image + size), copy_b(image, image + size);
  std::string suffix = std::to_string(size);
  suffix.insert(suffix.begin(), '-');
  auto hashed_entries = [&] {
    std::vector<std::string> found;
    for (const auto& e : std::filesystem::directory_iterator(BootCache::process().dir())) {
      std::string name = e.path().filename().string();
      if (name.find(".core-btf-v1-") != std::string::npos && name.ends_with(suffix)) found.push_back(e.path().string());
    }
    return found;
  };
  for (const std::string& stale : hashed_entries()) std::filesystem::remove(stale);

  CoreBtf made(facts.btf_path, copy_a.data(), size, CoreBtf::CachePolicy::Bypass);
  CoreBtf first(facts.btf_path, copy_a.data(), size);
  EXPECT_FALSE(first.from_cache());
  ASSERT_EQ(hashed_entries().size(), 1u) << "the heap copy's CO-RE BTF is kept under its bytes' hash";
  CoreBtf again(facts.btf_path, copy_b.data(), size);  // equal bytes at another address
  EXPECT_TRUE(again.from_cache());
  EXPECT_EQ(file_bytes(again.path()), file_bytes(made.path()));
  // The executable's own copy of the same bytes is named by the build id: another entry.
  CoreBtf resident(facts.btf_path, image, size);
  EXPECT_EQ(hashed_entries().size(), 1u);
  for (const std::string& e : hashed_entries()) std::filesystem::remove(e);
}

TEST(CoreBtfLive, CachedFunctionIdsAreTheKernelBtfs) {
  INOTRACE_REQUIRE_ROOT();
  const char* sys = "/sys/kernel/btf/vmlinux";
  std::unique_ptr<btf, decltype(&btf__free)> whole(btf__parse(sys, nullptr), btf__free);
  ASSERT_TRUE(whole);
  std::vector<std::string> names = probed_targets(Backend::Fentry);
  names.insert(names.end(), {"bpf_iter_task_file", "no_such_function_in_any_kernel"});
  for (int round = 0; round < 2; round++)  // the second answered from what the first kept
    for (const std::string& n : names) {
      int id = btf__find_by_name_kind(whole.get(), n.c_str(), BTF_KIND_FUNC);
      EXPECT_EQ(kernel_func_id(sys, n), id > 0 ? id : -1) << n;
    }
  // Typed reads' kfunc and structs (loader/typed_reads.h), kept as "struct:NAME".
  for (int round = 0; round < 2; round++)
    for (const char* n : {"file", "fsnotify_group", "xa_node", "inotify_inode_mark", "inode", "task_struct",
                          "no_such_struct"}) {
      int id = btf__find_by_name_kind(whole.get(), n, BTF_KIND_STRUCT);
      EXPECT_EQ(kernel_struct_id(sys, n), id > 0 ? id : -1) << n;
    }
  int cast = btf__find_by_name_kind(whole.get(), "bpf_rdonly_cast", BTF_KIND_FUNC);
  auto ids = typed_read_ids(sys);
  EXPECT_EQ(ids.has_value(), cast > 0);
  EXPECT_EQ(kernel_has_typed_cast(sys), cast > 0);
  if (ids) {
    EXPECT_EQ(ids->cast_func, cast);
    EXPECT_EQ(ids->task_struct, btf__find_by_name_kind(whole.get(), "task_struct", BTF_KIND_STRUCT));
  }
  if (BootCache::process().usable()) {
    EXPECT_TRUE(kernel_func_ids_cached(sys));
  }
}

}  // namespace
}  // namespace inotrace::testing
