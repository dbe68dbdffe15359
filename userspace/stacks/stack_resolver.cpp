#include "stacks/stack_resolver.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <algorithm>
#include <array>
#include <string_view>

#include <fmt/format.h>

#include "paths/mountinfo.h"
#include "symbols/elf_image.h"
#include "util/small_file.h"
#include "util/unique_fd.h"
#include "util/wall_clock.h"

namespace inotrace {

namespace {

// Bounds. A node has few distinct creating code paths and few binaries that make watches; these
// stop a hostile process from spending our memory, file descriptors or time.
constexpr size_t kMaxProcesses = 8;             // maps kept for bursts of adds from one process
constexpr size_t kMaxMapsBytes = 4 << 20;       // of one /proc/PID/maps (65k mappings exist)
constexpr size_t kMaxMountinfoBytes = 4 << 20;
constexpr size_t kMaxBinaries = 64;             // each keeps one fd and its tables
constexpr uint64_t kMaxBinaryBytes = 1ull << 30;  // summed file sizes whose tables are kept
constexpr size_t kMaxStacks = 16384;
constexpr size_t kMaxStackBytes = 64 << 20;
constexpr size_t kMaxRecent = 4096;              // raw address lists remembered
constexpr size_t kMaxSymbolBytes = 256;          // longer names are cut (a stack is shown whole)
constexpr uint64_t kRecheckNs = 1'000'000'000;   // maps re-read, binaries re-checked this often

// Filesystems whose server (a FUSE daemon, a remote host) could stall an open or a read forever:
// their binaries are never opened.
bool may_stall(std::string_view fstype) {
  static constexpr std::array<std::string_view, 9> kinds = {"fuse", "nfs", "cifs", "smb", "9p", "ceph",
                                                           "glusterfs", "afs", "virtiofs"};
  return std::any_of(kinds.begin(), kinds.end(), [&](std::string_view k) { return fstype.starts_with(k); });
}

// The first frames of a program or thread (or its main: above it is only the C library's
// start-up, whose symbols Debian strips): a walk that reaches one is whole.
bool is_root_symbol(std::string_view s) {
  static constexpr std::array<std::string_view, 14> roots = {
      "main", "main.main", "_start", "__libc_start_main", "__libc_start_call_main", "start_thread", "clone",
      "clone3", "__clone", "__clone3", "runtime.goexit", "runtime.rt0_go", "runtime.mstart", "thread_start"};
  return std::find(roots.begin(), roots.end(), s) != roots.end();
}

// Syscall wrappers that keep no frame of their own: only under one of these is the word at the
// stack pointer their caller's return address.
bool is_frameless_wrapper(std::string_view s) {
  return s == "inotify_add_watch" || s == "inotify_init1" || s == "inotify_init" || s == "syscall" || s.ends_with(".Syscall6") || s.ends_with(".RawSyscall6") ||
         s.ends_with(".Syscall") || s.ends_with(".RawSyscall");
}

std::string bounded_symbol(std::string name) {
  if (name.size() > kMaxSymbolBytes) name.resize(kMaxSymbolBytes), name += "...";
  return name;
}

}  // namespace

struct StackResolver::Binary {
  std::shared_ptr<const StackModule> module;
  std::unique_ptr<symbols::ElfImage> image;  // null: not read (said by an empty build id)
  uint64_t size = 0;
  int64_t mtime_ns = 0, ctime_ns = 0;  // a binary rewritten in place is another binary
  uint64_t checked_ns = 0;
};

StackResolver::StackResolver(std::string proc_root) : proc_(std::move(proc_root)) {}
StackResolver::~StackResolver() = default;

// Fresh: read within kRecheckNs and mapping every address (a library loaded since is not).
const StackResolver::ProcessMaps& StackResolver::mappings_of(uint32_t pid, const std::vector<uint64_t>& addresses) {
  uint64_t now = WallClock::monotonic_now_ns();
  auto it = processes_.find(pid);
  if (it != processes_.end() && now - it->second.read_ns < kRecheckNs &&
      std::all_of(addresses.begin(), addresses.end(),
                  [&](uint64_t a) { return !a || mapping_of(it->second.mappings, a); }))
    return it->second;
  if (it == processes_.end()) {
    if (processes_.size() >= kMaxProcesses) processes_.clear();
    it = processes_.emplace(pid, ProcessMaps{}).first;
  }
  auto text = read_lines_prefix(fmt::format("{}/{}/maps", proc_, pid), kMaxMapsBytes);
  it->second.mappings = text ? parse_executable_mappings(*text) : std::vector<FileMapping>{};
  it->second.read_ns = now;
  return it->second;
}

// The file behind mapping m of pid, if it is safe to read: on a filesystem that cannot stall us,
// the very file mapped (map_files), regular, not sparse (a few KB on disk claiming gigabytes of
// tables), within the byte budget.
std::unique_ptr<StackResolver::Binary> StackResolver::open_binary(uint32_t pid, const FileMapping& m) {
  auto b = std::make_unique<Binary>();
  auto module = std::make_shared<StackModule>();
  module->path = m.path;
  b->checked_ns = WallClock::monotonic_now_ns();
  auto mountinfo = read_lines_prefix(fmt::format("{}/{}/mountinfo", proc_, pid), kMaxMountinfoBytes);
  auto mounts = mountinfo ? parse_mountinfo(*mountinfo).mounts : std::vector<MountEntry>{};
  auto mount = std::find_if(mounts.begin(), mounts.end(), [&](const MountEntry& e) { return e.dev.raw == m.dev; });
  if (mount == mounts.end() || may_stall(mount->fstype)) {
    b->module = std::move(module);
    return b;  // unknown or stallable filesystem: known by path only
  }
  UniqueFd fd(::open(fmt::format("{}/{}/map_files/{:x}-{:x}", proc_, pid, m.start, m.end).c_str(),
                     O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  struct stat st {};
  struct statfs sfs {};
  bool readable = fd && fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode) && st.st_ino == m.ino &&
                  fstatfs(fd.get(), &sfs) == 0 && sfs.f_type != 0x65735546 /* FUSE */ &&
                  (uint64_t)st.st_blocks * 512 >= (uint64_t)st.st_size / 2 && (uint64_t)st.st_size <= kMaxBinaryBytes;
  if (readable) {
    if (binary_bytes_ + (uint64_t)st.st_size > kMaxBinaryBytes) binaries_.clear(), binary_bytes_ = 0;
    std::string err;
    b->image = symbols::ElfImage::open(fd.get(), &err);  // keeps its own fd
    if (b->image) module->build_id = b->image->build_id();
    b->size = st.st_size;
    b->mtime_ns = st.st_mtim.tv_sec * 1'000'000'000ll + st.st_mtim.tv_nsec;
    b->ctime_ns = st.st_ctim.tv_sec * 1'000'000'000ll + st.st_ctim.tv_nsec;
    if (b->image) binary_bytes_ += b->size;
  }
  b->module = std::move(module);
  return b;
}

StackResolver::Binary& StackResolver::binary_of(uint32_t pid, const FileMapping& m) {
  auto key = std::make_pair(m.dev, m.ino);
  auto it = binaries_.find(key);
  uint64_t now = WallClock::monotonic_now_ns();
  if (it != binaries_.end() && now - it->second->checked_ns >= kRecheckNs) {
    // Still the same file? (rewritten in place, or its inode number reused by another)
    UniqueFd fd(::open(fmt::format("{}/{}/map_files/{:x}-{:x}", proc_, pid, m.start, m.end).c_str(),
                       O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_PATH));
    struct stat st {};
    bool same = fd && fstat(fd.get(), &st) == 0 && (uint64_t)st.st_size == it->second->size &&
                st.st_mtim.tv_sec * 1'000'000'000ll + st.st_mtim.tv_nsec == it->second->mtime_ns &&
                st.st_ctim.tv_sec * 1'000'000'000ll + st.st_ctim.tv_nsec == it->second->ctime_ns;
    if (same) {
      it->second->checked_ns = now;
    } else {
      if (it->second->image) binary_bytes_ -= it->second->size;
      binaries_.erase(it);
      it = binaries_.end();
    }
  }
  if (it != binaries_.end()) return *it->second;
  if (binaries_.size() >= kMaxBinaries) binaries_.clear(), binary_bytes_ = 0;  // stacks keep their modules
  return *binaries_.emplace(key, open_binary(pid, m)).first->second;
}

StackFrame StackResolver::frame_at(uint32_t pid, const FileMapping& m, uint64_t address, bool return_address) {
  Binary& b = binary_of(pid, m);
  StackFrame f;
  f.address = address;
  f.module = b.module;
  f.file_offset = address - m.start + m.file_offset;
  if (!b.image) return f;
  auto vaddr = b.image->vaddr_of_file_offset(f.file_offset);
  if (!vaddr) return f;
  // A return address points past its call, which may be a function's last instruction.
  auto sym = b.image->symbolize(return_address ? *vaddr - 1 : *vaddr);
  if (!sym) return f;
  f.symbol = bounded_symbol(std::move(sym->name));  // raw: a demangler is a hostile name's playground
  f.symbol_offset = sym->offset + (return_address ? 1 : 0);
  return f;
}

std::vector<StackFrame> StackResolver::frames_of(uint32_t pid, const std::vector<FileMapping>& maps,
                                                 const std::vector<uint64_t>& ips, uint64_t top_word) {
  std::vector<StackFrame> frames;
  for (size_t i = 0; i < ips.size(); i++) {
    const FileMapping* m = mapping_of(maps, ips[i]);
    if (!m) break;  // not code: the walk went astray (a binary without frame pointers)
    frames.push_back(frame_at(pid, *m, ips[i], i > 0));
    // The caller of a frameless syscall wrapper, which the walk skipped (see stack_top_word).
    const FileMapping* caller = top_word ? mapping_of(maps, top_word) : nullptr;
    if (i == 0 && caller && is_frameless_wrapper(frames[0].symbol) && (ips.size() < 2 || ips[1] != top_word))
      frames.push_back(frame_at(pid, *caller, top_word, true));
  }
  return frames;
}

std::shared_ptr<const CreationStack> StackResolver::resolve(uint32_t pid, const std::vector<uint64_t>& ips,
                                                            uint64_t top_word) {
  if (ips.empty()) return nullptr;
  std::vector<uint64_t> addresses = ips;
  addresses.push_back(top_word);
  const ProcessMaps& proc = mappings_of(pid, addresses);
  addresses.push_back(pid);
  addresses.push_back(proc.read_ns);  // maps read again (exec, a new library): resolved again
  std::string raw(reinterpret_cast<const char*>(addresses.data()), addresses.size() * sizeof(uint64_t));
  if (auto it = recent_.find(raw); it != recent_.end()) return it->second;
  auto stack = resolve_with(pid, proc.mappings, ips, top_word);
  if (recent_.size() >= kMaxRecent) recent_.clear();
  recent_.emplace(std::move(raw), stack);
  return stack;
}

std::shared_ptr<const CreationStack> StackResolver::resolve_with(uint32_t pid, const std::vector<FileMapping>& maps,
                                                                 const std::vector<uint64_t>& ips, uint64_t top_word) {
  CreationStack stack;
  if (maps.empty()) {
    // Gone before we looked (or maps unreadable): the addresses are all there is.
    for (uint64_t a : ips) stack.frames.push_back(StackFrame{a, nullptr, 0, "", 0});
    stack.unresolved = "process exited before its mappings were read";
    return intern(std::move(stack));
  }
  stack.frames = frames_of(pid, maps, ips, top_word);
  // Whole once the walk reached main (or a thread's first frame): what it met above that (a
  // static libc's start-up without frame pointers, the depth bound) loses none of the program.
  bool whole = std::any_of(stack.frames.begin() + (stack.frames.empty() ? 0 : 1), stack.frames.end(),
                           [](const StackFrame& f) { return is_root_symbol(f.symbol); });
  stack.quality = whole ? StackQuality::FramePointer : StackQuality::Truncated;
  return intern(std::move(stack));
}

std::shared_ptr<const CreationStack> StackResolver::intern(CreationStack stack) {
  std::string key;
  key.reserve(stack.frames.size() * 16 + 1);
  key.push_back(static_cast<char>(stack.quality));
  for (const StackFrame& f : stack.frames) {
    uint64_t parts[2] = {reinterpret_cast<uint64_t>(f.module.get()), f.module ? f.file_offset : f.address};
    key.append(reinterpret_cast<const char*>(parts), sizeof(parts));
  }
  auto it = interned_.find(key);
  if (it != interned_.end()) return it->second;
  size_t bytes = stack.memory_bytes() + key.capacity() + sizeof(key);
  if (interned_.size() >= kMaxStacks || interned_bytes_ + bytes > kMaxStackBytes) {
    dropped_++;  // one shared answer: a flood of distinct stacks costs nothing more
    if (!over_budget_) {
      CreationStack none;
      none.unresolved = "stack budget exhausted";
      over_budget_ = std::make_shared<const CreationStack>(std::move(none));
    }
    return over_budget_;
  }
  auto shared = std::make_shared<const CreationStack>(std::move(stack));
  interned_bytes_ += bytes;
  interned_.emplace(std::move(key), shared);
  return shared;
}

}  // namespace inotrace
