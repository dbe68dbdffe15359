// The per-event lines of `trace` (text and --json) are written straight into the output batch.
// These golden lines were produced by the previous implementation, which built each field as a
// string of its own; the streamed writers must stay byte for byte the same for every kind of
// event, hostile names included.
#include <gtest/gtest.h>
#include <sys/inotify.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <sstream>
#include <string>
#include <vector>

#include "events/instance_id_key.h"
#include "inotrace/events.h"
#include "output/event_json.h"
#include "output/event_text.h"

namespace inotrace {
namespace {

// Every event kind, with the fields each shows.
std::vector<Event> every_kind() {
  std::vector<Event> v;
  auto base = [](EventType t) {
    Event e;
    e.type = t;
    e.ts_mono_ns = 3723000456789;  // 01:02:03.000456 after WallClock(0)'s epoch
    e.task = TaskInfo{4242, 4243, 1000, 77, "kubelet"};
    e.instance = InstanceId{0xffff888012345678ull, 9};
    e.fd = 7;
    return e;
  };
  Event add = base(EventType::Add);
  add.wd = 12, add.dev = KernelDev{(8u << 20) | 3}, add.ino = 4096, add.mask = IN_MODIFY | IN_CREATE, add.req_mask = add.mask;
  add.path = "/var/lib/kubelet/pods/abc/volumes";
  add.ucount = UcountInfo{812, 8192, 1000, 4026531837u};
  v.push_back(add);
  Event update = add;
  update.type = EventType::Update, update.ucount = {}, update.mask = IN_ALL_EVENTS | IN_ONLYDIR;
  v.push_back(update);
  Event rm = add;
  rm.type = EventType::Remove, rm.reason = Reason::RmWatch, rm.ucount = {};
  v.push_back(rm);
  Event guessed = rm;
  guessed.reason = Reason::Unmount, guessed.possible_reasons = reason_bit(Reason::Unmount) | reason_bit(Reason::InodeDeleted);
  guessed.from_snapshot = true, guessed.pid_source = PidSource::OneOfHolders;
  v.push_back(guessed);
  Event deduced = rm;
  deduced.flags = INOTRACE_F_MARK_GONE, deduced.from_snapshot = true, deduced.pid_source = PidSource::Adder;
  v.push_back(deduced);
  Event no_target = add;
  no_target.dev = KernelDev{0}, no_target.wd = 0, no_target.path.clear(), no_target.flags = INOTRACE_F_PATH_TRUNCATED;
  v.push_back(no_target);
  Event failed = base(EventType::AddFailed);
  failed.err = ENOSPC, failed.req_mask = IN_DELETE_SELF, failed.path = "/nope";
  failed.ucount = UcountInfo{8192, 8192, 0, 1};
  v.push_back(failed);
  Event enoent = failed;
  enoent.err = ENOENT, enoent.ucount = {};
  v.push_back(enoent);
  Event create = base(EventType::InstanceCreate);
  create.req_mask = IN_NONBLOCK | IN_CLOEXEC;
  v.push_back(create);
  Event destroy = base(EventType::InstanceDestroy);
  v.push_back(destroy);
  Event init_failed = base(EventType::InitFailed);
  init_failed.err = EMFILE, init_failed.req_mask = IN_CLOEXEC, init_failed.ucount = UcountInfo{128, 128, 0, 1};
  v.push_back(init_failed);
  Event hostile = add;
  hostile.task.comm = "a\tb\xc3\xb1\xe2\x80\xae";
  hostile.path = "/x\ny\\z\xff\xe2\x80\xa8";
  hostile.wd = 123456, hostile.task.pid = 4194304;
  v.push_back(hostile);
  return v;
}

// text_header(), then every_kind() as text, then as JSON lines. The hostile event's raw
// U+202E and U+2028 (JSON passes them through) stand as <U+...> here, kept out of the source.
const char* const kGolden = R"golden(TIME            EVENT                PID COMM               WD DEV:INO            MASK                       PATH  ERRNO/REASON
01:02:03.000456 add                 4242 kubelet            12 8:3:4096           IN_MODIFY|IN_CREATE        /var/lib/kubelet/pods/abc/volumes  watches 812/8192
01:02:03.000456 update              4242 kubelet            12 8:3:4096           IN_ALL_EVENTS|IN_ONLYDIR   /var/lib/kubelet/pods/abc/volumes
01:02:03.000456 remove              4242 kubelet            12 8:3:4096           IN_MODIFY|IN_CREATE        /var/lib/kubelet/pods/abc/volumes  rm_watch
01:02:03.000456 remove              4242 kubelet            12 8:3:4096           IN_MODIFY|IN_CREATE        /var/lib/kubelet/pods/abc/volumes  unmount? (or inode_deleted)  (from snapshot; pid of one holder)
01:02:03.000456 remove              4242 kubelet            12 8:3:4096           IN_MODIFY|IN_CREATE        /var/lib/kubelet/pods/abc/volumes  rm_watch  (deduced; pid of the adder)
01:02:03.000456 add                 4242 kubelet             - -                  IN_MODIFY|IN_CREATE        -  watches 812/8192  (path truncated)
01:02:03.000456 add_failed          4242 kubelet             - -                  IN_DELETE_SELF             /nope  ENOSPC (watches 8192/8192)
01:02:03.000456 add_failed          4242 kubelet             - -                  IN_DELETE_SELF             /nope  ENOENT
01:02:03.000456 instance_create     4242 kubelet             - fd 7               IN_NONBLOCK|IN_CLOEXEC     <ID>
01:02:03.000456 instance_destroy    4242 kubelet             - -                  -                          <ID>
01:02:03.000456 init_failed         4242 kubelet             - -                  IN_CLOEXEC                 -  EMFILE (instances 128/128)
01:02:03.000456 add              4194304 a\tbñ\u202e     123456 8:3:4096           IN_MODIFY|IN_CREATE        /x\ny\\z\xff\u2028  watches 812/8192
{"ts":"1970-01-01T01:02:03.000456789Z","event":"add","pid":4242,"tid":4243,"comm":"kubelet","uid":1000,"cgroup_id":77,"instance":"<ID>","fd":7,"wd":12,"ino":4096,"dev":"8:3","mask":["IN_MODIFY","IN_CREATE"],"requested_mask":["IN_MODIFY","IN_CREATE"],"path":"/var/lib/kubelet/pods/abc/volumes","path_source":"none","user_watches":812,"max_user_watches":8192,"charged_uid":1000,"user_ns":4026531837,"backend":"tracepoint"}
{"ts":"1970-01-01T01:02:03.000456789Z","event":"update","pid":4242,"tid":4243,"comm":"kubelet","uid":1000,"cgroup_id":77,"instance":"<ID>","fd":7,"wd":12,"ino":4096,"dev":"8:3","mask":["IN_ACCESS","IN_MODIFY","IN_ATTRIB","IN_CLOSE_WRITE","IN_CLOSE_NOWRITE","IN_OPEN","IN_MOVED_FROM","IN_MOVED_TO","IN_CREATE","IN_DELETE","IN_DELETE_SELF","IN_MOVE_SELF","IN_ONLYDIR"],"requested_mask":["IN_MODIFY","IN_CREATE"],"path":"/var/lib/kubelet/pods/abc/volumes","path_source":"none","user_watches":null,"max_user_watches":null,"backend":"tracepoint"}
{"ts":"1970-01-01T01:02:03.000456789Z","event":"remove","pid":4242,"tid":4243,"comm":"kubelet","uid":1000,"cgroup_id":77,"instance":"<ID>","fd":7,"wd":12,"ino":4096,"dev":"8:3","mask":["IN_MODIFY","IN_CREATE"],"path":"/var/lib/kubelet/pods/abc/volumes","path_source":"none","reason":"rm_watch","reason_certain":true,"backend":"tracepoint"}
{"ts":"1970-01-01T01:02:03.000456789Z","event":"remove","pid":4242,"tid":4243,"comm":"kubelet","uid":1000,"cgroup_id":77,"instance":"<ID>","fd":7,"wd":12,"ino":4096,"dev":"8:3","mask":["IN_MODIFY","IN_CREATE"],"path":"/var/lib/kubelet/pods/abc/volumes","path_source":"none","reason":"unmount","reason_certain":false,"possible_reasons":["inode_deleted","unmount"],"source":"snapshot","pid_source":"one_of_holders","backend":"tracepoint"}
{"ts":"1970-01-01T01:02:03.000456789Z","event":"remove","pid":4242,"tid":4243,"comm":"kubelet","uid":1000,"cgroup_id":77,"instance":"<ID>","fd":7,"wd":12,"ino":4096,"dev":"8:3","mask":["IN_MODIFY","IN_CREATE"],"path":"/var/lib/kubelet/pods/abc/volumes","path_source":"none","reason":"rm_watch","reason_certain":true,"mark_gone":true,"source":"deduced","pid_source":"adder","backend":"tracepoint"}
{"ts":"1970-01-01T01:02:03.000456789Z","event":"add","pid":4242,"tid":4243,"comm":"kubelet","uid":1000,"cgroup_id":77,"instance":"<ID>","fd":7,"wd":null,"ino":null,"dev":null,"mask":["IN_MODIFY","IN_CREATE"],"requested_mask":["IN_MODIFY","IN_CREATE"],"path":"","path_source":"none","user_watches":812,"max_user_watches":8192,"path_truncated":true,"charged_uid":1000,"user_ns":4026531837,"backend":"tracepoint"}
{"ts":"1970-01-01T01:02:03.000456789Z","event":"add_failed","pid":4242,"tid":4243,"comm":"kubelet","uid":1000,"cgroup_id":77,"instance":"<ID>","fd":7,"wd":null,"ino":null,"dev":null,"mask":["IN_DELETE_SELF"],"requested_mask":["IN_DELETE_SELF"],"path":"/nope","path_source":"none","user_watches":8192,"max_user_watches":8192,"charged_uid":0,"user_ns":1,"errno":"ENOSPC","backend":"tracepoint"}
{"ts":"1970-01-01T01:02:03.000456789Z","event":"add_failed","pid":4242,"tid":4243,"comm":"kubelet","uid":1000,"cgroup_id":77,"instance":"<ID>","fd":7,"wd":null,"ino":null,"dev":null,"mask":["IN_DELETE_SELF"],"requested_mask":["IN_DELETE_SELF"],"path":"/nope","path_source":"none","user_watches":null,"max_user_watches":null,"errno":"ENOENT","backend":"tracepoint"}
{"ts":"1970-01-01T01:02:03.000456789Z","event":"instance_create","pid":4242,"tid":4243,"comm":"kubelet","uid":1000,"cgroup_id":77,"instance":"<ID>","fd":7,"flags":"IN_NONBLOCK|IN_CLOEXEC","user_instances":null,"max_user_instances":null,"backend":"tracepoint"}
{"ts":"1970-01-01T01:02:03.000456789Z","event":"instance_destroy","pid":4242,"tid":4243,"comm":"kubelet","uid":1000,"cgroup_id":77,"instance":"<ID>","fd":7,"flags":"0","user_instances":null,"max_user_instances":null,"backend":"tracepoint"}
{"ts":"1970-01-01T01:02:03.000456789Z","event":"init_failed","pid":4242,"tid":4243,"comm":"kubelet","uid":1000,"cgroup_id":77,"instance":"<ID>","fd":7,"flags":"IN_CLOEXEC","user_instances":128,"max_user_instances":128,"charged_uid":0,"user_ns":1,"errno":"EMFILE","backend":"tracepoint"}
{"ts":"1970-01-01T01:02:03.000456789Z","event":"add","pid":4194304,"tid":4243,"comm":"a\tbñ<U+202E>","uid":1000,"cgroup_id":77,"instance":"<ID>","fd":7,"wd":123456,"ino":4096,"dev":"8:3","mask":["IN_MODIFY","IN_CREATE"],"requested_mask":["IN_MODIFY","IN_CREATE"],"path":"/x\ny\\z�<U+2028>","path_b64":"L3gKeVx6/+KAqA==","path_source":"none","user_watches":812,"max_user_watches":8192,"charged_uid":1000,"user_ns":4026531837,"backend":"tracepoint"})golden";

std::vector<std::string> golden_lines() {
  std::vector<std::string> out;
  std::istringstream in(kGolden);
  for (std::string line; std::getline(in, line);) {
    // The instance id is keyed per boot (events/instance_id_key.h): the golden lines say <ID>.
    const std::string id = opaque_instance_id(0xffff888012345678ull, 9);
    for (auto [mark, bytes] : {std::pair{"<U+202E>", "\xe2\x80\xae"}, std::pair{"<U+2028>", "\xe2\x80\xa8"},
                               std::pair{"<ID>", id.c_str()}})
      for (size_t at; (at = line.find(mark)) != std::string::npos;) line.replace(at, std::strlen(mark), bytes);
    out.push_back(line);
  }
  return out;
}

TEST(EventLinesGolden, TextAndJsonLinesAreTheGoldenOnes) {
  std::vector<std::string> want = golden_lines();
  std::vector<Event> events = every_kind();
  ASSERT_EQ(want.size(), 1 + 2 * events.size());
  EXPECT_EQ(text_header(), want[0]);
  for (size_t i = 0; i < events.size(); i++) {
    EXPECT_EQ(event_to_text(events[i], WallClock(0)), want[1 + i]) << "event " << i;
    EXPECT_EQ(event_to_json_line(events[i], WallClock(0), "tracepoint"), want[1 + events.size() + i]) << "event " << i;
  }
}

// The batch writers append to what is already there; the masks' JSON texts are kept for the
// last few masks, so rounds over many masks must still give each event its own.
TEST(EventLinesGolden, AppendedLinesEqualTheStandaloneOnesRoundAfterRound) {
  std::vector<Event> events = every_kind();
  for (int round = 0; round < 3; round++)
    for (size_t i = 0; i < events.size(); i++) {
      Event e = events[(i * 5 + round) % events.size()];
      e.mask ^= 1u << (round + i % 7);  // more distinct masks than are kept
      std::string text = "prefix|", json = "prefix|";
      append_event_text(text, e, WallClock(0));
      append_event_json_line(json, e, WallClock(0), "kprobe");
      EXPECT_EQ(text, "prefix|" + event_to_text(e, WallClock(0)));
      EXPECT_EQ(json, "prefix|" + event_to_json(e, WallClock(0), "kprobe").dump());
    }
}

}  // namespace
}  // namespace inotrace
