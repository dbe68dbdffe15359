// The daemon's JSON API documents (schema: docs/API.md), built from a NodeMonitor.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "daemon/node_monitor.h"

namespace inotrace {

struct WatchQuery {
  std::optional<uint32_t> pid;
  std::optional<std::string> comm;
  size_t limit = 0;  // 0 = all
};

nlohmann::ordered_json leaks_json(const NodeMonitor& m);
nlohmann::ordered_json watches_json(const NodeMonitor& m, const WatchQuery& q);
nlohmann::ordered_json users_json(const NodeMonitor& m);
nlohmann::ordered_json processes_json(const NodeMonitor& m, size_t limit);
nlohmann::ordered_json status_json(const NodeMonitor& m);
nlohmann::ordered_json events_json(const NodeMonitor& m, size_t limit);

}  // namespace inotrace
