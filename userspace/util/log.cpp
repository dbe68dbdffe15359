#include "util/log.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <string>

namespace inotrace {

namespace {
std::atomic<uint64_t> g_failures{0};
}  // namespace

void init_process_io() {
  signal(SIGPIPE, SIG_IGN);
  for (int fd = 0; fd <= 2; fd++) {
    if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF) continue;
    // open() returns the lowest free descriptor: this one.
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0 && null_fd != fd) close(null_fd);
  }
}

void log_raw(std::string_view text) {
  while (!text.empty()) {
    ssize_t n = write(STDERR_FILENO, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      g_failures.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    text.remove_prefix(n);
  }
}

void log_line(std::string_view message) {
  std::string line;
  line.reserve(message.size() + 11);
  line.append("inotrace: ").append(message).append("\n");
  log_raw(line);
}

uint64_t log_write_failures() { return g_failures.load(std::memory_order_relaxed); }

}  // namespace inotrace
