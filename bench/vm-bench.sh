#!/usr/bin/env bash
# Benchmarks (a) add+rm pair and (b) getppid, untraced vs traced, plus a short churn run, inside
# the stock Debian kernels of the VM matrix (qemu TCG), once per backend. Reuses
# tests/vm/build-initramfs.sh and tests/vm/init.sh: the guest runs bench/inotrace_bench_tests
# once per backend (INOTRACE_TEST_BACKEND), which prints "@@BENCH ..." lines on the console.
# Under TCG absolute times are meaningless; only the ratio inside one guest run is reported.
#
# usage: bench/vm-bench.sh OUT_DIR [SERIES...]      (SERIES: 5.10 6.1 6.12; default all)
# env:
#   INOTRACE        inotrace binary (default /tmp/bench-build/inotrace)
#   WORKLOAD        workload binary (default: built by bench/build.sh)
#   NULL_FLOOR      bench/null_floor binary (default: next to WORKLOAD; optional)
#   VM_BACKENDS     default "fentry kprobe tracepoint"
#   BENCH_PAIR, BENCH_GETPPID, BENCH_REPS, BENCH_CHURN   guest sizes (5000, 200000, 5, 3)
#   VM_TIMEOUT      hard limit per boot in seconds (default 420)
#   VM_MEM, VM_SMP  guest memory (MiB) and CPUs (default 1536, 2)
#   VM_KERNEL_ARGS  extra kernel command line (e.g. loglevel=7 to see a splat's stack)
# Writes OUT_DIR/<release>.log (console), OUT_DIR/vm-results.txt (every @@BENCH line plus one
# "@@VM kernel=<r> boot_secs=<s> qemu_exit=<rc> end_marker=yes|no splat=<none|summary>" per
# kernel; qemu_exit 124 = the boot timed out). Exit 0 if every kernel booted
# and reached the end marker.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
[[ $# -ge 1 ]] || { echo "usage: $0 OUT_DIR [SERIES...]" >&2; exit 2; }
out=$1; shift
mkdir -p "$out" && out=$(cd "$out" && pwd)
series=("$@")
[[ ${#series[@]} -gt 0 ]] || series=(5.10 6.1 6.12)
inotrace=${INOTRACE:-/tmp/bench-build/inotrace}
workload=${WORKLOAD:-$("$here/build.sh")}
read -ra backends <<<"${VM_BACKENDS:-fentry kprobe tracepoint}"
boot_timeout=${VM_TIMEOUT:-420}
mem=${VM_MEM:-1536}
smp=${VM_SMP:-2}
[[ -x $inotrace ]] || { echo "vm-bench: not built: $inotrace" >&2; exit 2; }
[[ -x $workload ]] || { echo "vm-bench: not built: $workload" >&2; exit 2; }
command -v qemu-system-x86_64 >/dev/null || { echo "vm-bench: qemu-system-x86_64 missing" >&2; exit 2; }

QEMU_PID=
cleanup() {
  if [[ -n $QEMU_PID ]]; then kill -TERM "$QEMU_PID" 2>/dev/null; wait "$QEMU_PID" 2>/dev/null; fi
  rm -rf "$out/bin"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The guest binaries, under the names the guest expects.
mkdir -p "$out/bin"
cp "$inotrace" "$out/bin/inotrace"
cp "$workload" "$out/bin/workload"
cp "$here/inotrace_bench_tests" "$out/bin/inotrace_bench_tests"
# The null floor (bench/null_floor, next to the workload when bench/build.sh built it): the
# guest then reports each figure against empty programs at the same backend's points too.
null_floor=${NULL_FLOOR:-$(dirname "$workload")/null_floor}
guest_bins=("$out/bin/inotrace_bench_tests" "$out/bin/inotrace" "$out/bin/workload")
if [[ -x $null_floor ]]; then cp "$null_floor" "$out/bin/null_floor"; guest_bins+=("$out/bin/null_floor")
else echo "vm-bench: no null floor ($null_floor): figures without it" >&2; fi
chmod 755 "$out/bin"/*

kern_lines=$(INOTRACE_KERNELS="${series[*]}" bash "$repo/scripts/fetch-kernels.sh") \
  || { echo "vm-bench: scripts/fetch-kernels.sh failed" >&2; exit 2; }

: > "$out/vm-results.txt"
fails=0
backends_csv=$(IFS=,; echo "${backends[*]}")
while read -r s dir; do
  [[ -n $s ]] || continue
  ver=$(ls "$dir/lib/modules")
  img=$out/initramfs-$ver.cpio.gz log=$out/$ver.log
  if ! bash "$repo/tests/vm/build-initramfs.sh" "$img" "$dir" "${guest_bins[@]}" 2>"$out/$ver.initramfs.log"; then
    echo "vm-bench: initramfs for $ver failed (see $out/$ver.initramfs.log)" >&2
    echo "@@VM kernel=$ver boot_secs=0 qemu_exit=initramfs-failed" >> "$out/vm-results.txt"
    fails=$((fails + 1)); continue
  fi
  append="console=ttyS0 panic=-1 quiet inotrace.backends=$backends_csv inotrace.tests=inotrace_bench_tests"
  append+=" inotrace.timeout=$boot_timeout inotrace_bench.pair=${BENCH_PAIR:-5000}"
  append+=" inotrace_bench.getppid=${BENCH_GETPPID:-200000} inotrace_bench.reps=${BENCH_REPS:-5}"
  append+=" inotrace_bench.churn=${BENCH_CHURN:-3}"
  # e.g. VM_KERNEL_ARGS=loglevel=7: stack traces of a splat on the console (quiet hides them)
  [[ -z ${VM_KERNEL_ARGS:-} ]] || append+=" $VM_KERNEL_ARGS"
  echo "vm-bench: booting $ver (backends $backends_csv)" >&2
  t0=$EPOCHREALTIME
  timeout -k 10 "$boot_timeout" qemu-system-x86_64 -accel tcg -cpu max -m "$mem" -smp "$smp" \
    -nographic -no-reboot -net none \
    -kernel "$dir/boot/vmlinuz-$ver" -initrd "$img" -append "$append" \
    </dev/null > >(tr -d '\r' > "$log") 2>&1 &
  QEMU_PID=$!
  wait "$QEMU_PID"; rc=$?
  QEMU_PID=
  secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')
  sleep 0.2   # the tr of the process substitution flushes
  grep -a '^@@BENCH' "$log" >> "$out/vm-results.txt"
  # Kernel trouble in the guest (console lines): soft lockups, RCU stalls, splats.
  splat=$(grep -aoE 'BUG: soft lockup - CPU#[0-9]+ stuck for [0-9]+s! \[[^]]*\]|rcu: INFO: rcu_[a-z]+ (self-)?detected stalls? on CPUs?|BUG: [^[]*|Oops|general protection fault|WARNING: CPU: [0-9]+ PID: [0-9]+ at [^ ]*' "$log" \
    | sed -E 's/stuck for [0-9]+s/stuck/' | sort | uniq -c | sort -rn | head -4 | awk '{ $1 = $1 "x"; print }' | paste -sd ';' | tr ' ' '_')
  end=yes; grep -aq "@@INOTRACE-END kernel=$ver" "$log" || end=no
  echo "@@VM kernel=$ver boot_secs=$secs qemu_exit=$rc end_marker=$end splat=${splat:-none}" >> "$out/vm-results.txt"
  if ! grep -aq "@@INOTRACE-END kernel=$ver" "$log"; then
    echo "vm-bench: $ver: no end marker (qemu exit $rc); last lines:" >&2
    tail -n 10 "$log" >&2
    fails=$((fails + 1))
  fi
  echo "vm-bench: $ver done in $secs s: $(grep -ac '^@@BENCH ' "$log") measurements" >&2
  rm -f "$img"
done <<<"$kern_lines"
[[ $fails -eq 0 ]]
