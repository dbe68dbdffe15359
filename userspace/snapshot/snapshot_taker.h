// Takes complete, path-resolved snapshots from the best source available: the BPF iterator,
// or /proc fdinfo when the iterator cannot load (or when asked). Keeps the iterator loaded
// between snapshots (the reconciler takes one per interval).
#pragma once

#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "loader/preflight.h"
#include "paths/mount_views.h"
#include "snapshot/snapshot.h"
#include "snapshot/snapshot_provider.h"

namespace inotrace {

class IterSource;

enum class SnapshotSource { Auto, Iterator, Procfs };
std::optional<SnapshotSource> parse_snapshot_source(const std::string& s);
// What the iterator source needs of the kernel, for a one-shot command's --source: nullopt for
// procfs, and for auto where the iterator cannot run (said through `log`, with `who` first);
// with iterator, the reason it cannot run is thrown.
std::optional<KernelFacts> kernel_facts_for(SnapshotSource source, const std::string& btf_path, std::string_view who,
                                            const std::function<void(const std::string&)>& log);

// What the taker's runs will need from the kernel. Counts: the iterator is loaded without its
// dentry walk (start-up) for take_tallies() and take(false); take(true) would name targets
// from fdinfo's file handles only (not unlinked ones, nor sysfs): callers wanting paths say Paths.
enum class SnapshotNeeds { Paths, Counts };

// An iterator source loading on another thread (TraceSession loads it beside the tracer); its
// get() rethrows what the load threw.
using PendingIterSource = std::shared_future<std::shared_ptr<IterSource>>;

class SnapshotTaker : public SnapshotProvider {
 public:
  // `facts` may be null for the procfs source. Auto falls back to procfs when the iterator
  // cannot load, saying why through `log`. Throws inotrace::Error if the forced source fails.
  // With `pending`, the iterator is that one instead of one loaded here (`needs` is then
  // the caller's to have honoured: TraceSession loads it with paths).
  SnapshotTaker(const KernelFacts* facts, SnapshotSource source, NodeView& node,
                std::function<void(const std::string&)> log = {}, SnapshotNeeds needs = SnapshotNeeds::Paths,
                PendingIterSource pending = {});
  ~SnapshotTaker() override;

  // A snapshot with every watch named (unless !with_paths); the node view's mount tables are
  // refreshed by it (after the kernel's records, so every mount a watch needs is in them).
  Snapshot take(bool with_paths) override;
  // Instances, holders and digests of their watches (see IterSource::take_digests), or
  // nullopt where only a full snapshot can tell (procfs, kernels without bpf_loop).
  std::optional<Snapshot> take_digests() override;
  std::optional<Snapshot> take_counts() override;  // see IterSource::take_counts
  // Every instance with its holders (and their pods) and its number of watches, without the
  // watches: what the summary views show, with nothing per watch crossing to userspace. A full
  // snapshot without paths where the kernel cannot count (procfs, no bpf_loop).
  Snapshot take_tallies();
  std::string source_name() const override;  // "iterator" | "procfs"

 private:
  // Kernels without bpf_loop: the iterator's bounded walk gives no paths and at most 256
  // watches per instance; read those instances' fdinfo for the rest and name the targets by
  // their file handles.
  void complete_from_fdinfo(Snapshot& snap, MountViews& views, bool with_paths);

  std::shared_ptr<IterSource> iter_;
  NodeView& node_;
};

}  // namespace inotrace
