// Names every watch of an iterator snapshot the way its watcher sees it: the in-filesystem
// path the kernel walked, joined with a mount of that filesystem in the watcher's own view
// (else in another namespace, saying so). A watch that cannot be named says why.
#pragma once

#include "paths/mount_views.h"
#include "snapshot/snapshot.h"

namespace inotrace {

// Sets every holder's mount namespace and workload (pod, container).
void set_holder_facts(Snapshot& snap, const NodeView& node);
// The view of an instance's watcher: its first holder whose mount namespace is known.
const MountView* watcher_view(const SnapInstance& inst, MountViews& views);
void resolve_snapshot_paths(Snapshot& snap, MountViews& views);

}  // namespace inotrace
