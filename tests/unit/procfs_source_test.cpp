// take_procfs_snapshot over a fake /proc tree: pid/fd symlinks (targets need not exist),
// pid/fdinfo/N, pid/comm, pid/status. kcmp cannot work on fake pids, so the "same struct file"
// test is injected.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <tuple>

#include "snapshot/procfs_source.h"
#include "util/error.h"

namespace inotrace {
namespace {

namespace fs = std::filesystem;

class FakeProc {
 public:
  FakeProc() {
    std::string tmpl = (fs::temp_directory_path() / "inotrace-fakeproc.XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp");
    root_ = tmpl;
  }
  ~FakeProc() {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  const std::string& path() const { return root_; }

  void process(uint32_t pid, const std::string& comm, uint32_t uid) {
    fs::create_directories(dir(pid) + "/fd");
    fs::create_directories(dir(pid) + "/fdinfo");
    write(dir(pid) + "/comm", comm + "\n");
    write(dir(pid) + "/status", "Name:\t" + comm + "\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t" +
                                    std::to_string(pid) + "\nUid:\t" + std::to_string(uid) + "\t" +
                                    std::to_string(uid + 1) + "\t0\t0\nGid:\t0\t0\t0\t0\n");
  }
  void fd(uint32_t pid, int fd, const std::string& target) {
    fs::create_directories(dir(pid) + "/fd");
    fs::create_symlink(target, dir(pid) + "/fd/" + std::to_string(fd));
  }
  void fdinfo(uint32_t pid, int fd, const std::string& text) {
    write(dir(pid) + "/fdinfo/" + std::to_string(fd), "pos:\t0\nflags:\t00\nmnt_id:\t15\nino:\t1057\n" + text);
  }
  // An inotify fd with its fdinfo.
  void inotify(uint32_t pid, int fd, const std::string& watches) {
    this->fd(pid, fd, "anon_inode:inotify");
    fdinfo(pid, fd, watches);
  }
  std::string dir(uint32_t pid) const { return root_ + "/" + std::to_string(pid); }

 private:
  static void write(const std::string& p, const std::string& text) { std::ofstream(p) << text; }
  std::string root_;
};

// fdinfo watch lines, newest first as the kernel prints them.
std::string line(int wd, uint64_t ino, uint32_t sdev, uint32_t mask, const std::string& handle = "") {
  char buf[256];
  snprintf(buf, sizeof(buf), "inotify wd:%x ino:%llx sdev:%x mask:%x ignored_mask:0 %s\n", wd,
           static_cast<unsigned long long>(ino), sdev, mask, handle.c_str());
  return buf;
}

ProcfsSourceOptions opts_for(const FakeProc& p, SameFileFn same = nullptr) {
  ProcfsSourceOptions o;
  o.proc = p.path();
  o.with_paths = false;
  // Default: every fd is its own struct file.
  o.same_file = same ? same : [](uint32_t, int32_t, uint32_t, int32_t) { return 1; };
  return o;
}

std::vector<std::pair<uint32_t, int32_t>> holders_of(const SnapInstance& i) {
  std::vector<std::pair<uint32_t, int32_t>> out;
  for (const auto& h : i.holders) out.emplace_back(h.pid, h.fd);
  return out;
}

TEST(ProcfsSource, ParsesInstancesAndWatches) {
  FakeProc p;
  p.process(100, "watcher", 1000);
  p.inotify(100, 3,
            line(3, 0xa8a276, 0xfe00000, 0x84000fff, "fhandle-bytes:8 fhandle-type:1 f_handle:76a2a80067772881") +
                line(2, 0xe49, 0x16, 0x2) + line(1, 0x2, 0x1b, 0x300));
  p.fd(100, 0, "/dev/pts/0");
  p.fd(100, 4, "anon_inode:[eventfd]");
  p.fd(100, 5, "anon_inode:inotify2");  // not exactly the inotify link
  p.fd(100, 6, "/tmp/anon_inode:inotify");
  ProcfsScanStats stats;
  Snapshot s = take_procfs_snapshot(opts_for(p), &stats);

  EXPECT_EQ(s.source, "procfs");
  EXPECT_GT(s.taken_mono_ns, 0u);
  EXPECT_TRUE(s.warnings.empty()) << s.warnings.front();
  ASSERT_EQ(s.instances.size(), 1u);
  const SnapInstance& inst = s.instances[0];
  EXPECT_EQ(inst.id, "100:3");
  EXPECT_EQ(inst.group, 0u);
  EXPECT_FALSE(inst.truncated);
  // No per-user count and no charged uid in /proc: unknown, not the holder's uid.
  EXPECT_EQ(inst.ucount.count, -1);
  EXPECT_EQ(inst.ucount.uid, UINT32_MAX);
  ASSERT_EQ(inst.holders.size(), 1u);
  EXPECT_EQ(inst.holders[0].pid, 100u);
  EXPECT_EQ(inst.holders[0].fd, 3);
  EXPECT_EQ(inst.holders[0].comm, "watcher");
  EXPECT_EQ(inst.holders[0].uid, 1000u);  // real uid, not the effective 1001
  EXPECT_EQ(inst.holders[0].mnt_ns, 0u);  // no ns/mnt in the fake tree
  ASSERT_EQ(inst.watches.size(), 3u);
  EXPECT_EQ(inst.watches[0].wd, 1);  // sorted by wd
  EXPECT_EQ(inst.watches[0].ino, 2u);
  EXPECT_EQ(inst.watches[0].dev.str(), "0:27");
  EXPECT_EQ(inst.watches[0].mask, 0x300u);
  EXPECT_EQ(inst.watches[1].wd, 2);
  EXPECT_EQ(inst.watches[2].wd, 3);
  EXPECT_EQ(inst.watches[2].ino, 0xa8a276u);
  EXPECT_EQ(inst.watches[2].dev.str(), "254:0");
  EXPECT_EQ(inst.watches[2].mask, 0x84000fffu);  // IN_ONESHOT | IN_EXCL_UNLINK kept
  for (const auto& w : inst.watches) {
    EXPECT_EQ(w.path, "");
    EXPECT_EQ(w.path_source, PathSource::None);
  }
  EXPECT_EQ(s.watch_count(), 3u);
  EXPECT_EQ(stats.processes, 1u);
  EXPECT_EQ(stats.fds, 5u);
  EXPECT_EQ(stats.inotify_fds, 1u);
}

TEST(ProcfsSource, InstanceWithoutWatches) {
  FakeProc p;
  p.process(7, "idle", 0);
  p.inotify(7, 9, "");
  Snapshot s = take_procfs_snapshot(opts_for(p));
  ASSERT_EQ(s.instances.size(), 1u);
  EXPECT_EQ(s.instances[0].id, "7:9");
  EXPECT_TRUE(s.instances[0].watches.empty());
}

TEST(ProcfsSource, VanishedFdAndProcessSkippedSilently) {
  FakeProc p;
  p.process(100, "alive", 0);
  p.inotify(100, 3, line(1, 5, 0x1b, 0x2));
  // Closed between readdir and the fdinfo read: link present, fdinfo missing.
  p.process(200, "closing", 0);
  p.fd(200, 7, "anon_inode:inotify");
  // Exited mid-scan: fd dir present, nothing else.
  p.fd(300, 4, "anon_inode:inotify");
  // Exited before its fd dir was read.
  fs::create_directories(p.dir(400));
  ProcfsScanStats stats;
  Snapshot s = take_procfs_snapshot(opts_for(p), &stats);
  EXPECT_TRUE(s.warnings.empty()) << s.warnings.front();
  ASSERT_EQ(s.instances.size(), 1u);
  EXPECT_EQ(s.instances[0].id, "100:3");
  EXPECT_EQ(stats.vanished_fds, 1u);
  EXPECT_EQ(stats.vanished_processes, 2u);
  EXPECT_EQ(stats.inotify_fds, 1u);
}

TEST(ProcfsSource, MalformedFdinfoLinesBecomeWarnings) {
  FakeProc p;
  p.process(150, "bad", 0);
  p.inotify(150, 3,
            line(2, 0x10, 0x1b, 0x2) + "inotify wd:zz ino:11 sdev:1b mask:2 ignored_mask:0\n" +
                "inotify wd:4 ino:12\n" + line(1, 0x13, 0x1b, 0x2));
  Snapshot s = take_procfs_snapshot(opts_for(p));
  ASSERT_EQ(s.instances.size(), 1u);
  ASSERT_EQ(s.instances[0].watches.size(), 2u);
  EXPECT_EQ(s.instances[0].watches[0].ino, 0x13u);
  EXPECT_EQ(s.instances[0].watches[1].ino, 0x10u);
  ASSERT_EQ(s.warnings.size(), 2u);
  // The header takes 4 lines: the bad ones are 6 and 7.
  EXPECT_EQ(s.warnings[0].rfind("pid 150 fd 3: fdinfo line 6: ", 0), 0u) << s.warnings[0];
  EXPECT_NE(s.warnings[0].find("wd"), std::string::npos);
  EXPECT_EQ(s.warnings[1].rfind("pid 150 fd 3: fdinfo line 7: ", 0), 0u) << s.warnings[1];
}

TEST(ProcfsSource, NonNumericEntriesIgnored) {
  FakeProc p;
  p.process(42, "x", 0);
  p.inotify(42, 3, line(1, 5, 0x1b, 0x2));
  fs::create_directory_symlink("42", p.path() + "/self");
  fs::create_directories(p.path() + "/sys/fs");
  fs::create_directories(p.path() + "/0");  // pid 0 does not exist
  std::ofstream(p.path() + "/42x") << "";
  fs::create_symlink("anon_inode:inotify", p.dir(42) + "/fd/notanfd");
  Snapshot s = take_procfs_snapshot(opts_for(p));
  ASSERT_EQ(s.instances.size(), 1u);
  EXPECT_EQ(holders_of(s.instances[0]), (std::vector<std::pair<uint32_t, int32_t>>{{42, 3}}));
  EXPECT_TRUE(s.warnings.empty());
}

TEST(ProcfsSource, DeterministicNumericOrder) {
  FakeProc p;
  // Lexicographic order would put 1000 before 200 and 10 before 2.
  for (uint32_t pid : {1000u, 30u, 200u}) {
    p.process(pid, "p" + std::to_string(pid), 0);
    p.inotify(pid, 10, line(1, pid, 0x1b, 0x2));
    p.inotify(pid, 2, line(1, pid + 1, 0x1b, 0x2));
  }
  Snapshot s = take_procfs_snapshot(opts_for(p));
  std::vector<std::string> ids;
  for (const auto& i : s.instances) ids.push_back(i.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"30:2", "30:10", "200:2", "200:10", "1000:2", "1000:10"}));
  Snapshot again = take_procfs_snapshot(opts_for(p));
  ASSERT_EQ(again.instances.size(), s.instances.size());
  for (size_t i = 0; i < s.instances.size(); i++) EXPECT_EQ(again.instances[i].id, s.instances[i].id);
}

TEST(ProcfsSource, SharedInstancesDeduplicatedBySameFile) {
  FakeProc p;
  std::string shared = line(2, 0x20, 0x1b, 0x2) + line(1, 0x10, 0x1b, 0x100);
  for (uint32_t pid : {100u, 101u, 102u}) p.process(pid, "p", 0);
  p.inotify(101, 5, shared);  // fork child
  p.inotify(100, 8, shared);  // dup
  p.inotify(100, 3, shared);  // original
  p.inotify(102, 4, shared);  // same watches, but its own instance
  p.inotify(102, 6, line(1, 0x30, 0x1b, 0x2));
  std::set<std::pair<uint32_t, int32_t>> one{{100, 3}, {100, 8}, {101, 5}};
  std::vector<std::tuple<uint32_t, int32_t, uint32_t, int32_t>> calls;
  auto same = [&](uint32_t p1, int32_t f1, uint32_t p2, int32_t f2) {
    calls.emplace_back(p1, f1, p2, f2);
    return one.count({p1, f1}) && one.count({p2, f2}) ? 0 : 1;
  };
  ProcfsScanStats stats;
  Snapshot s = take_procfs_snapshot(opts_for(p, same), &stats);
  EXPECT_TRUE(s.warnings.empty());
  ASSERT_EQ(s.instances.size(), 3u);
  EXPECT_EQ(s.instances[0].id, "100:3");
  EXPECT_EQ(holders_of(s.instances[0]), (std::vector<std::pair<uint32_t, int32_t>>{{100, 3}, {100, 8}, {101, 5}}));
  EXPECT_EQ(s.instances[0].watches.size(), 2u);
  EXPECT_EQ(s.instances[1].id, "102:4");
  EXPECT_EQ(s.instances[2].id, "102:6");
  // Only fds with identical watch lists were compared, always against the first holder.
  EXPECT_EQ(calls, (std::vector<std::tuple<uint32_t, int32_t, uint32_t, int32_t>>{
                       {100, 3, 100, 8}, {100, 3, 101, 5}, {100, 3, 102, 4}}));
  EXPECT_EQ(stats.same_file_calls, 3u);
}

// Many distinct instances with the same watches (idle ones, /etc/localtime watchers): kcmp's order
// keeps the matching logarithmic; without an order it is still correct.
TEST(ProcfsSource, ManyIdenticalWatchListsMatchedInKcmpOrder) {
  FakeProc p;
  constexpr uint32_t kProcs = 64;
  std::map<std::pair<uint32_t, int32_t>, int> file;  // (pid, fd) -> struct file id
  for (uint32_t i = 0; i < kProcs; i++) {
    uint32_t pid = 1000 + i;
    p.process(pid, "p", 0);
    p.inotify(pid, 3, line(1, 0x10, 0x1b, 0x2));
    file[{pid, 3}] = static_cast<int>((i * 37) % kProcs);  // ids in scrambled order
    if (i % 4 == 0) {  // every fourth also holds the previous process's file (SCM_RIGHTS)
      p.inotify(pid, 9, line(1, 0x10, 0x1b, 0x2));
      file[{pid, 9}] = file[{pid == 1000 ? 1000 : pid - 1, 3}];
    }
  }
  size_t groups = 0;
  {
    std::set<int> ids;
    for (auto& [k, id] : file) ids.insert(id);
    groups = ids.size();
  }
  auto ordered = [&](uint32_t p1, int32_t f1, uint32_t p2, int32_t f2) {
    int a = file.at({p1, f1}), b = file.at({p2, f2});
    return a == b ? 0 : a < b ? 1 : 2;
  };
  auto unordered = [&](uint32_t p1, int32_t f1, uint32_t p2, int32_t f2) {
    return file.at({p1, f1}) == file.at({p2, f2}) ? 0 : 3;
  };
  for (bool with_order : {true, false}) {
    SCOPED_TRACE(with_order ? "ordered" : "unordered");
    ProcfsScanStats stats;
    Snapshot s = with_order ? take_procfs_snapshot(opts_for(p, ordered), &stats)
                            : take_procfs_snapshot(opts_for(p, unordered), &stats);
    ASSERT_EQ(s.instances.size(), groups);
    for (const auto& inst : s.instances) {
      int id = file.at({inst.holders[0].pid, inst.holders[0].fd});
      for (const auto& h : inst.holders) EXPECT_EQ(file.at({h.pid, h.fd}), id);
      EXPECT_EQ(inst.id, std::to_string(inst.holders[0].pid) + ":" + std::to_string(inst.holders[0].fd));
    }
    // Every file's fds are in one instance.
    std::set<int> seen;
    for (const auto& inst : s.instances) EXPECT_TRUE(seen.insert(file.at({inst.holders[0].pid, inst.holders[0].fd})).second);
    if (with_order) EXPECT_LE(stats.same_file_calls, file.size() * 7);  // log2(64) + 1 per fd
    else EXPECT_GT(stats.same_file_calls, file.size() * 7);
    EXPECT_TRUE(s.warnings.empty());
  }
}

TEST(ProcfsSource, WithoutKcmpFallsBackToWatchListsAndWarns) {
  FakeProc p;
  std::string shared = line(1, 0x10, 0x1b, 0x2);
  p.process(10, "a", 0);
  p.process(11, "b", 0);
  p.inotify(10, 3, shared);
  p.inotify(11, 3, shared);
  p.inotify(10, 4, "");  // idle instances are never merged without kcmp
  p.inotify(11, 4, "");
  auto same = [](uint32_t, int32_t, uint32_t, int32_t) { return -ENOSYS; };
  Snapshot s = take_procfs_snapshot(opts_for(p, same));
  ASSERT_EQ(s.instances.size(), 3u);
  EXPECT_EQ(holders_of(s.instances[0]), (std::vector<std::pair<uint32_t, int32_t>>{{10, 3}, {11, 3}}));
  EXPECT_EQ(s.instances[1].id, "10:4");
  EXPECT_EQ(s.instances[2].id, "11:4");
  ASSERT_EQ(s.warnings.size(), 1u);
  EXPECT_NE(s.warnings[0].find("kcmp unavailable"), std::string::npos) << s.warnings[0];
  EXPECT_NE(s.warnings[0].find("merged"), std::string::npos);
}

TEST(ProcfsSource, VanishedPeerIsNotAFallback) {
  FakeProc p;
  std::string shared = line(1, 0x10, 0x1b, 0x2);
  p.process(10, "a", 0);
  p.process(11, "b", 0);
  p.inotify(10, 3, shared);
  p.inotify(11, 3, shared);
  auto same = [](uint32_t, int32_t, uint32_t, int32_t) { return -ESRCH; };
  Snapshot s = take_procfs_snapshot(opts_for(p, same));
  EXPECT_EQ(s.instances.size(), 2u);
  EXPECT_TRUE(s.warnings.empty());
}

TEST(ProcfsSource, PathNotesWithoutMounts) {
  FakeProc p;
  p.process(5, "w", 0);
  p.inotify(5, 3,
            line(3, 0xe49, 0x16, 0x2, "fhandle-bytes:c fhandle-type:81 f_handle:490e00000000000001000000") +
                line(2, 0x2, 0x1b, 0x2, "fhandle-bytes:c fhandle-type:1 f_handle:3cb5a1f50200000000000000") +
                line(1, 0x3, 0x1b, 0x2));
  auto o = opts_for(p);
  o.with_paths = true;  // the fake tree has no ns/mnt or mountinfo: nothing is mounted
  Snapshot s = take_procfs_snapshot(o);
  ASSERT_EQ(s.instances.size(), 1u);
  const auto& w = s.instances[0].watches;
  ASSERT_EQ(w.size(), 3u);
  EXPECT_NE(w[0].path_note.find("no file handle"), std::string::npos) << w[0].path_note;
  EXPECT_EQ(w[1].path_note, "not mounted in any namespace");
  EXPECT_EQ(w[2].path_note, "no decodable file handle (pseudo filesystem)");
  for (const auto& x : w) {
    EXPECT_EQ(x.path, "");
    EXPECT_EQ(x.path_source, PathSource::None);
  }
}

TEST(ProcfsSource, UnlistableProcThrows) {
  ProcfsSourceOptions o;
  o.proc = "/nonexistent/inotrace-proc";
  EXPECT_THROW(take_procfs_snapshot(o), Error);
}

}  // namespace
}  // namespace inotrace
