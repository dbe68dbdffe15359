// inotrace command line: CLI11 parsing only; every subcommand lives in cmd/.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <sys/stat.h>

#include <cstdio>

#include "cmd/trace.h"
#include "loader/backend.h"
#include "util/error.h"

namespace {

using namespace inotrace;

std::optional<Backend> backend_option(const std::string& s) {
  if (s == "auto") return std::nullopt;
  return parse_backend(s);
}

// --cgroup takes a cgroup v2 id or a directory of the cgroup2 hierarchy (its inode number is
// the id bpf_get_current_cgroup_id() returns).
uint64_t cgroup_id_option(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("0123456789") == std::string::npos) return std::stoull(s);
  struct stat st;
  if (stat(s.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw Error(fmt::format("--cgroup {}: neither a numeric cgroup id nor a cgroup2 directory", s));
  return st.st_ino;
}

void add_filter_options(CLI::App* cmd, TraceFilters& f, std::string& cgroup) {
  cmd->add_option("--pid", f.pid, "Only this process (tgid)");
  cmd->add_option("--comm", f.comm, "Only processes with this exact command name (max 15 bytes)");
  cmd->add_option("--uid", f.uid, "Only processes running as this uid");
  cmd->add_option("--cgroup", cgroup, "Only processes in this cgroup v2 (id, or a path under /sys/fs/cgroup)");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "inotrace: trace Linux inotify watches with eBPF.\n"
      "Finds who adds, keeps and leaks inotify watches (e.g. kubelet on dead pods' volumes)."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "inotrace 0.1.0");

  TraceCommandOptions trace;
  std::string backend = "auto";
  std::string cgroup;
  uint64_t ringbuf = trace.tracer.ringbuf_bytes;
  auto* tr = app.add_subcommand(
      "trace",
      "Live audit log of inotify activity: watch added / updated / add failed / removed (with the "
      "reason) and instances created, one line (or one JSON object with --json) per event.");
  tr->add_flag("--json", trace.json, "NDJSON output, one object per event (schema: docs/JSON.md)");
  tr->add_option("-o,--output", trace.output_path, "Write events to FILE (flushed as they arrive)");
  add_filter_options(tr, trace.tracer.filters, cgroup);
  tr->add_option("--duration", trace.duration_s, "Stop after SECONDS (default: until Ctrl-C / SIGTERM)")
      ->check(CLI::PositiveNumber);
  tr->add_option("--backend", backend, "auto (default), fentry, kprobe or tracepoint")
      ->check(CLI::IsMember({"auto", "fentry", "kprobe", "tracepoint"}));
  tr->add_option("--ringbuf-size", ringbuf, "Ring buffer bytes (power of two; default 8 MiB)");
  tr->add_option("--btf", trace.tracer.btf_path, "Kernel BTF file (default /sys/kernel/btf/vmlinux)");
  tr->add_flag("-v,--verbose", trace.tracer.verbose, "Print every probe's outcome and libbpf warnings");

  CLI11_PARSE(app, argc, argv);

  try {
    if (tr->parsed()) {
      trace.tracer.backend = backend_option(backend);
      trace.tracer.ringbuf_bytes = checked_ringbuf_size(ringbuf);
      if (!cgroup.empty()) trace.tracer.filters.cgroup_id = cgroup_id_option(cgroup);
      return run_trace(trace);
    }
  } catch (const Error& e) {
    fmt::print(stderr, "inotrace: error: {}\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "inotrace: internal error: {}\n", e.what());
    return 70;
  }
  return 0;
}
