#include "events/workload_filter.h"

namespace inotrace {

bool WorkloadFilter::matches(const Workload* w) const {
  if (!active()) return true;
  if (!w || !w->in_pod()) return false;
  if (pod) {
    size_t slash = pod->find('/');
    bool by_name = slash != std::string::npos && !w->pod_name.empty() &&
                   pod->compare(0, slash, w->pod_namespace) == 0 && pod->compare(slash + 1, std::string::npos, w->pod_name) == 0;
    if (!by_name && *pod != w->pod_uid) return false;
  }
  if (namespace_ && *namespace_ != w->pod_namespace) return false;
  if (container) {
    bool by_id = container->size() >= 12 && !w->container_id.empty() && w->container_id.starts_with(*container);
    if (!by_id && (w->container_name.empty() || *container != w->container_name)) return false;
  }
  return true;
}

}  // namespace inotrace
