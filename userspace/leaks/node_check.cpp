#include "leaks/node_check.h"

#include <fmt/format.h>
#include <unistd.h>

#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <utility>

#include "snapshot/aggregate.h"
#include "util/text_encoding.h"

namespace inotrace {

namespace {

using UserKey = std::pair<uint32_t, uint32_t>;  // (user namespace, uid), as charged_user()
using HolderByPid = std::map<uint32_t, const Holder*>;

HolderByPid holders_by_pid(const Snapshot& snap) {
  HolderByPid out;
  for (const auto& inst : snap.instances)
    for (const auto& h : inst.holders) out.try_emplace(h.pid, &h);
  return out;
}

// "pid 42 kubelet (pod ns/name, container app)" or "pid 42 kubelet (host process)". Process,
// pod and container names come from other users: escaped.
std::string describe_holder(uint32_t pid, const std::string& comm, const HolderByPid& holders) {
  std::string s = fmt::format("pid {} {}", pid, escape_for_text(comm));
  auto it = holders.find(pid);
  const Workload* w = it != holders.end() && it->second->workload ? it->second->workload.get() : nullptr;
  if (w && w->in_pod()) {
    std::string pod = w->pod_name.empty() ? "uid " + w->pod_uid : w->pod_namespace + "/" + w->pod_name;
    std::string container = !w->container_name.empty() ? w->container_name : w->container_id.substr(0, 12);
    s += " (pod " + escape_for_text(pod);
    if (!container.empty()) s += ", container " + escape_for_text(container);
    return s + ")";
  }
  if (w && !w->unit.empty()) return s + " (host process, unit " + escape_for_text(w->unit) + ")";
  return s + " (host process)";
}

std::string user_name(UserKey u) {
  if (u.first == 0 || u.first == kInitUserNsIno) return fmt::format("uid {}", u.second);
  return fmt::format("uid {} of user ns {}", u.second, u.first);
}

std::string pct(int64_t used, int64_t limit) { return fmt::format("{:.0f}%", limit > 0 ? 100.0 * used / limit : 0.0); }

struct PinTally {
  uint32_t pid = 0;
  size_t pinned = 0;  // leaked watches this mount pins (maybe among others)
  size_t only = 0;    // ... that it alone pins: unmounting it frees them
};

// The mount that pins the most leaked watches, and how many it alone pins.
std::string pin_text(const std::vector<Leak>& leaks) {
  std::map<std::pair<uint64_t, std::string>, PinTally> pins;  // (mnt ns, mount point)
  for (const auto& l : leaks)
    for (const auto& p : l.pinned_by) {
      PinTally& t = pins[{p.mnt_ns, p.mount_point}];
      t.pid = p.pid;
      t.pinned++;
      t.only += l.pinned_by.size() == 1;
    }
  if (pins.empty()) return "pinned by no mount found (a lazily detached mount still open?)";
  auto best = pins.begin();
  for (auto it = pins.begin(); it != pins.end(); ++it)
    if (it->second.pinned > best->second.pinned) best = it;
  std::string s = fmt::format("pinned by {} (mnt ns {}, pid {}); unmounting it frees {} watches",
                              escape_for_text(best->first.second), best->first.first, best->second.pid, best->second.only);
  if (best->second.only < best->second.pinned)
    s += fmt::format(" ({} more are pinned elsewhere too)", best->second.pinned - best->second.only);
  if (pins.size() > 1) s += fmt::format("; {} other pinning mounts", pins.size() - 1);
  return s;
}

std::optional<CheckProblem> leak_problem(const std::vector<Leak>& leaks, size_t leaks_max, const HolderByPid& holders) {
  if (leaks.size() <= leaks_max) return std::nullopt;
  std::set<std::string> pods;
  bool orphaned = false;
  std::map<uint32_t, std::pair<size_t, std::string>> per_pid;  // pid -> (leaked watches, comm)
  for (const auto& l : leaks) {
    pods.insert(l.pod_uid);
    orphaned |= l.reason != "pod_deleted";
    auto& [n, comm] = per_pid[l.pid];
    n++;
    comm = l.comm;
  }
  auto top = per_pid.begin();
  for (auto it = per_pid.begin(); it != per_pid.end(); ++it)
    if (it->second.first > top->second.first) top = it;
  std::string msg = fmt::format(
      "InotifyWatchLeak: {} watches into {} {} (max {}); top holder {} with {}; {}; restarting the holder frees its {}",
      leaks.size(), pods.size(), orphaned ? "dead pods (deleted or orphaned)" : "deleted pods", leaks_max,
      describe_holder(top->first, top->second.second, holders), top->second.first, pin_text(leaks), top->second.first);
  return CheckProblem{"InotifyWatchLeak", std::move(msg)};
}

}  // namespace

namespace {

// One of the two per-user limits.
struct LimitKind {
  const char* reason;
  const char* noun;   // "watches" | "instances"
  const char* limit;  // the sysctl's name
  double warn_pct;
  bool watches;
};

struct Usage {
  UserKey user;
  int64_t used = 0;
  int64_t limit = -1;
};

// Each user's use of one limit: the kernel's own watch count where the snapshot has it (it
// includes watches the snapshot could not read), else what the snapshot found.
std::vector<Usage> usages(const Snapshot& snap, const LimitKind& k, const NodeLimits& node) {
  std::vector<Usage> out;
  for (const auto& r : per_user(snap, node.max_user_instances, kInitUserNsIno)) {
    Usage u{{r.userns_ino, r.uid}};
    if (k.watches) {
      u.used = r.kernel_watches >= 0 ? r.kernel_watches : (int64_t)r.present_watches;
      u.limit = r.max_watches >= 0 ? r.max_watches : node.max_user_watches;
    } else {
      u.used = (int64_t)r.instances;
      u.limit = r.max_instances >= 0 ? r.max_instances : node.max_user_instances;
    }
    out.push_back(u);
  }
  return out;
}

bool over(const Usage& u, double warn_pct) { return u.limit > 0 && u.used * 100.0 >= warn_pct * u.limit; }

// The process holding the most of `user`'s watches (or instances).
std::pair<uint32_t, size_t> top_holder_of(const Snapshot& snap, UserKey user, bool watches) {
  std::map<uint32_t, size_t> per_pid;
  for (const auto& inst : snap.instances) {
    if (charged_user(inst) != user) continue;
    std::set<uint32_t> counted;  // one process holding an instance through two fds counts it once
    for (const auto& h : inst.holders)
      if (counted.insert(h.pid).second) per_pid[h.pid] += watches ? inst.watches.size() : 1;
  }
  std::pair<uint32_t, size_t> top{0, 0};
  for (const auto& [pid, n] : per_pid)
    if (n > top.second) top = {pid, n};
  return top;
}

std::optional<CheckProblem> limit_problem(const Snapshot& snap, const LimitKind& k, const NodeLimits& node,
                                          const HolderByPid& holders) {
  std::optional<Usage> worst;
  for (const auto& u : usages(snap, k, node))
    if (over(u, k.warn_pct) && (!worst || u.used * worst->limit > worst->used * u.limit)) worst = u;
  if (!worst) return std::nullopt;
  std::string msg = fmt::format("{}: {} uses {}/{} {} ({}, warn at {:g}%)", k.reason, user_name(worst->user), worst->used,
                                worst->limit, k.limit, pct(worst->used, worst->limit), k.warn_pct);
  auto [pid, n] = top_holder_of(snap, worst->user, k.watches);
  auto h = holders.find(pid);
  if (n > 0 && h != holders.end())
    msg += fmt::format("; top holder {} with {} {}", describe_holder(pid, h->second->comm, holders), n, k.noun);
  return CheckProblem{k.reason, std::move(msg)};
}

// A user whose limit is unknown (no charged user in the snapshot and the sysctl unreadable)
// cannot be judged: "ok" would be a guess.
std::optional<std::string> unjudged_user(const Snapshot& snap, const NodeLimits& node) {
  LimitKind w{"", "watches", "max_user_watches", 0, true}, i{"", "instances", "max_user_instances", 0, false};
  for (const LimitKind* k : {&w, &i})
    for (const auto& u : usages(snap, *k, node))
      if (u.limit <= 0) return fmt::format("the {} of {} is unknown", k->limit, user_name(u.user));
  return std::nullopt;
}

// The busiest user's figures, for the ok line.
std::string ok_line(const Snapshot& snap, size_t leaked, const NodeLimits& node, const CheckThresholds& t) {
  std::string leaks = fmt::format("{} leaked watches (max {})", leaked, t.leaks_max);
  LimitKind w{"", "watches", "", 0, true}, i{"", "instances", "", 0, false};
  auto ws = usages(snap, w, node);
  if (ws.empty()) return "InotifyOK: no inotify instances; " + leaks;
  const Usage& top = ws.front();  // per_user sorts by watches
  const Usage inst = usages(snap, i, node).front();
  return fmt::format("InotifyOK: busiest {} has {}/{} watches ({}), {}/{} instances; {}; {} users", user_name(top.user),
                     top.used, top.limit, pct(top.used, top.limit), inst.used, inst.limit, leaks, ws.size());
}

}  // namespace

CheckVerdict judge_node(const Snapshot& snap, const std::vector<Leak>& leaks, const NodeLimits& limits,
                        const CheckThresholds& t) {
  CheckVerdict v;
  HolderByPid holders = holders_by_pid(snap);
  if (auto p = leak_problem(leaks, t.leaks_max, holders)) v.problems.push_back(std::move(*p));
  LimitKind kinds[] = {{"InotifyWatchesNearLimit", "watches", "max_user_watches", t.watches_pct, true},
                       {"InotifyInstancesNearLimit", "instances", "max_user_instances", t.instances_pct, false}};
  for (const auto& k : kinds)
    if (auto p = limit_problem(snap, k, limits, holders)) v.problems.push_back(std::move(*p));
  if (!v.problems.empty()) {
    v.status = CheckStatus::Problem;
    v.line = v.problems.front().message;
    if (v.problems.size() > 1) v.line += fmt::format("; and {} more problems", v.problems.size() - 1);
    return v;
  }
  // Nothing found in a partial view says nothing: never "ok" when part of the node was hidden.
  if (snap.denied_processes)
    return unknown_verdict(fmt::format("the fds of {} processes could not be read (permission denied: {})",
                                       snap.denied_processes,
                                       geteuid() == 0 ? "ptrace access refused; the BPF iterator sees them all"
                                                      : "run as root"));
  if (auto why = unjudged_user(snap, limits)) return unknown_verdict(*why);
  v.status = CheckStatus::Ok;
  v.line = ok_line(snap, leaks.size(), limits, t);
  return v;
}

CheckVerdict unknown_verdict(const std::string& why) {
  CheckVerdict v;
  v.status = CheckStatus::Unknown;
  v.line = "InotifyUnknown: " + escape_for_text(why);
  return v;
}

}  // namespace inotrace
