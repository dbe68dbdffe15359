// `snapshot --json` is streamed (cmd/snapshot_json) and /api/watches rows are written directly
// (output/watch_json): both must stay byte for byte the nlohmann document they replaced. The
// oracle below is that former builder, kept here only to hold them to it, fed hostile names.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>

#include "cmd/snapshot_json.h"
#include "events/names.h"
#include "output/document_writer.h"
#include "output/event_json.h"
#include "output/pod_json.h"
#include "output/watch_json.h"
#include "output/workload_json.h"
#include "util/error.h"
#include "util/standard_output.h"
#include "util/text_encoding.h"

namespace inotrace {
namespace {

using json = nlohmann::ordered_json;

json oracle_watch_row(const Holder* h, const std::string& instance, const SnapWatch& w) {
  json j;
  j["pid"] = h ? json(h->pid) : json(nullptr);
  if (h) put_path(j, "comm", h->comm);
  else j["comm"] = nullptr;
  j["uid"] = h ? json(h->uid) : json(nullptr);
  j["instance"] = instance;
  j["fd"] = h ? json(h->fd) : json(nullptr);
  if (h && h->workload) put_workload(j, *h->workload);
  j["wd"] = w.wd;
  j["ino"] = w.ino;
  j["dev"] = w.dev.str();
  j["mask"] = mask_names(w.mask);
  if (w.path.empty()) j["path"] = nullptr;
  else put_path(j, "path", w.path);
  j["path_source"] = path_source_name(w.path_source);
  if (w.path_truncated) j["path_truncated"] = true;
  if (!w.path_note.empty()) put_path(j, "path_note", w.path_note);
  return j;
}

json oracle_instance(const SnapInstance& inst) {
  json holders = json::array();
  for (const auto& h : inst.holders) {
    json hj = {{"pid", h.pid}, {"fd", h.fd}};
    put_path(hj, "comm", h.comm);
    hj["uid"] = h.uid;
    hj["mnt_ns"] = h.mnt_ns;
    if (h.workload) put_workload(hj, *h.workload);
    holders.push_back(std::move(hj));
  }
  return {{"instance", inst.id}, {"holders", holders}, {"watches", inst.watches.size()},
          {"charged_uid", inst.ucount.uid != UINT32_MAX ? json(inst.ucount.uid) : json(nullptr)},
          {"user_ns", inst.ucount.userns_ino ? json(inst.ucount.userns_ino) : json(nullptr)},
          {"truncated", inst.truncated}};
}

json oracle_document(const Snapshot& snap, const SnapshotJsonParts& parts) {
  json j;
  j["source"] = snap.source;
  j["taken_at"] = parts.taken_at;
  j["duration_ms"] = parts.duration_ms;
  Totals t = totals(snap);
  j["totals"] = {{"processes", t.processes}, {"instances", t.instances}, {"watches", t.watches}};
  j["users"] = json::array();
  for (const auto& u : parts.users) {
    auto opt = [](int64_t v) { return v >= 0 ? json(v) : json(nullptr); };
    j["users"].push_back({{"uid", u.uid}, {"user_ns", u.userns_ino ? json(u.userns_ino) : json(nullptr)},
                          {"kernel_watches", opt(u.kernel_watches)}, {"max_user_watches", opt(u.max_watches)},
                          {"present_watches", u.present_watches}, {"instances", u.instances},
                          {"kernel_instances", opt(u.kernel_instances)}, {"max_user_instances", opt(u.max_instances)},
                          {"count_mismatch", u.count_mismatch()}});
  }
  j["processes"] = json::array();
  for (const auto& p : parts.processes) {
    json row = {{"pid", p.pid}};
    put_path(row, "comm", p.comm);
    row["uid"] = p.uid, row["instances"] = p.instances, row["watches"] = p.watches;
    j["processes"].push_back(std::move(row));
  }
  j["instances"] = json::array();
  j["watches"] = json::array();
  for (const auto& inst : snap.instances) {
    j["instances"].push_back(oracle_instance(inst));
    const Holder* h = inst.holders.empty() ? nullptr : &inst.holders.front();
    for (const auto& w : inst.watches) j["watches"].push_back(oracle_watch_row(h, inst.id, w));
  }
  j["pods"] = json::array();
  for (const auto& p : parts.pods) j["pods"].push_back(pod_row_json(p.pod, p.containers, p.processes, p.instances, p.watches));
  j["warnings"] = json::array();
  for (const auto& w : snap.warnings) j["warnings"].push_back(sanitize_utf8(w));
  return j;
}

// Names a hostile process could give its paths and itself: every byte JSON escapes, invalid
// UTF-8 (which adds a *_b64 key), multi-byte text, empty.
const std::vector<std::string> kNames = {
    "/plain/dir", "/new\nline", "/q\"uote", "/back\\slash", "/bad\xff\xfe utf8", "/ctl\x01\x1f\x7f\b\f\r\t",
    "/\xc3(", "/\xc3\xbc\xe2\x82\xac\xf0\x9f\x98\x80 \xe2\x80\xa8", "/\xed\xa0\x80 surrogate", "/", "\"", "\\"};

std::shared_ptr<const Workload> pod_workload(std::string ns, std::string container) {
  Workload w;
  w.pod_uid = "0e8c1c5a-0000-4000-8000-00000000000" + std::to_string(ns.size() % 10);
  w.pod_namespace = std::move(ns);
  w.pod_name = "web-\"0\"\n";
  w.qos = "burstable";
  w.container_id = container.empty() ? "" : std::string(64, 'a');
  w.container_name = std::move(container);
  w.runtime = "containerd";
  return std::make_shared<const Workload>(w);
}

Holder holder(uint32_t pid, int32_t fd, std::string comm, uint32_t uid, std::shared_ptr<const Workload> w) {
  Holder h;
  h.pid = pid, h.fd = fd, h.comm = std::move(comm), h.uid = uid, h.mnt_ns = 4026531841ull + pid, h.workload = w;
  return h;
}

SnapInstance instance(std::string id, std::vector<Holder> holders, uint32_t charged_uid, uint32_t userns, size_t watches) {
  SnapInstance inst;
  inst.id = std::move(id);
  inst.holders = std::move(holders);
  inst.ucount.uid = charged_uid, inst.ucount.userns_ino = userns;
  for (size_t i = 0; i < watches; i++) {
    SnapWatch w;
    w.wd = (int32_t)i + 1, w.ino = 1000000007ull * (i + 1), w.dev.raw = (uint32_t)((259u << 20) | (i % 3));
    w.mask = i % 4 == 0 ? 0x00000fff : i % 4 == 1 ? 0x80000002 : i % 4 == 2 ? 0x02000100 : 0;
    const std::string& name = kNames[i % kNames.size()];
    if (i % 13 == 5) w.path_note = i % 2 ? "unlinked" : "not \xff mounted\n";  // no path, a note why
    else w.path = name + std::string(i % 7 * 9, 'x');
    w.path_source = static_cast<PathSource>(i % 4);
    w.path_truncated = i % 11 == 3;
    inst.watches.push_back(std::move(w));
  }
  return inst;
}

Snapshot hostile_snapshot() {
  Snapshot s;
  s.source = "iterator";
  auto web = pod_workload("prod\xff", "app\t1"), own = pod_workload("kube-system", "");
  auto unit = std::make_shared<const Workload>(Workload{.unit = "kubelet\n.service"});
  s.instances.push_back(instance("ffff8881aa00", {holder(10, 3, "node\"js\xff", 1000, web),
                                                  holder(11, 7, "sh\n", 1000, own)}, 1000, 4026531837u, 1500));
  s.instances.push_back(instance("ffff8881bb00", {holder(20, 4, "kubelet", 0, unit)}, 0, 4026531837u, 700));
  s.instances.push_back(instance("ffff8881cc00", {}, UINT32_MAX, 0, 40));  // its holder gone
  s.instances.push_back(instance("30:9", {holder(30, 9, "", 65534, nullptr)}, UINT32_MAX, 0, 0));
  s.instances.back().truncated = true;
  s.instances.push_back(instance("ffff8881dd00", {holder(40, 5, "\\\x01", 2000, web)}, 2000, 4026532000u, 300));
  s.warnings = {"pid 7: fdinfo unreadable\n", "bad \xc3 byte", ""};
  return s;
}

std::string streamed(const Snapshot& snap, const SnapshotJsonParts& parts) {
  FILE* f = tmpfile();
  DocumentWriter out(fileno(f), "the test document");
  write_snapshot_json(snap, parts, out);
  std::string text;
  rewind(f);
  char buf[65536];
  for (size_t n; (n = fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
  fclose(f);
  return text;
}

void expect_identical(const Snapshot& snap, SnapshotJsonParts parts) {
  std::string want = oracle_document(snap, parts).dump() + "\n";
  std::string got = streamed(snap, parts);
  ASSERT_EQ(got.size(), want.size());
  size_t diff = std::mismatch(got.begin(), got.end(), want.begin()).first - got.begin();
  EXPECT_EQ(diff, got.size()) << "first difference at byte " << diff << ": ..."
                              << want.substr(diff > 80 ? diff - 80 : 0, 160);
}

TEST(SnapshotJson, StreamedDocumentIsByteIdenticalToTheNlohmannDocument) {
  Snapshot snap = hostile_snapshot();
  for (double ms : {1234.5678, 0.1, 1e-7, 0.0, 123456789012.25}) {
    SnapshotJsonParts parts{"2026-12-02T13:25:31.123456Z", ms, per_user(snap, 128, kInitUserNsIno), per_process(snap),
                            per_pod(snap).pods()};
    SCOPED_TRACE(ms);
    expect_identical(snap, parts);
  }
  std::string text = streamed(snap, {"t", 1, per_user(snap, -1, kInitUserNsIno), per_process(snap), per_pod(snap).pods()});
  EXPECT_GT(text.size(), 4u * 65536) << "crosses several chunks";
  json back = json::parse(text);
  EXPECT_EQ(back["watches"].size(), 2540u);
  EXPECT_EQ(back["instances"].size(), 5u);
  EXPECT_TRUE(back["watches"][4].contains("path_b64"));
}

TEST(SnapshotJson, EmptySnapshotIsByteIdentical) {
  Snapshot snap;
  snap.source = "procfs";
  expect_identical(snap, {"2026-12-02T00:00:00Z", 3.5, {}, {}, {}});
}

TEST(SnapshotJson, WatchRowsOfTheDaemonMatchTheDocumentRows) {
  Snapshot snap = hostile_snapshot();
  WatchRowWriter rows;
  for (const auto& inst : snap.instances) {
    const Holder* h = inst.holders.empty() ? nullptr : &inst.holders.front();
    WatchJsonHolder wh;
    if (h) wh = {h->pid, h->comm, h->uid, h->fd, h->workload.get()};
    rows.set_instance(h ? &wh : nullptr, inst.id);
    for (const auto& w : inst.watches) {
      std::string out;
      rows.append(out, {w.wd, w.ino, w.dev, w.mask, w.path, w.path_source, w.path_truncated, w.path_note});
      ASSERT_EQ(out, oracle_watch_row(h, inst.id, w).dump());
    }
  }
}

TEST(SnapshotJson, AClosedReaderIsAnErrorNotACrash) {
  signal(SIGPIPE, SIG_IGN);  // as main does: a dead reader is an EPIPE return
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  close(p[0]);
  DocumentWriter out(p[1], "the snapshot to standard output");
  out.buffer() = "{}";
  try {
    out.flush();
    FAIL() << "wrote to a pipe without a reader";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "writing the snapshot to standard output: closed by its reader (broken pipe); the output is incomplete");
  }
  close(p[1]);
}

// A document of many chunks: the failed write of a chunk in the middle (maybe_flush) is the same
// OutputError, and the producer stops there.
TEST(SnapshotJson, AClosedReaderOfALongDocumentIsTheSameError) {
  signal(SIGPIPE, SIG_IGN);
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  close(p[0]);
  DocumentWriter out(p[1], "the snapshot to standard output");
  std::string thrown;
  try {
    for (int i = 0; i < 10000; i++) {
      out.buffer().append(1000, 'x');
      out.maybe_flush();
    }
    out.flush();
  } catch (const OutputError& e) {
    thrown = e.what();
  }
  EXPECT_EQ(thrown, "writing the snapshot to standard output: closed by its reader (broken pipe); the output is incomplete");
  close(p[1]);
}

}  // namespace
}  // namespace inotrace
