#include "snapshot/snapshot_taker.h"

#include <fmt/format.h>

#include "paths/snapshot_paths.h"
#include "snapshot/iter_source.h"
#include "snapshot/procfs_source.h"
#include "util/error.h"

namespace inotrace {

std::optional<SnapshotSource> parse_snapshot_source(const std::string& s) {
  if (s == "auto") return SnapshotSource::Auto;
  if (s == "iterator") return SnapshotSource::Iterator;
  if (s == "procfs") return SnapshotSource::Procfs;
  return std::nullopt;
}

SnapshotTaker::SnapshotTaker(const KernelFacts* facts, SnapshotSource source,
                             std::function<void(const std::string&)> log) {
  if (source == SnapshotSource::Procfs) return;
  try {
    if (!facts) throw Error("the BPF iterator needs root (CAP_BPF, CAP_PERFMON, CAP_SYSLOG)");
    iter_ = std::make_unique<IterSource>(*facts);
  } catch (const Error& e) {
    if (source == SnapshotSource::Iterator) throw;
    if (log) log(fmt::format("snapshot: BPF iterator unavailable ({}); reading /proc fdinfo instead", e.what()));
  }
}

SnapshotTaker::~SnapshotTaker() = default;

std::string SnapshotTaker::source_name() const { return iter_ ? "iterator" : "procfs"; }

Snapshot SnapshotTaker::take(bool with_paths) {
  std::vector<std::string> warnings;
  Snapshot snap;
  previous_mounts_ = std::move(mounts_);
  if (iter_) {
    snap = iter_->take(with_paths);
    mounts_ = MountNamespaces::scan(&warnings);
    if (with_paths) resolve_snapshot_paths(snap, mounts_);
    else
      for (auto& inst : snap.instances)
        for (auto& h : inst.holders) h.mnt_ns = mount_ns_of(h.pid);
  } else {
    ProcfsSourceOptions o;
    o.with_paths = with_paths;
    snap = take_procfs_snapshot(o);
    mounts_ = MountNamespaces::scan(&warnings);
  }
  for (auto& w : warnings) snap.warnings.push_back(std::move(w));
  return snap;
}

}  // namespace inotrace
