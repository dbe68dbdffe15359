// Gives a live event the path its watcher would use: a relative string passed to
// inotify_add_watch gets the caller's cwd; an in-filesystem path from a hooked add gets the
// mount point of the mount (mnt_id) it was resolved through, from the caller's mountinfo.
#pragma once

#include <absl/container/flat_hash_map.h>

#include <string>
#include <vector>

#include "events/event.h"
#include "paths/mountinfo.h"

namespace inotrace {

class EventPathCompleter {
 public:
  explicit EventPathCompleter(std::string proc = "/proc") : proc_(std::move(proc)) {}
  void complete(Event& ev);

 private:
  const MountEntry* mount_by_id(uint32_t pid, int32_t mnt_id);
  std::string proc_;
  absl::flat_hash_map<uint64_t, std::vector<MountEntry>> by_ns_;  // mount namespace -> mounts
};

}  // namespace inotrace
