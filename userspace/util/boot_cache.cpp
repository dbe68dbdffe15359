#include "util/boot_cache.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <tuple>
#include <vector>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "util/error.h"
#include "util/output_file.h"
#include "util/small_file.h"

namespace inotrace {

namespace {

constexpr const char* kDefaultDir = "/run/inotrace";
constexpr size_t kMaxEntries = 32;  // of one boot: a few builds' worth
constexpr std::string_view kEntryPrefix = "boot-";

// A UUID in the kernel's lower-case spelling.
bool is_boot_id(std::string_view id) {
  if (id.size() != 36) return false;
  for (char c : id)
    if (!(c == '-' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// The boot's id as the kernel prints it, or empty.
std::string read_boot_id() {
  auto text = read_small_file("/proc/sys/kernel/random/boot_id");
  if (!text) return {};
  std::string id = text->substr(0, text->find('\n'));
  return is_boot_id(id) ? id : std::string();
}

// Removes the entries of other boots (where /run outlives a boot, as a host directory mounted
// into a container may), and this boot's oldest beyond kMaxEntries (each build of inotrace
// keeps its own CO-RE BTFs; a write cut short leaves a temporary). Only names this class makes,
// "boot-<boot id>.<name>", are touched, whatever else shares the directory.
void tidy(int dir_fd, std::string_view boot_id) {
  int listing = dup(dir_fd);
  DIR* d = listing >= 0 ? fdopendir(listing) : nullptr;
  if (!d) {
    if (listing >= 0) close(listing);
    return;
  }
  rewinddir(d);  // the dup shares its offset with every earlier listing
  std::vector<std::pair<timespec, std::string>> ours;
  while (dirent* e = readdir(d)) {
    std::string_view name(e->d_name);
    if (!name.starts_with(kEntryPrefix)) continue;
    name.remove_prefix(kEntryPrefix.size());
    if (name.size() <= 37 || name[36] != '.' || !is_boot_id(name.substr(0, 36))) continue;
    struct stat st {};
    if (name.substr(0, 36) != boot_id) unlinkat(dir_fd, e->d_name, 0);
    else if (fstatat(dir_fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) ours.push_back({st.st_mtim, e->d_name});
  }
  closedir(d);
  if (ours.size() <= kMaxEntries) return;
  std::sort(ours.begin(), ours.end(), [](const auto& a, const auto& b) {
    return std::tie(a.first.tv_sec, a.first.tv_nsec) < std::tie(b.first.tv_sec, b.first.tv_nsec);
  });
  for (size_t i = 0; i < ours.size() - kMaxEntries; i++) unlinkat(dir_fd, ours[i].second.c_str(), 0);
}

bool trusted(const struct stat& st, mode_t type) {
  return (st.st_mode & S_IFMT) == type && st.st_uid == 0 && !(st.st_mode & (S_IWGRP | S_IWOTH));
}

}  // namespace

BootCache::BootCache(const std::string& dir) : path_(dir) {
  if (geteuid() != 0) {
    why_not_ = "not running as root";
    return;
  }
  boot_id_ = read_boot_id();
  if (boot_id_.empty()) {
    why_not_ = "no boot id in /proc/sys/kernel/random/boot_id";
    return;
  }
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    why_not_ = fmt::format("cannot create {}: {}", dir, strerror(errno));
    return;
  }
  UniqueFd fd;
  try {
    fd = open_directory_safely(dir);  // no symlink on the way
  } catch (const Error& e) {
    why_not_ = e.what();
    return;
  }
  struct stat st {};
  if (fstat(fd.get(), &st) != 0) {
    why_not_ = fmt::format("cannot open {}: {}", dir, strerror(errno));
    return;
  }
  if (!trusted(st, S_IFDIR)) {
    why_not_ = fmt::format("{} is not a directory only root can write (owner {}, mode {:o})", dir, st.st_uid,
                           st.st_mode & 07777);
    return;
  }
  dir_ = std::move(fd);
}

const BootCache& BootCache::process() {
  static const BootCache cache = [] {
    const char* dir = secure_getenv("INOTRACE_CACHE_DIR");  // (none in a setuid run)
    if (dir && std::string_view(dir) == "off") {
      BootCache off("");
      off.dir_.reset();
      off.why_not_ = "switched off (INOTRACE_CACHE_DIR=off)";
      return off;
    }
    return BootCache(dir && *dir ? dir : kDefaultDir);
  }();
  return cache;
}

std::string BootCache::entry_name(std::string_view name) const {
  return fmt::format("{}{}.{}", kEntryPrefix, boot_id_, name);
}

UniqueFd BootCache::open(std::string_view name) const {
  if (!usable()) return {};
  UniqueFd fd(openat(dir_.get(), entry_name(name).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  struct stat st {};
  if (!fd || fstat(fd.get(), &st) != 0 || !trusted(st, S_IFREG) || st.st_nlink != 1) return {};
  return fd;
}

std::optional<std::string> BootCache::read(std::string_view name, size_t max_bytes) const {
  UniqueFd fd = open(name);
  if (!fd) return std::nullopt;
  std::string out;
  char buf[16 << 10];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::nullopt;
    if (n == 0) return out;
    if (out.size() + n > max_bytes) return std::nullopt;
    out.append(buf, n);
  }
}

bool BootCache::write(std::string_view name, std::string_view bytes) const {
  if (!usable()) return false;
  std::string entry = entry_name(name);
  uint64_t nonce = 0;  // random: a temporary left by a write cut short (a PID reused) never collides
  if (getrandom(&nonce, sizeof nonce, GRND_NONBLOCK) != (ssize_t)sizeof nonce) return false;
  std::string tmp = fmt::format("{}.new-{:016x}", entry, nonce);
  UniqueFd fd(openat(dir_.get(), tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) return false;
  bool ok = true;
  for (size_t done = 0; ok && done < bytes.size();) {
    ssize_t w = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) ok = false;
    else done += w;
  }
  ok = ok && close(fd.release()) == 0 && renameat(dir_.get(), tmp.c_str(), dir_.get(), entry.c_str()) == 0;
  if (!ok) unlinkat(dir_.get(), tmp.c_str(), 0);
  if (ok) tidy(dir_.get(), boot_id_);
  return ok;
}

}  // namespace inotrace
