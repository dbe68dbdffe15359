#include "leaks/snapshot_leaks.h"

#include "table/watch_table.h"
#include "util/wall_clock.h"

namespace inotrace {

std::vector<Leak> leaks_in_snapshot(const Snapshot& snap, const NodeView& node, PodIndex& pods) {
  // The procfs source knows no group pointers (every instance has group 0) and the table is
  // keyed by them: give each instance its own key. These keys never leave this function's
  // table (a Leak's InstanceId is not shown by `check`).
  Snapshot keyed = snap;
  for (size_t i = 0; i < keyed.instances.size(); i++)
    if (keyed.instances[i].group == 0) keyed.instances[i].group = i + 1;
  WatchTable table;
  table.reconcile(keyed, snap.taken_mono_ns, nullptr, /*emit=*/false);
  LeakDetector detector(pods);
  uint64_t now = WallClock::monotonic_now_ns();
  detector.evaluate(table, node, now, /*check_stale=*/false, /*confirmed_at=*/now);
  return detector.leaks();
}

}  // namespace inotrace
