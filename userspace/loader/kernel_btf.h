// The kernel's BTF, parsed once per process and shared while anyone holds it.
//
// Why: a parse of /sys/kernel/btf/vmlinux (~5.5 MB, ~130,000 types) costs 7–13 ms warm and
// ~20 ms cold on a 2-core node, and `trace` used to make three on its start-up path (four on
// the fentry backend): the backend probe's, the tracer's CoreBtf, the snapshot iterator's
// CoreBtf (on its own thread) and the fentry program choice's.
// Callers that overlap in time now share one; when the last holder lets go the ~10 MB of heap
// is freed, as before (`snapshot` frees it before libbpf parses its own copy). Most commands
// now need none: what start-up derives from it is kept per boot (kernel_func_ids.h, core_btf.h).
// Where the kernel lets the file be mapped (6.16+), it is parsed from a private mapping instead
// of the page-sized reads sysfs serves it in.
#pragma once

#include <memory>
#include <string>

struct btf;

namespace inotrace {

using KernelBtfPtr = std::shared_ptr<const btf>;

// The running kernel's BTF, where the kernel publishes it (what the per-boot cache is made of).
inline constexpr const char* kRunningKernelBtf = "/sys/kernel/btf/vmlinux";

// The parse of `path`, shared with every other holder of the same path. Throws inotrace::Error
// when it cannot be read. Thread-safe: a second thread asking meanwhile waits for the first
// parse instead of making its own. libbpf's read-only btf__* calls may run on it concurrently.
KernelBtfPtr shared_kernel_btf(const std::string& path);

}  // namespace inotrace
