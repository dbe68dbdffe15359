// What a trace session needs of a snapshot source: snapshots (full, digest-only, count-only).
// A full snapshot refreshes the session's node view (paths/node_view.h), whose mount tables
// then match it. SnapshotTaker is the real one; unit tests give
// a session a scripted one.
#pragma once

#include <optional>
#include <string>

#include "snapshot/snapshot.h"

namespace inotrace {

class SnapshotProvider {
 public:
  virtual ~SnapshotProvider() = default;
  // A snapshot with every watch named (unless !with_paths).
  virtual Snapshot take(bool with_paths) = 0;
  // Instances, holders and digests of their watches; nullopt where only a full snapshot tells.
  virtual std::optional<Snapshot> take_digests() = 0;
  // Instances, holders and their users' kernel watch counts; nullopt where unavailable.
  virtual std::optional<Snapshot> take_counts() = 0;
  virtual std::string source_name() const = 0;
};

}  // namespace inotrace
