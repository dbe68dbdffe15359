#include "loader/inotify_identity.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <sys/inotify.h>

#include <cerrno>
#include <cstring>

#include "util/error.h"
#include "util/unique_fd.h"

namespace inotrace {

namespace {

constexpr int kEnotsupp = 524;  // the kernel's own ENOTSUPP: no test_run for raw_tp (< 5.10)

// Runs the learner on `fd`, one of this process's inotify fds: 0, or the errno of the run.
int run_learner(const bpf_program* learner, int fd) {
  uint64_t args[1] = {(uint64_t)fd};
  LIBBPF_OPTS(bpf_test_run_opts, run, .ctx_in = args, .ctx_size_in = sizeof(args));
  if (bpf_prog_test_run_opts(bpf_program__fd(learner), &run) != 0) return errno;
  if (run.retval != 0) throw Error(fmt::format("identify_inotify could not read inotrace's own inotify fd (it returned {})", run.retval));
  return 0;
}

InotifyIdentity from_kallsyms(const IdentityGlobals& g, const KernelFacts& facts, const std::string& why) {
  std::optional<KernelSymbol> release, freeing;
  try {
    release = facts.syms().entry("inotify_release");
    freeing = facts.syms().entry("inotify_freeing_mark");
  } catch (const Error& e) {
    throw Error(fmt::format("{}; and {}", why, e.what()));
  }
  if (!release || !freeing)
    throw Error(fmt::format("{}; and inotify_release / inotify_freeing_mark are not in /proc/kallsyms: is this "
                            "kernel built with CONFIG_INOTIFY_USER?", why));
  *g.release = release->addr;
  *g.freeing_mark = freeing->addr;
  return {release->addr, freeing->addr, fmt::format("from /proc/kallsyms ({})", why)};
}

}  // namespace

InotifyIdentity identify_inotify(const bpf_program* learner, const IdentityGlobals& g, const KernelFacts& facts) {
  UniqueFd fd(inotify_init1(IN_CLOEXEC));
  if (!fd) {
    int e = errno;
    // The incident inotrace is run for: root's instances used up. Its own fd is not essential.
    if (e == EMFILE || e == ENFILE || e == ENOMEM)
      return from_kallsyms(g, facts, fmt::format("no inotify instance of its own to learn from: {} "
                                                 "(fs.inotify.max_user_instances reached?)", strerror(e)));
    throw Error(fmt::format("inotify_init1: {} (is this kernel built with CONFIG_INOTIFY_USER?)", strerror(e)));
  }
  int err = run_learner(learner, fd.get());
  if (err == kEnotsupp || err == EOPNOTSUPP)
    return from_kallsyms(g, facts, "this kernel cannot test-run raw_tp programs (before 5.10)");
  if (err) throw Error(fmt::format("running identify_inotify failed: {}", strerror(err)));
  // Addresses stay out of messages (KASLR): only whether they were read.
  if (std::strncmp(g.dentry_name, "inotify", 8) != 0 || !*g.release || !*g.freeing_mark)
    throw Error(fmt::format("identify_inotify read a file named '{}' (release {}, freeing_mark {}), not an "
                            "inotify file: a CO-RE relocation is wrong for this kernel",
                            std::string(g.dentry_name, strnlen(g.dentry_name, 8)), *g.release ? "set" : "zero",
                            *g.freeing_mark ? "set" : "zero"));
  return {*g.release, *g.freeing_mark, "learnt from an inotify fd"};
}

}  // namespace inotrace
