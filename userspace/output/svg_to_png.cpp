#include "output/svg_to_png.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/unique_fd.h"

extern char** environ;

namespace inotrace {
namespace {

bool write_all(int fd, const std::string& s) {
  for (size_t off = 0; off < s.size();) {
    ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

// posix_spawnp searches PATH itself (no shell) and reports a missing binary as ENOENT.
int spawn_rsvg_convert(int stdin_fd, int stdout_fd, pid_t* pid) {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_adddup2(&fa, stdin_fd, 0);
  posix_spawn_file_actions_adddup2(&fa, stdout_fd, 1);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  // Our signal mask and handlers (Ctrl-C stops the experiment) are not the child's business.
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  char arg0[] = "rsvg-convert", arg1[] = "--format", arg2[] = "png";
  char* argv[] = {arg0, arg1, arg2, nullptr};
  int rc = posix_spawnp(pid, arg0, &fa, &attr, argv, environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&fa);
  return rc;
}

}  // namespace

std::optional<std::string> svg_to_png(const std::string& svg, std::string* why_not) {
  auto fail = [&](std::string why) -> std::optional<std::string> {
    if (why_not) *why_not = std::move(why);
    return std::nullopt;
  };
  UniqueFd in(::memfd_create("inotrace-svg", MFD_CLOEXEC));
  if (!in || !write_all(in.get(), svg) || ::lseek(in.get(), 0, SEEK_SET) != 0)
    return fail(fmt::format("memfd: {}", std::strerror(errno)));
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return fail(fmt::format("pipe: {}", std::strerror(errno)));
  UniqueFd out_read(p[0]), out_write(p[1]);
  pid_t pid = -1;
  int rc = spawn_rsvg_convert(in.get(), out_write.get(), &pid);
  out_write.reset();
  if (rc == ENOENT) return fail("rsvg-convert is not installed (Debian: librsvg2-bin)");
  if (rc != 0) return fail(fmt::format("cannot run rsvg-convert: {}", std::strerror(rc)));
  std::string png;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(out_read.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    png.append(buf, static_cast<size_t>(n));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return fail(WIFEXITED(status) ? fmt::format("rsvg-convert failed (exit {})", WEXITSTATUS(status))
                                  : fmt::format("rsvg-convert died (signal {})", WTERMSIG(status)));
  if (png.compare(0, 8, "\x89PNG\r\n\x1a\n") != 0) return fail("rsvg-convert wrote no PNG");
  return png;
}

}  // namespace inotrace
