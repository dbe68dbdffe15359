#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/inotify.h>

#include <map>
#include <random>

#include "table/path_interner.h"
#include "table/recent_adds.h"
#include "table/watch_table.h"

namespace inotrace {
namespace {

TEST(PathInterner, RoundTripsAndSharesPrefixes) {
  PathInterner p;
  PathId a = p.intern("/var/lib/kubelet/pods/u1/volumes/x");
  PathId b = p.intern("/var/lib/kubelet/pods/u1/volumes/y");
  EXPECT_EQ(p.str(a), "/var/lib/kubelet/pods/u1/volumes/x");
  EXPECT_EQ(p.str(b), "/var/lib/kubelet/pods/u1/volumes/y");
  std::string reused(5000, 'z');  // written into a string that held something longer, and shorter
  p.str(a, reused);
  EXPECT_EQ(reused, "/var/lib/kubelet/pods/u1/volumes/x");
  reused = "/";
  p.str(b, reused);
  EXPECT_EQ(reused, "/var/lib/kubelet/pods/u1/volumes/y");
  p.str(kNoPath, reused);
  EXPECT_EQ(reused, "");
  EXPECT_EQ(p.live_nodes(), 3u) << "var/lib/kubelet/pods/u1/volumes (shared, one node) + x + y";
  EXPECT_EQ(p.intern("/var/lib/kubelet/pods/u1/volumes/x"), a);
  p.release(a);
  EXPECT_EQ(p.str(a), "/var/lib/kubelet/pods/u1/volumes/x") << "still referenced once";
  p.release(a);
  p.release(b);
  EXPECT_EQ(p.live_nodes(), 0u) << "everything freed";
}

TEST(PathInterner, ExactBytesIncludingOddPaths) {
  PathInterner p;
  for (std::string s : {"/", "/a//b", "/trailing/", "relative/path", "/new\nline", "/bad\xff"}) {
    PathId id = p.intern(s);
    EXPECT_EQ(p.str(id), s);
  }
  EXPECT_EQ(p.intern(""), kNoPath);
  EXPECT_EQ(p.str(kNoPath), "");
}

TEST(PathInterner, SplittingANodeKeepsEveryIdAndPath) {
  PathInterner p;
  PathId whole = p.intern("/a/b/c/d");
  EXPECT_EQ(p.live_nodes(), 1u) << "a path of its own is one node";
  PathId mid = p.intern("/a/b");  // ends inside the node: splits it
  PathId side = p.intern("/a/x/y");  // diverges inside the prefix: splits again
  PathId root = p.intern("/");
  PathId slashes = p.intern("//a");
  EXPECT_EQ(p.str(whole), "/a/b/c/d") << "the first id still names its path";
  EXPECT_EQ(p.str(mid), "/a/b");
  EXPECT_EQ(p.str(side), "/a/x/y");
  EXPECT_EQ(p.str(root), "/");
  EXPECT_EQ(p.str(slashes), "//a");
  EXPECT_EQ(p.intern("/a/b/c/d"), whole);
  EXPECT_EQ(p.intern("/a/b"), mid);
  EXPECT_EQ(p.live_nodes(), 6u) << "a, b, c/d, x/y, \"\" (/), a under it, and nothing else";
  for (PathId id : {whole, whole, mid, mid, side, root, slashes}) p.release(id);
  EXPECT_EQ(p.live_nodes(), 0u);
}

// Against a plain map of path -> references: random paths over few components (so that they
// share prefixes, end inside each other, and split nodes), interned and released at random.
TEST(PathInterner, MatchesAReferenceUnderRandomChurn) {
  PathInterner p;
  std::map<std::string, std::pair<PathId, int>> held;
  std::mt19937 rng(15);
  const char* parts[] = {"a", "b", "", "kube-api-access-x", "..data", "\xff\n"};
  for (int step = 0; step < 50000; step++) {
    if (held.empty() || rng() % 3) {
      std::string path;
      for (int n = 1 + rng() % 5; n > 0; n--) path += std::string("/") + parts[rng() % 6];
      if (rng() % 8 == 0) path = path.substr(1);  // some not absolute
      if (path.empty()) continue;
      PathId id = p.intern(path);
      auto [it, fresh] = held.try_emplace(path, id, 0);
      ASSERT_EQ(it->second.first, id) << "one id per path while referenced: " << path;
      it->second.second++;
    } else {
      auto it = std::next(held.begin(), rng() % held.size());
      p.release(it->second.first);
      if (--it->second.second == 0) held.erase(it);
    }
    if (step % 997 == 0) {
      for (const auto& [path, ref] : held) {
        ASSERT_EQ(p.str(ref.first), path);
      }
    }
  }
  for (const auto& [path, ref] : held)
    for (int i = 0; i < ref.second; i++) p.release(ref.first);
  EXPECT_EQ(p.live_nodes(), 0u) << "nothing leaked, nothing freed twice";
}

// Pods' volume tails repeat ("..data/token"): each distinct name is stored once, and the
// bytes account exactly: nothing lost to splits, all of it given back when the paths go.
TEST(PathInterner, StoresEachDistinctNameOnce) {
  PathInterner p;
  std::vector<PathId> ids;
  auto uid = [](int i) { return fmt::format("{:08}-0000-4000-8000-000000000000", i); };  // 36 bytes
  for (int i = 0; i < 1000; i++) {
    ids.push_back(p.intern("/pods/" + uid(i) + "/volumes/kube-api-access/..data/token"));
    ids.push_back(p.intern("/pods/" + uid(i) + "/volumes/kube-api-access/..data/ca.crt"));
  }
  for (int i = 0; i < 1000; i++) {
    ASSERT_EQ(p.str(ids[2 * i]), "/pods/" + uid(i) + "/volumes/kube-api-access/..data/token");
    ASSERT_EQ(p.str(ids[2 * i + 1]), "/pods/" + uid(i) + "/volumes/kube-api-access/..data/ca.crt");
  }
  auto stored = [](size_t len) { return 4 + len + 1; };  // reference count, bytes, NUL
  size_t pod = stored(36 + std::string_view("/volumes/kube-api-access/..data").size());
  EXPECT_EQ(p.name_bytes(), stored(0) + stored(4) + 1000 * pod + stored(5) + stored(6))
      << "the roots' name, \"pods\", one per pod, \"token\" and \"ca.crt\" once";
  EXPECT_EQ(p.arena_bytes() - p.name_bytes(), pod + std::string_view("pods/").size())
      << "dead: only the first pod's name, split at \"pods\" after later names; every other split's whole "
         "was the newest name, and its room was reused at once";
  EXPECT_EQ(p.live_nodes(), 1u + 1000 * 3);
  for (PathId id : ids) p.release(id);
  EXPECT_EQ(p.live_nodes(), 0u);
  EXPECT_EQ(p.name_bytes(), stored(0)) << "every name given back";
}

// Names freed out of order leave dead bytes: compaction moves the live (and shared) names and
// every path still reads back, and the table stays bounded.
TEST(PathInterner, CompactionMovesSharedNamesIntact) {
  PathInterner p;
  std::vector<std::pair<PathId, std::string>> held;
  for (int i = 0; i < 200000; i++) {
    std::string kept = fmt::format("/var/lib/kubelet/pods/{}/volumes/x/..data/token", i % 5000);
    std::string gone = fmt::format("/var/lib/kubelet/pods/{}/volumes/kube-api-access-{}", i, i);
    PathId g = p.intern(gone);
    held.emplace_back(p.intern(kept), kept);  // after `gone`: gone's name is not the newest
    p.release(g);
    if (held.size() > 100) {
      p.release(held.front().first);
      held.erase(held.begin());
    }
  }
  for (const auto& [id, path] : held) ASSERT_EQ(p.str(id), path);
  for (const auto& [id, path] : held) EXPECT_EQ(p.intern(path), id) << "found again after compaction";
  EXPECT_LT(p.memory_bytes(), 4u << 20) << "dead names are compacted away";
  for (const auto& [id, path] : held) p.release(id), p.release(id);
  EXPECT_EQ(p.live_nodes(), 0u);
}

// The table's memory figure (the daemon's metric, the bench's "accounted") counts the huge-page
// arrays as mapped: at a million names both hash sets need 10 MiB and a few bytes, which is
// six huge pages each, not five. Compared with what the allocator mapped for this interner.
TEST(PathInterner, MemoryFigureMatchesWhatWasMapped) {
  size_t before = huge_block_bytes();
  {
    PathInterner p;
    for (int i = 0; i < 1000000; i++) p.intern(fmt::format("/p/{}", i));
    size_t mapped = huge_block_bytes() - before;
    if (kHugeBlockThreshold != kHugePage) {  // AddressSanitizer: every block is malloc's
      EXPECT_EQ(mapped, 0u);
      return;
    }
    ASSERT_GT(mapped, 20u << 20) << "the sets, nodes and names are huge blocks at this size";
    EXPECT_GE(p.memory_bytes(), mapped);
    EXPECT_LT(p.memory_bytes() - mapped, 256u << 10) << "beyond the huge blocks: only small vectors";
  }
  EXPECT_EQ(huge_block_bytes(), before) << "all given back";
}

TEST(PathInterner, ChurnDoesNotGrowWithoutBound) {
  PathInterner p;
  for (int i = 0; i < 200000; i++) {
    PathId id = p.intern("/var/lib/kubelet/pods/" + std::to_string(i) + "/volumes/kube-api-access");
    p.release(id);
  }
  EXPECT_EQ(p.live_nodes(), 0u);
  EXPECT_LT(p.memory_bytes(), 4u << 20) << "dead names are compacted away";
}

// The churn above with the shared prefix held by another watch: release() then stops at a
// node that is still referenced, and must still compact what it freed below it.
TEST(PathInterner, ChurnUnderAHeldPrefixDoesNotGrowWithoutBound) {
  PathInterner p;
  PathId held = p.intern("/var/lib/kubelet/pods");
  for (int i = 0; i < 200000; i++) {
    PathId id = p.intern("/var/lib/kubelet/pods/" + std::to_string(i) + "/volumes/kube-api-access");
    p.release(id);
  }
  EXPECT_EQ(p.live_nodes(), 1u);
  EXPECT_LT(p.memory_bytes(), 4u << 20) << "dead names are compacted away";
  EXPECT_EQ(p.str(held), "/var/lib/kubelet/pods") << "and the held name survives compaction";
}

// Past its limits the table stores no new paths (the watch shows none) and counts them; paths
// it holds are still taken, dead names are compacted to make room, and releases make room.
TEST(PathInterner, RefusesPathsPastItsLimitsAndCountsThem) {
  PathInterner p(/*max_nodes=*/6, /*max_arena=*/1 << 20);
  PathId a = p.intern("/a/one"), b = p.intern("/a/two");  // nodes: 0, 1, a, one, two
  EXPECT_EQ(p.intern("/a/one"), a) << "a stored path costs no room";
  PathId c = p.intern("/b/three");  // the sixth node
  EXPECT_EQ(p.str(c), "/b/three");
  EXPECT_EQ(p.intern("/c/four"), kNoPath) << "a seventh node would not fit";
  EXPECT_EQ(p.intern("/a/three"), kNoPath) << "nor a new child of a stored node";
  EXPECT_EQ(p.refused(), 2u);
  EXPECT_EQ(p.str(a), "/a/one");
  for (PathId id : {a, a, b}) p.release(id);
  EXPECT_EQ(p.str(p.intern("/c/four")), "/c/four") << "room again after releases";
  EXPECT_EQ(p.live_nodes(), 2u);

  PathInterner small(/*max_nodes=*/100, /*max_arena=*/40);
  EXPECT_EQ(small.intern("/" + std::string(40, 'x')), kNoPath) << "a name past the arena limit";
  EXPECT_EQ(small.refused(), 1u);
  PathId a10 = small.intern("/" + std::string(10, 'a'));
  PathId b3 = small.intern("/bbb");
  small.release(a10);  // 15 dead bytes (not the newest name: not given back at once), too few to compact on their own
  PathId big = small.intern("/" + std::string(20, 'b'));    // fits once they are compacted away
  EXPECT_EQ(small.str(big), "/" + std::string(20, 'b'));
  EXPECT_EQ(small.str(b3), "/bbb");
  EXPECT_EQ(small.refused(), 1u);
}

TEST(RecentAdds, AnswersSinceWithTheLatestMarkAndForgets) {
  RecentAdds r;
  r.note_instance(0xa, 10);
  r.note_watch(0xa, 1, 20);
  r.note_watch(0xa, 1, 15);  // out of order (another CPU): the latest still counts
  EXPECT_TRUE(r.since(0xa, 1, 20));
  EXPECT_FALSE(r.since(0xa, 1, 21));
  EXPECT_FALSE(r.since(0xa, 2, 0)) << "never added";
  EXPECT_TRUE(r.since(0xa, 0, 10)) << "wd 0: the instance's first sight";
  r.note_watch(0xa, 2, 30);  // after a query: indexed on the next one
  EXPECT_TRUE(r.since(0xa, 2, 30));
  r.forget_before(25);
  EXPECT_FALSE(r.since(0xa, 1, 0));
  EXPECT_FALSE(r.instance_seen(0xa).has_value());
  EXPECT_TRUE(r.since(0xa, 2, 30));
}

// A hostile loop re-adding the same two watches appends a mark each time: the log folds to one
// mark per watch, so memory stays bounded by the watches, not by the calls.
TEST(RecentAdds, ReAddingInALoopStaysBounded) {
  RecentAdds r;
  for (uint64_t i = 1; i <= 5'000'000; i++) r.note_watch(0xb, 1 + (i & 1), i);
  EXPECT_LT(r.memory_bytes(), 64u << 20) << "at most two fold thresholds of marks";
  EXPECT_TRUE(r.since(0xb, 1, 5'000'000));
  EXPECT_TRUE(r.since(0xb, 2, 4'999'999));
  EXPECT_FALSE(r.since(0xb, 2, 5'000'000));
}

// Steady churn refills the log each interval: forgetting keeps its capacity while two intervals
// in a row needed it (regrowing cost page faults per add); a one-off burst is given back at once.
TEST(RecentAdds, ForgettingKeepsWhatSteadyChurnRefills) {
  RecentAdds r;
  uint64_t ts = 1;
  auto interval = [&] {
    for (int i = 1; i <= 100'000; i++) r.note_watch(0xc, i, ts++);
    size_t busy = r.memory_bytes();
    r.forget_before(ts);
    return busy;
  };
  size_t burst = interval();
  EXPECT_LT(r.memory_bytes(), burst / 8) << "one busy interval is a burst: given back";
  interval();
  size_t busy = interval();
  EXPECT_GE(r.memory_bytes(), busy) << "two busy intervals in a row: steady churn, kept";
  EXPECT_FALSE(r.since(0xc, 5, 0));
  r.forget_before(ts);
  EXPECT_LT(r.memory_bytes(), busy / 8) << "an interval that held nothing gives it back";
}

// The instances first seen follow the same rule (a pod churn creates and closes instances).
TEST(RecentAdds, ForgettingKeepsTheInstancesSteadyChurnRefills) {
  RecentAdds r;
  uint64_t ts = 1;
  auto interval = [&] {
    for (uint64_t g = 1; g <= 100'000; g++) r.note_instance(g << 8, ts++);
    size_t busy = r.memory_bytes();
    r.forget_before(ts);
    return busy;
  };
  size_t burst = interval();
  EXPECT_LT(r.memory_bytes(), burst / 8) << "one busy interval is a burst: given back";
  interval();
  size_t busy = interval();
  EXPECT_GE(r.memory_bytes(), busy) << "two busy intervals in a row: steady churn, kept";
  EXPECT_FALSE(r.instance_seen(5 << 8).has_value());
  r.forget_before(ts);
  EXPECT_LT(r.memory_bytes(), busy / 8) << "an interval that held nothing gives it back";
}

// A reconcile asks about marks since its snapshot began; a later question reaching further
// back still sees the older marks.
TEST(RecentAdds, AQuestionFurtherBackSeesOlderMarks) {
  RecentAdds r;
  r.note_watch(0xd, 1, 10);
  r.note_watch(0xd, 2, 50);
  EXPECT_FALSE(r.since(0xd, 1, 40));
  EXPECT_TRUE(r.since(0xd, 2, 40));
  EXPECT_TRUE(r.since(0xd, 1, 5)) << "indexed again from 5";
  r.note_watch(0xd, 3, 60);
  EXPECT_TRUE(r.since(0xd, 3, 55));
  EXPECT_TRUE(r.since(0xd, 1, 10));
}

Event ev(EventType t, uint64_t group, uint64_t seq, int wd, uint64_t ts, std::string path = "") {
  Event e;
  e.type = t;
  e.instance = InstanceId{group, seq};
  e.wd = wd;
  e.ts_mono_ns = ts;
  e.task = TaskInfo{100, 100, 0, 0, "w"};
  e.fd = 3;
  e.ino = 1000 + wd;
  e.dev = KernelDev{(0u << 20) | 40};
  e.mask = IN_MODIFY;
  e.path = std::move(path);
  return e;
}

TEST(WatchTable, EventTransitions) {
  WatchTable t;
  t.apply(ev(EventType::InstanceCreate, 0xa, 1, -1, 1));
  t.apply(ev(EventType::Add, 0xa, 1, 1, 2, "/p/1"));
  t.apply(ev(EventType::Add, 0xa, 1, 2, 3, "/p/2"));
  EXPECT_EQ(t.watch_count(), 2u);
  Event up = ev(EventType::Update, 0xa, 1, 1, 4, "/other/name");
  up.mask = IN_MODIFY | IN_ATTRIB;
  t.apply(up);
  const auto& w1 = t.instances().at(0xa).watches.at(1);
  EXPECT_EQ(w1.mask, (uint32_t)(IN_MODIFY | IN_ATTRIB));
  EXPECT_EQ(t.path_of(w1), "/p/1") << "an update keeps the add-time path";
  t.apply(ev(EventType::Remove, 0xa, 1, 2, 5));
  EXPECT_EQ(t.watch_count(), 1u);
  // The group pointer is reused by a new instance: the old one is gone with its watches.
  auto derived = t.apply(ev(EventType::InstanceCreate, 0xa, 2, -1, 6));
  ASSERT_EQ(derived.size(), 2u);
  EXPECT_EQ(derived[0].type, EventType::Remove);
  EXPECT_EQ(derived[0].reason, Reason::InstanceClosed);
  EXPECT_EQ(derived[0].path, "/p/1");
  EXPECT_EQ(derived[1].type, EventType::InstanceDestroy);
  EXPECT_EQ(t.watch_count(), 0u);
  EXPECT_EQ(t.instances().at(0xa).id.seq, 2u);
  EXPECT_EQ(t.paths().live_nodes(), 0u) << "no path leaked";
}

// Hooked backends: a removal can reach the stream before its add. Whatever wd order the
// removals came in, an add with a tombstoned wd stays out, and one above every tombstone goes in.
TEST(WatchTable, ARemovalThatArrivedBeforeItsAddKeepsTheWatchOut) {
  WatchTable t;
  t.apply(ev(EventType::InstanceCreate, 0xa, 1, -1, 1));
  t.apply(ev(EventType::Remove, 0xa, 1, 5, 10));
  t.apply(ev(EventType::Remove, 0xa, 1, 3, 11));  // below the highest tombstoned wd
  t.apply(ev(EventType::Remove, 0xb, 1, 9, 11));  // another instance's
  t.apply(ev(EventType::Add, 0xa, 1, 5, 9, "/p/5"));
  t.apply(ev(EventType::Add, 0xa, 1, 3, 8, "/p/3"));
  EXPECT_EQ(t.watch_count(), 0u) << "both removals stand";
  t.apply(ev(EventType::Add, 0xa, 1, 6, 12, "/p/6"));
  t.apply(ev(EventType::Add, 0xa, 1, 4, 13, "/p/4"));
  EXPECT_EQ(t.watch_count(), 2u);
  t.forget_recent_before(100);
  t.apply(ev(EventType::Add, 0xa, 1, 5, 101, "/p/5"));  // its tombstone is forgotten
  EXPECT_EQ(t.watch_count(), 3u);
  t.apply(ev(EventType::Remove, 0xa, 1, 2, 102));  // after the prune: the bound is rebuilt
  t.apply(ev(EventType::Add, 0xa, 1, 2, 101, "/p/2"));
  EXPECT_EQ(t.watch_count(), 3u);
}

SnapInstance snap_inst(uint64_t group, std::vector<int> wds) {
  SnapInstance si;
  si.group = group;
  si.holders = {Holder{100, 3, "w", 0, 0}};
  for (int wd : wds) {
    SnapWatch sw;
    sw.wd = wd;
    sw.ino = 1000 + wd;
    sw.dev = KernelDev{40};
    sw.mask = IN_MODIFY;
    sw.path = "/snap/" + std::to_string(wd);
    sw.path_source = PathSource::Mount;
    si.watches.push_back(sw);
  }
  return si;
}

class FixedReason : public RemovalClassifier {
 public:
  Reason classify(const InstanceEntry&, int32_t, const WatchEntry&, const std::string&) override { return Reason::InodeDeleted; }
};

TEST(WatchTable, SeedThenReconcileFindsWhatEventsMissed) {
  WatchTable t;
  Snapshot s0;
  s0.instances = {snap_inst(0xa, {1, 2, 3})};
  EXPECT_TRUE(t.reconcile(s0, 100, nullptr, /*emit=*/false).empty()) << "seeding emits nothing";
  EXPECT_EQ(t.watch_count(), 3u);
  EXPECT_EQ(t.path_of(t.instances().at(0xa).watches.at(2)), "/snap/2");

  // wd 2 vanished without an event, wd 4 appeared without one.
  Snapshot s1;
  s1.instances = {snap_inst(0xa, {1, 3, 4})};
  FixedReason why;
  ReconcileStats st;
  auto out = t.reconcile(s1, 200, &why, true, &st);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].type, EventType::Remove);
  EXPECT_EQ(out[0].wd, 2);
  EXPECT_EQ(out[0].reason, Reason::InodeDeleted);
  EXPECT_TRUE(out[0].from_snapshot);
  EXPECT_EQ(out[1].type, EventType::Add);
  EXPECT_EQ(out[1].wd, 4);
  EXPECT_EQ(st.removed, 1u);
  EXPECT_EQ(st.added, 1u);

  // The whole instance disappears: instance_closed for each watch, then instance_destroy.
  Snapshot s2;
  out = t.reconcile(s2, 300, &why, true);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].reason, Reason::InstanceClosed);
  EXPECT_EQ(out[3].type, EventType::InstanceDestroy);
  EXPECT_EQ(t.watch_count(), 0u);
}

// The table holds the user's *watch* counter; an instance event deduced from a snapshot must
// not present it as the instance counter (user_instances / max_user_instances).
TEST(WatchTable, DeducedInstanceEventsCarryNoWatchCounter) {
  WatchTable t;
  Snapshot s0;
  SnapInstance si = snap_inst(0xa, {1});
  si.ucount = UcountInfo{5, 8192, 1000, 4026531837u};
  s0.instances = {si};
  auto out = t.reconcile(s0, 100, nullptr, true);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out[0].type, EventType::InstanceCreate);
  EXPECT_FALSE(out[0].ucount.known());
  EXPECT_EQ(out[0].ucount.max, -1);
  EXPECT_EQ(out[0].ucount.uid, 1000u) << "who is charged stays";
  EXPECT_EQ(out[1].type, EventType::Add);
  EXPECT_EQ(out[1].ucount.count, 5) << "watch events keep the watch counter";
  out = t.reconcile(Snapshot{}, 200, nullptr, true);
  ASSERT_EQ(out.back().type, EventType::InstanceDestroy);
  EXPECT_FALSE(out.back().ucount.known());
  EXPECT_EQ(out.back().ucount.max, -1);
}

TEST(WatchTable, EventsNewerThanTheSnapshotWin) {
  WatchTable t;
  Snapshot s0;
  s0.instances = {snap_inst(0xa, {1, 2})};
  t.reconcile(s0, 100, nullptr, false);
  // While the next snapshot was being taken (it started at 200): wd 3 was added at 250 and
  // wd 1 removed at 260; the snapshot still shows wd 1 and not wd 3.
  t.apply(ev(EventType::Add, 0xa, 0, 3, 250, "/p/3"));
  t.apply(ev(EventType::Remove, 0xa, 0, 1, 260));
  Snapshot s1;
  s1.instances = {snap_inst(0xa, {1, 2})};
  auto out = t.reconcile(s1, 200, nullptr, true);
  EXPECT_TRUE(out.empty()) << "neither resurrected nor removed: " << out.size();
  EXPECT_EQ(t.watch_count(), 2u);
  EXPECT_TRUE(t.instances().at(0xa).watches.count(3));
  EXPECT_FALSE(t.instances().at(0xa).watches.count(1));
  // A later snapshot agrees with the events: nothing to correct.
  Snapshot s2;
  s2.instances = {snap_inst(0xa, {2, 3})};
  EXPECT_TRUE(t.reconcile(s2, 400, nullptr, true).empty());
}

TEST(WatchTable, TruncatedInstancesAreNotJudgedForRemovals) {
  WatchTable t;
  Snapshot s0;
  s0.instances = {snap_inst(0xa, {1, 2, 3})};
  t.reconcile(s0, 100, nullptr, false);
  Snapshot s1;
  s1.instances = {snap_inst(0xa, {1})};
  s1.instances[0].truncated = true;
  EXPECT_TRUE(t.reconcile(s1, 200, nullptr, true).empty());
  EXPECT_EQ(t.watch_count(), 3u);
}

TEST(WatchTable, TruncatedPathsStayMarkedAndAreFilledWhenASnapshotNamesThemWhole) {
  WatchTable t;
  t.apply(ev(EventType::InstanceCreate, 0xa, 1, -1, 1));
  Event add = ev(EventType::Add, 0xa, 1, 1, 2, "\xe2\x80\xa6/D/leaf");
  add.flags = INOTRACE_F_PATH_TRUNCATED;
  t.apply(add);
  const WatchEntry& w = t.instances().at(0xa).watches.at(1);
  EXPECT_TRUE(w.path_truncated);
  // A removal deduced from the table carries the mark.
  Snapshot cut;
  cut.instances = {snap_inst(0xa, {})};
  auto gone = t.reconcile(cut, 100, nullptr, true);
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_TRUE(gone[0].flags & INOTRACE_F_PATH_TRUNCATED);
  EXPECT_EQ(gone[0].path, "\xe2\x80\xa6/D/leaf");
  // Added again, then a snapshot that names it whole replaces the tail.
  t.apply(ev(EventType::Add, 0xa, 1, 2, 200, "x"));
  Event again = ev(EventType::Add, 0xa, 1, 1, 201, "\xe2\x80\xa6/D/leaf");
  again.flags = INOTRACE_F_PATH_TRUNCATED;
  t.apply(again);
  Snapshot whole;
  whole.instances = {snap_inst(0xa, {1, 2})};
  whole.instances[0].watches[0].path = "/deep/D/leaf";
  whole.instances[0].watches[1].path_truncated = true;  // a tail never replaces a path
  t.reconcile(whole, 300, nullptr, false);
  const WatchEntry& w1 = t.instances().at(0xa).watches.at(1);
  EXPECT_EQ(t.path_of(w1), "/deep/D/leaf");
  EXPECT_FALSE(w1.path_truncated);
  EXPECT_EQ(t.path_of(t.instances().at(0xa).watches.at(2)), "x");
}

// Issue 11 item 14: an add whose mark was gone at its exit is matched by exactly one removal.
TEST(WatchTable, VanishedAddIsMatchedByOneDeducedRemoval) {
  WatchTable t;
  t.apply(ev(EventType::InstanceCreate, 0xa, 1, -1, 1));
  Event add = ev(EventType::Add, 0xa, 1, 7, 2, "/p/raced");
  add.flags = INOTRACE_F_MARK_GONE;
  add.ino = 0, add.dev = KernelDev{}, add.mask = 0;
  add.req_mask = IN_CREATE | IN_ONESHOT | IN_ONLYDIR;
  EXPECT_TRUE(t.apply(add).empty());
  EXPECT_EQ(t.watch_count(), 0u) << "the table never holds a watch that was gone at its add";
  auto gone = t.removal_of_vanished_add(add);
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->type, EventType::Remove);
  EXPECT_EQ(gone->instance, add.instance);
  EXPECT_EQ(gone->wd, 7);
  EXPECT_EQ(gone->path, "/p/raced");
  EXPECT_TRUE(gone->from_snapshot);
  EXPECT_EQ(gone->pid_source, PidSource::Adder);
  EXPECT_EQ(gone->task.pid, 100u);
  EXPECT_EQ(gone->mask, (uint32_t)(IN_CREATE | IN_ONESHOT));
  EXPECT_FALSE(gone->reason_certain());
  EXPECT_EQ(gone->possible_reasons, reason_bit(Reason::InodeDeleted) | reason_bit(Reason::Unmount) |
                                         reason_bit(Reason::InstanceClosed) | reason_bit(Reason::Oneshot));
  t.apply(*gone);
  EXPECT_FALSE(t.removal_of_vanished_add(add)) << "matched once only";

  // A live removal of it came first: nothing to add.
  Event add2 = add;
  add2.wd = 8;
  t.apply(ev(EventType::Remove, 0xa, 1, 8, 3));
  EXPECT_FALSE(t.removal_of_vanished_add(add2));
  // Adds whose mark was read, and updates, are matched by the table's own removals.
  EXPECT_FALSE(t.removal_of_vanished_add(ev(EventType::Add, 0xa, 1, 9, 4, "/p/9")));
  Event up = add;
  up.type = EventType::Update;
  up.wd = 10;
  EXPECT_FALSE(t.removal_of_vanished_add(up));
}

class ClosedMaybeDeleted : public RemovalClassifier {
 public:
  Reason classify(const InstanceEntry&, int32_t, const WatchEntry&, const std::string&) override { return Reason::Unknown; }
  ReasonSet also_possible(const InstanceEntry&, const WatchEntry&, const std::string& path, Reason chosen,
                          bool instance_gone) override {
    EXPECT_EQ(chosen, Reason::InstanceClosed);
    EXPECT_TRUE(instance_gone);
    return path == "/snap/2" ? reason_bit(Reason::InodeDeleted) : 0;
  }
};

// Issue 11 items 15 and 18: a closed instance's removals say when another reason was possible,
// and whose pid they carry.
TEST(WatchTable, DeducedRemovalsSayWhenUncertainAndWhosePid) {
  WatchTable t;
  Snapshot s0;
  s0.instances = {snap_inst(0xa, {1, 2})};
  t.reconcile(s0, 100, nullptr, false);
  ClosedMaybeDeleted why;
  auto out = t.reconcile(Snapshot{}, 200, &why, true);
  ASSERT_EQ(out.size(), 3u);
  for (const auto& e : out) {
    EXPECT_EQ(e.pid_source, PidSource::LastHolder) << "the only holder the snapshot saw";
    EXPECT_EQ(e.task.pid, 100u);
    if (e.type != EventType::Remove) continue;
    EXPECT_EQ(e.reason, Reason::InstanceClosed);
    if (e.wd == 2) {
      EXPECT_FALSE(e.reason_certain());
      EXPECT_EQ(e.possible_reasons, reason_bit(Reason::InstanceClosed) | reason_bit(Reason::InodeDeleted));
    } else {
      EXPECT_TRUE(e.reason_certain());
    }
  }

  // Known only from events: the adder, which may have left the instance to a forked child.
  t.apply(ev(EventType::InstanceCreate, 0xb, 1, -1, 300));
  t.apply(ev(EventType::Add, 0xb, 1, 1, 301, "/p/1"));
  out = t.reconcile(Snapshot{}, 400, nullptr, true);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].pid_source, PidSource::Adder);
  EXPECT_FALSE(out[0].reason_certain()) << "nothing was checked: every unhooked cause stays possible";

  // Shared by two processes at the last snapshot: the pid is one of them.
  Snapshot s1;
  s1.instances = {snap_inst(0xc, {1})};
  s1.instances[0].holders.push_back(Holder{101, 3, "child", 0, 0});
  t.reconcile(s1, 500, nullptr, false);
  out = t.reconcile(Snapshot{}, 600, nullptr, true);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out[0].pid_source, PidSource::OneOfHolders);
}

// Issue 11 item 9: a digest snapshot that agrees with the table spares the full one.
TEST(WatchTable, DigestSnapshotConfirmsOnlyAnIdenticalTable) {
  WatchTable t;
  Snapshot s0;
  s0.instances = {snap_inst(0xa, {1, 2})};
  t.reconcile(s0, 100, nullptr, false);
  auto digests_of = [](const Snapshot& full) {
    Snapshot d;
    d.digests_only = true;
    for (const auto& si : full.instances) {
      SnapInstance di = si;
      di.watches.clear();
      for (const auto& w : si.watches) di.digest ^= inotrace_watch_digest(w.wd, w.mask);
      di.digest_watches = si.watches.size();
      d.instances.push_back(di);
    }
    return d;
  };
  EXPECT_FALSE(t.confirm(s0)) << "a full snapshot is no digest";
  EXPECT_TRUE(t.confirm(digests_of(s0)));
  Snapshot changed = s0;
  changed.instances[0].watches[1].mask |= IN_ATTRIB;
  EXPECT_FALSE(t.confirm(digests_of(changed))) << "a mask changed";
  changed = s0;
  changed.instances[0].watches[1].wd = 3;  // (a target never changes under a wd: not digested)
  EXPECT_FALSE(t.confirm(digests_of(changed))) << "one watch replaced by another";
  changed = s0;
  changed.instances[0].watches.pop_back();
  EXPECT_FALSE(t.confirm(digests_of(changed))) << "a watch vanished";
  changed = s0;
  changed.instances[0].holders.push_back(Holder{101, 4, "child", 0, 0});
  EXPECT_FALSE(t.confirm(digests_of(changed))) << "a new holder";
  changed = s0;
  changed.instances.push_back(snap_inst(0xb, {}));
  EXPECT_FALSE(t.confirm(digests_of(changed))) << "a new instance";
  EXPECT_FALSE(t.confirm(Snapshot{.digests_only = true})) << "the instance is gone";
}

// Issue 11 item 9: the kernel's per-user watch counts confirm an idle table without a mark read.
TEST(WatchTable, UserWatchCountsConfirmOnlyAMatchingTable) {
  WatchTable t;
  Snapshot s0;
  s0.instances = {snap_inst(0xa, {1, 2}), snap_inst(0xb, {1})};
  for (auto& si : s0.instances) si.ucount = UcountInfo{3, 8192, 1000, 4026531837u};
  t.reconcile(s0, 100, nullptr, false);
  auto counts_of = [](const Snapshot& full, int64_t kernel_count) {
    Snapshot c;
    c.counts_only = true;
    for (const auto& si : full.instances) {
      SnapInstance ci = si;
      ci.watches.clear();
      ci.ucount.count = kernel_count;
      c.instances.push_back(ci);
    }
    return c;
  };
  EXPECT_TRUE(t.confirm_counts(counts_of(s0, 3)));
  EXPECT_FALSE(t.confirm_counts(counts_of(s0, 2))) << "a watch vanished without an event";
  EXPECT_FALSE(t.confirm_counts(counts_of(s0, 4))) << "a watch appeared without an event";
  Snapshot other = counts_of(s0, 3);
  other.instances[1].holders = {Holder{101, 5, "child", 0, 0}};
  EXPECT_FALSE(t.confirm_counts(other)) << "another holder";
  other = counts_of(s0, 3);
  other.instances.pop_back();
  EXPECT_FALSE(t.confirm_counts(other)) << "an instance closed";
  EXPECT_FALSE(t.confirm_counts(s0)) << "a full snapshot is no count snapshot";
}

}  // namespace
}  // namespace inotrace

namespace inotrace {
namespace {

// --stacks: each watch keeps the stack that added it, the instance the one of its inotify_init;
// the deduced closes hand both on.
TEST(WatchTable, DeducedClosesCarryTheCreatingStacks) {
  auto stack_named = [](const char* symbol) {
    CreationStack s;
    s.frames.push_back(StackFrame{0x1000, nullptr, 0, symbol, 0});
    return std::make_shared<const CreationStack>(std::move(s));
  };
  auto init_stack = stack_named("open_instance"), add_stack = stack_named("add_watch");
  WatchTable t;
  Event create = ev(EventType::InstanceCreate, 0xa, 7, 0, 100);
  create.stack = init_stack;
  t.apply(create);
  Event add = ev(EventType::Add, 0xa, 7, 1, 110, "/x");
  add.stack = add_stack;
  t.apply(add);
  EXPECT_EQ(t.instances().at(0xa).creation_stack, init_stack);
  Event update = ev(EventType::Update, 0xa, 7, 1, 120, "/x");
  update.stack = init_stack;  // an update names no creator: the add's stack stays
  t.apply(update);

  auto out = t.reconcile(Snapshot{}, 200, nullptr, true);  // the instance is gone
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].type, EventType::Remove);
  EXPECT_EQ(out[0].stack, add_stack);
  EXPECT_EQ(out[1].type, EventType::InstanceDestroy);
  EXPECT_EQ(out[1].stack, init_stack);
}

}  // namespace
}  // namespace inotrace
