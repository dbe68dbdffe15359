// TraceSession's seed / drain / reconcile logic without root: a scripted event source and a
// scripted kernel truth (snapshots) stand in for the tracer and the snapshot taker.
#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <thread>

#include "support/fake_node_view.h"
#include "session/trace_session.h"
#include "util/wall_clock.h"

namespace inotrace {
namespace {

constexpr uint64_t kGroup = 0xffff888000001000ull;

// Events queued by the test, handed over by poll/drain (stamped when handed over, like records
// read from the ring buffer).
class ScriptedEvents : public EventSource {
 public:
  std::deque<Event> queued;
  TracerCounters counts;
  Backend backend() const override { return Backend::Tracepoint; }
  int poll(int, const Callback& cb) override { return drain(cb); }
  int drain(const Callback& cb) override {
    int n = 0;
    while (!queued.empty()) {
      Event ev = std::move(queued.front());
      queued.pop_front();
      if (!ev.ts_mono_ns) ev.ts_mono_ns = WallClock::monotonic_now_ns();
      cb(ev);
      n++;
    }
    return n;
  }
  TracerCounters counters() const override { return counts; }
  void wait(int /*timeout_ms*/) override {}
  const std::string& last_decode_error() const override { return none_; }

 private:
  std::string none_;
};

// The kernel's truth: one instance's watches (wd -> path), as a full snapshot gives them. No
// digest or count snapshots: every check is a full one.
class ScriptedKernel : public SnapshotProvider {
 public:
  std::map<int32_t, std::string> watches;
  bool instance_open = true;  // false: the instance was closed, nothing is listed
  uint32_t holder_pid = 4242;
  int full_snapshots = 0;
  Snapshot take(bool) override {
    full_snapshots++;
    Snapshot s;
    s.source = "scripted";
    s.taken_mono_ns = WallClock::monotonic_now_ns();
    if (!instance_open) return s;
    SnapInstance inst;
    inst.group = kGroup;
    inst.id = "i";
    inst.holders.push_back(Holder{holder_pid, 3, holder_pid == 4242 ? "watcher" : "stranger", 1000, 0, false});
    for (const auto& [wd, path] : watches) {
      SnapWatch w;
      w.wd = wd;
      w.ino = 100 + wd;
      w.dev = KernelDev{8u << 20 | 1};
      w.mask = 0x2;  // IN_MODIFY
      w.path = path;
      w.path_source = PathSource::Syscall;
      inst.watches.push_back(w);
    }
    s.instances.push_back(inst);
    return s;
  }
  std::optional<Snapshot> take_digests() override { return std::nullopt; }
  std::optional<Snapshot> take_counts() override { return std::nullopt; }
  std::string source_name() const override { return "scripted"; }
};

Event add(int32_t wd, const std::string& path) {
  Event e;
  e.type = EventType::Add;
  e.task.pid = 4242;
  e.task.comm = "watcher";
  e.instance = InstanceId{kGroup, 0};
  e.wd = wd;
  e.ino = 100 + wd;
  e.dev = KernelDev{8u << 20 | 1};
  e.mask = 0x2;
  e.path = path;
  e.path_source = PathSource::Syscall;
  return e;
}

struct Harness {
  ScriptedEvents* events = nullptr;
  ScriptedKernel* kernel = nullptr;
  std::unique_ptr<TraceSession> session;
  std::vector<Event> delivered;

  // The kernel holds `before` when the session starts; `during` arrive while it seeds.
  explicit Harness(std::map<int32_t, std::string> before, std::vector<Event> during = {}, double interval_s = 0.01,
                   const std::function<void(SessionOptions&)>& tweak = {}) {
    auto ev = std::make_unique<ScriptedEvents>();
    auto shared_kernel = std::make_shared<ScriptedKernel>();
    events = ev.get();
    kernel = shared_kernel.get();
    kernel->watches = std::move(before);
    for (auto& e : during) events->queued.push_back(e);
    SessionOptions opts;
    opts.reconcile_interval_s = interval_s;
    if (tweak) tweak(opts);
    session = std::make_unique<TraceSession>(
        opts, [](const std::string&) {},
        TraceSession::Sources{std::move(ev),
                              [shared_kernel](NodeView& node) -> std::unique_ptr<SnapshotProvider> {
                                return std::make_unique<Forward>(shared_kernel, node);
                              },
                              std::make_unique<FakeNodeView>()});
  }
  // The session owns its provider; the test keeps the scripted kernel.
  struct Forward : SnapshotProvider {
    std::shared_ptr<ScriptedKernel> k;
    NodeView& node;
    Forward(std::shared_ptr<ScriptedKernel> k, NodeView& node) : k(std::move(k)), node(node) {}
    Snapshot take(bool p) override {
      node.refresh(nullptr);  // as the real taker does
      return k->take(p);
    }
    std::optional<Snapshot> take_digests() override { return k->take_digests(); }
    std::optional<Snapshot> take_counts() override { return k->take_counts(); }
    std::string source_name() const override { return k->source_name(); }
  };

  void poll_after_interval() {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    session->poll(0, [&](const Event& e) { delivered.push_back(e); });
  }
  size_t watches() const { return session->table().watch_count(); }
};

TEST(TraceSessionTest, SeedTakesWhatExistedAndWhatArrivedWhileSeeding) {
  // wd 3 was added while the snapshot was taken: its event arrives, the snapshot missed it.
  Harness h({{1, "/a"}, {2, "/b"}}, {add(3, "/c")});
  EXPECT_EQ(h.kernel->full_snapshots, 1);
  EXPECT_EQ(h.watches(), 3u);
  const auto& inst = h.session->table().instances().at(kGroup);
  EXPECT_EQ(h.session->table().path_of(inst.watches.at(3)), "/c");
  EXPECT_EQ(h.session->table().path_of(inst.watches.at(1)), "/a");
}

TEST(TraceSessionTest, EventsThatArrivedWhileSeedingStartTheStream) {
  // The hooks attach before the seeding snapshot: what they saw meanwhile is delivered, once,
  // before anything later.
  Harness h({{1, "/a"}}, {add(3, "/c")}, /*interval_s=*/3600);
  h.events->queued.push_back(add(4, "/d"));
  h.session->poll(0, [&](const Event& e) { h.delivered.push_back(e); });
  ASSERT_EQ(h.delivered.size(), 2u);
  EXPECT_EQ(h.delivered[0].wd, 3);
  EXPECT_EQ(h.delivered[0].path, "/c");
  EXPECT_FALSE(h.delivered[0].from_snapshot);
  EXPECT_EQ(h.delivered[1].wd, 4);
  h.session->poll(0, [&](const Event& e) { h.delivered.push_back(e); });
  EXPECT_EQ(h.delivered.size(), 2u) << "delivered twice";
  EXPECT_EQ(h.watches(), 3u);
}

TEST(TraceSessionTest, AnAddWhoseWatchVanishedWhileSeedingComesOutWithItsRemoval) {
  // The tracepoint backend has no hook for the removal: the session matches it, while seeding
  // as live, so adds - removes in the stream stay the watches that exist.
  Event vanished = add(3, "/c");
  vanished.flags |= INOTRACE_F_MARK_GONE;
  Harness h({{1, "/a"}}, {vanished}, /*interval_s=*/3600);
  h.session->poll(0, [&](const Event& e) { h.delivered.push_back(e); });
  ASSERT_EQ(h.delivered.size(), 2u);
  EXPECT_EQ(h.delivered[0].type, EventType::Add);
  EXPECT_EQ(h.delivered[1].type, EventType::Remove);
  EXPECT_EQ(h.delivered[1].wd, 3);
  EXPECT_EQ(h.watches(), 1u);
}

// With --cgroup, a derived event is shown when its instance was seen in the filtered stream.
// While seeding, events are taken in then delivered later: an instance closed in that batch
// must still select what it derived (here the removal of its vanished add).
TEST(TraceSessionTest, AFilteredSeedingBatchKeepsWhatAClosedInstanceDerived) {
  constexpr uint64_t kOther = 0xffff888000002000ull;
  Event create;
  create.type = EventType::InstanceCreate;
  create.task = TaskInfo{4343, 4343, 1000, 77, "other"};
  create.instance = InstanceId{kOther, 5};
  create.fd = 4;
  Event vanished = add(9, "/gone");
  vanished.task = create.task;
  vanished.instance = create.instance;
  vanished.flags |= INOTRACE_F_MARK_GONE;
  Event destroy = create;
  destroy.type = EventType::InstanceDestroy;
  Harness h({{1, "/a"}}, {create, vanished, destroy}, /*interval_s=*/3600,
            [](SessionOptions& o) { o.tracer.filters.cgroup_id = 77; });
  h.session->poll(0, [&](const Event& e) { h.delivered.push_back(e); });
  ASSERT_EQ(h.delivered.size(), 4u);
  EXPECT_EQ(h.delivered[0].type, EventType::InstanceCreate);
  EXPECT_EQ(h.delivered[1].type, EventType::Add);
  EXPECT_EQ(h.delivered[2].type, EventType::Remove);
  EXPECT_TRUE(h.delivered[2].from_snapshot);
  EXPECT_EQ(h.delivered[3].type, EventType::InstanceDestroy);
}

// Filtered by pid: an instance the stream showed stays shown until a reconcile finds it closed
// (the tracepoint backend has no hook for a close); then its address is free, and a stranger's
// instance that reuses it is judged by its own holder.
TEST(TraceSessionTest, AClosedInstanceFoundByAReconcileIsNoLongerSelected) {
  Harness h({{1, "/a"}}, {}, /*interval_s=*/0.01, [](SessionOptions& o) { o.tracer.filters.pid = 4242; });
  h.events->queued.push_back(add(2, "/b"));
  h.kernel->watches[2] = "/b";
  h.session->poll(0, [&](const Event& e) { h.delivered.push_back(e); });
  ASSERT_EQ(h.delivered.size(), 1u);
  h.kernel->instance_open = false;
  h.delivered.clear();
  h.poll_after_interval();
  ASSERT_EQ(h.delivered.size(), 3u) << "both removals and the close";
  EXPECT_EQ(h.delivered[2].type, EventType::InstanceDestroy);
  h.kernel->instance_open = true;  // the address reused by another process's instance
  h.kernel->holder_pid = 5555;
  h.kernel->watches = {{7, "/x"}};
  h.delivered.clear();
  h.poll_after_interval();
  EXPECT_EQ(h.watches(), 1u) << "the table holds the stranger's watch";
  EXPECT_TRUE(h.delivered.empty()) << "pid 4242's stream shows none of pid 5555's instance, first: "
                                   << (h.delivered.empty() ? "" : h.delivered[0].path);
}

TEST(TraceSessionTest, ARemovalNoHookSawComesOutOfTheNextReconcile) {
  Harness h({{1, "/a"}, {2, "/b"}});
  h.kernel->watches.erase(2);  // e.g. /b's directory was removed: the tracepoint backend has no hook
  h.poll_after_interval();
  ASSERT_EQ(h.delivered.size(), 1u);
  const Event& e = h.delivered[0];
  EXPECT_EQ(e.type, EventType::Remove);
  EXPECT_EQ(e.wd, 2);
  EXPECT_EQ(e.path, "/b") << "named with its add-time path";
  EXPECT_TRUE(e.from_snapshot);
  EXPECT_EQ(h.watches(), 1u);
  EXPECT_EQ(h.session->counters().reconciles, 1u);
}

TEST(TraceSessionTest, LostEventsForceAFullReconcileThatRestoresTheTable) {
  Harness h({{1, "/a"}}, {}, /*interval_s=*/3600);  // no periodic reconcile in this test
  h.kernel->watches[2] = "/b";  // added while the ring buffer was full: its event is lost
  h.events->counts.ringbuf_drops = 7;
  h.session->poll(0, [&](const Event& e) { h.delivered.push_back(e); });
  EXPECT_EQ(h.session->counters().resnapshots_after_drops, 1u);
  ASSERT_EQ(h.delivered.size(), 1u);
  EXPECT_EQ(h.delivered[0].type, EventType::Add);
  EXPECT_EQ(h.delivered[0].wd, 2);
  EXPECT_TRUE(h.delivered[0].from_snapshot);
  EXPECT_EQ(h.watches(), 2u);
  // The same drops do not trigger it again.
  h.session->poll(0, [&](const Event& e) { h.delivered.push_back(e); });
  EXPECT_EQ(h.session->counters().resnapshots_after_drops, 1u);
}

TEST(TraceSessionTest, LiveEventsKeepTheTableWithoutSnapshots) {
  Harness h({}, {}, /*interval_s=*/3600);
  h.events->queued.push_back(add(5, "/x"));
  Event rm = add(5, "/elsewhere");
  rm.type = EventType::Remove;
  rm.reason = Reason::RmWatch;
  h.events->queued.push_back(rm);
  h.session->poll(0, [&](const Event& e) { h.delivered.push_back(e); });
  ASSERT_EQ(h.delivered.size(), 2u);
  EXPECT_EQ(h.delivered[1].path, "/x") << "a removal is named with the path it was added under";
  EXPECT_EQ(h.watches(), 0u);
  EXPECT_EQ(h.kernel->full_snapshots, 1) << "only the seed";
}

// Without reconciles nothing else prunes the table's recent-change marks: a poll forgets those
// older than the cross-CPU reorder margin (else a full add/rm rate kept 120 s of them, ~176 MB
// of peak RSS after 20 s of churn).
TEST(TraceSessionTest, WithoutReconcilesPollForgetsOldChangeMarks) {
  Harness h({}, {}, /*interval_s=*/0);
  uint64_t old = WallClock::monotonic_now_ns() - 5'000'000'000ull;  // before the 2 s margin
  for (int32_t wd = 1; wd <= 100'000; wd++) {
    Event a = add(wd, "/w/" + std::to_string(wd));
    a.ts_mono_ns = old;
    Event r = a;
    r.type = EventType::Remove;
    h.events->queued.push_back(a);
    h.events->queued.push_back(r);
  }
  h.session->drain([](const Event&) {});
  size_t held = h.session->table().memory_bytes();
  ASSERT_GT(held, 100'000u * 16) << "100k removals' marks held before a poll";
  h.session->poll(0, [](const Event&) {});
  EXPECT_LT(h.session->table().memory_bytes(), held / 8);
  EXPECT_EQ(h.watches(), 0u);
  EXPECT_EQ(h.kernel->full_snapshots, 1) << "only the seed";
}

}  // namespace
}  // namespace inotrace
