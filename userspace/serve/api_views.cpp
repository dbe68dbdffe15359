#include "serve/api_views.h"

#include "output/pod_json.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "events/names.h"
#include "output/event_json.h"
#include "output/stack_json.h"
#include "output/watch_json.h"
#include "output/workload_json.h"
#include "util/error.h"
#include "util/wall_clock.h"

namespace inotrace {

using json = nlohmann::ordered_json;

namespace {

json opt(int64_t v) { return v >= 0 ? json(v) : json(nullptr); }

void put_watch_ref(json& j, const WatchRef& w) {
  j["pid"] = w.pid;
  put_path(j, "comm", w.comm);
  j["instance"] = w.instance.str();
  j["wd"] = w.wd;
  j["dev"] = w.dev.str();
  j["ino"] = w.ino;
  put_path(j, "path", w.path);
  if (w.path_truncated) j["path_truncated"] = true;
  // The holder's own pod (beside the dead pod the watch points into, pod_uid), if it runs in one.
  json holder;
  if (w.holder_workload) put_workload(holder, *w.holder_workload);
  j["holder_pod"] = holder.contains("pod") ? holder["pod"] : json(nullptr);
  j["holder_container"] = holder.contains("container") ? holder["container"] : json(nullptr);
}

}  // namespace

json leaks_json(const NodeMonitor& m) {
  WallClock clock;
  json out;
  out["pods_root"] = m.pods().pods_root();
  out["kubepods_cgroup"] = m.pods().has_cgroup_hierarchy() ? json(m.pods().cgroup_hierarchy()) : json(nullptr);
  out["leaks"] = json::array();
  for (const auto& l : m.leaks().leaks()) {
    json j;
    j["pod_uid"] = l.pod_uid;
    j["reason"] = l.reason;
    put_watch_ref(j, l);
    j["since"] = clock.rfc3339(l.since_mono_ns);
    j["pinned_by"] = json::array();
    for (const auto& p : l.pinned_by) {
      json pj = {{"mnt_ns", p.mnt_ns}, {"pid", p.pid}};
      put_path(pj, "mount_point", p.mount_point);
      j["pinned_by"].push_back(std::move(pj));
    }
    out["leaks"].push_back(std::move(j));
  }
  // Which code paths created the leaked watches (--stacks): the question after "which".
  std::vector<std::pair<const CreationStack*, std::string>> created;
  for (const auto& l : m.leaks().leaks()) created.emplace_back(l.stack.get(), l.pod_uid);
  const StackResolver* stacks = m.session().stacks();
  out["stacks_enabled"] = stacks != nullptr;
  if (stacks)
    out["stacks"] = {{"distinct", stacks->distinct_stacks()}, {"binaries", stacks->binaries()},
                     {"memory_bytes", stacks->stacks_memory_bytes()}, {"dropped", stacks->dropped_stacks()}};
  out["by_stack"] = group_by_stack(created);
  out["stale"] = json::array();
  for (const auto& s : m.leaks().stale()) {
    json j;
    put_watch_ref(j, s);
    j["why"] = s.why;
    out["stale"].push_back(std::move(j));
  }
  return out;
}

WatchPageWriter::WatchPageWriter(WatchQuery q) : q_(std::move(q)) {
  if (q_.cursor.empty()) return;
  size_t slash = q_.cursor.rfind('/');
  int32_t wd = 0;
  const char* wd_end = q_.cursor.data() + q_.cursor.size();
  auto [end, ec] = slash == std::string::npos || slash == 0 ? std::from_chars_result{nullptr, std::errc::invalid_argument}
                                                            : std::from_chars(q_.cursor.data() + slash + 1, wd_end, wd);
  if (ec != std::errc() || end != wd_end) throw Error(fmt::format("bad cursor {}: pass a page's \"next\" as it is", q_.cursor));
  after_ = {q_.cursor.substr(0, slash), wd};
}

void WatchPageWriter::pick_keys(const NodeMonitor& m, std::string& out) {
  const WatchTable& t = m.session().table();
  // The limit+1 smallest keys after the cursor (one more tells whether a next page exists).
  std::vector<Key> heap;  // max-heap
  for (const auto& [g, inst] : t.instances()) {
    bool match = !(q_.pid || q_.comm) || std::any_of(inst.holders.begin(), inst.holders.end(), [&](const Holder& x) {
                   return (!q_.pid || x.pid == *q_.pid) && (!q_.comm || x.comm == *q_.comm);
                 });
    if (!match) continue;
    // Whole instances before the cursor, or after a full page's last key, are skipped at once:
    // a page costs a look at each instance, not at each watch.
    std::string id = inst.id.str();
    if (after_ && id < after_->first) continue;
    if (heap.size() > q_.limit && id > std::get<0>(heap.front())) continue;
    bool cursor_instance = after_ && id == after_->first;
    for (const auto& [wd, w] : inst.watches) {
      if (cursor_instance && wd <= after_->second) continue;
      if (heap.size() > q_.limit && std::tie(id, wd) >= std::tie(std::get<0>(heap.front()), std::get<1>(heap.front()))) continue;
      heap.emplace_back(id, wd, g);
      std::push_heap(heap.begin(), heap.end());
      if (heap.size() > q_.limit + 1) {
        std::pop_heap(heap.begin(), heap.end());
        heap.pop_back();
      }
    }
  }
  std::sort_heap(heap.begin(), heap.end());
  more_ = heap.size() > q_.limit;
  if (more_) heap.resize(q_.limit);
  keys_ = std::move(heap);
  out += fmt::format("{{\"total\":{},\"watches\":[", t.watch_count());
}

bool WatchPageWriter::next(const NodeMonitor& m, std::string& out) {
  if (!started_) {
    started_ = true;
    pick_keys(m, out);
  }
  const WatchTable& t = m.session().table();
  constexpr size_t kPerPiece = 256;
  // A piece renders its rows' holders afresh: the table may have changed since the last piece.
  std::optional<uint64_t> rendered_group;
  for (size_t end = std::min(keys_.size(), pos_ + kPerPiece); pos_ < end; pos_++) {
    const auto& [id, wd, group] = keys_[pos_];
    auto inst = t.instances().find(group);
    if (inst == t.instances().end()) continue;
    auto found = inst->second.watches.find(wd);
    if (found == inst->second.watches.end()) continue;
    const WatchEntry& w = found->second;
    if (rendered_group != group) {
      const Holder* h = inst->second.holders.empty() ? nullptr : &inst->second.holders.front();
      WatchJsonHolder holder;
      if (h) holder = WatchJsonHolder{h->pid, h->comm, h->uid, h->fd, h->workload.get()};
      rows_.set_instance(h ? &holder : nullptr, id);
      rendered_group = group;
    }
    if (returned_++) out += ',';
    std::string path = t.path_of(w);
    rows_.append(out, {wd, w.ino(), KernelDev{w.dev}, w.mask, path, static_cast<PathSource>(w.path_source),
                       w.path_truncated != 0, ""});
  }
  if (pos_ < keys_.size()) return true;
  json next = more_ ? json(fmt::format("{}/{}", std::get<0>(keys_.back()), std::get<1>(keys_.back()))) : json(nullptr);
  out += fmt::format("],\"returned\":{},\"next\":{}}}\n", returned_, next.dump());
  std::vector<Key>().swap(keys_);
  return false;
}

namespace {

// "<what>_rate_per_s" (null while warming up), "<what>_exhaustion_seconds" (null when never:
// JSON has no +Inf; or unknown) and "<what>_growing" (null while warming up), which tell the
// nulls apart: growing false = never exhausted at this rate; growing true = no limit known.
void put_forecast(json& j, const std::string& what, const Forecast& f) {
  auto finite = [](const std::optional<double>& v) { return v && std::isfinite(*v) ? json(*v) : json(nullptr); };
  j[what + "_rate_per_s"] = finite(f.rate_per_s);
  j[what + "_exhaustion_seconds"] = finite(f.seconds_to_limit);
  j[what + "_growing"] = f.rate_per_s ? json(*f.rate_per_s > 0) : json(nullptr);
}

json refused_init_json(const RefusedInit& r, const WallClock& clock) {
  json j = {{"time", clock.rfc3339(r.ts_mono_ns)}, {"pid", r.pid}};
  put_path(j, "comm", r.comm);
  j["uid"] = r.uid;
  j["user_ns"] = r.userns_ino ? json(r.userns_ino) : json(nullptr);
  j["errno"] = errno_name(r.err);
  j["user_instances"] = opt(r.instances);  // the kernel's count at the refusal
  j["max_user_instances"] = opt(r.max_instances);
  if (r.workload) put_workload(j, *r.workload);
  return j;
}

}  // namespace

json users_json(const NodeMonitor& m) {
  json out;
  out["users"] = json::array();
  for (const auto& u : m.users()) {
    json j = {{"uid", u.uid}, {"user_ns", u.userns_ino ? json(u.userns_ino) : json(nullptr)},
              {"present_watches", u.present_watches}, {"instances", u.instances},
              {"kernel_watches", opt(u.kernel_watches)}, {"max_user_watches", opt(u.max_watches)},
              {"kernel_instances", opt(u.kernel_instances)}, {"max_user_instances", opt(u.max_instances)},
              {"count_mismatch", u.count_mismatch}};
    put_forecast(j, "watches", u.watches_forecast);
    put_forecast(j, "instances", u.instances_forecast);
    out["users"].push_back(std::move(j));
  }
  out["init_failures"] = json::array();
  for (const auto& [k, n] : m.init_failures())
    out["init_failures"].push_back({{"uid", k.uid}, {"user_ns", k.userns_ino ? json(k.userns_ino) : json(nullptr)},
                                    {"errno", errno_name(k.err)}, {"cause", k.cause}, {"count", n}});
  out["init_failures_other"] = m.init_failures_other();  // users beyond the first 1000 seen
  WallClock clock;
  out["refused_inits"] = json::array();  // the latest, oldest first
  for (const auto& r : m.recent_refusals()) out["refused_inits"].push_back(refused_init_json(r, clock));
  return out;
}

json processes_json(const NodeMonitor& m, size_t limit) {
  json out;
  out["processes"] = json::array();
  size_t n = 0;
  for (const auto& p : m.processes()) {
    if (limit && n++ >= limit) break;
    json j = {{"pid", p.pid}};
    put_path(j, "comm", p.comm);
    j["uid"] = p.uid;
    j["instances"] = p.instances;
    j["watches"] = p.watches;
    j["leaked"] = p.leaked;
    if (p.workload) put_workload(j, *p.workload);
    out["processes"].push_back(std::move(j));
  }
  return out;
}

void write_events_json(const NodeMonitor& m, size_t limit, std::string& out) {
  WallClock clock;
  std::string backend(backend_name(m.session().backend()));
  const auto& recent = m.recent_events();
  size_t start = limit && recent.size() > limit ? recent.size() - limit : 0;
  out += "{\"events\":[";
  for (size_t i = start; i < recent.size(); i++) {
    if (i > start) out += ',';
    out += event_to_json(recent[i], clock, backend).dump();
  }
  out += "]}\n";
}

json pods_json(const NodeMonitor& m) {
  PodRollup r = m.pod_rollup();
  json out;
  out["pods"] = json::array();
  for (const auto& p : r.pods()) out["pods"].push_back(pod_row_json(p.pod, p.containers, p.processes, p.instances, p.watches));
  const PodRow& host = r.host();
  out["not_in_a_pod"] = {{"processes", host.processes}, {"instances", host.instances}, {"watches", host.watches}};
  return out;
}

json status_json(const NodeMonitor& m) {
  auto c = m.session().counters();
  json events = json::object();
  for (const auto& [t, n] : m.events_by_type()) events[std::string(event_type_name(t))] = n;
  return {{"backend", backend_name(m.session().backend())},
          {"snapshot_source", m.session().snapshot_source()},
          {"uptime_s", (WallClock::monotonic_now_ns() - m.started_mono_ns()) / 1e9},
          {"instances", m.session().table().instance_count()},
          {"watches", m.session().table().watch_count()},
          {"events", events},
          {"dropped", c.tracer.ringbuf_drops + c.tracer.pending_full + c.tracer.decode_errors},
          {"unresolved_fds", c.tracer.group_unresolved},  // hooked fds that led to no inotify instance
          {"ended_instances_forgotten", c.dead_groups_collected},  // the kernel's instance numbers, collected
          {"unsequenced_instances", c.tracer.groups_full},  // instances the kernel's table had no room for
          {"reconciles", c.reconciles},
          {"idle_checks", c.digest_checks},  // cheap checks at rest that found nothing to reconcile
          {"reconcile_corrections", c.corrections.corrections()},
          {"resnapshots_after_drops", c.resnapshots_after_drops},
          {"leaks", m.leaks().leaks().size()},
          {"evaluations", m.evaluations()}};
}

}  // namespace inotrace
