#include "snapshot/pod_rollup.h"

#include <algorithm>
#include <tuple>

namespace inotrace {

namespace {
std::string_view container_key(const Workload& w) { return !w.container_name.empty() ? w.container_name : w.container_id; }
}  // namespace

void PodRollup::add(const std::vector<Holder>& holders, size_t watches) {
  // Distinct pods and containers among the holders (almost always one): small arrays, no allocation.
  const std::string* pods[8];
  std::pair<const std::string*, std::string_view> containers[8];
  size_t npods = 0, ncontainers = 0;
  for (const Holder& h : holders) {
    if (!h.workload || !h.workload->in_pod()) {
      host_pids_.insert(h.pid);
      continue;
    }
    const Workload& w = *h.workload;
    PodRow& r = by_uid_[w.pod_uid];
    r.pod.pod_uid = w.pod_uid;
    if (r.pod.pod_name.empty()) r.pod.pod_name = w.pod_name, r.pod.pod_namespace = w.pod_namespace;
    r.pod.qos = w.qos;
    if (!w.container_id.empty()) r.containers.insert(!w.container_name.empty() ? w.container_name : w.container_id);
    pids_[w.pod_uid].insert(h.pid);
    bool seen = false;
    for (size_t i = 0; i < npods; i++) seen = seen || *pods[i] == w.pod_uid;
    if (!seen && npods < std::size(pods)) pods[npods++] = &w.pod_uid;
    seen = false;
    for (size_t i = 0; i < ncontainers; i++)
      seen = seen || (*containers[i].first == w.pod_uid && containers[i].second == container_key(w));
    if (!seen && ncontainers < std::size(containers)) containers[ncontainers++] = {&w.pod_uid, container_key(w)};
  }
  for (size_t i = 0; i < npods; i++) {
    PodRow& r = by_uid_[*pods[i]];
    r.instances++;
    r.watches += watches;
  }
  for (size_t i = 0; i < ncontainers; i++) {
    ContainerCounts& c = by_uid_[*containers[i].first].by_container[std::string(containers[i].second)];
    c.instances++;
    c.watches += watches;
  }
  if (npods == 0) host_.instances++, host_.watches += watches;
  host_.processes = host_pids_.size();
}

std::vector<PodRow> PodRollup::pods() const {
  std::vector<PodRow> out;
  for (const auto& [uid, r] : by_uid_) {
    out.push_back(r);
    out.back().processes = pids_.at(uid).size();
  }
  std::stable_sort(out.begin(), out.end(), [](const PodRow& a, const PodRow& b) {
    if (a.watches != b.watches) return a.watches > b.watches;
    return std::tie(a.pod.pod_namespace, a.pod.pod_name, a.pod.pod_uid) <
           std::tie(b.pod.pod_namespace, b.pod.pod_name, b.pod.pod_uid);
  });
  return out;
}

PodRollup per_pod(const Snapshot& snap) {
  PodRollup r;
  for (const auto& inst : snap.instances) r.add(inst.holders, snap.watches_of(inst));
  return r;
}

}  // namespace inotrace
