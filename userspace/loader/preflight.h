// The checks every BPF-using command runs first (privileges, BTF, kernel symbols), each
// failing with one clear line, and what they find.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "loader/kallsyms.h"

namespace inotrace {

struct KernelFacts {
  std::string btf_path;           // kernel BTF in use
  std::string custom_btf;         // non-empty when given with --btf (passed to libbpf)
  Kallsyms syms;                  // inotify functions and the hook targets
  uint64_t inotify_release = 0;   // identifies inotify files (f_op->release)
  uint64_t inotify_freeing_mark = 0;  // identifies inotify groups (ops->freeing_mark)
};

// Throws inotrace::Error naming what is missing.
KernelFacts preflight(const std::string& custom_btf);

// Installs inotrace's libbpf print callback (warnings kept for error messages; printed when
// verbose) and returns the last libbpf warning, for error messages.
void init_libbpf_logging(bool verbose);
std::string last_libbpf_message();

}  // namespace inotrace
