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

}  // namespace inotrace
