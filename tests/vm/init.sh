#!/bin/sh
# /init of the kernel-matrix guest (busybox sh). Sets up the mounts inotrace needs, loads the
# modules listed in /etc/inotrace/modules, runs every live test binary once per backend and
# prints machine-parsable markers on the console (ttyS0), then the kernel log, then powers off.
#
# Kernel command line (all optional):
#   inotrace.backends=fentry,kprobe,tracepoint   backends to run, in order (default: all three)
#   inotrace.tests=a_tests,b_tests               binaries in /opt/inotrace/bin to run
#                                                (default: every *_tests there)
#   inotrace.filter=GTEST_PATTERN                exported as GTEST_FILTER
#   inotrace.timeout=SECONDS                     per run (default 600)
#   inotrace.shell=1                             start a shell after the runs instead of poweroff
# Markers (one line each):
#   @@INOTRACE-BOOT kernel=<release>
#   @@INOTRACE-ENV kernel=<r> btf=yes|no tracefs=yes|no bpffs=yes|no modules=<loaded> ...
#   @@INOTRACE-RUN-BEGIN kernel=<r> backend=<b> binary=<name>
#   @@INOTRACE-RESULT kernel=<r> backend=<b> binary=<name> status=pass|fail exit=<rc>
#                     tests=<N> failed=<F> skipped=<S> secs=<S>
#   @@INOTRACE-DMESG-BEGIN kernel=<r> / @@INOTRACE-DMESG-END kernel=<r>
#   @@INOTRACE-END kernel=<r>
export PATH=/opt/inotrace/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb GTEST_COLOR=no
/bin/busybox --install -s

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=755 tmpfs /run
mount -t bpf bpf /sys/fs/bpf || echo "init: mounting bpffs failed"
mount -t tracefs tracefs /sys/kernel/tracing || echo "init: mounting tracefs failed"
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
ln -sf /proc/self/fd /dev/fd 2>/dev/null
ln -sf /proc/mounts /etc/mtab
hostname inotrace-vm

krel=$(uname -r)
echo "@@INOTRACE-BOOT kernel=$krel"

loaded=""
modfail=""
for m in $(cat /etc/inotrace/modules 2>/dev/null); do
  if insmod "/lib/modules/$krel/$m.ko" 2>/tmp/insmod.err || grep -q 'File exists' /tmp/insmod.err; then
    loaded="$loaded${loaded:+,}$m"
  else
    echo "init: insmod $m: $(cat /tmp/insmod.err)"
    modfail="$modfail${modfail:+,}$m"
  fi
done

backends="fentry,kprobe,tracepoint"
tests=""
timeout_s=600
want_shell=0
for arg in $(cat /proc/cmdline); do
  case $arg in
    inotrace.backends=*) backends=${arg#*=} ;;
    inotrace.tests=*) tests=${arg#*=} ;;
    inotrace.filter=*) export GTEST_FILTER="${arg#*=}" ;;
    inotrace.timeout=*) timeout_s=${arg#*=} ;;
    inotrace.shell=*) want_shell=${arg#*=} ;;
  esac
done
if [ -z "$tests" ]; then
  for f in /opt/inotrace/bin/*_tests; do [ -x "$f" ] && tests="$tests${tests:+,}${f##*/}"; done
fi

yn() { if "$@" >/dev/null 2>&1; then echo yes; else echo no; fi; }
echo "@@INOTRACE-ENV kernel=$krel btf=$(yn test -r /sys/kernel/btf/vmlinux)" \
  "tracefs=$(yn test -d /sys/kernel/tracing/events/syscalls)" \
  "bpffs=$(yn grep -q ' /sys/fs/bpf bpf ' /proc/mounts)" \
  "loop=$(yn test -b /dev/loop0) ext4=$(yn grep -qw ext4 /proc/filesystems)" \
  "modules=${loaded:-none} modules_failed=${modfail:-none} backends=$backends tests=$tests"

uptime_s() { cut -d' ' -f1 /proc/uptime; }

for b in $(echo "$backends" | tr ',' ' '); do
  for t in $(echo "$tests" | tr ',' ' '); do
    echo "@@INOTRACE-RUN-BEGIN kernel=$krel backend=$b binary=$t"
    rundir=$(mktemp -d /tmp/run.XXXXXX)
    t0=$(uptime_s)
    # A run that fails, crashes or hangs (killed by timeout) does not stop the others.
    ( cd "$rundir" && { INOTRACE_TEST_BACKEND=$b timeout -s KILL "$timeout_s" "/opt/inotrace/bin/$t";
        echo $? > "$rundir.rc"; } 2>&1 | tee "$rundir.out" )
    t1=$(uptime_s)
    rc=$(cat "$rundir.rc" 2>/dev/null || echo 255)
    # gtest: "[==========] 12 tests from 2 test suites ran." (or "Running 12 tests" if it died).
    n=$(sed -n 's/^\[==========\] \([0-9]*\) tests\{0,1\} from .* ran\..*/\1/p' "$rundir.out" | tail -1)
    [ -n "$n" ] || n=$(sed -n 's/^\[==========\] Running \([0-9]*\) tests\{0,1\} .*/\1/p' "$rundir.out" | tail -1)
    nfail=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) tests\{0,1\},.*/\1/p' "$rundir.out" | tail -1)
    nskip=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) tests\{0,1\},.*/\1/p' "$rundir.out" | tail -1)
    status=fail
    [ "$rc" = 0 ] && status=pass
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
    echo "@@INOTRACE-RESULT kernel=$krel backend=$b binary=$t status=$status exit=$rc" \
      "tests=${n:-0} failed=${nfail:-0} skipped=${nskip:-0} secs=$secs"
    rm -rf "$rundir" "$rundir.rc" "$rundir.out"
  done
done

echo "@@INOTRACE-DMESG-BEGIN kernel=$krel"
dmesg
echo "@@INOTRACE-DMESG-END kernel=$krel"
echo "@@INOTRACE-END kernel=$krel"
if [ "$want_shell" = 1 ]; then
  setsid cttyhack sh -l
fi
sync
poweroff -f
