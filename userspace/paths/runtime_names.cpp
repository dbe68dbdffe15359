#include "paths/runtime_names.h"

#include <dirent.h>
#include <nlohmann/json.hpp>

#include "paths/cgroup_identity.h"
#include "util/small_file.h"
#include "util/unique_fd.h"

namespace inotrace {

namespace {

std::string annotation(const nlohmann::json& a, const char* key) {
  auto it = a.find(key);
  return it != a.end() && it->is_string() ? it->get<std::string>() : "";
}

void fill(std::string& field, std::string value) {
  if (field.empty()) field = std::move(value);
}

// The pod's log directory "<namespace>_<name>_<uid>" (names cannot contain '_').
void name_from_pod_logs(Workload& w, const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (!d) return;
  std::string suffix = "_" + w.pod_uid;
  while (dirent* e = readdir(d)) {
    std::string_view n = e->d_name;
    if (!n.ends_with(suffix)) continue;
    n.remove_suffix(suffix.size());
    size_t us = n.find('_');
    if (us == std::string_view::npos) continue;
    fill(w.pod_namespace, std::string(n.substr(0, us)));
    fill(w.pod_name, std::string(n.substr(us + 1)));
    break;
  }
  closedir(d);
}

}  // namespace

void name_from_oci_config(Workload& w, std::string_view config_json) {
  nlohmann::json j = nlohmann::json::parse(config_json, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("annotations") || !j["annotations"].is_object()) return;
  const auto& a = j["annotations"];
  fill(w.pod_name, annotation(a, "io.kubernetes.cri.sandbox-name"));
  fill(w.pod_namespace, annotation(a, "io.kubernetes.cri.sandbox-namespace"));
  fill(w.container_name, annotation(a, "io.kubernetes.cri.container-name"));
  fill(w.pod_name, annotation(a, "io.kubernetes.pod.name"));
  fill(w.pod_namespace, annotation(a, "io.kubernetes.pod.namespace"));
  fill(w.container_name, annotation(a, "io.kubernetes.container.name"));
  // The sandbox (pause) container names no container of the user's.
  if (annotation(a, "io.kubernetes.cri.container-type") == "sandbox") fill(w.container_name, "POD");
}

void name_from_runtime_state(Workload& w, const RuntimeStateDirs& dirs) {
  if (!w.in_pod()) return;
  if (is_container_id(w.container_id)) {
    // containerd: one directory per namespace ("k8s.io" for CRI) holds the task's bundle.
    if (DIR* d = opendir(dirs.containerd_tasks.c_str())) {
      while (dirent* e = readdir(d)) {
        std::string ns = e->d_name;
        if (ns == "." || ns == "..") continue;
        if (auto text = read_small_file(dirs.containerd_tasks + "/" + ns + "/" + w.container_id + "/config.json")) {
          name_from_oci_config(w, *text);
          fill(w.runtime, "containerd");  // a cgroupfs-driver path does not say; its bundle does
          break;
        }
      }
      closedir(d);
    }
    if (w.pod_name.empty())
      if (auto text = read_small_file(dirs.crio_containers + "/" + w.container_id + "/userdata/config.json")) {
        name_from_oci_config(w, *text);
        fill(w.runtime, "cri-o");
      }
  }
  if (w.pod_name.empty()) name_from_pod_logs(w, dirs.pod_logs);
}

}  // namespace inotrace
