// One pod roll-up as JSON, the same in `snapshot --json` ("pods") and /api/pods (docs/JSON.md).
#pragma once

#include <nlohmann/json.hpp>

#include <set>
#include <string>

#include "events/workload.h"

namespace inotrace {

nlohmann::ordered_json pod_row_json(const Workload& pod, const std::set<std::string>& containers, size_t processes,
                                    size_t instances, size_t watches);

}  // namespace inotrace
