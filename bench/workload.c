// inotrace benchmark workload: one small C program, no dependencies beyond libc, built
// statically when possible (bench/build.sh) so the VM image needs nothing else.
//
//   workload pair N [DIR]        N x (inotify_add_watch + inotify_rm_watch) on DIR (default: a
//                                fresh temp dir); prints "pair n=N ns_per_op=X"
//   workload getppid N           N x getppid(2) via syscall(); prints "getppid n=N ns_per_op=X"
//   workload churn SECONDS [DIR] add+rm pairs as fast as possible for SECONDS; prints
//                                "churn ops=N secs=S ops_per_s=R" (one op = one add + one rm)
//   workload hold NDIRS ROOT     creates ROOT/d0..d<NDIRS-1> (ROOT and parents as needed),
//                                watches each from one inotify fd, prints "ready NDIRS" and
//                                sleeps until killed
//   workload tick MS DIR         every MS milliseconds one inotify_add_watch + inotify_rm_watch on
//                                DIR, until killed (a heartbeat for measuring how long a tracer
//                                takes from exec to its first recorded event); prints "ticking"
//
// The inotify queue is drained (non-blocking read) every 256 ops so the IN_IGNORED events of the
// removals never overflow it; the drain is part of the measured loop in every mode alike.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char* what) {
  fprintf(stderr, "workload: %s: %s\n", what, strerror(errno));
  exit(1);
}

static char tmpdir[64];
static void cleanup_tmpdir(void) {
  if (tmpdir[0]) rmdir(tmpdir);
}

static const char* target_dir(int argc, char** argv, int idx) {
  if (argc > idx) return argv[idx];
  const char* base = getenv("TMPDIR");
  snprintf(tmpdir, sizeof tmpdir, "%s/inotrace-wl.XXXXXX", base && *base ? base : "/tmp");
  if (!mkdtemp(tmpdir)) die("mkdtemp");
  atexit(cleanup_tmpdir);
  return tmpdir;
}

static char drain_buf[65536];
static inline void drain(int fd) {
  while (read(fd, drain_buf, sizeof drain_buf) > 0) {
  }
}

static inline void one_pair(int fd, const char* dir) {
  int wd = inotify_add_watch(fd, dir, IN_CREATE | IN_DELETE);
  if (wd < 0) die("inotify_add_watch");
  if (inotify_rm_watch(fd, wd) != 0) die("inotify_rm_watch");
}

static long parse_count(const char* s, const char* what) {
  char* end;
  double v = strtod(s, &end);  // accepts 1e6
  if (end == s || *end || v <= 0) {
    fprintf(stderr, "workload: bad %s: %s\n", what, s);
    exit(2);
  }
  return (long)v;
}

static int mode_pair(int argc, char** argv) {
  if (argc < 3) return 2;
  long n = parse_count(argv[2], "N");
  const char* dir = target_dir(argc, argv, 3);
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) die("inotify_init1");
  for (long i = 0; i < 1000; i++) one_pair(fd, dir);  // warm-up
  drain(fd);
  uint64_t t0 = now_ns();
  for (long i = 0; i < n; i++) {
    one_pair(fd, dir);
    if ((i & 255) == 255) drain(fd);
  }
  uint64_t t1 = now_ns();
  printf("pair n=%ld ns_per_op=%.1f\n", n, (double)(t1 - t0) / (double)n);
  close(fd);
  return 0;
}

static int mode_getppid(int argc, char** argv) {
  if (argc < 3) return 2;
  long n = parse_count(argv[2], "N");
  for (long i = 0; i < 10000; i++) syscall(SYS_getppid);
  uint64_t t0 = now_ns();
  for (long i = 0; i < n; i++) syscall(SYS_getppid);
  uint64_t t1 = now_ns();
  printf("getppid n=%ld ns_per_op=%.1f\n", n, (double)(t1 - t0) / (double)n);
  return 0;
}

static int mode_churn(int argc, char** argv) {
  if (argc < 3) return 2;
  double secs = strtod(argv[2], NULL);
  if (secs <= 0) return 2;
  const char* dir = target_dir(argc, argv, 3);
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) die("inotify_init1");
  uint64_t t0 = now_ns(), end = t0 + (uint64_t)(secs * 1e9), t1;
  long ops = 0;
  for (;;) {
    for (int i = 0; i < 256; i++) one_pair(fd, dir);
    ops += 256;
    drain(fd);
    t1 = now_ns();
    if (t1 >= end) break;
  }
  double s = (double)(t1 - t0) / 1e9;
  printf("churn ops=%ld secs=%.3f ops_per_s=%.0f\n", ops, s, (double)ops / s);
  close(fd);
  return 0;
}

static volatile sig_atomic_t stop;
static void on_signal(int sig) {
  (void)sig;
  stop = 1;
}

static int mode_hold(int argc, char** argv) {
  if (argc < 4) return 2;
  long n = parse_count(argv[2], "NDIRS");
  const char* root = argv[3];
  char* parents = strdup(root);  // mkdir -p ROOT
  for (char* p = parents + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(parents, 0755) != 0 && errno != EEXIST) die("mkdir root");
    *p = '/';
  }
  if (mkdir(parents, 0755) != 0 && errno != EEXIST) die("mkdir root");
  free(parents);
  int fd = inotify_init1(IN_CLOEXEC);
  if (fd < 0) die("inotify_init1");
  size_t len = strlen(root) + 32;
  char* path = malloc(len);
  for (long i = 0; i < n; i++) {
    snprintf(path, len, "%s/d%ld", root, i);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) die("mkdir");
    if (inotify_add_watch(fd, path, IN_CREATE | IN_DELETE | IN_MOVED_TO) < 0) die("inotify_add_watch");
  }
  free(path);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  printf("ready %ld\n", n);
  fflush(stdout);
  while (!stop) pause();
  return 0;
}

static int mode_tick(int argc, char** argv) {
  if (argc < 4) return 2;
  double ms = strtod(argv[2], NULL);
  if (ms <= 0) return 2;
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) die("inotify_init1");
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  printf("ticking\n");
  fflush(stdout);
  struct timespec next;
  clock_gettime(CLOCK_MONOTONIC, &next);
  uint64_t step = (uint64_t)(ms * 1e6);
  while (!stop) {
    one_pair(fd, argv[3]);
    drain(fd);
    uint64_t t = (uint64_t)next.tv_sec * 1000000000ull + (uint64_t)next.tv_nsec + step;
    next.tv_sec = (time_t)(t / 1000000000ull);
    next.tv_nsec = (long)(t % 1000000000ull);
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
  }
  close(fd);
  return 0;
}

int main(int argc, char** argv) {
  int rc = 2;
  if (argc >= 2) {
    if (!strcmp(argv[1], "pair")) rc = mode_pair(argc, argv);
    else if (!strcmp(argv[1], "getppid")) rc = mode_getppid(argc, argv);
    else if (!strcmp(argv[1], "churn")) rc = mode_churn(argc, argv);
    else if (!strcmp(argv[1], "hold")) rc = mode_hold(argc, argv);
    else if (!strcmp(argv[1], "tick")) rc = mode_tick(argc, argv);
  }
  if (rc == 2)
    fprintf(stderr,
            "usage: workload pair N [DIR] | getppid N | churn SECONDS [DIR] | hold NDIRS ROOT | "
            "tick MS DIR\n");
  return rc;
}
