#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "events/creation_stack.h"
#include "events/decode.h"

namespace inotrace {
namespace {

std::vector<char> watch_record(uint16_t type, uint8_t kind, const std::string& tail) {
  inotrace_watch_event w{};
  w.hdr.type = type;
  w.hdr.ts_ns = 777;
  w.hdr.flags = INOTRACE_F_PATH_UNLINKED;
  w.task.pid = 10;
  w.task.tid = 11;
  w.task.uid = 1000;
  w.task.cgroup_id = 5;
  std::memcpy(w.task.comm, "kubelet\0garbage", 16);
  w.group = 0xabc;
  w.group_seq = 2;
  w.ino = 0x123456789ull;
  w.dev = (254u << 20) | 3;
  w.fd = 4;
  w.wd = 7;
  w.mask = 0x2;
  w.req_mask = 0x20000002;
  w.reason = INOTRACE_REASON_RM_WATCH;
  w.path_kind = kind;
  w.path_len = tail.size();
  w.ucount = {3, 8192, 1000, 4026531837u};
  std::memcpy(w.path, tail.data(), tail.size());
  w.hdr.size = INOTRACE_WATCH_EVENT_FIXED + tail.size();
  std::vector<char> buf(w.hdr.size);
  std::memcpy(buf.data(), &w, buf.size());
  return buf;
}

TEST(Decode, WatchRecordFields) {
  auto raw = watch_record(INOTRACE_REC_REMOVE, INOTRACE_PATH_USER, std::string("/tmp/x\0", 7));
  DecodeError err;
  auto ev = decode_event(raw.data(), raw.size(), &err);
  ASSERT_TRUE(ev) << err.message;
  EXPECT_EQ(ev->type, EventType::Remove);
  EXPECT_EQ(ev->ts_mono_ns, 777u);
  EXPECT_EQ(ev->flags, INOTRACE_F_PATH_UNLINKED);
  EXPECT_EQ(ev->task.comm, "kubelet");
  EXPECT_EQ(ev->task.uid, 1000u);
  EXPECT_EQ(ev->instance, (InstanceId{0xabc, 2}));
  EXPECT_EQ(ev->ino, 0x123456789ull);
  EXPECT_EQ(ev->dev.str(), "254:3");
  EXPECT_EQ(ev->wd, 7);
  EXPECT_EQ(ev->reason, Reason::RmWatch);
  EXPECT_EQ(ev->path, "/tmp/x");
  EXPECT_EQ(ev->path_source, PathSource::Syscall);
  EXPECT_EQ(ev->ucount.count, 3);
  EXPECT_EQ(ev->ucount.max, 8192);
}

TEST(Decode, DentryComponentsAreReversed) {
  auto raw = watch_record(INOTRACE_REC_REMOVE, INOTRACE_PATH_DENTRY, std::string("leaf\0mid\0top\0", 13));
  auto ev = decode_event(raw.data(), raw.size(), nullptr);
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->path, "/top/mid/leaf");
  EXPECT_EQ(ev->path_source, PathSource::Dentry);
  auto root = watch_record(INOTRACE_REC_REMOVE, INOTRACE_PATH_DENTRY, "");
  EXPECT_EQ(decode_event(root.data(), root.size(), nullptr)->path, "/") << "no components: the fs root";
}

TEST(Decode, UserPathWithoutNulIsBoundedByLength) {
  auto raw = watch_record(INOTRACE_REC_ADD, INOTRACE_PATH_USER, "abc");
  EXPECT_EQ(decode_event(raw.data(), raw.size(), nullptr)->path, "abc");
}

TEST(Decode, RejectsMalformedRecords) {
  DecodeError err;
  char tiny[8] = {};
  EXPECT_FALSE(decode_event(tiny, sizeof(tiny), &err));
  EXPECT_NE(err.message.find("shorter than its header"), std::string::npos);

  auto raw = watch_record(INOTRACE_REC_ADD, INOTRACE_PATH_USER, "abc");
  EXPECT_FALSE(decode_event(raw.data(), raw.size() - 1, &err)) << "size larger than delivered";

  auto over = watch_record(INOTRACE_REC_ADD, INOTRACE_PATH_USER, "abc");
  reinterpret_cast<inotrace_watch_event*>(over.data())->path_len = 100;
  EXPECT_FALSE(decode_event(over.data(), over.size(), &err));
  EXPECT_NE(err.message.find("overruns"), std::string::npos);

  auto bad_type = watch_record(99, INOTRACE_PATH_USER, "abc");
  EXPECT_FALSE(decode_event(bad_type.data(), bad_type.size(), &err));
  EXPECT_NE(err.message.find("unknown record type 99"), std::string::npos);

  auto bad_reason = watch_record(INOTRACE_REC_REMOVE, INOTRACE_PATH_USER, "abc");
  reinterpret_cast<inotrace_watch_event*>(bad_reason.data())->reason = 200;
  EXPECT_FALSE(decode_event(bad_reason.data(), bad_reason.size(), &err));

  inotrace_instance_event in{};
  in.hdr.type = INOTRACE_REC_INSTANCE_CREATE;
  in.hdr.size = sizeof(in) - 8;
  EXPECT_FALSE(decode_event(&in, sizeof(in), &err)) << "instance record too short";
}

TEST(Decode, InstanceRecord) {
  inotrace_instance_event in{};
  in.hdr.type = INOTRACE_REC_INIT_FAILED;
  in.hdr.size = sizeof(in);
  in.err = 24;
  in.init_flags = 04000;
  in.fd = -1;
  in.ucount = {128, 128, 0, 1};
  auto ev = decode_event(&in, sizeof(in), nullptr);
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->type, EventType::InitFailed);
  EXPECT_EQ(ev->err, 24);
  EXPECT_EQ(ev->req_mask, 04000u);
  EXPECT_EQ(ev->ucount.count, 128);
}

TEST(Decode, InstanceRecordCarriesItsCreatingStack) {
  std::vector<char> rec(INOTRACE_INSTANCE_EVENT_FIXED + 16);
  auto* in = reinterpret_cast<inotrace_instance_event*>(rec.data());
  in->hdr.type = INOTRACE_REC_INSTANCE_CREATE;
  in->hdr.size = rec.size();
  in->stack_len = 16;
  in->stack_top_word = 0x401234;
  uint64_t frames[2] = {0x7f0000001000, 0x401000};
  std::memcpy(rec.data() + INOTRACE_INSTANCE_EVENT_FIXED, frames, sizeof(frames));
  auto ev = decode_event(rec.data(), rec.size(), nullptr);
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->user_stack, (std::vector<uint64_t>{0x7f0000001000, 0x401000}));
  EXPECT_EQ(ev->stack_top_word, 0x401234u);

  DecodeError err;
  in->stack_len = 24;  // claims more than arrived
  EXPECT_FALSE(decode_event(rec.data(), rec.size(), &err));
  EXPECT_NE(err.message.find("overruns"), std::string::npos) << err.message;
  in->stack_len = 12;  // not whole addresses
  EXPECT_FALSE(decode_event(rec.data(), rec.size(), &err));
  in->stack_len = 0;
  in->stack_err = -14;
  ev = decode_event(rec.data(), rec.size(), nullptr);
  ASSERT_TRUE(ev);
  EXPECT_TRUE(ev->user_stack.empty());
  EXPECT_EQ(ev->stack_err, -14);
}

// The fuzz target's seeds are the layouts the BPF side emits today: each must decode, or the
// fuzzer starts from records the decoder rejects at the size check and explores nothing.
TEST(Decode, EveryFuzzSeedOfALiveRecordDecodes) {
  size_t seeds = 0;
  for (const auto& f : std::filesystem::directory_iterator(std::string(INOTRACE_FUZZ_CORPUS) + "/decode")) {
    std::string name = f.path().filename();
    if (name.starts_with("snap-")) continue;  // decode_snap_*'s records
    std::ifstream in(f.path(), std::ios::binary);
    std::string data{std::istreambuf_iterator<char>(in), {}};
    DecodeError err;
    auto ev = decode_event(data.data(), data.size(), &err);
    EXPECT_TRUE(ev) << name << ": " << err.message;
    if (ev && name.ends_with("-stack")) EXPECT_EQ(ev->user_stack.size(), 4u) << name;
    seeds++;
  }
  EXPECT_GE(seeds, 12u);
}

// Every field a record sets, for comparing two decodings.
std::string all_fields(const Event& e) {
  return fmt::format("{} {} {} {}/{}/{}/{}/{} {}:{} {} {} {} {} {} {} {} {} {} {}/{}/{}/{} [{}] {} [{}] {} {:x} {} {} {}",
                     (int)e.type, e.ts_mono_ns, e.flags, e.task.pid, e.task.tid, e.task.uid, e.task.cgroup_id,
                     e.task.comm, e.instance.group, e.instance.seq, e.fd, e.wd, e.ino, e.dev.raw, e.mask, e.req_mask,
                     e.err, (int)e.reason, e.possible_reasons, e.ucount.count, e.ucount.max, e.ucount.uid,
                     e.ucount.userns_ino, e.path, e.mnt_id, e.cwd_fs_path, (int)e.path_source,
                     fmt::join(e.user_stack, ","), e.stack_err, e.stack_top_word, e.from_snapshot);
}

// The tracer decodes every record into one Event: nothing of an earlier record (a longer path,
// a cwd, a stack) may survive into the next. Every seed, in both orders, with a malformed record
// between them, must decode exactly as into a fresh Event.
TEST(Decode, IntoAReusedEventEqualsAFreshDecode) {
  std::vector<std::string> records;
  for (const auto& f : std::filesystem::directory_iterator(std::string(INOTRACE_FUZZ_CORPUS) + "/decode")) {
    if (f.path().filename().string().starts_with("snap-")) continue;
    std::ifstream in(f.path(), std::ios::binary);
    records.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  auto long_path = watch_record(INOTRACE_REC_ADD, INOTRACE_PATH_USER, std::string(200, 'x') + '\0');
  records.emplace_back(long_path.begin(), long_path.end());
  ASSERT_GE(records.size(), 13u);
  Event reused;
  for (int pass = 0; pass < 2; pass++) {
    for (const std::string& r : records) {
      // What the session sets on an event after decoding: must not reach the next record.
      reused.workload = std::make_shared<Workload>();
      reused.from_snapshot = true;
      reused.possible_reasons = 0xff;
      EXPECT_FALSE(decode_event_into(r.data(), 3, reused, nullptr));  // malformed (shorter than a header)
      auto fresh = decode_event(r.data(), r.size(), nullptr);
      ASSERT_TRUE(fresh);
      ASSERT_TRUE(decode_event_into(r.data(), r.size(), reused, nullptr));
      EXPECT_EQ(all_fields(reused), all_fields(*fresh));
      EXPECT_FALSE(reused.workload);
      EXPECT_FALSE(reused.stack);
    }
    std::reverse(records.begin(), records.end());
  }
}

TEST(Decode, ResetKeepingBuffersGivesADefaultEvent) {
  Event ev;  // every field away from its default
  ev.type = EventType::Remove, ev.ts_mono_ns = 1, ev.flags = 2;
  ev.task = TaskInfo{3, 4, 5, 6, "comm"};
  ev.instance = InstanceId{7, 8}, ev.fd = 9, ev.wd = 10, ev.ino = 11, ev.dev = KernelDev{12};
  ev.mask = 13, ev.req_mask = 14, ev.err = 15, ev.reason = Reason::Unmount, ev.possible_reasons = 16;
  ev.pid_source = PidSource::Adder, ev.ucount = UcountInfo{17, 18, 19, 20}, ev.path = std::string(100, 'p');
  ev.mnt_id = 21, ev.workload = std::make_shared<Workload>(), ev.cwd_fs_path = "/cwd";
  ev.path_source = PathSource::Dentry, ev.from_snapshot = true, ev.user_stack = {1, 2, 3};
  ev.stack_err = -22, ev.stack_top_word = 23, ev.stack = std::make_shared<CreationStack>();
  const char* path_buffer = ev.path.data();
  ev.reset_keeping_buffers();
  EXPECT_TRUE(ev == Event{});
  EXPECT_EQ(all_fields(ev), all_fields(Event{}));
  EXPECT_EQ(ev.path.data(), path_buffer);  // the heap buffer stays for the next record
  EXPECT_GE(ev.user_stack.capacity(), 3u);
}

TEST(Decode, AbiSizesAreStable) {
  EXPECT_EQ(sizeof(inotrace_hdr), 16u);
  EXPECT_EQ(offsetof(inotrace_watch_event, path), (size_t)INOTRACE_WATCH_EVENT_FIXED);
  EXPECT_EQ(offsetof(inotrace_watch_event, ucount), 104u);
  EXPECT_EQ(sizeof(inotrace_instance_event), (size_t)INOTRACE_INSTANCE_EVENT_FIXED);
  EXPECT_EQ(offsetof(inotrace_instance_event, ucount), 88u);
}

}  // namespace
}  // namespace inotrace
