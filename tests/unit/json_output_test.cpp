#include <gtest/gtest.h>
#include <sys/inotify.h>

#include "events/instance_id_key.h"
#include "output/event_json.h"
#include "output/json_fields.h"
#include "util/text_encoding.h"

namespace inotrace {
namespace {

Event sample_add(std::string path) {
  Event e;
  e.type = EventType::Add;
  e.ts_mono_ns = 1000;
  e.task = TaskInfo{42, 43, 0, 7, "kubelet"};
  e.instance = InstanceId{0xffff888012345678ull, 3};
  e.fd = 5;
  e.wd = 9;
  e.ino = 1ull << 40;  // 64-bit inode numbers survive
  e.dev = KernelDev{(254u << 20) | 1};
  e.mask = IN_MODIFY | IN_ONESHOT;
  e.req_mask = IN_MODIFY | IN_ONESHOT;
  e.ucount = UcountInfo{10, 8192, 0, 4026531837u};
  e.path = std::move(path);
  e.path_source = PathSource::Syscall;
  return e;
}

nlohmann::ordered_json roundtrip(const Event& e) {
  WallClock clock(0);
  std::string line = event_to_json(e, clock, "tracepoint").dump();
  EXPECT_EQ(line.find('\n'), std::string::npos) << "NDJSON: one line per event";
  return nlohmann::ordered_json::parse(line);
}

TEST(JsonOutput, SchemaFieldsOfAnAdd) {
  auto j = roundtrip(sample_add("/var/lib/kubelet/pods/x"));
  EXPECT_EQ(j["event"], "add");
  EXPECT_EQ(j["pid"], 42);
  EXPECT_EQ(j["tid"], 43);
  EXPECT_EQ(j["comm"], "kubelet");
  EXPECT_EQ(j["uid"], 0);
  EXPECT_EQ(j["cgroup_id"], 7);
  EXPECT_EQ(j["instance"], opaque_instance_id(0xffff888012345678ull, 3));  // never the pointer
  EXPECT_EQ(j["fd"], 5);
  EXPECT_EQ(j["wd"], 9);
  EXPECT_EQ(j["ino"], 1ull << 40);
  EXPECT_EQ(j["dev"], "254:1");
  EXPECT_EQ(j["mask"], nlohmann::ordered_json::array({"IN_MODIFY", "IN_ONESHOT"}));
  EXPECT_EQ(j["path"], "/var/lib/kubelet/pods/x");
  EXPECT_EQ(j["path_source"], "syscall");
  EXPECT_EQ(j["user_watches"], 10);
  EXPECT_EQ(j["max_user_watches"], 8192);
  EXPECT_EQ(j["backend"], "tracepoint");
  EXPECT_FALSE(j.contains("errno"));
  EXPECT_FALSE(j.contains("reason"));
  EXPECT_EQ(j["ts"], "1970-01-01T00:00:00.000001000Z");
}

TEST(JsonOutput, FailureHasErrnoNameAndRemovalHasReason) {
  Event f = sample_add("/x");
  f.type = EventType::AddFailed;
  f.err = ENOSPC;
  EXPECT_EQ(roundtrip(f)["errno"], "ENOSPC");
  EXPECT_TRUE(roundtrip(f)["wd"].is_null());
  Event r = sample_add("/x");
  r.type = EventType::Remove;
  r.reason = Reason::RmWatch;
  EXPECT_EQ(roundtrip(r)["reason"], "rm_watch");
}

TEST(JsonOutput, NewlineQuoteBackslashAreEscapedAndRoundTrip) {
  std::string hostile = "/tmp/a\nb\"c\\d\te\x01";
  auto j = roundtrip(sample_add(hostile));
  EXPECT_EQ(j["path"].get<std::string>(), hostile);
  EXPECT_FALSE(j.contains("path_b64"));
}

TEST(JsonOutput, InvalidUtf8IsReplacedAndKeptExactlyInBase64) {
  std::string hostile = "/tmp/bad\xff\xfe/\xc3(";
  auto j = roundtrip(sample_add(hostile));
  EXPECT_EQ(j["path"].get<std::string>(), "/tmp/bad\xef\xbf\xbd\xef\xbf\xbd/\xef\xbf\xbd(");
  EXPECT_EQ(j["path_b64"].get<std::string>(), base64_encode(hostile));
}

TEST(JsonOutput, PathOf4095Bytes) {
  std::string p = "/" + std::string(4094, 'p');
  ASSERT_EQ(p.size(), 4095u);
  auto j = roundtrip(sample_add(p));
  EXPECT_EQ(j["path"].get<std::string>(), p);
}

TEST(JsonOutput, InstanceEvents) {
  Event e;
  e.type = EventType::InitFailed;
  e.err = EMFILE;
  e.req_mask = IN_NONBLOCK;
  e.ucount = UcountInfo{128, 128, 0, 1};
  auto j = roundtrip(e);
  EXPECT_EQ(j["event"], "init_failed");
  EXPECT_EQ(j["errno"], "EMFILE");
  EXPECT_EQ(j["flags"], "IN_NONBLOCK");
  EXPECT_EQ(j["user_instances"], 128);
  EXPECT_EQ(j["max_user_instances"], 128);
  EXPECT_TRUE(j["instance"].is_null());
}

TEST(TextEncoding, Utf8Validation) {
  EXPECT_TRUE(is_valid_utf8("plain"));
  EXPECT_TRUE(is_valid_utf8("\xe2\x9c\x93"));
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // > U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xe2\x9c"));          // truncated
}

// The validity check reads eight ASCII bytes at a time: a bad byte at any place of a block, or
// a sequence split across blocks, is still found (sanitize_utf8 checks one sequence at a time).
TEST(TextEncoding, Utf8ValidationAtEveryPlaceOfABlock) {
  for (std::string bad : {"\xff", "\xc0\xaf", "\xe2\x9c", "\x80", "\xed\xa0\x80"}) {
    for (std::string good : {"\xe2\x9c\x93", "\xc3\xa9", "\xf0\x9f\x98\x80"}) {
      for (size_t at = 0; at <= 17; at++) {
        std::string s(18, 'a');
        std::string with_bad = s.substr(0, at) + bad + s.substr(at);
        std::string with_good = s.substr(0, at) + good + s.substr(at);
        EXPECT_FALSE(is_valid_utf8(with_bad)) << at;
        EXPECT_NE(sanitize_utf8(with_bad), with_bad) << at;
        EXPECT_TRUE(is_valid_utf8(with_good)) << at;
        EXPECT_EQ(sanitize_utf8(with_good), with_good) << at;
      }
    }
  }
}

// JsonFields scans eight bytes at a time for bytes to escape and writes into room it grows:
// every byte nlohmann escapes, at every place of a block, and strings longer than the room
// taken at a time, come out as nlohmann's dump() writes them.
TEST(JsonOutput, StringsAreEscapedAsTheDocumentAtEveryPlace) {
  for (int c = 0; c < 0x80; c++) {
    for (size_t at = 0; at <= 17; at++) {
      std::string s(18, 'x');
      s.insert(s.begin() + static_cast<long>(at), static_cast<char>(c));
      std::string out = "prefix";
      append_json_string(out, s);
      EXPECT_EQ(out, "prefix" + nlohmann::ordered_json(s).dump()) << c << " at " << at;
    }
  }
  for (std::string fill : {"\"", "\x01", "a", "\xc3\xa9"}) {
    std::string s;
    for (int i = 0; i < 3000; i++) s += fill;
    std::string out;
    append_json_string(out, s);
    EXPECT_EQ(out, nlohmann::ordered_json(s).dump());
  }
}

TEST(TextEncoding, Base64) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("\xff\xfe"), "//4=");
}

}  // namespace
}  // namespace inotrace

namespace inotrace {
namespace {

TEST(WallClockTest, Rfc3339MatchesGmtimeAcrossCenturies) {
  for (int64_t sec : {0LL, 951782400LL /* 2000-02-29 */, 1795844166LL, 4107542399LL /* 2100-02-28T23:59:59 */,
                      -86400LL /* 1969-12-31 */}) {
    time_t t = sec;
    tm g{};
    gmtime_r(&t, &g);
    char want[64];
    strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S", &g);
    EXPECT_EQ(format_rfc3339_utc(sec * 1000000000 + 123), std::string(want) + ".000000123Z") << sec;
  }
}

// The extremes of a 64-bit nanosecond clock, alternated: the date kept between calls (once
// per day) must follow each call's own day.
TEST(WallClockTest, Rfc3339AtTheClocksExtremesAndBackAgain) {
  for (int i = 0; i < 2; i++) {
    EXPECT_EQ(format_rfc3339_utc(INT64_MAX), "2262-04-11T23:47:16.854775807Z");
    EXPECT_EQ(format_rfc3339_utc(INT64_MIN), "1677-09-21T00:12:43.145224192Z");
    EXPECT_EQ(format_rfc3339_utc(-1), "1969-12-31T23:59:59.999999999Z");
    EXPECT_EQ(format_rfc3339_utc(0), "1970-01-01T00:00:00.000000000Z");
  }
}

TEST(WallClockTest, TimeOfDayUsesTheUtcOffset) {
  WallClock utc(0, 0), plus_two(0, 7200);
  EXPECT_EQ(utc.time_of_day(3723000001000ull), "01:02:03.000001");
  EXPECT_EQ(plus_two.time_of_day(3723000001000ull), "03:02:03.000001");
  // Before 1970 the time rounds down like the RFC 3339 text: 1 ns before is the day's last µs.
  EXPECT_EQ(WallClock(-1, 0).time_of_day(0), "23:59:59.999999");
  EXPECT_EQ(WallClock(-999999999, 0).time_of_day(0), "23:59:59.000000");
  EXPECT_EQ(WallClock(-1000000000, 0).time_of_day(0), "23:59:59.000000");
  EXPECT_EQ(utc.time_of_day(999999), "00:00:00.000999");
}

// `trace --json` streams lines without building a document; they must be exactly the
// document's dump() for every kind of event and every hostile string.
TEST(JsonOutput, StreamedLineIsByteForByteTheDocument) {
  WallClock clock(1700000000123456789ll);
  std::vector<Event> events;
  for (std::string path : {std::string("/var/lib/kubelet/pods/x"), std::string("/a\"q\\b\n\t\r\b\f\x01\x1f\x7f"),
                           std::string("/bad\xff\xfeutf8"), std::string("/\xc3\xa9t\xc3\xa9 \xe2\x9c\x93"),
                           std::string("rel/path"), std::string()}) {
    Event e = sample_add(path);
    events.push_back(e);
    e.type = EventType::Update;
    e.ucount = UcountInfo{};
    events.push_back(e);
    e.type = EventType::Remove;
    e.reason = Reason::InodeDeleted;
    e.from_snapshot = true;
    e.flags = INOTRACE_F_PATH_TRUNCATED | INOTRACE_F_MARK_GONE;
    events.push_back(e);
    e = sample_add(path);
    e.type = EventType::AddFailed;
    e.err = ENOSPC;
    e.fd = -1;
    e.task.comm = "bad\xff\"comm";
    events.push_back(e);
  }
  Event c;
  c.type = EventType::InstanceCreate;
  c.instance = InstanceId{0xffff888000001000ull, 1};
  c.fd = 3;
  c.req_mask = 04000 | 02000000;  // IN_NONBLOCK | IN_CLOEXEC
  events.push_back(c);
  c.type = EventType::InstanceDestroy;
  events.push_back(c);
  c.type = EventType::InitFailed;
  c.err = EMFILE;
  c.instance = InstanceId{};
  c.fd = -1;
  c.ucount = UcountInfo{128, 128, 1000, 4026531837u};
  events.push_back(c);
  // A process in a pod: the pod and container objects (a name that is not UTF-8 included).
  Event in_pod = sample_add("/var/lib/kubelet/pods/u/volumes/v");
  Workload w;
  w.pod_uid = "5b4a2c1e-8f3d-4e6a-9b7c-0d1e2f3a4b5c";
  w.pod_namespace = "team-a";
  w.pod_name = "dev\xff-1";
  w.qos = "burstable";
  w.container_id = "0123456789ab";
  w.runtime = "containerd";
  in_pod.workload = std::make_shared<const Workload>(w);
  events.push_back(in_pod);
  w.container_id.clear();
  in_pod.workload = std::make_shared<const Workload>(w);  // the pod's own cgroup: "container": null
  events.push_back(in_pod);
  for (const auto& e : events) {
    std::string doc = event_to_json(e, clock, "fentry").dump();
    EXPECT_EQ(event_to_json_line(e, clock, "fentry"), doc);
  }
}

// The task's fields are kept for the last few tasks: a run of events where each differs from
// the one before in one field of the task only (or in its pod, by content or only by object)
// must each be written as its own document, also when an earlier task comes back.
TEST(JsonOutput, KeptTaskFieldsFollowEveryChangeOfTheTask) {
  WallClock clock(1700000000123456789ll);
  Workload w;
  w.pod_uid = "5b4a2c1e-8f3d-4e6a-9b7c-0d1e2f3a4b5c";
  w.pod_namespace = "team-a";
  w.pod_name = "web-1";
  auto pod = std::make_shared<const Workload>(w);
  w.pod_name = "web-2";
  auto other_pod = std::make_shared<const Workload>(w);
  auto same_content = std::make_shared<const Workload>(w);
  std::vector<Event> run;
  Event e = sample_add("/var/lib/kubelet/pods/x");
  run.push_back(e);
  e.task.pid = 44, run.push_back(e);
  e.task.tid = 45, run.push_back(e);
  e.task.uid = 1000, run.push_back(e);
  e.task.cgroup_id = 8, run.push_back(e);
  e.task.comm = "kubelet2", run.push_back(e);
  e.task.comm = "kubelet\n", run.push_back(e);
  e.workload = pod, run.push_back(e);
  e.workload = other_pod, run.push_back(e);
  const size_t same_content_at = run.size();
  e.workload = same_content, run.push_back(e);
  e.workload = nullptr, run.push_back(e);
  for (int round = 0; round < 3; round++)  // more tasks than are kept, and back again
    for (const auto& ev : run) EXPECT_EQ(event_to_json_line(ev, clock, "tracepoint"), event_to_json(ev, clock, "tracepoint").dump());
  for (size_t i = 1; i < run.size(); i++) {
    std::string line = event_to_json_line(run[i], clock, "tracepoint");
    std::string before = event_to_json_line(run[i - 1], clock, "tracepoint");
    if (i == same_content_at) EXPECT_EQ(line, before);  // another object, the same pod
    else EXPECT_NE(line, before) << i;
  }
}

// Issue 11 items 14, 15, 18: a deduced removal says how sure its reason is and whose pid it is.
TEST(JsonOutput, DeducedRemovalSaysHowSureAndWhosePid) {
  Event r = sample_add("/p");
  r.type = EventType::Remove;
  r.reason = Reason::RmWatch;
  auto live = roundtrip(r);
  EXPECT_EQ(live["reason_certain"], true);
  EXPECT_FALSE(live.contains("possible_reasons"));
  EXPECT_FALSE(live.contains("pid_source")) << "a live event's pid is the actor's";
  r.reason = Reason::InstanceClosed;
  r.possible_reasons = reason_bit(Reason::InstanceClosed) | reason_bit(Reason::InodeDeleted);
  r.from_snapshot = true;
  r.pid_source = PidSource::Adder;
  auto j = roundtrip(r);
  EXPECT_EQ(j["reason"], "instance_closed");
  EXPECT_EQ(j["reason_certain"], false);
  EXPECT_EQ(j["possible_reasons"], nlohmann::json::parse(R"(["inode_deleted","instance_closed"])"));
  EXPECT_EQ(j["source"], "snapshot");
  EXPECT_EQ(j["pid_source"], "adder");
  r.flags = INOTRACE_F_MARK_GONE;
  EXPECT_EQ(roundtrip(r)["source"], "deduced") << "matched at the add, not found by a snapshot";
}

}  // namespace
}  // namespace inotrace
