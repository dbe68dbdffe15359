// Checks of the host before any BPF is loaded, each turned into one clear line for the user.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace inotrace {

// Capabilities inotrace needs that the process lacks in its effective set: CAP_BPF and
// CAP_PERFMON (or CAP_SYS_ADMIN, which covers both on every kernel).
std::vector<std::string> missing_capabilities();

// Path of the kernel BTF to use: `custom` if given and readable, else /sys/kernel/btf/vmlinux.
// nullopt with *error set when there is none.
std::optional<std::string> find_kernel_btf(const std::string& custom, std::string* error);

// Makes sure tracefs is mounted (mounting it at /sys/kernel/tracing if needed). Returns the
// tracefs root, or nullopt with *error set. *mounted_now tells whether this call mounted it.
std::optional<std::string> ensure_tracefs(std::string* error, bool* mounted_now);

// Whether BPF programs may call bpf_loop (5.17+): the name walks with paths and the tracer's
// NameWalks::Looped programs need it. Probed once per process (a trial load).
bool kernel_has_bpf_loop();

// Whether tracing programs may use hash maps that allocate on demand (BPF_F_NO_PREALLOC)
// without harm: from 6.1 (the BPF memory allocator). Before, the verifier accepts them with a
// kernel WARN (a tainted kernel; a panic where panic_on_warn is set) and refuses them under
// PREEMPT_RT. No probe can tell without that warning, so the release decides (`release`, as
// uname prints it; empty: this kernel's).
bool kernel_allocates_in_tracing_programs(const std::string& release = "");

// Whether task-local storage suits the tracing programs' per-syscall state: from 6.4 its
// elements come from the BPF memory allocator, as the hash's do from 6.1. Before, a slot was
// a GFP_ATOMIC kmalloc under a raw spinlock (wrong under PREEMPT_RT), and on 6.1 a lookup could
// come back empty while another storage operation ran on the CPU. Same release rule as above.
bool kernel_task_storage_suits_tracing(const std::string& release = "");

// Whether this process is in the initial PID namespace: in another (a pod without hostPID),
// /proc and the BPF task iterators see only that namespace's processes. nullopt (with *error)
// when /proc/self/ns/pid cannot be read.
std::optional<bool> in_initial_pid_namespace(std::string* error = nullptr);

}  // namespace inotrace
