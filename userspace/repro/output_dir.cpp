#include "repro/output_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <vector>

#include "repro/scratch_root.h"
#include "util/error.h"
#include "util/output_file.h"

namespace inotrace::repro {

void require_trusted_directory(const std::string& path) {
  const uid_t me = ::geteuid();
  for (std::filesystem::path d(path);; d = d.parent_path()) {
    const std::string which = d == path ? "it" : d.string() + " (above it)";
    struct stat st {};
    if (::lstat(d.c_str(), &st) != 0)
      throw Error(fmt::format("{}: {}: {}", path, d.string(), std::strerror(errno)));
    if (!S_ISDIR(st.st_mode)) throw Error(fmt::format("{}: {} is not a directory", path, d.string()));
    if (st.st_uid != 0 && st.st_uid != me)
      throw Error(fmt::format(
          "refusing {}: {} belongs to uid {}, who could swap what is in it for a symlink (use a "
          "directory owned by root, e.g. under /tmp)",
          path, which, st.st_uid));
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))
      throw Error(fmt::format("refusing {}: {} is writable by other users (mode {:04o}, not sticky)",
                              path, which, st.st_mode & 07777));
    if (d == d.parent_path()) break;
  }
}

namespace {

std::string strip_trailing_slashes(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

std::string fd_path(int fd) {
  char buf[PATH_MAX];
  std::string link = "/proc/self/fd/" + std::to_string(fd);
  ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
  if (n < 0) throw Error(fmt::format("readlink {}: {}", link, std::strerror(errno)));
  return std::string(buf, static_cast<size_t>(n));
}

// mkdir in the parent opened without following anyone else's symlink, once the parent is known
// to be trusted; an existing entry is left for open_directory_safely to judge.
void make_directory(const std::string& path) {
  std::filesystem::path p(path);
  std::string name = p.filename().string();
  if (name.empty() || name == "." || name == "..") return;
  std::string parent = p.parent_path().string();
  UniqueFd dir = open_directory_safely(parent.empty() ? "." : parent);
  require_trusted_directory(fd_path(dir.get()));
  if (::mkdirat(dir.get(), name.c_str(), 0755) != 0 && errno != EEXIST)
    throw Error(fmt::format("mkdir: {}", std::strerror(errno)));
}

// Entries other than scratch roots (those are ours to clean up, or refused by cleanup_stale).
std::vector<std::string> user_entries(int dirfd, const std::string& path) {
  std::vector<std::string> names;
  int dup_fd = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR* d = dup_fd >= 0 ? ::fdopendir(dup_fd) : nullptr;
  if (!d) {
    if (dup_fd >= 0) ::close(dup_fd);
    throw Error(fmt::format("--out {}: {}", path, std::strerror(errno)));
  }
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == ".." || name.rfind(kScratchRootPrefix, 0) == 0) continue;
    names.push_back(name);
  }
  ::closedir(d);
  return names;
}

}  // namespace

OutputDir prepare_output_dir(const std::string& requested_in, bool force) {
  if (requested_in.empty()) throw Error("--out DIR is required");
  const std::string requested = strip_trailing_slashes(requested_in);
  OutputDir out;
  try {
    make_directory(requested);
    out.fd = open_directory_safely(requested);
    out.path = fd_path(out.fd.get());
    if (out.path != "/") require_trusted_directory(out.path);
  } catch (const Error& e) {
    throw Error(fmt::format("--out {}: {}", requested, e.what()));
  }
  if (out.path == "/")
    throw Error(fmt::format(
        "--out {}: refusing the root directory: give a directory of its own (it gets a scratch "
        "root and the reports)",
        requested));
  if (!force) {
    auto names = user_entries(out.fd.get(), requested);
    if (!names.empty())
      throw Error(fmt::format(
          "--out {} is not empty ({} entr{}, e.g. '{}'): give a new or empty directory, or "
          "--force to write the reports into it (existing files of other users are never "
          "followed or overwritten)",
          requested, names.size(), names.size() == 1 ? "y" : "ies", names.front()));
  }
  return out;
}

}  // namespace inotrace::repro
