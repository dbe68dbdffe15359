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

// Runs the learner on a fresh inotify fd of this process. An errno when the kernel refused the
// run itself (EINVAL/ENOTSUPP before 5.10), 0 when it ran.
int run_learner(const bpf_program* learner) {
  UniqueFd fd(inotify_init1(IN_CLOEXEC));
  if (!fd) throw Error(fmt::format("inotify_init1: {} (is this kernel built with CONFIG_INOTIFY_USER?)", strerror(errno)));
  uint64_t args[1] = {(uint64_t)fd.get()};
  LIBBPF_OPTS(bpf_test_run_opts, run, .ctx_in = args, .ctx_size_in = sizeof(args));
  if (bpf_prog_test_run_opts(bpf_program__fd(learner), &run) != 0) return errno;
  if (run.retval != 0) throw Error("identify_inotify could not read inotrace's own inotify fd");
  return 0;
}

InotifyIdentity from_kallsyms(const IdentityGlobals& g, const KernelFacts& facts) {
  auto release = facts.syms().entry("inotify_release");
  auto freeing = facts.syms().entry("inotify_freeing_mark");
  if (!release || !freeing)
    throw Error("inotify_release / inotify_freeing_mark not found in /proc/kallsyms: is this "
                "kernel built with CONFIG_INOTIFY_USER?");
  *g.release = release->addr;
  *g.freeing_mark = freeing->addr;
  return {release->addr, freeing->addr, "from /proc/kallsyms"};
}

}  // namespace

InotifyIdentity identify_inotify(const bpf_program* learner, const IdentityGlobals& g, const KernelFacts& facts) {
  int err = run_learner(learner);
  if (err == EINVAL || err == ENOTSUP || err == 524 /* ENOTSUPP, the kernel's own */)
    return from_kallsyms(g, facts);
  if (err) throw Error(fmt::format("running identify_inotify failed: {}", strerror(err)));
  if (std::strncmp(g.dentry_name, "inotify", 8) != 0 || !*g.release || !*g.freeing_mark)
    throw Error(fmt::format("identify_inotify read a file named '{}' (release {:#x}, freeing_mark {:#x}), not an "
                            "inotify file: a CO-RE relocation is wrong for this kernel",
                            std::string(g.dentry_name, strnlen(g.dentry_name, 8)), *g.release, *g.freeing_mark));
  return {*g.release, *g.freeing_mark, "learnt from an inotify fd"};
}

}  // namespace inotrace
