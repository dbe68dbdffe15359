#include "output/event_json.h"

#include "events/names.h"
#include "util/text_encoding.h"

namespace inotrace {

using json = nlohmann::ordered_json;

void put_path(json& obj, std::string_view key, const std::string& path) {
  std::string k(key);
  if (is_valid_utf8(path)) {
    obj[k] = path;
  } else {
    obj[k] = sanitize_utf8(path);
    obj[k + "_b64"] = base64_encode(path);
  }
}

json event_to_json(const Event& ev, const WallClock& clock, std::string_view backend) {
  json j = json::object();
  j["ts"] = clock.rfc3339(ev.ts_mono_ns);
  j["event"] = event_type_name(ev.type);
  j["pid"] = ev.task.pid;
  j["tid"] = ev.task.tid;
  put_path(j, "comm", ev.task.comm);
  j["uid"] = ev.task.uid;
  j["cgroup_id"] = ev.task.cgroup_id;
  j["instance"] = ev.instance.group ? json(ev.instance.str()) : json(nullptr);
  j["fd"] = ev.fd >= 0 ? json(ev.fd) : json(nullptr);

  bool failed = ev.type == EventType::AddFailed || ev.type == EventType::InitFailed;
  if (ev.is_watch_event()) {
    bool has_target = ev.type != EventType::AddFailed && ev.dev.raw != 0;
    j["wd"] = ev.wd > 0 && ev.type != EventType::AddFailed ? json(ev.wd) : json(nullptr);
    j["ino"] = has_target ? json(ev.ino) : json(nullptr);
    j["dev"] = has_target ? json(ev.dev.str()) : json(nullptr);
    j["mask"] = mask_names(ev.type == EventType::AddFailed ? ev.req_mask : ev.mask);
    if (ev.type != EventType::Remove) j["requested_mask"] = mask_names(ev.req_mask);
    put_path(j, "path", ev.path);
    j["path_source"] = path_source_name(ev.path_source);
    if (ev.type == EventType::Remove) j["reason"] = reason_name(ev.reason);
    if (ev.type != EventType::Remove) {
      j["user_watches"] = ev.ucount.known() ? json(ev.ucount.count) : json(nullptr);
      j["max_user_watches"] = ev.ucount.max >= 0 ? json(ev.ucount.max) : json(nullptr);
    }
    if (ev.flags & INOTRACE_F_PATH_TRUNCATED) j["path_truncated"] = true;
    if (ev.flags & INOTRACE_F_MARK_GONE) j["mark_gone"] = true;
  } else {
    j["flags"] = init_flags_string(ev.req_mask);
    j["user_instances"] = ev.ucount.known() ? json(ev.ucount.count) : json(nullptr);
    j["max_user_instances"] = ev.ucount.max >= 0 ? json(ev.ucount.max) : json(nullptr);
  }
  if (ev.ucount.uid != UINT32_MAX) {
    j["charged_uid"] = ev.ucount.uid;
    j["user_ns"] = ev.ucount.userns_ino;
  }
  if (failed) j["errno"] = errno_name(ev.err);
  if (ev.from_snapshot) j["source"] = "snapshot";
  j["backend"] = backend;
  return j;
}

}  // namespace inotrace
