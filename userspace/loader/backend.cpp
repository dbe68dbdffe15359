#include "loader/backend.h"

#include <fmt/format.h>

#include <fmt/ranges.h>

#include <algorithm>

#include "loader/program_table.h"
#include "util/error.h"

namespace inotrace {

std::string_view backend_name(Backend b) {
  switch (b) {
    case Backend::Fentry: return "fentry";
    case Backend::Kprobe: return "kprobe";
    case Backend::Tracepoint: return "tracepoint";
  }
  return "?";
}

std::optional<Backend> parse_backend(std::string_view s) {
  for (Backend b : {Backend::Fentry, Backend::Kprobe, Backend::Tracepoint})
    if (s == backend_name(b)) return b;
  return std::nullopt;
}

// The program table's entries marked to probe; the other programs are checked at load.
std::vector<std::string> backend_requirements(Backend b) { return probed_targets(b); }

namespace {

bool probe_backend(Backend b, FeatureProber& prober, std::vector<ProbeOutcome>& log,
                   std::string& failure) {
  for (const auto& what : backend_requirements(b)) {
    ProbeOutcome o = b == Backend::Fentry   ? prober.fentry(what)
                     : b == Backend::Kprobe ? prober.kprobe(what)
                                            : prober.syscall_tracepoint(what);
    log.push_back(o);
    if (!o.ok) {
      failure = fmt::format("{}: {}", o.probe, o.detail);
      return false;
    }
  }
  return true;
}

}  // namespace

BackendChoice choose_backend(std::optional<Backend> forced, FeatureProber& prober,
                             const std::vector<Backend>& implemented) {
  BackendChoice choice;
  std::vector<std::string> failures;
  auto is_implemented = [&](Backend b) {
    return std::find(implemented.begin(), implemented.end(), b) != implemented.end();
  };
  // Probes `b`, noting what it offers. Probing loads programs, and for fentry and kprobe
  // attaches them (a detach waits for RCU: tens of ms), so only as far as the choice needs: up
  // to the first usable backend, or the forced one; every backend only when the forced one
  // fails, for the error to list them.
  auto probe = [&](Backend b) {
    std::string failure;
    if (!probe_backend(b, prober, choice.probes, failure))
      failures.push_back(fmt::format("{} ({})", backend_name(b), failure));
    else if (!is_implemented(b))
      failures.push_back(fmt::format("{} (kernel supports it, not built into this inotrace)", backend_name(b)));
    else
      choice.available.push_back(b);
  };
  if (forced) probe(*forced);
  for (Backend b : {Backend::Fentry, Backend::Kprobe, Backend::Tracepoint}) {
    if (!choice.available.empty()) break;
    if (b != forced) probe(b);
  }
  auto names = [&] {
    std::string s;
    for (Backend b : choice.available) s += (s.empty() ? "" : ", ") + std::string(backend_name(b));
    return s.empty() ? std::string("none") : s;
  };
  if (forced) {
    if (std::find(choice.available.begin(), choice.available.end(), *forced) == choice.available.end()) {
      std::string detail;
      for (const auto& f : failures)
        if (f.starts_with(backend_name(*forced))) detail = f;
      throw Error(fmt::format("backend {} is not available: {}; available here: {}",
                              backend_name(*forced), detail, names()));
    }
    choice.backend = *forced;
    choice.why = "forced with --backend";
    return choice;
  }
  if (choice.available.empty())
    throw Error(fmt::format("no tracing backend works on this kernel: {}", fmt::join(failures, "; ")));
  choice.backend = choice.available.front();
  choice.why = failures.empty()
                   ? std::string("preferred backend")
                   : fmt::format("best available; not usable: {}", fmt::join(failures, "; "));
  return choice;
}

}  // namespace inotrace
