#include "events/instance_id_key.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <chrono>
#include <thread>
#include <utility>

#include "util/error.h"
#include "util/output_file.h"
#include "util/recent_values.h"
#include "util/unique_fd.h"

namespace inotrace {

namespace {

constexpr const char* kKeyFile = "instance-key";
constexpr size_t kKeyBytes = 16;

[[noreturn]] void fail(const std::string& what, const std::string& why) {
  throw Error(fmt::format("instance id key {}: {}", what, why));
}

void random_bytes(void* buf, size_t len) {
  auto* p = static_cast<unsigned char*>(buf);
  while (len) {
    ssize_t n = getrandom(p, len, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw Error(fmt::format("getrandom: {}", std::strerror(errno)));
    p += n, len -= n;
  }
}

// Something only the caller (or root) could have written.
void check_trusted(const std::string& what, const struct stat& st, mode_t type) {
  if ((st.st_mode & S_IFMT) != type) fail(what, "not a regular file or directory as expected");
  if (st.st_uid != geteuid() && st.st_uid != 0) fail(what, fmt::format("owned by uid {}", st.st_uid));
  if (st.st_mode & (type == S_IFDIR ? 022 : 077)) fail(what, fmt::format("mode {:o} lets others in", st.st_mode & 07777));
}

InstanceIdKey key_from(const unsigned char* b, std::string origin) {
  InstanceIdKey k;
  std::memcpy(&k.k0, b, 8);
  std::memcpy(&k.k1, b + 8, 8);
  k.origin = std::move(origin);
  return k;
}

// The key in an existing file, or nullopt-like false when the file is absent.
bool read_key(int dir_fd, const std::string& path, unsigned char* out) {
  // The file may be being written by a concurrent first run: wait for its 16 bytes.
  for (int attempt = 0; attempt < 100; attempt++) {
    UniqueFd fd(openat(dir_fd, kKeyFile, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
    if (!fd) {
      if (errno == ENOENT) return false;
      fail(path, errno == ELOOP ? "a symlink" : std::strerror(errno));
    }
    struct stat st {};
    if (fstat(fd.get(), &st) != 0) fail(path, std::strerror(errno));
    check_trusted(path, st, S_IFREG);
    if (st.st_nlink != 1) fail(path, "has other hard links");
    if (st.st_size == (off_t)kKeyBytes && pread(fd.get(), out, kKeyBytes, 0) == (ssize_t)kKeyBytes) return true;
    if (st.st_size > (off_t)kKeyBytes) fail(path, fmt::format("{} bytes, expected {}", st.st_size, kKeyBytes));
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  fail(path, "stays shorter than 16 bytes");
}

}  // namespace

InstanceIdKey load_or_create_boot_key(const std::string& dir) {
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) fail(dir, std::strerror(errno));
  UniqueFd dir_fd = open_directory_safely(dir);
  struct stat st {};
  if (fstat(dir_fd.get(), &st) != 0) fail(dir, std::strerror(errno));
  check_trusted(dir, st, S_IFDIR);
  std::string path = dir + "/" + kKeyFile;
  unsigned char bytes[kKeyBytes];
  if (read_key(dir_fd.get(), path, bytes)) return key_from(bytes, path);
  random_bytes(bytes, sizeof bytes);
  try {
    UniqueFd fd = open_output_file(path, OutputMode::CreateNew, 0600);
    if (write(fd.get(), bytes, sizeof bytes) != (ssize_t)sizeof bytes) fail(path, std::strerror(errno));
    return key_from(bytes, path + " (created)");
  } catch (const Error&) {
    if (read_key(dir_fd.get(), path, bytes)) return key_from(bytes, path);  // another run created it first
    throw;
  }
}

const InstanceIdKey& instance_id_key() {
  static const InstanceIdKey key = [] {
    try {
      return load_or_create_boot_key(kBootKeyDir);
    } catch (const Error& e) {
      unsigned char bytes[kKeyBytes];
      random_bytes(bytes, sizeof bytes);
      return key_from(bytes, fmt::format("random, for this process only ({}): instance ids will not match "
                                         "other commands' ids", e.what()));
    }
  }();
  return key;
}

// SipHash-2-4 (Aumasson and Bernstein, 2012), as in the reference implementation.
uint64_t siphash24(uint64_t k0, uint64_t k1, const void* data, size_t len) {
  auto rotl = [](uint64_t x, int b) { return (x << b) | (x >> (64 - b)); };
  uint64_t v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1;
  uint64_t v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
  auto round = [&] {
    v0 += v1, v1 = rotl(v1, 13), v1 ^= v0, v0 = rotl(v0, 32);
    v2 += v3, v3 = rotl(v3, 16), v3 ^= v2;
    v0 += v3, v3 = rotl(v3, 21), v3 ^= v0;
    v2 += v1, v1 = rotl(v1, 17), v1 ^= v2, v2 = rotl(v2, 32);
  };
  const auto* p = static_cast<const unsigned char*>(data);
  auto word = [&](size_t i, size_t n) {
    uint64_t m = 0;
    for (size_t k = 0; k < n; k++) m |= (uint64_t)p[i + k] << (8 * k);
    return m;
  };
  size_t full = len & ~(size_t)7;
  for (size_t i = 0; i < full; i += 8) {
    uint64_t m = word(i, 8);
    v3 ^= m, round(), round(), v0 ^= m;
  }
  uint64_t last = word(full, len - full) | ((uint64_t)len << 56);
  v3 ^= last, round(), round(), v0 ^= last;
  v2 ^= 0xff;
  round(), round(), round(), round();
  return v0 ^ v1 ^ v2 ^ v3;
}

ShortText opaque_instance_id_text(uint64_t group, uint64_t seq) {
  // A stream names a few instances over and over: their ids are kept (SipHash and the hex
  // digits were a tenth of a `trace --json` line's cost).
  thread_local RecentValues<std::pair<uint64_t, uint64_t>, ShortText> kept;
  return kept.get({group, seq}, [](const std::pair<uint64_t, uint64_t>& id, ShortText& text) {
    unsigned char in[16];
    for (int i = 0; i < 8; i++) in[i] = id.first >> (8 * i), in[8 + i] = id.second >> (8 * i);
    const InstanceIdKey& key = instance_id_key();
    uint64_t h = siphash24(key.k0, key.k1, in, sizeof in);
    static constexpr char kHex[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) text.data[i] = kHex[(h >> (60 - 4 * i)) & 0xf];
    text.size = 16;
  });
}

std::string opaque_instance_id(uint64_t group, uint64_t seq) { return opaque_instance_id_text(group, seq).str(); }

}  // namespace inotrace
