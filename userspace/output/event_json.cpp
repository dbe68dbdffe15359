#include "output/event_json.h"

#include <fmt/format.h>

#include <iterator>

#include "events/names.h"
#include "output/json_fields.h"
#include "output/stack_json.h"
#include "output/workload_json.h"
#include "util/recent_values.h"
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

namespace {

// The task's pod and container, where it is in one.
template <class Sink>
void write_workload(const Event& ev, Sink& s) {
  if (!ev.workload) return;
  json w;
  put_workload(w, *ev.workload);
  for (auto& [k, v] : w.items()) s.value(k.c_str(), v);
}

// The acting task's fields and its pod's, in schema order.
template <class Sink>
void write_task(const Event& ev, Sink& s) {
  s.num("pid", ev.task.pid);
  s.num("tid", ev.task.tid);
  s.path("comm", ev.task.comm);
  s.num("uid", ev.task.uid);
  s.num("cgroup_id", ev.task.cgroup_id);
  write_workload(ev, s);
}

// The event's fields, in schema order, written to a sink: one list of fields for both the
// JSON document (daemon API) and the streamed NDJSON line (`trace --json`).
template <class Sink>
void write_event(const Event& ev, const WallClock& clock, std::string_view backend, Sink& s) {
  s.plain("ts", clock.rfc3339_text(ev.ts_mono_ns));
  s.plain("event", event_type_name(ev.type));
  s.task(ev);
  if (ev.instance.group) s.plain("instance", ev.instance.text());
  else s.null("instance");
  if (ev.fd >= 0) s.num("fd", ev.fd);
  else s.null("fd");

  bool failed = ev.type == EventType::AddFailed || ev.type == EventType::InitFailed;
  if (ev.is_watch_event()) {
    bool has_target = ev.type != EventType::AddFailed && ev.dev.raw != 0;
    if (ev.wd > 0 && ev.type != EventType::AddFailed) s.num("wd", ev.wd);
    else s.null("wd");
    if (has_target) s.num("ino", ev.ino), s.plain("dev", ev.dev.text());
    else s.null("ino"), s.null("dev");
    s.mask("mask", ev.type == EventType::AddFailed ? ev.req_mask : ev.mask);
    if (ev.type != EventType::Remove) s.mask("requested_mask", ev.req_mask);
    s.path("path", ev.path);
    s.plain("path_source", path_source_name(ev.path_source));
    if (ev.type == EventType::Remove) {
      s.plain("reason", reason_name(ev.reason));
      s.boolean("reason_certain", ev.reason_certain());
      if (ev.possible_reasons) s.names("possible_reasons", reason_names(ev.possible_reasons));
    }
    if (ev.type != EventType::Remove) {
      if (ev.ucount.known()) s.num("user_watches", ev.ucount.count);
      else s.null("user_watches");
      if (ev.ucount.max >= 0) s.num("max_user_watches", ev.ucount.max);
      else s.null("max_user_watches");
    }
    if (ev.flags & INOTRACE_F_PATH_TRUNCATED) s.boolean("path_truncated", true);
    if (ev.flags & INOTRACE_F_MARK_GONE) s.boolean("mark_gone", true);
  } else {
    s.str("flags", init_flags_string(ev.req_mask));
    if (ev.ucount.known()) s.num("user_instances", ev.ucount.count);
    else s.null("user_instances");
    if (ev.ucount.max >= 0) s.num("max_user_instances", ev.ucount.max);
    else s.null("max_user_instances");
  }
  if (ev.ucount.uid != UINT32_MAX) {
    s.num("charged_uid", ev.ucount.uid);
    s.num("user_ns", ev.ucount.userns_ino);
  }
  if (failed) s.plain("errno", errno_name(ev.err));
  // --stacks: the stack that created the watch or instance (a removal's or close's: its creator's)
  if (ev.stack) s.stack("stack", ev.stack);
  else if (ev.stack_err < 0) s.str("stack_error", errno_name(-ev.stack_err));
  if (ev.from_snapshot) {
    // A removal deduced at the add that found its watch already gone is not from a snapshot.
    bool at_add = ev.type == EventType::Remove && (ev.flags & INOTRACE_F_MARK_GONE);
    s.plain("source", at_add ? "deduced" : "snapshot");
    s.plain("pid_source", pid_source_name(ev.pid_source));
  }
  s.plain("backend", backend);
}

struct DocumentSink {
  json& j;
  void str(const char* k, std::string_view v) { j[k] = v; }
  void plain(const char* k, std::string_view v) { j[k] = v; }
  template <class T>
  void num(const char* k, T v) { j[k] = v; }
  void null(const char* k) { j[k] = nullptr; }
  void boolean(const char* k, bool v) { j[k] = v; }
  void names(const char* k, const std::vector<std::string>& v) { j[k] = v; }
  void mask(const char* k, uint32_t m) { j[k] = mask_names(m); }
  void path(const char* k, const std::string& v) { put_path(j, k, v); }
  void value(const char* k, const json& v) { j[k] = v; }
  void stack(const char* k, const std::shared_ptr<const CreationStack>& v) { j[k] = stack_to_json(*v); }
  void task(const Event& ev) { write_task(ev, *this); }
};

// A mask's names as JSON text. A stream of events repeats a handful of masks (each event has
// two): the last few texts are kept instead of a vector of names built per event.
const std::string& mask_json(uint32_t mask) {
  thread_local RecentValues<uint32_t, std::string> kept;
  return kept.get(mask, [](uint32_t m, std::string& text) {
    text.clear();
    append_json_names(text, mask_names(m));
  });
}

// Writes what nlohmann's dump() writes for the same document (a unit test holds them equal),
// without building one: the DOM and its allocations were most of `trace --json`'s cost.
struct LineSink : JsonFields {
  using JsonFields::JsonFields;
  void mask(const char* k, uint32_t m) { raw(k, mask_json(m)); }
  void value(const char* k, const json& v) { raw(k, v.dump()); }  // rare: a pod's process
  void stack(const char* k, const std::shared_ptr<const CreationStack>& v) { raw(k, stack_json_text(v)); }
  void task(const Event& ev);
};

// What tells one task's fields from another's: the task and its pod (by pointer: a Workload is
// never changed once shared, and the kept pointer keeps its address from being reused).
struct TaskKey {
  TaskInfo task;
  std::shared_ptr<const Workload> workload;
  explicit TaskKey(const Event& ev) : task(ev.task), workload(ev.workload) {}
  TaskKey() = default;
  bool operator==(const Event& ev) const { return workload == ev.workload && task == ev.task; }
};

// The task's fields as JSON text. Events come in runs from one thread (a kubelet sync, a
// container's start), so the last few tasks' texts are kept instead of five numbers and a
// name written, scanned and escaped per event.
void LineSink::task(const Event& ev) {
  thread_local RecentValues<TaskKey, std::string> kept;
  fields(kept.get(ev, [](const Event& e, std::string& text) {
    text.clear();
    LineSink f(text);
    write_task(e, f);
  }));
}

}  // namespace

json event_to_json(const Event& ev, const WallClock& clock, std::string_view backend) {
  json j = json::object();
  DocumentSink sink{j};
  write_event(ev, clock, backend, sink);
  return j;
}

void append_event_json_line(std::string& out, const Event& ev, const WallClock& clock, std::string_view backend) {
  LineSink sink(out);
  sink.text("{");
  write_event(ev, clock, backend, sink);
  sink.text("}");
}

std::string event_to_json_line(const Event& ev, const WallClock& clock, std::string_view backend) {
  std::string out;
  out.reserve(512 + ev.path.size());
  append_event_json_line(out, ev, clock, backend);
  return out;
}

}  // namespace inotrace
