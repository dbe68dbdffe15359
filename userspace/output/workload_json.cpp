#include "output/workload_json.h"

#include "output/event_json.h"

namespace inotrace {

// Names come from files on the node: made valid UTF-8 like every other name (put_path).
nlohmann::ordered_json name_or_null(const std::string& s) {
  if (s.empty()) return nullptr;
  nlohmann::ordered_json holder;
  put_path(holder, "v", s);
  return holder["v"];
}

void put_workload(nlohmann::ordered_json& j, const Workload& w) {
  if (w.in_pod()) {
    j["pod"] = {{"namespace", name_or_null(w.pod_namespace)},
                {"name", name_or_null(w.pod_name)},
                {"uid", w.pod_uid},
                {"qos", w.qos}};
    j["container"] = w.container_id.empty() ? nlohmann::ordered_json(nullptr)
                                            : nlohmann::ordered_json{{"name", name_or_null(w.container_name)},
                                                                     {"id", w.container_id},
                                                                     {"runtime", name_or_null(w.runtime)}};
  } else if (!w.unit.empty()) {
    j["unit"] = name_or_null(w.unit);
  }
}

// Rare enough (once per holder, not per watch) to go through the document and keep one definition.
void write_workload(JsonFields& f, const Workload& w) {
  nlohmann::ordered_json j;
  put_workload(j, w);
  for (const auto& [k, v] : j.items()) f.raw(k, v.dump());
}

}  // namespace inotrace
