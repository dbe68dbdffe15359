#include "serve/api_views.h"

#include "events/names.h"
#include "output/event_json.h"
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
  out["stale"] = json::array();
  for (const auto& s : m.leaks().stale()) {
    json j;
    put_watch_ref(j, s);
    j["why"] = s.why;
    out["stale"].push_back(std::move(j));
  }
  return out;
}

json watches_json(const NodeMonitor& m, const WatchQuery& q) {
  const WatchTable& t = m.session().table();
  json out;
  out["total"] = t.watch_count();
  out["watches"] = json::array();
  size_t n = 0;
  for (const auto& [g, inst] : t.instances()) {
    const Holder* h = inst.holders.empty() ? nullptr : &inst.holders.front();
    bool match = std::any_of(inst.holders.begin(), inst.holders.end(), [&](const Holder& x) {
      return (!q.pid || x.pid == *q.pid) && (!q.comm || x.comm == *q.comm);
    });
    if ((q.pid || q.comm) && !match) continue;
    for (const auto& [wd, w] : inst.watches) {
      if (q.limit && n >= q.limit) break;
      json j;
      j["pid"] = h ? json(h->pid) : json(nullptr);
      if (h) put_path(j, "comm", h->comm);
      else j["comm"] = nullptr;
      j["uid"] = h ? json(h->uid) : json(nullptr);
      j["instance"] = inst.id.str();
      j["fd"] = h ? json(h->fd) : json(nullptr);
      j["wd"] = wd;
      j["ino"] = w.ino();
      j["dev"] = KernelDev{w.dev}.str();
      j["mask"] = mask_names(w.mask);
      std::string path = t.path_of(w);
      if (path.empty()) j["path"] = nullptr;
      else put_path(j, "path", path);
      j["path_source"] = path_source_name(static_cast<PathSource>(w.path_source));
      if (w.path_truncated) j["path_truncated"] = true;
      out["watches"].push_back(std::move(j));
      n++;
    }
  }
  out["returned"] = n;
  return out;
}

json users_json(const NodeMonitor& m) {
  json out;
  out["users"] = json::array();
  for (const auto& u : m.users())
    out["users"].push_back({{"uid", u.uid}, {"user_ns", u.userns_ino ? json(u.userns_ino) : json(nullptr)},
                            {"present_watches", u.present_watches}, {"instances", u.instances},
                            {"kernel_watches", opt(u.kernel_watches)}, {"max_user_watches", opt(u.max_watches)},
                            {"count_mismatch", u.count_mismatch}});
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
    out["processes"].push_back(std::move(j));
  }
  return out;
}

json events_json(const NodeMonitor& m, size_t limit) {
  WallClock clock;
  std::string backend(backend_name(m.session().backend()));
  json out;
  out["events"] = json::array();
  const auto& recent = m.recent_events();
  size_t start = limit && recent.size() > limit ? recent.size() - limit : 0;
  for (size_t i = start; i < recent.size(); i++) out["events"].push_back(event_to_json(recent[i], clock, backend));
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
          {"reconciles", c.reconciles},
          {"reconcile_corrections", c.corrections.corrections()},
          {"resnapshots_after_drops", c.resnapshots_after_drops},
          {"leaks", m.leaks().leaks().size()},
          {"evaluations", m.evaluations()}};
}

}  // namespace inotrace
