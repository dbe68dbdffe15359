// Backends (fentry, kprobe, tracepoint: README.md, "Backends") and the choice between them, made by real trial attaches through a
// FeatureProber (mockable in unit tests), never by kernel version.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace inotrace {

enum class Backend { Fentry, Kprobe, Tracepoint };

std::string_view backend_name(Backend b);
// "fentry" | "kprobe" | "tracepoint"; nullopt otherwise ("auto" is handled by the caller).
std::optional<Backend> parse_backend(std::string_view s);

struct ProbeOutcome {
  std::string probe;   // e.g. "fentry inotify_freeing_mark"
  bool ok = false;
  std::string detail;  // why not, e.g. "load: Operation not permitted"
};

class FeatureProber {
 public:
  virtual ~FeatureProber() = default;
  virtual ProbeOutcome fentry(const std::string& func) = 0;
  virtual ProbeOutcome kprobe(const std::string& func) = 0;
  virtual ProbeOutcome syscall_tracepoint(const std::string& name) = 0;
};

struct BackendChoice {
  Backend backend = Backend::Tracepoint;
  std::vector<Backend> available;      // usable ones probed (probing stops at the first)
  std::vector<ProbeOutcome> probes;    // every trial, for -v
  std::string why;                     // one line: why this backend
};

// Probes the backends in `implemented` (preference order fentry > kprobe > tracepoint) and
// picks the first that works, or `forced`. Throws inotrace::Error naming what this kernel
// supports when nothing (or not the forced one) is available.
BackendChoice choose_backend(std::optional<Backend> forced, FeatureProber& prober,
                             const std::vector<Backend>& implemented);

// The kernel functions / tracepoints each backend hooks (its probes check exactly these).
std::vector<std::string> backend_requirements(Backend b);

}  // namespace inotrace
