#include "stacks/stack_resolver.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <cxxabi.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <string_view>

#include <fmt/format.h>

#include "inotrace/events.h"
#include "symbols/elf_image.h"
#include "util/small_file.h"
#include "util/unique_fd.h"
#include "util/wall_clock.h"

namespace inotrace {

namespace {

// Bounds: a busy node has few distinct creating code paths; these only stop a hostile flood.
constexpr size_t kMaxProcesses = 4096, kMaxBinaries = 1024, kMaxStacks = 65536;
constexpr uint64_t kMapsMaxAgeNs = 1'000'000'000;  // a reused pid is re-read within a second
constexpr long kFuseMagic = 0x65735546;            // a FUSE daemon could stall every read

// The first frames of a program or thread (or its main: above it is only the C library's
// start-up, whose symbols Debian strips): a walk that reaches one is whole.
bool is_root_symbol(std::string_view s) {
  static constexpr std::array<std::string_view, 14> roots = {
      "main", "main.main", "_start", "__libc_start_main", "__libc_start_call_main", "start_thread", "clone",
      "clone3", "__clone", "__clone3", "runtime.goexit", "runtime.rt0_go", "runtime.mstart", "thread_start"};
  for (std::string_view r : roots)
    if (s == r) return true;
  return false;
}

// C++ names as people read them. Only short names: the demangler recurses on the name's
// structure, and a hostile binary chooses its names.
std::string demangled(std::string name) {
  if (!name.starts_with("_Z") || name.size() > 1024) return name;
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> out(abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status), std::free);
  return status == 0 && out ? std::string(out.get()) : name;
}

}  // namespace

struct StackResolver::Binary {
  std::shared_ptr<const StackModule> module;
  std::unique_ptr<symbols::ElfImage> image;  // null: not readable as ELF (said by an empty build id)
};

StackResolver::StackResolver(std::string proc_root) : proc_(std::move(proc_root)) {}
StackResolver::~StackResolver() = default;

const std::vector<FileMapping>& StackResolver::mappings_of(uint32_t pid, const std::vector<uint64_t>& ips) {
  uint64_t now = WallClock::monotonic_now_ns();
  auto it = processes_.find(pid);
  bool fresh = it != processes_.end() && now - it->second.read_ns < kMapsMaxAgeNs &&
               mapping_of(it->second.mappings, ips.front());
  if (fresh) return it->second.mappings;
  if (it == processes_.end()) {
    if (processes_.size() >= kMaxProcesses) processes_.clear();
    it = processes_.emplace(pid, ProcessMaps{}).first;
  }
  auto text = read_small_file(fmt::format("{}/{}/maps", proc_, pid));
  it->second.mappings = text ? parse_executable_mappings(*text) : std::vector<FileMapping>{};
  it->second.read_ns = now;
  return it->second.mappings;
}

StackResolver::Binary& StackResolver::binary_of(uint32_t pid, const FileMapping& m) {
  auto key = std::make_pair(m.dev, m.ino);
  auto it = binaries_.find(key);
  if (it != binaries_.end()) return *it->second;
  if (binaries_.size() >= kMaxBinaries) binaries_.clear();  // stacks keep their modules alive
  auto b = std::make_unique<Binary>();
  auto module = std::make_shared<StackModule>();
  module->path = m.path;
  UniqueFd fd(::open(fmt::format("{}/{}/map_files/{:x}-{:x}", proc_, pid, m.start, m.end).c_str(),
                     O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  struct stat st {};
  struct statfs sfs {};
  // The very file mapped (map_files), and not one a FUSE daemon could stall us reading.
  if (fd && fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode) && st.st_ino == m.ino &&
      fstatfs(fd.get(), &sfs) == 0 && sfs.f_type != kFuseMagic) {
    std::string err;
    b->image = symbols::ElfImage::open(fd.get(), &err);
    if (b->image) module->build_id = b->image->build_id();  // the image keeps its own fd
  }
  b->module = std::move(module);
  return *binaries_.emplace(key, std::move(b)).first->second;
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
  f.symbol = demangled(std::move(sym->name));
  f.symbol_offset = sym->offset + (return_address ? 1 : 0);
  return f;
}

std::shared_ptr<const CreationStack> StackResolver::resolve(uint32_t pid, const std::vector<uint64_t>& ips,
                                                            uint64_t top_word) {
  if (ips.empty()) return nullptr;
  const std::vector<FileMapping>& maps = mappings_of(pid, ips);
  CreationStack stack;
  std::vector<uint64_t> addresses = ips;
  // A frameless syscall wrapper's caller, which the walk skipped (see stack_top_word).
  if (top_word && mapping_of(maps, top_word) && (ips.size() < 2 || ips[1] != top_word))
    addresses.insert(addresses.begin() + 1, top_word);
  bool cut = false;
  for (size_t i = 0; i < addresses.size(); i++) {
    const FileMapping* m = mapping_of(maps, addresses[i]);
    if (!m) {
      cut = true;  // not code: the walk went astray (a binary without frame pointers)
      break;
    }
    stack.frames.push_back(frame_at(pid, *m, addresses[i], i > 0));
  }
  bool whole = !cut && ips.size() < INOTRACE_STACK_DEPTH &&
               std::any_of(stack.frames.begin() + (stack.frames.empty() ? 0 : 1), stack.frames.end(),
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
  auto shared = std::make_shared<const CreationStack>(std::move(stack));
  if (interned_.size() < kMaxStacks) interned_.emplace(std::move(key), shared);
  return shared;
}

size_t StackResolver::stacks_memory_bytes() const {
  size_t n = 0;
  for (const auto& [key, s] : interned_) n += key.capacity() + s->memory_bytes();
  return n;
}

}  // namespace inotrace
