#include "cmd/snapshot_json.h"

#include <nlohmann/json.hpp>

#include "output/json_fields.h"
#include "output/pod_json.h"
#include "output/watch_json.h"
#include "output/workload_json.h"
#include "util/text_encoding.h"

namespace inotrace {

namespace {

void num_or_null(JsonFields& f, std::string_view k, int64_t v) {  // -1 = unknown
  if (v >= 0) f.num(k, v);
  else f.null(k);
}

void write_head(const Snapshot& snap, const SnapshotJsonParts& parts, std::string& out) {
  JsonFields f(out);
  f.str("source", snap.source);
  f.str("taken_at", parts.taken_at);
  f.raw("duration_ms", nlohmann::ordered_json(parts.duration_ms).dump());  // nlohmann's double format
  Totals t = totals(snap);
  f.key("totals");
  f.text("{");
  {
    JsonFields tf(f);
    tf.num("processes", t.processes), tf.num("instances", t.instances), tf.num("watches", t.watches);
  }
  f.text("}");
}

void write_user(const UserRow& u, std::string& out) {
  JsonFields f(out);
  f.text("{");
  f.num("uid", u.uid);
  if (u.userns_ino) f.num("user_ns", u.userns_ino);
  else f.null("user_ns");
  num_or_null(f, "kernel_watches", u.kernel_watches);
  num_or_null(f, "max_user_watches", u.max_watches);
  f.num("present_watches", u.present_watches);
  f.num("instances", u.instances);
  num_or_null(f, "kernel_instances", u.kernel_instances);
  num_or_null(f, "max_user_instances", u.max_instances);
  f.boolean("count_mismatch", u.count_mismatch());
  f.text("}");
}

void write_process(const ProcessRow& p, std::string& out) {
  JsonFields f(out);
  f.text("{");
  f.num("pid", p.pid);
  f.path("comm", p.comm);
  f.num("uid", p.uid);
  f.num("instances", p.instances);
  f.num("watches", p.watches);
  f.text("}");
}

void write_instance(const SnapInstance& inst, std::string& out) {
  JsonFields f(out);
  f.text("{");
  f.str("instance", inst.id);
  f.key("holders");
  f.text("[");
  for (size_t i = 0; i < inst.holders.size(); i++) {
    const Holder& h = inst.holders[i];
    f.text(i ? ",{" : "{");
    {
      JsonFields hf(f);
      hf.num("pid", h.pid), hf.num("fd", h.fd);
      hf.path("comm", h.comm);
      hf.num("uid", h.uid), hf.num("mnt_ns", h.mnt_ns);
      if (h.workload) write_workload(hf, *h.workload);
    }
    f.text("}");
  }
  f.text("]");
  f.num("watches", inst.watches.size());
  if (inst.ucount.uid != UINT32_MAX) f.num("charged_uid", inst.ucount.uid);
  else f.null("charged_uid");
  if (inst.ucount.userns_ino) f.num("user_ns", inst.ucount.userns_ino);
  else f.null("user_ns");
  f.boolean("truncated", inst.truncated);
  f.text("}");
}

// Every watch of every instance, each written straight into the output's buffer.
void write_watches(const Snapshot& snap, DocumentWriter& out) {
  WatchRowWriter rows;
  bool first = true;
  for (const auto& inst : snap.instances) {
    const Holder* h = inst.holders.empty() ? nullptr : &inst.holders.front();
    WatchJsonHolder holder;
    if (h) holder = WatchJsonHolder{h->pid, h->comm, h->uid, h->fd, h->workload.get()};
    rows.set_instance(h ? &holder : nullptr, inst.id);
    for (const auto& w : inst.watches) {
      if (!first) out.buffer() += ',';
      first = false;
      rows.append(out.buffer(), {w.wd, w.ino, w.dev, w.mask, w.path, w.path_source, w.path_truncated, w.path_note});
      out.maybe_flush();
    }
  }
}

// `,"<key>":[` row, row, ... `]`, flushing as the buffer fills.
template <class Rows, class WriteRow>
void write_array(std::string_view key, const Rows& rows, DocumentWriter& out, WriteRow write_row) {
  JsonFields(out.buffer(), false).key(key);
  out.buffer() += '[';
  bool first = true;
  for (const auto& r : rows) {
    if (!first) out.buffer() += ',';
    first = false;
    write_row(r, out.buffer());
    out.maybe_flush();
  }
  out.buffer() += ']';
}

}  // namespace

void write_snapshot_json(const Snapshot& snap, const SnapshotJsonParts& parts, DocumentWriter& out) {
  out.buffer() += '{';
  write_head(snap, parts, out.buffer());
  write_array("users", parts.users, out, write_user);
  write_array("processes", parts.processes, out, write_process);
  write_array("instances", snap.instances, out, write_instance);
  JsonFields(out.buffer(), false).key("watches");
  out.buffer() += '[';
  write_watches(snap, out);
  out.buffer() += ']';
  write_array("pods", parts.pods, out, [](const PodRow& p, std::string& o) {
    o += pod_row_json(p.pod, p.containers, p.processes, p.instances, p.watches).dump();
  });
  write_array("warnings", snap.warnings, out,
              [](const std::string& w, std::string& o) { append_json_string(o, sanitize_utf8(w)); });
  out.buffer() += "}\n";
  out.flush();
}

}  // namespace inotrace
