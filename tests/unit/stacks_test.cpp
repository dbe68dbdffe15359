// Creation stacks without the kernel: the record's stack tail, /proc/PID/maps as a hostile
// process can shape it, the resolver on a process that is gone, and the output of hostile names.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "events/decode.h"
#include "output/event_json.h"
#include "output/event_text.h"
#include "output/stack_json.h"
#include "stacks/process_maps.h"
#include "stacks/stack_resolver.h"
#include "util/wall_clock.h"

namespace inotrace {
namespace {

// An add record with path `path` and `frames` return addresses after it, as the BPF side lays
// them out (inotrace_stack_offset).
std::vector<char> add_with_stack(const std::string& path, const std::vector<uint64_t>& frames) {
  std::vector<char> buf(sizeof(inotrace_watch_event) + INOTRACE_STACK_BYTES + 8, 0);
  auto* w = reinterpret_cast<inotrace_watch_event*>(buf.data());
  w->hdr.type = INOTRACE_REC_ADD;
  w->path_kind = INOTRACE_PATH_USER;
  w->path_len = path.size() + 1;
  std::memcpy(w->path, path.c_str(), path.size() + 1);
  w->stack_len = frames.size() * 8;
  w->stack_top_word = 0x1234;
  uint32_t off = inotrace_stack_offset(w->path_len);
  EXPECT_EQ(off % 8, 0u);
  std::memcpy(buf.data() + off, frames.data(), frames.size() * 8);
  w->hdr.size = off + frames.size() * 8;
  buf.resize(w->hdr.size);
  return buf;
}

TEST(StackDecode, FramesAfterAnOddLengthPath) {
  for (std::string path : {"/a", "/ab", "/var/lib/kubelet/pods/x/volumes/y"}) {
    auto rec = add_with_stack(path, {0x401000, 0x402000, 0x7f0000001000});
    DecodeError err;
    auto ev = decode_event(rec.data(), rec.size(), &err);
    ASSERT_TRUE(ev) << err.message;
    EXPECT_EQ(ev->path, path);
    EXPECT_EQ(ev->user_stack, (std::vector<uint64_t>{0x401000, 0x402000, 0x7f0000001000}));
    EXPECT_EQ(ev->stack_top_word, 0x1234u);
  }
}

TEST(StackDecode, RejectsAStackThatOverrunsTheRecord) {
  auto rec = add_with_stack("/a", {1, 2, 3});
  auto* w = reinterpret_cast<inotrace_watch_event*>(rec.data());
  w->stack_len = 8 * 4;  // one frame more than the record holds
  DecodeError err;
  EXPECT_FALSE(decode_event(rec.data(), rec.size(), &err));
  EXPECT_NE(err.message.find("stack"), std::string::npos);
  w->stack_len = 12;  // not whole frames
  EXPECT_FALSE(decode_event(rec.data(), rec.size(), &err));
  w->stack_len = INOTRACE_STACK_BYTES + 8;
  EXPECT_FALSE(decode_event(rec.data(), rec.size(), &err));
}

TEST(ProcessMaps, KeepsExecutableFileMappingsOnly) {
  std::string text =
      "55d0c0a00000-55d0c0a21000 r--p 00000000 fd:01 1835017                    /usr/bin/kubelet\n"
      "55d0c0a21000-55d0c2a00000 r-xp 00021000 fd:01 1835017                    /usr/bin/kubelet\n"
      "7f1e2c000000-7f1e2c021000 rw-p 00000000 00:00 0 \n"
      "7f1e2d000000-7f1e2d100000 r-xp 00028000 fd:01 42                         /lib/libc.so.6\n"
      "7ffd1a1f0000-7ffd1a211000 r-xp 00000000 00:00 0                          [vdso]\n"
      "garbage line\n"
      "10-5 r-xp 0 fd:01 7 /backwards\n"
      "7f00-7f10 r-xp 0 fd:01 9 /tmp/evil\\012name (deleted)\n";
  auto maps = parse_executable_mappings(text);
  ASSERT_EQ(maps.size(), 3u);
  EXPECT_EQ(maps[0].path, "/tmp/evil\\012name (deleted)") << "the kernel's escape is kept as text";
  EXPECT_EQ(maps[1].path, "/usr/bin/kubelet");
  EXPECT_EQ(maps[1].file_offset, 0x21000u);
  EXPECT_EQ(maps[1].ino, 1835017u);
  const FileMapping* m = mapping_of(maps, 0x7f1e2d000010);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->path, "/lib/libc.so.6");
  EXPECT_FALSE(mapping_of(maps, 0x7f1e2c000010)) << "anonymous memory is no binary";
  EXPECT_FALSE(mapping_of(maps, 0x7ffd1a1f0010)) << "the vDSO has no file";
  EXPECT_FALSE(mapping_of(maps, 0));
}

TEST(StackResolver, AProcessThatIsGoneKeepsItsRawAddressesAndSaysWhy) {
  StackResolver r;
  // pid 0 has no /proc entry: no mapping can be read.
  auto s = r.resolve(0, {0x401000, 0x402000}, 0);
  ASSERT_TRUE(s);
  ASSERT_EQ(s->frames.size(), 2u);
  EXPECT_EQ(s->frames[1].address, 0x402000u);
  EXPECT_FALSE(s->frames[0].module);
  EXPECT_EQ(s->quality, StackQuality::Truncated);
  EXPECT_EQ(s->unresolved, "process exited before its mappings were read");
  EXPECT_NE(r.resolve(0, {0x401000, 0x403000}, 0).get(), s.get()) << "other code, another stack";
  EXPECT_EQ(r.resolve(0, {}, 0), nullptr);
}

TEST(StackResolver, AFloodOfDistinctStacksEndsInOneSharedAnswer) {
  StackResolver r;
  std::shared_ptr<const CreationStack> last;
  for (uint64_t i = 0; i < 20000; i++) last = r.resolve(0, {0x1000 + i}, 0);
  EXPECT_EQ(r.distinct_stacks(), 16384u);
  EXPECT_EQ(r.dropped_stacks(), 20000u - 16384u);
  EXPECT_TRUE(last->frames.empty());
  EXPECT_EQ(last->unresolved, "stack budget exhausted");
  EXPECT_EQ(r.resolve(0, {0x999999}, 0).get(), last.get());
}

// A process shapes its own /proc/PID/maps (65k mappings of files with long names make tens of
// MiB): the resolver reads at most 4 MiB of it, and a line cut at that limit names nothing,
// not a shorter path. Here as a proc root of the test's own, the maps cut inside a path.
TEST(StackResolver, HostileMapsAreReadWithinTheBudgetAndACutLineNamesNothing) {
  const std::string root = std::filesystem::temp_directory_path() / ("inotrace-fake-proc-" + std::to_string(getpid()));
  std::filesystem::create_directories(root + "/4242");
  {
    std::ofstream maps(root + "/4242/maps", std::ios::binary);
    std::string filler = "00001000-00002000 r--p 00000000 08:01 1 /f";
    filler += std::string(99 - filler.size(), 'x') + "\n";  // 100 bytes a line
    for (int i = 0; i < 41942; i++) maps << filler;           // 4,194,200 bytes: the limit is 4,194,304
    maps << "7f0000000000-7f0000001000 r-xp 00000000 08:01 99 /usr/lib/lib" << std::string(100, 'h') << ".so\n";
    for (int i = 0; i < 10000; i++) maps << filler;  // and a MiB more
  }
  StackResolver r(root);
  auto s = r.resolve(4242, {0x7f0000000800}, 0);
  ASSERT_TRUE(s);
  ASSERT_EQ(s->frames.size(), 1u);
  EXPECT_FALSE(s->frames[0].module) << "a path cut at the budget: " << s->frames[0].module->path;
  std::filesystem::remove_all(root);
}

TEST(StackResolver, OwnStackIsResolvedAndInterned) {
  // This test binary's own code: a return address inside this function's binary.
  auto self = reinterpret_cast<uint64_t>(&parse_executable_mappings);
  StackResolver r;
  auto a = r.resolve(getpid(), {self, self + 1}, 0);
  auto b = r.resolve(getpid(), {self, self + 1}, 0);
  ASSERT_TRUE(a);
  ASSERT_EQ(a->frames.size(), 2u);
  EXPECT_EQ(a.get(), b.get()) << "one code path, one stack";
  EXPECT_EQ(r.distinct_stacks(), 1u);
  ASSERT_TRUE(a->frames[0].module);
  // /proc/PID/map_files needs CAP_SYS_ADMIN (or CAP_CHECKPOINT_RESTORE): unprivileged, the
  // binary is known by path only and its frames stay unnamed.
  if (geteuid() == 0)
    EXPECT_NE(a->frames[0].symbol.find("parse_executable_mappings"), std::string::npos) << a->frames[0].symbol;
  else
    EXPECT_TRUE(a->frames[0].symbol.empty());
  EXPECT_GT(r.stacks_memory_bytes(), 0u);
}

CreationStack hostile_stack() {
  auto module = std::make_shared<StackModule>(StackModule{"/tmp/x\n\x1b[31mred\xff", "abcd"});
  CreationStack s;
  s.frames.push_back(StackFrame{0x10, module, 0x10, "wrapper", 1});
  s.frames.push_back(StackFrame{0x20, module, 0x20, std::string("evil\x1b]0;pwn\x07\n|`name\xfe", 20), 2});
  s.frames.push_back(StackFrame{0x30, nullptr, 0, "", 0});
  return s;
}

TEST(StackOutput, HostileNamesStayInsideTheirField) {
  CreationStack s = hostile_stack();
  std::string json = stack_to_json(s).dump();  // throws on invalid UTF-8: must not
  EXPECT_EQ(json.find('\x1b'), std::string::npos);
  EXPECT_NE(json.find("symbol_b64"), std::string::npos) << "the exact bytes ride along";
  Event ev;
  ev.type = EventType::Add;
  ev.path = "/p";
  ev.stack = std::make_shared<CreationStack>(s);
  std::string line = event_to_text(ev, WallClock());
  EXPECT_EQ(line.find('\x1b'), std::string::npos) << line;
  EXPECT_EQ(line.find('\n'), std::string::npos) << line;
}

TEST(StackOutput, StreamedLineEqualsTheDocument) {
  Event ev;
  ev.type = EventType::Add;
  ev.path = "/p";
  ev.stack = std::make_shared<CreationStack>(hostile_stack());
  WallClock clock;
  std::string doc = event_to_json(ev, clock, "tracepoint").dump();
  EXPECT_EQ(event_to_json_line(ev, clock, "tracepoint"), doc);
  EXPECT_EQ(event_to_json_line(ev, clock, "tracepoint"), doc) << "and again, from the remembered text";
  ev.stack = std::make_shared<CreationStack>();  // another stack: never the remembered text
  EXPECT_EQ(event_to_json_line(ev, clock, "tracepoint"), event_to_json(ev, clock, "tracepoint").dump());
}

TEST(StackOutput, GroupsLargestFirstWithUnseenCreationsApart) {
  CreationStack s = hostile_stack();
  std::vector<std::pair<const CreationStack*, std::string>> in = {
      {nullptr, "pod-c"}, {&s, "pod-a"}, {&s, "pod-b"}, {&s, "pod-a"}};
  auto g = group_by_stack(in);
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[0]["count"], 3);
  EXPECT_EQ(g[0]["pods"], (nlohmann::ordered_json{"pod-a", "pod-b"}));
  EXPECT_EQ(g[0]["top_frames"].size(), 2u) << "past the syscall wrapper";
  EXPECT_EQ(g[1]["count"], 1);
  EXPECT_TRUE(g[1]["stack"].is_null());
  EXPECT_NO_THROW(g.dump());
}

}  // namespace
}  // namespace inotrace
