// bench/null_floor: attaches bench/null_floor.bpf.c's empty programs at the points one of
// inotrace's backends uses, prints "ready ..." and sleeps until SIGTERM/SIGINT. bench/run (and
// the VM guests) measure the add+rm pair and getppid under it: the floor any tracer using that
// backend's hooks pays before doing any work. Built by bench/build.sh; not part of the CMake build.
//
// usage: null_floor tracepoint|fentry|kprobe
// Prints: "ready backend=B programs=N skipped=NAME,NAME" (skipped: optional functions this
// kernel does not have under that name), or an error on stderr and exit 1.
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "null_floor.skel.h"

// Targets the loader sets itself (fentry/fexit by BTF name; kprobes by kallsyms name, where a
// compiler's .isra/.constprop clone of the function counts as the function).
struct target {
  const char* prog;
  const char* func;
  int retprobe;  // kprobes only
};
static const struct target kTargets[] = {
    {"fe_enter_add", "__x64_sys_inotify_add_watch", 0}, {"fe_exit_add", "__x64_sys_inotify_add_watch", 0},
    {"fe_enter_update", "inotify_update_watch", 0},     {"fe_exit_update", "inotify_update_watch", 0},
    {"fe_path_notify", "security_path_notify", 0},      {"fe_add_mark", "fsnotify_add_mark_locked", 0},
    {"fe_enter_rm", "__x64_sys_inotify_rm_watch", 0},   {"fe_exit_rm", "__x64_sys_inotify_rm_watch", 0},
    {"fe_freeing_mark", "inotify_freeing_mark", 0},     {"fe_enter_init1", "__x64_sys_inotify_init1", 0},
    {"fe_exit_init1", "__x64_sys_inotify_init1", 0},    {"fe_enter_init", "__x64_sys_inotify_init", 0},
    {"fe_exit_init", "__x64_sys_inotify_init", 0},      {"fe_enter_destroy", "fsnotify_destroy_group", 0},
    {"fe_exit_destroy", "fsnotify_destroy_group", 0},
    {"kp_path_notify", "security_path_notify", 0},      {"kp_enter_add_mark", "fsnotify_add_mark_locked", 0},
    {"kp_exit_add_mark", "fsnotify_add_mark_locked", 1}, {"kp_freeing_mark", "inotify_freeing_mark", 0},
    {"kp_enter_destroy", "fsnotify_destroy_group", 0},  {"kp_exit_destroy", "fsnotify_destroy_group", 1},
};

static const struct target* target_of(const char* prog) {
  for (size_t i = 0; i < sizeof kTargets / sizeof kTargets[0]; i++)
    if (!strcmp(kTargets[i].prog, prog)) return &kTargets[i];
  return NULL;
}

// kallsyms_find: the text symbol NAME (or, if clones are allowed, NAME.something) into OUT.
static int kallsyms_find(const char* name, int clones, char* out, size_t outlen) {
  FILE* f = fopen("/proc/kallsyms", "r");
  char line[512], sym[256], type;
  unsigned long long addr;
  size_t n = strlen(name);
  int found = 0;
  if (!f) return 0;
  while (!found && fgets(line, sizeof line, f)) {
    if (sscanf(line, "%llx %c %255s", &addr, &type, sym) != 3 || (type != 't' && type != 'T')) continue;
    if (strncmp(sym, name, n) || (sym[n] && !(clones && sym[n] == '.'))) continue;
    if (clones && strstr(sym + n, ".cold")) continue;  // not an entry point
    snprintf(out, outlen, "%s", sym);
    found = 1;
  }
  fclose(f);
  return found;
}

static const char* prefix_of(const char* backend) {
  if (!strcmp(backend, "tracepoint")) return "tp_";
  if (!strcmp(backend, "fentry")) return "fe_";
  if (!strcmp(backend, "kprobe")) return "kp_";
  return NULL;
}

static volatile sig_atomic_t stop;
static void on_signal(int sig) {
  (void)sig;
  stop = 1;
}

// select_programs: keeps the backend's programs (targets set, missing functions skipped into
// SKIPPED), disables every other one. Returns how many are kept.
static int select_programs(struct null_floor* skel, const char* pfx, char* skipped, size_t len) {
  struct bpf_program* p;
  char sym[256];
  int kept = 0;
  bpf_object__for_each_program(p, skel->obj) {
    const char* name = bpf_program__name(p);
    const struct target* t = target_of(name);
    int keep = !strncmp(name, pfx, 3);
    if (keep && t) {
      int is_fentry = !strncmp(pfx, "fe_", 3);
      if (!kallsyms_find(t->func, !is_fentry, sym, sizeof sym)) {
        keep = 0;
        snprintf(skipped + strlen(skipped), len - strlen(skipped), "%s%s", *skipped ? "," : "", name);
      } else if (is_fentry && bpf_program__set_attach_target(p, 0, t->func)) {
        keep = 0;
      }
    }
    bpf_program__set_autoload(p, keep);
    kept += keep;
  }
  return kept;
}

static int attach_all(struct null_floor* skel) {
  struct bpf_program* p;
  char sym[256];
  bpf_object__for_each_program(p, skel->obj) {
    if (!bpf_program__autoload(p)) continue;
    const char* name = bpf_program__name(p);
    const struct target* t = target_of(name);
    struct bpf_link* l;
    if (t && !strncmp(name, "kp_", 3)) {
      if (!kallsyms_find(t->func, 1, sym, sizeof sym)) return -ENOENT;
      l = bpf_program__attach_kprobe(p, t->retprobe, sym);
    } else {
      l = bpf_program__attach(p);
    }
    if (!l) {
      fprintf(stderr, "null_floor: attach %s: %s\n", name, strerror(errno));
      return -1;
    }
  }
  return 0;
}

int main(int argc, char** argv) {
  const char* pfx = argc == 2 ? prefix_of(argv[1]) : NULL;
  char skipped[1024] = "";
  if (!pfx) {
    fprintf(stderr, "usage: null_floor tracepoint|fentry|kprobe\n");
    return 2;
  }
  struct null_floor* skel = null_floor__open();
  if (!skel) {
    fprintf(stderr, "null_floor: open: %s\n", strerror(errno));
    return 1;
  }
  int kept = select_programs(skel, pfx, skipped, sizeof skipped);
  int err = null_floor__load(skel);
  if (err) {
    fprintf(stderr, "null_floor: load (%s): %s\n", argv[1], strerror(-err));
    return 1;
  }
  if (attach_all(skel)) return 1;
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  printf("ready backend=%s programs=%d skipped=%s\n", argv[1], kept, *skipped ? skipped : "none");
  fflush(stdout);
  while (!stop) pause();
  null_floor__destroy(skel);
  return 0;
}
