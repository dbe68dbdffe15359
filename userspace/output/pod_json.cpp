#include "output/pod_json.h"

#include "output/workload_json.h"

namespace inotrace {

nlohmann::ordered_json pod_row_json(const Workload& pod, const std::set<std::string>& containers, size_t processes,
                                    size_t instances, size_t watches) {
  nlohmann::ordered_json j;
  Workload only_pod = pod;
  only_pod.container_id.clear();
  put_workload(j, only_pod);
  j.erase("container");
  nlohmann::ordered_json names = nlohmann::ordered_json::array();
  for (const auto& c : containers) names.push_back(name_or_null(c));
  j["containers"] = std::move(names);
  j["processes"] = processes;
  j["instances"] = instances;
  j["watches"] = watches;
  return j;
}

}  // namespace inotrace
