// One watch as a JSON row, with the same keys in `inotrace snapshot --json` (its "watches") and
// the daemon's /api/watches (docs/JSON.md): who holds it, what it is, where it points.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

#include "events/event.h"
#include "events/workload.h"

namespace inotrace {

struct WatchJsonHolder {
  uint32_t pid = 0;
  std::string comm;
  uint32_t uid = 0;
  int32_t fd = 0;
  const Workload* workload = nullptr;  // its pod and container, if known (not copied per watch)
};

struct WatchJsonRow {
  std::optional<WatchJsonHolder> holder;  // null fields when the instance has no known holder
  std::string instance;
  int32_t wd = 0;
  uint64_t ino = 0;
  KernelDev dev;
  uint32_t mask = 0;
  std::string path;  // "" = unknown (null)
  PathSource path_source = PathSource::None;
  bool path_truncated = false;
  std::string path_note;  // "" = none (key left out)
};

nlohmann::ordered_json watch_row_json(const WatchJsonRow& r);

}  // namespace inotrace
