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

// Readable failures: `name+offset (source)`.
void PrintTo(const Symbol& s, std::ostream* os) { *os << s.name << "+" << s.offset << " (" << source_name(s.source) << ")"; }
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

const char* kGoSource = R"(package main

import (
	"fmt"
	"os"
	"syscall"
)

//go:noinline
func addWatchFromGo(path string) (int, error) {
	fd, err := syscall.InotifyInit1(0)
	if err != nil {
		return 0, err
	}
	return syscall.InotifyAddWatch(fd, path, syscall.IN_MODIFY)
}

func main() {
	wd, err := addWatchFromGo(os.TempDir())
	fmt.Println(wd, err)
}
)";

// One `go build` unstripped and one with -s -w, offline, with caches in a scratch directory.
class GoBinaries : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!on_path("go")) return;
    dir = new TempDir();
    write_file(dir->path / "main.go", kGoSource);
    env = {
        {"HOME", dir->path.string()}, {"GOCACHE", (dir->path / "cache").string()},
        {"GOPATH", (dir->path / "gopath").string()}, {"GOFLAGS", ""}, {"GOPROXY", "off"},
        {"GO111MODULE", "off"}, {"CGO_ENABLED", "0"}};
    std::string main_go = (dir->path / "main.go").string();
    ASSERT_EQ(run({"go", "build", "-o", (dir->path / "prog").string(), main_go}, nullptr, env), 0);
    ASSERT_EQ(run({"go", "build", "-ldflags=-s -w", "-o", (dir->path / "prog-stripped").string(), main_go},
                  nullptr, env), 0);
    run({"go", "version"}, &go_version, env);
  }
  static void TearDownTestSuite() { delete dir; }
  void SetUp() override {
    if (!dir) GTEST_SKIP() << "`go` is not installed (apt-get install golang-go)";
  }
  static TempDir* dir;
  static std::string go_version;
  static std::map<std::string, std::string> env;  // offline, caches in `dir`
};
TempDir* GoBinaries::dir = nullptr;
std::string GoBinaries::go_version;
std::map<std::string, std::string> GoBinaries::env;

TEST_F(GoBinaries, StrippedBinaryIsNamedFromGopclntab) {
  std::string nm_out, error;
  ASSERT_EQ(run({"go", "tool", "nm", (dir->path / "prog").string()}, &nm_out, env), 0);
  uint64_t addr = address_in_nm(nm_out, "main.addWatchFromGo");
  ASSERT_NE(addr, 0u);
  auto full = open_path(dir->path / "prog", &error);
  auto stripped = open_path(dir->path / "prog-stripped", &error);
  ASSERT_TRUE(full && stripped) << error;
  // -s -w must not move code: the function's bytes sit at the same address in both files.
  auto full_off = full->file_offset_of_vaddr(addr), stripped_off = stripped->file_offset_of_vaddr(addr);
  ASSERT_TRUE(full_off && stripped_off);
  std::string full_bytes = read_bytes(dir->path / "prog"), stripped_bytes = read_bytes(dir->path / "prog-stripped");
  ASSERT_EQ(full_bytes.substr(*full_off, 32), stripped_bytes.substr(*stripped_off, 32));

  auto vaddr = stripped->vaddr_of_file_offset(*stripped_off + 5);
  ASSERT_TRUE(vaddr);
  EXPECT_EQ(stripped->symbolize(*vaddr), (Symbol{"main.addWatchFromGo", 5, SymbolSource::kGopclntab}))
      << go_version;
  EXPECT_EQ(stripped->best_source(), SymbolSource::kGopclntab);
  EXPECT_EQ(full->symbolize(addr + 5), (Symbol{"main.addWatchFromGo", 5, SymbolSource::kSymtab}));
}

// Every function `go tool nm` lists as text is named the same from the stripped binary's table.
TEST_F(GoBinaries, GopclntabAgreesWithGoToolNmOnEveryFunction) {
  std::string nm_out, error;
  ASSERT_EQ(run({"go", "tool", "nm", (dir->path / "prog").string()}, &nm_out, env), 0);
  auto stripped = open_path(dir->path / "prog-stripped", &error);
  ASSERT_TRUE(stripped) << error;
  std::istringstream lines(nm_out);
  int checked = 0, mismatched = 0;
  std::string report;
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string addr, type, name;
    if (!(fields >> addr >> type >> name) || (type != "T" && type != "t") || name.starts_with("go:")) continue;
    if (name.ends_with(".abi0")) name.resize(name.size() - 5);  // symtab-only ABI suffix of assembly
    auto s = stripped->symbolize(std::stoull(addr, nullptr, 16));
    checked++;
    if (!s || s->name != name || s->offset != 0)
      mismatched++, report += line + " -> " + (s ? s->name + "+" + std::to_string(s->offset) : "none") + "\n";
  }
  EXPECT_GT(checked, 500);
  // Seen on 1.19: the runtime.text/etext markers and `[...]`-elided type..eq names (5 of ~1400).
  EXPECT_LE(mismatched, checked / 100) << "of " << checked << ":\n" << report;
}

TEST_F(GoBinaries, BuildIdIsGosOwn) {
  std::string out, error;
  ASSERT_EQ(run({"go", "tool", "buildid", (dir->path / "prog-stripped").string()}, &out, env), 0);
  auto stripped = open_path(dir->path / "prog-stripped", &error);
  ASSERT_TRUE(stripped) << error;
  EXPECT_EQ(stripped->build_id() + "\n", out);
}

// Hand-made tables in each header layout: two functions, main.a at +0 and main.b at +0x10,
// the last ending at +0x20. 1.2 and 1.16 store absolute PCs; 1.18+ offsets from textStart.
struct PclntabWriter {
  std::vector<uint8_t> bytes;
  size_t put(uint64_t value, int width) {  // little-endian; returns where it went
    size_t at = bytes.size();
    for (int i = 0; i < width; i++) bytes.push_back(uint8_t(value >> (8 * i)));
    return at;
  }
  void patch(size_t at, uint64_t value, int width) {
    for (int i = 0; i < width; i++) bytes[at + i] = uint8_t(value >> (8 * i));
  }
};

std::vector<uint8_t> make_pclntab(uint32_t magic, uint64_t text) {
  bool go118 = magic == 0xfffffff0 || magic == 0xfffffff1, go12 = magic == 0xfffffffb;
  int field = go118 ? 4 : 8;             // functab members and a _func's entry
  int func_size = go118 ? 8 : 16;        // entry, int32 nameoff (padded)
  uint64_t pc_base = go118 ? 0 : text;   // 1.18+: offsets from textStart
  PclntabWriter w;
  w.put(magic, 4), w.put(0, 2), w.put(1, 1), w.put(8, 1);  // magic, pads, quantum, ptrsize
  w.put(2, 8);                                             // nfunc
  size_t words = w.bytes.size();                           // header word 1 onwards (1.16+)
  if (!go12) for (int i = 0; i < 7; i++) w.put(0, 8);
  size_t functab = w.bytes.size(), funcs = functab + 3 * 2 * field, names = funcs + 2 * func_size;
  uint64_t funcoff_base = go12 ? 0 : functab, nameoff_base = go12 ? 0 : names;
  for (uint64_t i = 0; i < 3; i++)  // main.a, main.b, end of main.b
    w.put(pc_base + 0x10 * i, field), w.put(i < 2 ? funcs + i * func_size - funcoff_base : 0, field);
  for (uint64_t i = 0; i < 2; i++)
    w.put(pc_base + 0x10 * i, field), w.put(names + 7 * i - nameoff_base, 4), w.put(0, func_size - field - 4);
  for (const char* n : {"main.a", "main.b"}) w.bytes.insert(w.bytes.end(), n, n + 7);
  if (go118) {  // words 2 (textStart), 3 (funcnametab), 7 (functab), counted from word 0 = nfunc
    w.patch(words + 8 * 1, text, 8), w.patch(words + 8 * 2, names, 8), w.patch(words + 8 * 6, functab, 8);
  } else if (!go12) {  // 1.16: words 2 (funcnametab), 6 (functab)
    w.patch(words + 8 * 1, names, 8), w.patch(words + 8 * 5, functab, 8);
  }
  return w.bytes;
}

TEST(GoPclntabLayouts, EachHeaderMagicIsRead) {
  for (uint32_t magic : {0xfffffffbu, 0xfffffffau, 0xfffffff0u, 0xfffffff1u}) {
    std::string error;
    auto t = GoPclntab::parse(make_pclntab(magic, 0x401000), 0, &error);
    ASSERT_TRUE(t) << std::hex << magic << ": " << error;
    EXPECT_EQ(t->function_count(), 2u);
    auto a = t->find(0x401003), b = t->find(0x40101f);
    ASSERT_TRUE(a && b) << std::hex << magic;
    EXPECT_EQ(a->name, "main.a");
    EXPECT_EQ(a->offset, 3u);
    EXPECT_EQ(b->name, "main.b");
    EXPECT_EQ(b->offset, 0xfu);
    EXPECT_FALSE(t->find(0x401020));
    EXPECT_FALSE(t->find(0x400fff));
  }
}

// A PIE's unrelocated textStart (0) falls back to the .text address the caller passes.
TEST(GoPclntabLayouts, ZeroTextStartUsesTextSection) {
  auto t = GoPclntab::parse(make_pclntab(0xfffffff1, 0), 0x2000, nullptr);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->find(0x2011)->name, "main.b");
}

TEST(GoPclntabHostile, NonsenseHeadersAreRefused) {
  std::string error;
  EXPECT_FALSE(GoPclntab::parse({}, 0, &error));
  EXPECT_FALSE(GoPclntab::parse({0xf0, 0xff, 0xff, 0xff}, 0, &error));
  auto bad_magic = make_pclntab(0xfffffff0, 0x1000);
  bad_magic[0] = 0x12;
  EXPECT_FALSE(GoPclntab::parse(bad_magic, 0, &error));
  EXPECT_EQ(error, "gopclntab: unknown magic");
  auto bad_ptr = make_pclntab(0xfffffff0, 0x1000);
  bad_ptr[7] = 4;
  EXPECT_FALSE(GoPclntab::parse(bad_ptr, 0, &error));
  for (size_t word : {0u, 3u, 7u}) {  // nfunc, funcnametab, functab far out of range
    auto huge = make_pclntab(0xfffffff0, 0x1000);
    std::memset(huge.data() + 8 + 8 * word, 0xff, 8);
    EXPECT_FALSE(GoPclntab::parse(huge, 0, &error)) << word;
  }
  auto cut = make_pclntab(0xfffffff0, 0x1000);
  cut.resize(40);
  EXPECT_FALSE(GoPclntab::parse(cut, 0, &error));
}

// Name offsets and funcoffs pointing anywhere give no name, never a read outside the table.
TEST(GoPclntabHostile, WildOffsetsGiveNoName) {
  auto t = make_pclntab(0xfffffff0, 0x1000);
  size_t functab = 8 + 8 * 8;
  std::memset(t.data() + functab + 4, 0xff, 4);  // funcoff of main.a
  size_t names_end = t.size();
  t[names_end - 1] = 'x';  // main.b's name loses its NUL at the very end
  auto table = GoPclntab::parse(t, 0, nullptr);
  ASSERT_TRUE(table);
  EXPECT_FALSE(table->find(0x1001));
  EXPECT_FALSE(table->find(0x1011));
}

// ---- Hostile files: a real binary patched field by field, or cut short. ----

// Where section `name`'s header sits in `bytes` (a trusted file built by this test); 0 if absent.
size_t section_header_at(const std::string& bytes, const std::string& name) {
  Elf64_Ehdr eh;
  std::memcpy(&eh, bytes.data(), sizeof eh);
  Elf64_Shdr names;
  std::memcpy(&names, bytes.data() + eh.e_shoff + eh.e_shstrndx * sizeof(Elf64_Shdr), sizeof names);
  for (size_t i = 0; i < eh.e_shnum; i++) {
    size_t at = eh.e_shoff + i * sizeof(Elf64_Shdr);
    Elf64_Shdr sh;
    std::memcpy(&sh, bytes.data() + at, sizeof sh);
    if (name == bytes.c_str() + names.sh_offset + sh.sh_name) return at;
  }
  return 0;
}

template <typename T>
void poke(std::string* bytes, size_t at, T value) {
  std::memcpy(bytes->data() + at, &value, sizeof value);
}

// Touches everything a caller would: must not crash whatever the bytes.
void exercise(const ElfImage& image) {
  (void)image.build_id();
  for (uint64_t v : {uint64_t{0}, uint64_t{0x1000}, uint64_t{0x1139}, uint64_t{0x401000}, UINT64_MAX})
    (void)image.symbolize(v);
  (void)image.best_source();
  (void)image.vaddr_of_file_offset(0x1000);
}

class HostileFiles : public CBinaries {
 protected:
  std::string prog() { return read_bytes(dir->path / "prog"); }
};

TEST_F(HostileFiles, NonRegularFilesAreRefused) {
  std::string error;
  int dirfd = ::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  EXPECT_FALSE(ElfImage::open(dirfd, &error));
  EXPECT_EQ(error, "not a regular file");
  close(dirfd);
  fs::path fifo = dir->path / "fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  int fifofd = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  error.clear();
  EXPECT_FALSE(ElfImage::open(fifofd, &error));
  EXPECT_EQ(error, "not a regular file");
  close(fifofd);
  EXPECT_FALSE(ElfImage::open(-1, &error));
}

TEST_F(HostileFiles, NotElf64X86OrArmIsRefused) {
  std::string error;
  EXPECT_FALSE(open_bytes("#!/bin/sh\necho this is long enough to hold an ELF header but is not one\n", &error));
  EXPECT_EQ(error, "not an ELF file");
  std::string elf32 = prog(), big = prog(), sparc = prog(), object = prog();
  elf32[EI_CLASS] = ELFCLASS32;
  big[EI_DATA] = ELFDATA2MSB;
  poke<uint16_t>(&sparc, offsetof(Elf64_Ehdr, e_machine), EM_SPARCV9);
  poke<uint16_t>(&object, offsetof(Elf64_Ehdr, e_type), ET_REL);
  for (const std::string* bytes : {&elf32, &big, &sparc, &object}) EXPECT_FALSE(open_bytes(*bytes, &error));
}

TEST_F(HostileFiles, HugeHeaderCountsAndOffsetsAreRefused) {
  std::string error;
  std::string many_sections = prog(), far_sections = prog(), far_segments = prog(), xnum = prog(), odd_size = prog();
  poke<uint16_t>(&many_sections, offsetof(Elf64_Ehdr, e_shnum), 0xfffe);
  poke<uint64_t>(&far_sections, offsetof(Elf64_Ehdr, e_shoff), 0xffffffffffffff00ull);
  poke<uint64_t>(&far_segments, offsetof(Elf64_Ehdr, e_phoff), 0x7fffffffffffffffull);
  poke<uint16_t>(&xnum, offsetof(Elf64_Ehdr, e_phnum), PN_XNUM);
  poke<uint16_t>(&odd_size, offsetof(Elf64_Ehdr, e_shentsize), 1);
  for (const std::string* bytes : {&many_sections, &far_sections, &far_segments, &xnum, &odd_size}) {
    EXPECT_FALSE(open_bytes(*bytes, &error));
    EXPECT_FALSE(error.empty());
  }
  std::string bad_names = prog();  // section names unreadable: no sections found by name, no crash
  poke<uint16_t>(&bad_names, offsetof(Elf64_Ehdr, e_shstrndx), 0xfff0);
  auto image = open_bytes(bad_names, &error);
  ASSERT_TRUE(image) << error;
  exercise(*image);
}

TEST_F(HostileFiles, EveryTruncationIsSafe) {
  std::string whole = prog(), error;
  int opened = 0;
  for (size_t len = 0; len < whole.size(); len += len < 256 ? 1 : 61) {
    auto image = open_bytes(whole.substr(0, len), &error);
    if (image) opened++, exercise(*image);
  }
  EXPECT_EQ(opened, 0);  // the section headers are at the end: any cut loses them
}

TEST_F(HostileFiles, SymbolNamesPastTheStringTableAreDropped) {
  std::string bytes = prog(), error;
  size_t symtab_at = section_header_at(bytes, ".symtab");
  ASSERT_NE(symtab_at, 0u);
  Elf64_Shdr symtab;
  std::memcpy(&symtab, bytes.data() + symtab_at, sizeof symtab);
  for (size_t at = symtab.sh_offset; at < symtab.sh_offset + symtab.sh_size; at += sizeof(Elf64_Sym))
    poke<uint32_t>(&bytes, at + offsetof(Elf64_Sym, st_name), 0xfffffff0);
  auto image = open_bytes(bytes, &error);
  ASSERT_TRUE(image) << error;
  EXPECT_FALSE(image->symbolize(nm_address("prog", "add_watch_from_alpha") + 5));
  EXPECT_EQ(image->best_source(), SymbolSource::kNone);
}

TEST_F(HostileFiles, HugeSymbolTableSizesAreRefused) {
  std::string bytes = prog(), error;
  size_t symtab_at = section_header_at(bytes, ".symtab"), strtab_at = section_header_at(bytes, ".strtab");
  poke<uint64_t>(&bytes, symtab_at + offsetof(Elf64_Shdr, sh_size), 0x7fffffffffffff00ull);
  poke<uint64_t>(&bytes, strtab_at + offsetof(Elf64_Shdr, sh_offset), 0xffffffffffffff00ull);
  auto image = open_bytes(bytes, &error);
  ASSERT_TRUE(image) << error;
  exercise(*image);
  EXPECT_EQ(image->best_source(), SymbolSource::kNone);
}

TEST_F(HostileFiles, OversizedNoteGivesNoBuildId) {
  std::string bytes = prog(), error;
  size_t note_at = section_header_at(bytes, ".note.gnu.build-id");
  ASSERT_NE(note_at, 0u);
  Elf64_Shdr note;
  std::memcpy(&note, bytes.data() + note_at, sizeof note);
  poke<uint32_t>(&bytes, note.sh_offset + 4, 0xffffffff);  // descsz
  auto image = open_bytes(bytes, &error);
  ASSERT_TRUE(image) << error;
  EXPECT_EQ(image->build_id(), "");
}

// Symbol entries straight into the table parser: names past the end or without a NUL.
TEST(SymbolTableHostile, BadNameOffsetsAreSkipped) {
  std::vector<Elf64_Sym> syms(4);
  for (size_t i = 0; i < syms.size(); i++) {
    syms[i].st_info = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC);
    syms[i].st_shndx = 1;
    syms[i].st_value = 0x1000 + 0x10 * i;
    syms[i].st_size = 0x10;
  }
  syms[0].st_name = 1;           // "good"
  syms[1].st_name = 0xffffffff;  // past the end
  syms[2].st_name = 6;           // "unterminated" runs off the end
  syms[3].st_name = 0;           // empty name
  std::string strings = std::string("\0good\0unterminated", 18);
  std::vector<AddressRange> sections = {{0, 0}, {0x1000, 0x2000}};
  auto table = SymbolTable::parse(ByteView(reinterpret_cast<const uint8_t*>(syms.data()), syms.size() * sizeof(Elf64_Sym)),
                                  std::vector<uint8_t>(strings.begin(), strings.end()), sections);
  EXPECT_EQ(table.size(), 1u);
  ASSERT_TRUE(table.find(0x1004));
  EXPECT_EQ(table.find(0x1004)->name, "good");
  EXPECT_FALSE(table.find(0x1014));
  EXPECT_FALSE(table.find(0x1024));
}

// A sizeless symbol reaches the next symbol or its section's end, never beyond.
TEST(SymbolTable, SizelessSymbolsStopAtTheirSectionEnd) {
  std::vector<Elf64_Sym> syms(1);
  syms[0].st_info = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC);
  syms[0].st_shndx = 1, syms[0].st_value = 0x1000, syms[0].st_size = 0, syms[0].st_name = 1;
  std::string strings("\0f\0", 3);
  std::vector<AddressRange> sections = {{0, 0}, {0x1000, 0x1100}};
  auto table = SymbolTable::parse(ByteView(reinterpret_cast<const uint8_t*>(syms.data()), sizeof(Elf64_Sym)),
                                  std::vector<uint8_t>(strings.begin(), strings.end()), sections);
  EXPECT_EQ(table.find(0x10ff)->offset, 0xffu);
  EXPECT_FALSE(table.find(0x1100));
}

// A .gopclntab added to a stripped C binary: a nonsense one names nothing, a sane one names.
TEST_F(HostileFiles, GopclntabSectionThroughTheElfReader) {
  if (!on_path("objcopy")) GTEST_SKIP() << "`objcopy` (binutils) is not installed";
  std::string error;
  uint64_t alpha = nm_address("prog", "add_watch_from_alpha");
  auto good = make_pclntab(0xfffffff1, alpha);
  std::vector<uint8_t> nonsense(good.size(), 0xff);
  std::memcpy(nonsense.data(), good.data(), 8);  // a valid magic, every offset 0xff...
  std::vector<std::vector<uint8_t>> tables = {good, nonsense};
  for (size_t i = 0; i < tables.size(); i++) {
    const auto& table = tables[i];
    fs::path blob = dir->path / ("pclntab" + std::to_string(i)), out = dir->path / ("with-pclntab" + std::to_string(i));
    write_file(blob, std::string(table.begin(), table.end()));
    ASSERT_EQ(run({"objcopy", "--add-section", ".gopclntab=" + blob.string(), (dir->path / "prog-stripped").string(),
                   out.string()}, nullptr), 0);
    auto image = open_path(out, &error);
    ASSERT_TRUE(image) << error;
    exercise(*image);
    auto s = image->symbolize(alpha + 0x13);
    if (i == 0) {
      EXPECT_EQ(s, (Symbol{"main.b", 3, SymbolSource::kGopclntab}));
    } else {
      EXPECT_FALSE(s);
    }
  }
}

// A Go 1.16-layout table compiled into .rodata (absolute entry PCs, so -no-pie), as an external
// linker leaves Go's table without a .gopclntab section: found by scanning, checked, used.
const char* kEmbeddedTableSource = R"(#include <stddef.h>
__attribute__((noinline)) int go_alpha(int x) { return x * 7 + 1; }
__attribute__((noinline)) int go_beta(int x) { return x * 9 + 2; }
struct table {
  unsigned magic; unsigned char pad1, pad2, quantum, ptrsize;
  unsigned long nfunc, nfiles, funcnametab, cutab, filetab, pctab, functab;
  struct { unsigned long entry, funcoff; } ft[3];
  struct { unsigned long entry; int nameoff, pad; } funcs[2];
  char names[24];
};
#define FUNCOFF(i) (offsetof(struct table, funcs) + (i) * 16 - offsetof(struct table, ft))
__attribute__((used, aligned(8))) const struct table go_table = {
  0xfffffffa, 0, 0, 1, 8,
  2, 0, offsetof(struct table, names), 0, 0, 0, offsetof(struct table, ft),
  {{(unsigned long)go_alpha, FUNCOFF(0)}, {(unsigned long)go_beta, FUNCOFF(1)}, {(unsigned long)go_beta + 8, 0}},
  {{(unsigned long)go_alpha, 0}, {(unsigned long)go_beta, 11}},
  "main.alpha\0main.beta",
};
int main(int argc, char** argv) { return go_alpha(argc) + go_beta(argc) + go_table.pad1; }
)";

TEST_F(CBinaries, GoTableWithoutItsOwnSectionIsFoundInRodata) {
  fs::path src = dir->path / "embedded.c", full = dir->path / "embedded", stripped = dir->path / "embedded-stripped";
  write_file(src, kEmbeddedTableSource);
  fs::path plain = dir->path / "embedded-plain", buildinfo = dir->path / "buildinfo";
  for (const fs::path& out : {full, plain}) {
    std::vector<std::string> args = {"gcc", "-O1", "-fno-toplevel-reorder", "-no-pie", "-o", out.string(), src.string()};
    if (out == plain) args.push_back("-s");
    ASSERT_EQ(run(args, nullptr), 0);
  }
  // Only a Go binary's read-only data is scanned: mark it as one, as Go's linker does.
  write_file(buildinfo, "\xff Go buildinf:");
  if (!on_path("objcopy")) GTEST_SKIP() << "`objcopy` (binutils) is not installed";
  ASSERT_EQ(run({"objcopy", "--add-section", ".go.buildinfo=" + buildinfo.string(), plain.string(), stripped.string()},
                nullptr), 0);
  std::string nm_out, error;
  ASSERT_EQ(run({"nm", full.string()}, &nm_out), 0);
  uint64_t alpha = address_in_nm(nm_out, "go_alpha"), beta = address_in_nm(nm_out, "go_beta");
  ASSERT_LT(alpha, beta);
  auto image = open_path(stripped, &error);
  ASSERT_TRUE(image) << error;
  EXPECT_EQ(image->symbolize(alpha + 3), (Symbol{"main.alpha", 3, SymbolSource::kGopclntab}));
  EXPECT_EQ(image->symbolize(beta + 7), (Symbol{"main.beta", 7, SymbolSource::kGopclntab}));
  EXPECT_FALSE(image->symbolize(beta + 8));
  auto not_go = open_path(plain, &error);
  ASSERT_TRUE(not_go) << error;
  EXPECT_FALSE(not_go->symbolize(alpha + 3));
}

}  // namespace
}  // namespace inotrace::symbols
