#include "serve/api_token.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/error.h"
#include "util/output_file.h"
#include "util/unique_fd.h"

namespace inotrace {

namespace {

void split(const std::string& path, std::string& dir, std::string& name) {
  size_t slash = path.rfind('/');
  dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  name = slash == std::string::npos ? path : path.substr(slash + 1);
  if (name.empty() || name == "." || name == "..") throw Error(fmt::format("--api-token-file {}: not a file name", path));
}

std::string random_hex(size_t bytes) {
  std::string raw(bytes, '\0');
  size_t got = 0;
  while (got < bytes) {
    ssize_t n = getrandom(raw.data() + got, bytes - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error(fmt::format("getrandom: {}", strerror(errno)));
    got += n;
  }
  std::string hex;
  for (unsigned char c : raw) hex += fmt::format("{:02x}", c);
  return hex;
}

}  // namespace

std::string create_api_token(const std::string& path) {
  std::string dir, name;
  split(path, dir, name);
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    throw Error(fmt::format("cannot create {} for the API token: {}", dir, strerror(errno)));
  UniqueFd dfd = open_directory_safely(dir);
  struct stat st {};
  if (fstat(dfd.get(), &st) != 0) throw Error(fmt::format("{}: {}", dir, strerror(errno)));
  if (st.st_uid != geteuid() || (st.st_mode & 022))
    throw Error(fmt::format("refusing to keep the API token in {}: it must belong to uid {} and be writable by nobody "
                            "else (it is uid {}, mode {:o})",
                            dir, geteuid(), st.st_uid, st.st_mode & 07777));
  // Nobody else can write here, so nothing can appear between the unlink and the O_EXCL create.
  if (unlinkat(dfd.get(), name.c_str(), 0) != 0 && errno != ENOENT)
    throw Error(fmt::format("cannot replace the old API token {}: {}", path, strerror(errno)));
  UniqueFd fd(openat(dfd.get(), name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) throw Error(fmt::format("cannot create the API token {}: {}", path, strerror(errno)));
  std::string token = random_hex(32);
  std::string line = token + "\n";
  if (fchmod(fd.get(), 0600) != 0 || write(fd.get(), line.data(), line.size()) != (ssize_t)line.size())
    throw Error(fmt::format("cannot write the API token {}: {}", path, strerror(errno)));
  return token;
}

std::string read_api_token(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  if (!fd)
    throw Error(fmt::format("cannot read the daemon's API token {}: {} (the API is for root; is the daemon running, "
                            "with this --api-token-file?)",
                            path, strerror(errno)));
  struct stat st {};
  if (fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || (st.st_uid != 0 && st.st_uid != geteuid()) ||
      (st.st_mode & 077))
    throw Error(fmt::format("refusing the API token {}: not a regular file of root or yours, or readable by others", path));
  char buf[256];
  ssize_t n = read(fd.get(), buf, sizeof buf);
  if (n <= 0) throw Error(fmt::format("cannot read the daemon's API token {}: empty", path));
  std::string token(buf, n);
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
  return token;
}

void remove_api_token(const std::string& path, const std::string& token) {
  try {
    if (read_api_token(path) == token) unlink(path.c_str());
  } catch (const Error&) {
  }
}

bool api_token_matches(std::string_view expected, std::string_view given) {
  if (expected.empty() || expected.size() != given.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < expected.size(); i++) diff |= (unsigned char)expected[i] ^ (unsigned char)given[i];
  return diff == 0;
}

}  // namespace inotrace
