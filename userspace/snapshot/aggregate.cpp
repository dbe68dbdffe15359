#include "snapshot/aggregate.h"

#include <algorithm>
#include <map>
#include <set>

namespace inotrace {

std::vector<ProcessRow> per_process(const Snapshot& snap) {
  std::map<uint32_t, ProcessRow> rows;
  for (const auto& inst : snap.instances) {
    std::set<uint32_t> counted;  // a process holding one instance through two fds counts it once
    for (const auto& h : inst.holders) {
      if (!counted.insert(h.pid).second) continue;
      ProcessRow& r = rows[h.pid];
      r.pid = h.pid;
      r.comm = h.comm;
      r.uid = h.uid;
      r.instances++;
      r.watches += snap.watches_of(inst);
    }
  }
  std::vector<ProcessRow> out;
  for (auto& [pid, r] : rows) out.push_back(std::move(r));
  sort_processes(out);
  return out;
}

std::pair<uint32_t, uint32_t> charged_user(const SnapInstance& inst) {
  if (inst.ucount.uid != UINT32_MAX) return {inst.ucount.userns_ino, inst.ucount.uid};
  return {0, inst.holders.empty() ? 0 : inst.holders.front().uid};
}

std::vector<UserRow> per_user(const Snapshot& snap, int64_t max_user_instances, uint32_t init_userns_ino) {
  std::map<std::pair<uint32_t, uint32_t>, UserRow> rows;  // (userns, uid)
  for (const auto& inst : snap.instances) {
    auto [ns, uid] = charged_user(inst);
    UserRow& r = rows[{ns, uid}];
    r.uid = uid;
    r.userns_ino = ns;
    r.instances++;
    r.present_watches += snap.watches_of(inst);
    if (inst.ucount.known()) r.kernel_watches = inst.ucount.count;
    if (inst.ucount.max >= 0) r.max_watches = inst.ucount.max;
    if (inst.user_instances >= 0) r.kernel_instances = inst.user_instances;
    if (inst.max_instances >= 0) r.max_instances = inst.max_instances;
    else if (ns != 0 && ns == init_userns_ino) r.max_instances = max_user_instances;
  }
  std::vector<UserRow> out;
  for (auto& [k, r] : rows) out.push_back(r);
  sort_users(out);
  return out;
}

Totals totals(const Snapshot& snap) {
  Totals t;
  std::set<uint32_t> pids;
  for (const auto& inst : snap.instances) {
    t.instances++;
    t.watches += snap.watches_of(inst);
    for (const auto& h : inst.holders) pids.insert(h.pid);
  }
  t.processes = pids.size();
  return t;
}

}  // namespace inotrace
