#include "loader/program_table.h"

#include <algorithm>

namespace inotrace {

namespace {

using B = Backend;
using A = Attach;
using N = Need;
using S = SyscallArgs;
using W = NameWalks;
using R = Reads;
using P = SkeletonPrograms;

#define PROG(field) &P::field, #field

constexpr ProgramSpec kPrograms[] = {
    // fentry / fexit: trampolines on inotify's own functions and the syscall wrappers.
    {PROG(fe_enter_add_watch_syscall_args), B::Fentry, A::BySection, "__x64_sys_inotify_add_watch", N::Required, S::Typed, 4},
    {PROG(fe_exit_add_watch_syscall_args), B::Fentry, A::BySection, "__x64_sys_inotify_add_watch", N::Required, S::Typed, 0, W::Inline},
    {PROG(fe_exit_add_watch_syscall_args_looped), B::Fentry, A::BySection, "__x64_sys_inotify_add_watch", N::Required, S::Typed, 0, W::Looped},
    {PROG(fe_enter_update_watch), B::Fentry, A::BySection, "inotify_update_watch"},
    {PROG(fe_exit_update_watch), B::Fentry, A::BySection, "inotify_update_watch", N::Required, S::Any, 0, W::Inline},
    {PROG(fe_exit_update_watch_looped), B::Fentry, A::BySection, "inotify_update_watch", N::Required, S::Any, 0, W::Looped},
    {PROG(fe_path_notify), B::Fentry, A::BySection, "security_path_notify", N::Optional},
    {PROG(fe_add_mark_locked), B::Fentry, A::BySection, "fsnotify_add_mark_locked", N::Required, S::Any, 2},
    {PROG(fe_enter_rm_watch_syscall_args), B::Fentry, A::BySection, "__x64_sys_inotify_rm_watch", N::Required, S::Typed},
    {PROG(fe_enter_rm_watch_no_args), B::Fentry, A::BySection, "__x64_sys_inotify_rm_watch", N::Required, S::Untyped},
    {PROG(fe_exit_rm_watch), B::Fentry, A::BySection, "__x64_sys_inotify_rm_watch"},
    {PROG(fe_freeing_mark), B::Fentry, A::BySection, "inotify_freeing_mark", N::Required, S::Any, 1, W::Inline},
    {PROG(fe_freeing_mark_looped), B::Fentry, A::BySection, "inotify_freeing_mark", N::Required, S::Any, 1, W::Looped},
    {PROG(fe_enter_init1_syscall_args), B::Fentry, A::BySection, "__x64_sys_inotify_init1", N::Required, S::Typed},
    {PROG(fe_exit_init1), B::Fentry, A::BySection, "__x64_sys_inotify_init1"},
    {PROG(fe_enter_init), B::Fentry, A::BySection, "__x64_sys_inotify_init", N::Optional},
    {PROG(fe_exit_init), B::Fentry, A::BySection, "__x64_sys_inotify_init", N::Optional},
    {PROG(fe_enter_destroy_group), B::Fentry, A::BySection, "fsnotify_destroy_group", N::Required, S::Any, 3},
    {PROG(fe_exit_destroy_group), B::Fentry, A::BySection, "fsnotify_destroy_group"},
    // kprobes: syscalls by ksyscall (libbpf finds the wrapper), inotify's functions by hand on
    // their exact kallsyms name (a .isra/.constprop clone still counts).
    {PROG(kp_enter_add_watch), B::Kprobe, A::BySection, "__x64_sys_inotify_add_watch", N::Required, S::Any, 4},
    {PROG(kp_exit_add_watch), B::Kprobe, A::BySection, "__x64_sys_inotify_add_watch", N::Required, S::Any, 0, W::Inline},
    {PROG(kp_exit_add_watch_looped), B::Kprobe, A::BySection, "__x64_sys_inotify_add_watch", N::Required, S::Any, 0, W::Looped},
    {PROG(kp_path_notify), B::Kprobe, A::Kprobe, "security_path_notify", N::Optional},
    {PROG(kp_enter_add_mark_locked), B::Kprobe, A::Kprobe, "fsnotify_add_mark_locked", N::Required, S::Any, 2},
    {PROG(kp_exit_add_mark_locked), B::Kprobe, A::Kretprobe, "fsnotify_add_mark_locked"},
    {PROG(kp_enter_rm_watch), B::Kprobe, A::BySection, "__x64_sys_inotify_rm_watch"},
    {PROG(kp_exit_rm_watch), B::Kprobe, A::BySection, "__x64_sys_inotify_rm_watch"},
    {PROG(kp_freeing_mark), B::Kprobe, A::Kprobe, "inotify_freeing_mark", N::Required, S::Any, 1, W::Inline},
    {PROG(kp_freeing_mark_looped), B::Kprobe, A::Kprobe, "inotify_freeing_mark", N::Required, S::Any, 1, W::Looped},
    {PROG(kp_enter_init1), B::Kprobe, A::BySection, "__x64_sys_inotify_init1"},
    {PROG(kp_exit_init1), B::Kprobe, A::BySection, "__x64_sys_inotify_init1"},
    {PROG(kp_enter_init), B::Kprobe, A::BySection, "__x64_sys_inotify_init", N::Optional},
    {PROG(kp_exit_init), B::Kprobe, A::BySection, "__x64_sys_inotify_init", N::Optional},
    {PROG(kp_enter_destroy_group), B::Kprobe, A::Kprobe, "fsnotify_destroy_group", N::Required, S::Any, 3},
    {PROG(kp_exit_destroy_group), B::Kprobe, A::Kretprobe, "fsnotify_destroy_group"},
    // Syscall tracepoints: adds, rm_watch and instance creation only.
    {PROG(tp_enter_add_watch), B::Tracepoint, A::BySection, "sys_enter_inotify_add_watch", N::Required, S::Any, 1, W::Any, R::Probed},
    {PROG(tp_enter_add_watch_typed), B::Tracepoint, A::BySection, "sys_enter_inotify_add_watch", N::Required, S::Any, 0, W::Any, R::Typed},
    {PROG(tp_exit_add_watch), B::Tracepoint, A::BySection, "sys_exit_inotify_add_watch", N::Required, S::Any, 2, W::Inline},
    {PROG(tp_exit_add_watch_looped), B::Tracepoint, A::BySection, "sys_exit_inotify_add_watch", N::Required, S::Any, 2, W::Looped, R::Probed},
    {PROG(tp_exit_add_watch_typed), B::Tracepoint, A::BySection, "sys_exit_inotify_add_watch", N::Required, S::Any, 0, W::Looped, R::Typed},
    {PROG(tp_enter_rm_watch), B::Tracepoint, A::BySection, "sys_enter_inotify_rm_watch", N::Required, S::Any, 3, W::Any, R::Probed},
    {PROG(tp_enter_rm_watch_typed), B::Tracepoint, A::BySection, "sys_enter_inotify_rm_watch", N::Required, S::Any, 0, W::Any, R::Typed},
    {PROG(tp_exit_rm_watch), B::Tracepoint, A::BySection, "sys_exit_inotify_rm_watch", N::Required, S::Any, 4, W::Inline},
    {PROG(tp_exit_rm_watch_looped), B::Tracepoint, A::BySection, "sys_exit_inotify_rm_watch", N::Required, S::Any, 4, W::Looped, R::Probed},
    {PROG(tp_exit_rm_watch_typed), B::Tracepoint, A::BySection, "sys_exit_inotify_rm_watch", N::Required, S::Any, 0, W::Looped, R::Typed},
    {PROG(tp_enter_init1), B::Tracepoint, A::BySection, "sys_enter_inotify_init1", N::Required, S::Any, 5},
    {PROG(tp_exit_init1), B::Tracepoint, A::BySection, "sys_exit_inotify_init1", N::Required, S::Any, 6},
    {PROG(tp_enter_init), B::Tracepoint, A::BySection, "sys_enter_inotify_init", N::Optional},
    // inotify_init's exit is inotify_init1's: the same program, loaded once.
    {PROG(tp_exit_init1), B::Tracepoint, A::SyscallTracepoint, "sys_exit_inotify_init", N::Optional},
};

#undef PROG

}  // namespace

std::span<const ProgramSpec> program_table() { return kPrograms; }

std::vector<std::string> probed_targets(Backend b) {
  std::vector<const ProgramSpec*> probed;
  for (const auto& p : kPrograms)
    if (p.backend == b && p.probe > 0) probed.push_back(&p);
  std::stable_sort(probed.begin(), probed.end(), [](auto* x, auto* y) { return x->probe < y->probe; });
  std::vector<std::string> out;
  for (const auto* p : probed)
    if (std::find(out.begin(), out.end(), p->target) == out.end()) out.emplace_back(p->target);
  return out;
}

std::vector<std::string> attached_functions() {
  std::vector<std::string> out;
  for (const auto& p : kPrograms)
    if (p.backend != Backend::Tracepoint && std::find(out.begin(), out.end(), p.target) == out.end())
      out.emplace_back(p.target);
  return out;
}

}  // namespace inotrace
