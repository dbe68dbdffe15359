#include "snapshot/snapshot_taker.h"

#include <algorithm>

#include <fmt/format.h>

#include "snapshot/snapshot_paths.h"
#include "snapshot/iter_source.h"
#include "util/small_file.h"
#include "snapshot/fdinfo_parser.h"
#include "paths/file_handle_path.h"
#include "snapshot/procfs_source.h"
#include "paths/unnamed_reasons.h"
#include "util/error.h"

namespace inotrace {

std::optional<SnapshotSource> parse_snapshot_source(const std::string& s) {
  if (s == "auto") return SnapshotSource::Auto;
  if (s == "iterator") return SnapshotSource::Iterator;
  if (s == "procfs") return SnapshotSource::Procfs;
  return std::nullopt;
}

SnapshotTaker::SnapshotTaker(const KernelFacts* facts, SnapshotSource source, NodeView& node,
                             std::function<void(const std::string&)> log, SnapshotNeeds needs,
                             PendingIterSource pending)
    : node_(node) {
  if (source == SnapshotSource::Procfs) return;
  try {
    if (!facts) throw Error("the BPF iterator needs root (CAP_BPF, CAP_PERFMON)");
    IterSourceOptions opts;
    opts.paths = needs == SnapshotNeeds::Paths;
    iter_ = pending.valid() ? pending.get() : std::make_shared<IterSource>(*facts, opts);
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
  if (iter_) {
    snap = iter_->take(with_paths);
    node_.refresh(&warnings);
    set_holder_facts(snap, node_);
    MountViews views(node_);
    complete_from_fdinfo(snap, views, with_paths);
    if (with_paths) resolve_snapshot_paths(snap, views);
  } else {
    ProcfsSourceOptions o;
    o.with_paths = with_paths;
    o.proc = node_.proc();
    o.node = &node_;
    uint64_t refreshed = node_.refreshed_mono_ns();
    snap = take_procfs_snapshot(o);
    if (node_.refreshed_mono_ns() == refreshed) node_.refresh(&warnings);  // no path was resolved
    set_holder_facts(snap, node_);
  }
  for (auto& w : warnings) snap.warnings.push_back(std::move(w));
  return snap;
}

std::optional<Snapshot> SnapshotTaker::take_digests() {
  if (!iter_ || iter_->bounded()) return std::nullopt;
  return iter_->take_digests();
}

Snapshot SnapshotTaker::take_tallies() {
  std::optional<Snapshot> snap = take_digests();
  // A walk cut short (a mark destroyed under it) undercounts; a full snapshot completes such
  // instances from fdinfo.
  if (!snap || std::any_of(snap->instances.begin(), snap->instances.end(), [](const SnapInstance& i) { return i.truncated; }))
    return take(false);
  std::vector<std::string> warnings;
  node_.refresh(&warnings);
  set_holder_facts(*snap, node_);
  for (auto& w : warnings) snap->warnings.push_back(std::move(w));
  return std::move(*snap);
}

std::optional<Snapshot> SnapshotTaker::take_counts() {
  if (!iter_) return std::nullopt;
  return iter_->take_counts();
}

namespace {

// Instances the iterator could not finish: truncated walks, kernels without bpf_loop (no paths),
// and paths deeper than its walk, which the watches' file handles may name.
bool needs_fdinfo(const SnapInstance& inst, bool kernel_named, bool with_paths) {
  bool deep = with_paths && std::any_of(inst.watches.begin(), inst.watches.end(), [](const SnapWatch& w) {
                return w.kernel_flags & INOTRACE_F_PATH_TRUNCATED;
              });
  return (inst.truncated || (!kernel_named && with_paths) || deep) && !inst.holders.empty();
}

// The instance's entry for an fdinfo watch, added if the iterator did not list it.
SnapWatch& watch_for(SnapInstance& inst, absl::flat_hash_map<int32_t, size_t>& by_wd, const FdinfoWatch& fw) {
  auto [it, inserted] = by_wd.try_emplace(fw.wd, inst.watches.size());
  if (inserted) {
    SnapWatch sw;
    sw.wd = fw.wd;
    sw.ino = fw.ino;
    sw.dev = fw.dev;
    sw.mask = fw.mask;
    inst.watches.push_back(std::move(sw));
  }
  return inst.watches[it->second];
}

// The path of a watch by its file handle, through the mounts of the watcher's view; failing
// that, of a namespace where the filesystem is still mounted (and say so).
void path_by_handle(SnapWatch& sw, const FdinfoWatch& fw, const MountView* own, MountViews& views,
                    FileHandlePathResolver& resolver) {
  bool cut = sw.kernel_flags & INOTRACE_F_PATH_TRUNCATED;
  if (!fw.handle) {
    if (!cut) sw.path_source = PathSource::FileHandle, sw.path_note = unnamed::kNoFileHandle;
    return;
  }
  MountChoice choice = views.choose(own, fw.dev);
  if (!choice.view) {
    if (!cut) sw.path_source = PathSource::FileHandle, sw.path_note = unnamed::not_mounted();
    return;
  }
  HandlePath hp = resolver.resolve(choice.view->key, choice.view->pid, *choice.mounts, fw.dev, fw.ino, *fw.handle);
  if (cut && hp.path.empty()) return;  // resolve_snapshot_paths marks the kernel's tail
  sw.path_source = PathSource::FileHandle;
  sw.path = std::move(hp.path);
  std::string& where = choice.where;
  if (sw.path.empty()) sw.path_note = std::move(hp.note);  // why it failed, wherever it was tried
  else sw.path_note = hp.note.empty() ? where : where.empty() ? hp.note : fmt::format("{}; {}", where, hp.note);
}

}  // namespace

void SnapshotTaker::complete_from_fdinfo(Snapshot& snap, MountViews& views, bool with_paths) {
  std::unique_ptr<FileHandlePathResolver> resolver;
  size_t unreadable = 0;
  for (auto& inst : snap.instances) {
    if (!needs_fdinfo(inst, iter_->names_targets(), with_paths)) continue;
    const Holder& h = inst.holders.front();
    auto text = read_small_file(fmt::format("{}/{}/fdinfo/{}", node_.proc(), h.pid, h.fd));
    if (!text) {
      unreadable++;
      continue;
    }
    absl::flat_hash_map<int32_t, size_t> by_wd;
    for (size_t i = 0; i < inst.watches.size(); i++) by_wd[inst.watches[i].wd] = i;
    FdinfoParse parsed = parse_inotify_fdinfo(*text);
    for (const auto& fw : parsed.watches) {
      SnapWatch& sw = watch_for(inst, by_wd, fw);
      bool cut = sw.kernel_flags & INOTRACE_F_PATH_TRUNCATED;
      if (!with_paths || !sw.path.empty() || (sw.fs_path_source != PathSource::None && !cut)) continue;
      if (!resolver) resolver = std::make_unique<FileHandlePathResolver>(node_.proc());
      path_by_handle(sw, fw, watcher_view(inst, views), views, *resolver);
    }
    inst.truncated = false;
  }
  if (unreadable)
    snap.warnings.push_back(fmt::format("{} instances could not be completed from fdinfo (process exited?)", unreadable));
}

std::optional<KernelFacts> kernel_facts_for(SnapshotSource source, const std::string& btf_path, std::string_view who,
                                            const std::function<void(const std::string&)>& log) {
  if (source == SnapshotSource::Procfs) return std::nullopt;
  try {
    return preflight(btf_path);
  } catch (const Error& e) {
    if (source == SnapshotSource::Iterator) throw;
    log(fmt::format("{}: {}; reading /proc fdinfo instead", who, e.what()));
    return std::nullopt;
  }
}

}  // namespace inotrace
