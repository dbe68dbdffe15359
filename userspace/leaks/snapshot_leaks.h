// The leaks one snapshot shows, for one-shot commands (`inotrace check`): the snapshot seeds a
// private watch table and the LeakDetector judges it once. The snapshot is the kernel's truth at
// that moment, so every candidate counts as confirmed (the daemon waits for a later snapshot
// only because its table may lag the kernel between reconciles).
#pragma once

#include <vector>

#include "leaks/leak_detector.h"
#include "leaks/pod_index.h"
#include "paths/node_view.h"
#include "snapshot/snapshot.h"

namespace inotrace {

// `node` must hold the mount tables of the snapshot (SnapshotTaker::take refreshes them).
std::vector<Leak> leaks_in_snapshot(const Snapshot& snap, const NodeView& node, PodIndex& pods);

}  // namespace inotrace
