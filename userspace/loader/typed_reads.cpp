#include "loader/typed_reads.h"

#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "inotrace/typed_cast.h"
#include "loader/kernel_func_ids.h"
#include "util/error.h"

namespace inotrace {

namespace {

constexpr std::array<std::string_view, 8> kNames{"bpf_rdonly_cast",       "struct:file",
                                                 "struct:fsnotify_group", "struct:xa_node",
                                                 "struct:inotify_inode_mark", "struct:inode",
                                                 "struct:task_struct",   "struct:dentry"};

}  // namespace

std::span<const std::string_view> typed_read_kernel_names() { return kNames; }

bool kernel_has_typed_cast(const std::string& btf_path) {
  try {
    return kernel_func_id(btf_path, "bpf_rdonly_cast") > 0;
  } catch (const Error&) {
    return false;
  }
}

std::optional<TypedReadIds> typed_read_ids(const std::string& btf_path) {
  TypedReadIds ids;
  ids.cast_func = kernel_func_id(btf_path, "bpf_rdonly_cast");
  if (ids.cast_func <= 0) return std::nullopt;
  ids.file = kernel_struct_id(btf_path, "file");
  ids.fsnotify_group = kernel_struct_id(btf_path, "fsnotify_group");
  ids.xa_node = kernel_struct_id(btf_path, "xa_node");
  ids.inotify_inode_mark = kernel_struct_id(btf_path, "inotify_inode_mark");
  ids.inode = kernel_struct_id(btf_path, "inode");
  ids.task_struct = kernel_struct_id(btf_path, "task_struct");
  ids.dentry = kernel_struct_id(btf_path, "dentry");
  for (int id : {ids.file, ids.fsnotify_group, ids.xa_node, ids.inotify_inode_mark, ids.inode, ids.task_struct, ids.dentry})
    if (id <= 0) return std::nullopt;
  return ids;
}

int cast_func_for_load(const TypedReadIds* ids, int for_test) {
  if (!ids) return 0;
  return for_test > 0 ? for_test : ids->cast_func;
}

bool is_typed_cast(const bpf_insn& insn) {
  return insn.code == (BPF_JMP | BPF_CALL) && insn.src_reg == 0 && insn.imm == INOTRACE_TYPED_CAST_HELPER;
}

int link_typed_casts(bpf_program* prog, int cast_func) {
  const bpf_insn* insns = bpf_program__insns(prog);
  std::vector<bpf_insn> patched(insns, insns + bpf_program__insn_cnt(prog));
  int n = 0;
  for (bpf_insn& insn : patched) {
    if (!is_typed_cast(insn)) continue;
    insn.src_reg = BPF_PSEUDO_KFUNC_CALL;  // off 0: a function of the kernel's own BTF
    insn.off = 0;
    insn.imm = cast_func;
    n++;
  }
  if (n)
    if (int e = bpf_program__set_insns(prog, patched.data(), patched.size()))
      throw Error(fmt::format("cannot rewrite {}'s typed casts: {}", bpf_program__name(prog), strerror(-e)));
  return n;
}

}  // namespace inotrace
