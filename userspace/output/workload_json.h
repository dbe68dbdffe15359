// A process's workload as JSON keys beside it (docs/JSON.md): "pod" {namespace, name, uid, qos}
// and "container" {name, id, runtime} for a process in a pod (null where the runtime's state does
// not say), "unit" for a host process systemd placed; nothing when unknown.
#pragma once

#include <nlohmann/json.hpp>

#include "events/workload.h"
#include "output/json_fields.h"

namespace inotrace {

void put_workload(nlohmann::ordered_json& j, const Workload& w);
// The same keys written into a streamed object.
void write_workload(JsonFields& f, const Workload& w);
// A name read from the node (pod, container, unit): valid UTF-8 (sanitized), or null if empty.
nlohmann::ordered_json name_or_null(const std::string& s);

}  // namespace inotrace
