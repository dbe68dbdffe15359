// The checks every BPF-using command runs first (privileges, BTF), each
// failing with one clear line, and what they find.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "loader/kallsyms.h"

namespace inotrace {

struct KernelFacts {
  std::string btf_path;           // kernel BTF in use
  std::string custom_btf;         // non-empty when given with --btf (passed to libbpf)

  // /proc/kallsyms (the hook targets and inotify's functions), read on first use: only the
  // kprobe backend (exact names, .isra clones) and kernels that cannot test-run
  // identify_inotify need it, and reading it costs ~150 ms. Throws Error when the addresses are
  // hidden from this process (kptr_restrict).
  const Kallsyms& syms() const;

 private:
  mutable std::shared_ptr<const Kallsyms> syms_;  // shared by copies: read once
};

// Throws inotrace::Error naming what is missing.
KernelFacts preflight(const std::string& custom_btf);

// Installs inotrace's libbpf print callback (warnings kept for error messages; printed when
// verbose) and returns the last libbpf warning, for error messages.
void init_libbpf_logging(bool verbose);
// init_libbpf_logging(false) where it has not run yet, else nothing: a loader's own guarantee
// that refusals are seen and its sections handled, whoever made it.
void ensure_libbpf_hooks();
std::string last_libbpf_message();
// The program whose load the kernel refused most recently on this thread (libbpf's warning),
// or "" if none since the last call; the call forgets it.
std::string take_rejected_program();
// Puts back what take_rejected_program() gave: an outer TypedCastsAtLoad's, after an inner one.
void restore_rejected_program(std::string name);

}  // namespace inotrace
