// userspace/symbols against real binaries built here with gcc and go (stripped and not), and
// against hostile files: every bad input must give an error or an empty answer, never a crash.
#include <elf.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "symbols/elf_image.h"
#include "symbols/elf_symbols.h"
#include "symbols/go_pclntab.h"

extern char** environ;

namespace inotrace::symbols {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/inotrace-symbols-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
  fs::path path;
};

// Runs argv[0] (found in PATH) with `env` added to ours; its stdout in *out. The exit status, or
// -1 if it could not be started. posix_spawn, never system(): no shell ever parses anything.
int run(const std::vector<std::string>& argv, std::string* out, const std::map<std::string, std::string>& env = {}) {
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; e++) {
    std::string kv = *e;
    if (!env.contains(kv.substr(0, kv.find('=')))) env_strings.push_back(kv);
  }
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> args, envp;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  for (const auto& e : env_strings) envp.push_back(const_cast<char*>(e.c_str()));
  args.push_back(nullptr), envp.push_back(nullptr);
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) return -1;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipefd[1], STDOUT_FILENO);
  pid_t pid;
  int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(pipefd[1]);
  std::string text;
  char buf[4096];
  for (ssize_t n; rc == 0 && (n = read(pipefd[0], buf, sizeof buf)) != 0;)
    if (n > 0) text.append(buf, n); else if (errno != EINTR) break;
  close(pipefd[0]);
  if (rc != 0) return -1;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  if (out) *out = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool on_path(const std::string& program) {
  const char* path = getenv("PATH");
  std::istringstream dirs(path ? path : "");
  for (std::string dir; std::getline(dirs, dir, ':');)
    if (!dir.empty() && access((fs::path(dir) / program).c_str(), X_OK) == 0) return true;
  return false;
}

void write_file(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Address of `name` in `nm`-style output ("<hex> <type> <name>"); 0 if absent.
uint64_t address_in_nm(const std::string& nm_output, const std::string& name) {
  std::istringstream lines(nm_output);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string addr, type, sym;
    if (fields >> addr >> type >> sym && sym == name) return std::stoull(addr, nullptr, 16);
  }
  return 0;
}

std::unique_ptr<ElfImage> open_path(const fs::path& p, std::string* error) {
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nullptr;
  auto image = ElfImage::open(fd, error);
  close(fd);  // the image keeps its own duplicate
  return image;
}

// `bytes` as an in-memory file, as the fuzz target feeds them.
std::unique_ptr<ElfImage> open_bytes(const std::string& bytes, std::string* error) {
  int fd = memfd_create("elf", MFD_CLOEXEC);
  if (fd < 0 || write(fd, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size())) return nullptr;
  auto image = ElfImage::open(fd, error);
  close(fd);
  return image;
}

const char* kCSource = R"(#include <sys/inotify.h>
__attribute__((noinline)) int add_watch_from_alpha(int fd, const char* p) {
  return inotify_add_watch(fd, p, IN_MODIFY) + 1;
}
__attribute__((noinline)) int add_watch_from_beta(int fd, const char* p) {
  return inotify_add_watch(fd, p, IN_CREATE) + 2;
}
int main(int argc, char** argv) {
  int fd = inotify_init1(0);
  return add_watch_from_alpha(fd, argv[0]) + add_watch_from_beta(fd, "/tmp") > 0;
}
)";

const char* kLibSource = R"(int exported_watch_helper(int x) { return x * 3 + 1; }
int exported_other_helper(int x) { return x * 5 + 2; }
)";

// One gcc build of each flavour for all the C tests.
class CBinaries : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir = new TempDir();
    write_file(dir->path / "prog.c", kCSource);
    write_file(dir->path / "lib.c", kLibSource);
    std::string src = (dir->path / "prog.c").string();
    auto gcc = [](std::vector<std::string> args) { args.insert(args.begin(), "gcc"); return run(args, nullptr); };
    ASSERT_EQ(gcc({"-O2", "-fno-omit-frame-pointer", "-g", "-o", (dir->path / "prog").string(), src}), 0);
    ASSERT_EQ(gcc({"-O2", "-fno-omit-frame-pointer", "-g", "-s", "-o", (dir->path / "prog-stripped").string(), src}), 0);
    ASSERT_EQ(gcc({"-O2", "-shared", "-fPIC", "-s", "-o", (dir->path / "lib.so").string(),
                   (dir->path / "lib.c").string()}), 0);
  }
  static void TearDownTestSuite() { delete dir; }
  static TempDir* dir;

  uint64_t nm_address(const std::string& binary, const std::string& name, bool dynamic = false) {
    std::string out;
    std::vector<std::string> args = {"nm"};
    if (dynamic) args.push_back("-D");
    args.push_back((dir->path / binary).string());
    EXPECT_EQ(run(args, &out), 0);
    return address_in_nm(out, name);
  }
};
TempDir* CBinaries::dir = nullptr;

TEST_F(CBinaries, SymtabNamesBothFunctionsFromFileOffsets) {
  std::string error;
  auto image = open_path(dir->path / "prog", &error);
  ASSERT_TRUE(image) << error;
  for (std::string name : {"add_watch_from_alpha", "add_watch_from_beta"}) {
    uint64_t addr = nm_address("prog", name);
    ASSERT_NE(addr, 0u) << name;
    auto offset = image->file_offset_of_vaddr(addr);  // what the caller derives from /proc/PID/maps
    ASSERT_TRUE(offset);
    auto vaddr = image->vaddr_of_file_offset(*offset + 5);
    ASSERT_TRUE(vaddr);
    EXPECT_EQ(image->symbolize(*vaddr), (Symbol{name, 5, SymbolSource::kSymtab}));
  }
  EXPECT_EQ(image->best_source(), SymbolSource::kSymtab);
  EXPECT_FALSE(image->symbolize(0));
  EXPECT_FALSE(image->vaddr_of_file_offset(UINT64_MAX));
}

TEST_F(CBinaries, BuildIdMatchesReadelf) {
  std::string out, error;
  ASSERT_EQ(run({"readelf", "-n", (dir->path / "prog").string()}, &out), 0);
  auto at = out.find("Build ID: ");
  ASSERT_NE(at, std::string::npos) << out;
  std::string expected = out.substr(at + 10, out.find('\n', at) - at - 10);
  auto image = open_path(dir->path / "prog", &error);
  auto stripped = open_path(dir->path / "prog-stripped", &error);
  ASSERT_TRUE(image && stripped) << error;
  EXPECT_EQ(image->build_id(), expected);
  EXPECT_EQ(expected.size(), 40u);  // sha1
}

// A stripped PIE has only imports in .dynsym: no name rather than a wrong one.
TEST_F(CBinaries, StrippedExecutableGivesNothingNotGarbage) {
  std::string error;
  auto image = open_path(dir->path / "prog-stripped", &error);
  ASSERT_TRUE(image) << error;
  for (std::string name : {"add_watch_from_alpha", "add_watch_from_beta"}) {
    uint64_t addr = nm_address("prog", name);  // the same layout: -s drops only unloaded sections
    EXPECT_FALSE(image->symbolize(addr + 5)) << image->symbolize(addr + 5)->name;
  }
  EXPECT_EQ(image->best_source(), SymbolSource::kNone);
}

TEST_F(CBinaries, StrippedSharedObjectUsesDynsym) {
  std::string error;
  auto image = open_path(dir->path / "lib.so", &error);
  ASSERT_TRUE(image) << error;
  for (std::string name : {"exported_watch_helper", "exported_other_helper"}) {
    uint64_t addr = nm_address("lib.so", name, true);
    ASSERT_NE(addr, 0u) << name;
    EXPECT_EQ(image->symbolize(addr + 2), (Symbol{name, 2, SymbolSource::kDynsym}));
  }
  EXPECT_EQ(image->best_source(), SymbolSource::kDynsym);
}

}  // namespace
}  // namespace inotrace::symbols
