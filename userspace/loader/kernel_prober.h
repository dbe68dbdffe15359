// FeatureProber against the running kernel: each probe really loads a two-instruction BPF
// program and, for fentry and kprobe, attaches it where the backend would (the approach of
// libbpf-tools' fentry_can_attach), then detaches. Syscall tracepoints, the last resort, are
// only checked to exist and to take a tracepoint program (see syscall_tracepoint).
#pragma once

#include <string>

#include "loader/backend.h"
#include "loader/preflight.h"

namespace inotrace {

class KernelProber : public FeatureProber {
 public:
  KernelProber(const KernelFacts& facts, std::string btf_path, std::string tracefs);
  ~KernelProber() override;
  ProbeOutcome fentry(const std::string& func) override;
  ProbeOutcome kprobe(const std::string& func) override;
  ProbeOutcome syscall_tracepoint(const std::string& name) override;

 private:
  const KernelFacts& facts_;          // its kallsyms, read only if a kprobe is probed
  bool tracepoint_loads_ = false;  // a tracepoint program loaded once
  std::string btf_path_;
  std::string tracefs_;
};

}  // namespace inotrace
