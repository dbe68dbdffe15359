#!/usr/bin/env bash
# Kernel matrix: boots stock Debian kernels under qemu (TCG) with an initramfs holding the live
# test binaries, runs them once per backend inside each guest and checks the results.
#
# usage: tests/vm/run-matrix.sh BUILD_DIR [SERIES...]     (SERIES: 5.10 6.1 6.12; default all)
# env:
#   VM_BACKENDS     backends to run in every guest (default "fentry kprobe tracepoint")
#   VM_TEST_BINS    live test binaries, relative to BUILD_DIR or absolute
#                   (default "tests/inotrace_live_tests"); each runs once per backend
#   VM_AUX_BINS     other binaries copied into the guest, not run (default: inotrace and the
#                   stack probes of tests/stack_probes; a Go probe not built is left out, and
#                   its live test says so)
#   VM_PARALLEL     kernels booted at once (default 1: faster than 2 under TCG on 2 cores)
#   VM_TIMEOUT      hard limit per boot in seconds (default 480)
#   VM_RUN_TIMEOUT  limit per test-binary run inside the guest (default 180)
#   VM_MEM, VM_SMP  guest memory (MiB) and CPUs (default 1536, 2)
#   VM_FILTER       gtest filter passed to the guest (inotrace.filter=, default none)
#   VM_LOG_DIR      where logs and initramfs images go (default BUILD_DIR/vm-logs)
#   VM_PARSE_ONLY=1 boot nothing: re-check the logs already in VM_LOG_DIR
# Exit status 0 only if every (kernel, backend, binary) ran and passed, every guest reached its
# end marker and no guest kernel log shows a splat.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
[[ $# -ge 1 ]] || { echo "usage: $0 BUILD_DIR [SERIES...]" >&2; exit 2; }
build=$(cd "$1" && pwd) || exit 2
shift
series=("$@")
[[ ${#series[@]} -gt 0 ]] || series=(5.10 6.1 6.12)
read -ra backends <<<"${VM_BACKENDS:-fentry kprobe tracepoint}"
read -ra test_bins <<<"${VM_TEST_BINS:-tests/inotrace_live_tests}"
read -ra aux_bins <<<"${VM_AUX_BINS:-inotrace tests/stkprobe_c tests/stkprobe_go tests/stkprobe_go_s}"
parallel=${VM_PARALLEL:-1}
boot_timeout=${VM_TIMEOUT:-480}
run_timeout=${VM_RUN_TIMEOUT:-180}
mem=${VM_MEM:-1536}
smp=${VM_SMP:-2}
logdir=${VM_LOG_DIR:-$build/vm-logs}
mkdir -p "$logdir"

abs_bin() { [[ $1 == /* ]] && echo "$1" || echo "$build/$1"; }
bins=() test_names=()
for b in "${test_bins[@]}"; do bins+=("$(abs_bin "$b")"); test_names+=("$(basename "$b")"); done
for b in "${aux_bins[@]}"; do
  if [[ $b == tests/stkprobe_go* && ! -x $(abs_bin "$b") ]]; then echo "run-matrix: $b not built (no go toolchain)" >&2; continue; fi
  bins+=("$(abs_bin "$b")")
done
for b in "${bins[@]}"; do [[ -x $b ]] || { echo "run-matrix: not built: $b" >&2; exit 2; }; done
if [[ $(id -u) != 0 ]]; then echo "SKIPPED (vm tier): needs root (apt-get download of the kernels, mknod in the image)"; exit 77; fi
command -v qemu-system-x86_64 >/dev/null || { echo "run-matrix: qemu-system-x86_64 missing" >&2; exit 2; }

t_start=$(date +%s.%N)
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }'; }

# Kernels: "<series> <dir>" lines.
kern_lines=$(INOTRACE_KERNELS="${series[*]}" bash "$repo/scripts/fetch-kernels.sh") \
  || { echo "run-matrix: fetch-kernels.sh failed" >&2; exit 2; }
kdirs=() kvers=()
while read -r s d; do
  [[ -n $s ]] || continue
  kdirs+=("$d")
  kvers+=("$(ls "$d/lib/modules")")
done <<<"$kern_lines"

# Initramfs per kernel (modules differ); built up front, two at a time (depmod, xz).
build_initramfs() {  # build_initramfs <dir> <version>
  local dir=$1 ver=$2
  rm -f "$logdir/$ver.boot" "$logdir/$ver.log" "$logdir/$ver.retried" "$logdir/$ver.first-boot.log"
  if ! bash "$here/build-initramfs.sh" "$logdir/initramfs-$ver.cpio.gz" "$dir" "${bins[@]}" \
      2>"$logdir/$ver.initramfs.log"; then
    echo "run-matrix: initramfs for $ver failed:" >&2; cat "$logdir/$ver.initramfs.log" >&2
    echo "initramfs-failed 0 0" > "$logdir/$ver.boot"
  fi
}

# Under TCG a vCPU does not always see the kernel patching its own code on the other vCPU
# (jump labels, text_poke_bp): the patch's breakpoint then escapes as "Oops: int3" in kernel
# code, once in a 6.12 guest at a kprobe's perf_event_open before any of our programs ran.
# That is the emulator's, not the tracer's: true for a guest that ended without its end marker
# on such an oops outside any BPF program.
tcg_int3_escape() {  # tcg_int3_escape <version> <log>
  ! grep -aq "@@INOTRACE-END kernel=$1" "$2" && grep -aq 'Oops: int3' "$2" \
    && ! grep -aE 'RIP: 0010:|Call Trace|^\[ *[0-9.]+\]  ' "$2" | grep -q bpf_prog
}

# One kernel: boot it with its initramfs, keep the console log. A guest lost to
# tcg_int3_escape is booted once more; the summary says so and keeps the first log.
run_kernel() {  # run_kernel <dir> <version>
  local dir=$1 ver=$2
  local img=$logdir/initramfs-$ver.cpio.gz log=$logdir/$ver.log
  [[ ! -e $logdir/$ver.boot ]] || return 0   # initramfs failed
  local tests_csv backends_csv append t0 rc
  tests_csv=$(IFS=,; echo "${test_names[*]}")
  backends_csv=$(IFS=,; echo "${backends[*]}")
  append="console=ttyS0 panic=-1 quiet inotrace.backends=$backends_csv inotrace.tests=$tests_csv"
  append+=" inotrace.timeout=$run_timeout"
  # e.g. VM_KERNEL_ARGS=loglevel=7: stack traces of a splat on the console (quiet hides them)
  [[ -z ${VM_KERNEL_ARGS:-} ]] || append+=" $VM_KERNEL_ARGS"
  [[ -z ${VM_FILTER:-} ]] || append+=" inotrace.filter=$VM_FILTER"
  local attempt
  for attempt in 1 2; do
    echo "run-matrix: booting $ver$([[ $attempt == 1 ]] || echo ' again')" >&2
    t0=$(date +%s.%N)
    timeout -k 10 "$boot_timeout" qemu-system-x86_64 -accel tcg -cpu max -m "$mem" -smp "$smp" \
      -nographic -no-reboot -net none \
      -kernel "$dir/boot/vmlinuz-$ver" -initrd "$img" -append "$append" \
      </dev/null 2>&1 | tr -d '\r' > "$log"
    rc=${PIPESTATUS[0]}
    [[ $attempt == 1 ]] && tcg_int3_escape "$ver" "$log" || break
    cp "$log" "$logdir/$ver.first-boot.log"
    grep -aE -m2 'Oops: int3|RIP: 0010:' "$log" | sed -E 's/^\[ *[0-9.]+\] //' | paste -sd ' ' > "$logdir/$ver.retried"
    echo "run-matrix: $ver: guest lost to a code-patching breakpoint under TCG ($(cat "$logdir/$ver.retried"))" >&2
  done
  local secs; secs=$(elapsed "$t0")
  echo "done $secs $rc" > "$logdir/$ver.boot"
  echo "run-matrix: $ver finished in $secs s (qemu exit $rc)" >&2
}

echo "run-matrix: kernels ${kvers[*]}; backends ${backends[*]}; binaries ${test_names[*]};" \
  "$parallel at a time; logs in $logdir" >&2
t_vm=$(date +%s.%N)
[[ -n ${VM_PARSE_ONLY:-} ]] || for i in "${!kvers[@]}"; do
  while [[ $(jobs -rp | wc -l) -ge 2 ]]; do wait -n; done
  build_initramfs "${kdirs[$i]}" "${kvers[$i]}" &
done
wait
[[ -n ${VM_PARSE_ONLY:-} ]] || echo "run-matrix: initramfs images built in $(elapsed "$t_vm") s" >&2
[[ -n ${VM_PARSE_ONLY:-} ]] || for i in "${!kvers[@]}"; do
  while [[ $(jobs -rp | wc -l) -ge $parallel ]]; do wait -n; done
  run_kernel "${kdirs[$i]}" "${kvers[$i]}" &
done
wait
vm_secs=$(elapsed "$t_vm")

# Results.
fails=0
table=()
problems=()
envs=()
splat_re='WARNING:|BUG:|Oops|lockdep|possible circular locking|general protection|Call Trace:|rcu: INFO: rcu_[a-z]+ (self-)?detected stall|detected stalls on CPUs'
for ver in "${kvers[@]}"; do
  log=$logdir/$ver.log
  read -r state bsecs brc < "$logdir/$ver.boot" 2>/dev/null || state=missing
  if [[ $state != "done" ]]; then
    problems+=("kernel $ver: $state (see $logdir/$ver.initramfs.log)"); fails=$((fails + 1))
    for b in "${backends[@]}"; do table+=("$(printf 'kernel %-22s backend %-11s %-5s (%s)' "$ver" "$b" NONE "initramfs failed")"); done
    continue
  fi
  env_line=$(grep -a -o "@@INOTRACE-ENV kernel=$ver .*" "$log" | head -1)
  [[ -z $env_line ]] || envs+=("kernel $ver: ${env_line#*kernel="$ver" }")
  if [[ -n $env_line ]]; then
    for k in btf tracefs bpffs loop ext4; do
      [[ $env_line == *" $k=yes"* ]] || { problems+=("kernel $ver: $k missing in the guest"); fails=$((fails + 1)); }
    done
    [[ $env_line == *"modules_failed=none"* ]] || { problems+=("kernel $ver: some modules failed to load"); fails=$((fails + 1)); }
  fi
  if ! grep -aq "@@INOTRACE-END kernel=$ver" "$log"; then
    why="no end marker: guest crashed or hung"
    [[ $brc == 124 || $brc == 137 ]] && why="no end marker: boot timed out after ${boot_timeout} s"
    problems+=("kernel $ver: $why (qemu exit $brc); last console lines:")
    while IFS= read -r l; do problems+=("    $l"); done < <(tail -n 15 "$log")
    # Without the dmesg section, kernel messages printed on the console are all there is.
    while IFS= read -r l; do problems+=("    console: $l"); done \
      < <(grep -aE '^\[ *[0-9]+\.[0-9]+\] ' "$log" | grep -aE "$splat_re|Kernel panic" | head -20)
    fails=$((fails + 1))
  else
    splats=$(sed -n "/@@INOTRACE-DMESG-BEGIN kernel=$ver/,/@@INOTRACE-DMESG-END kernel=$ver/p" "$log" \
      | grep -aE "$splat_re")
    if [[ -n $splats ]]; then
      problems+=("kernel $ver: kernel splat in the guest dmesg:")
      while IFS= read -r l; do problems+=("    $l"); done < <(head -20 <<<"$splats")
      fails=$((fails + 1))
    fi
  fi
  for b in "${backends[@]}"; do
    status=pass ntests=0 secs=0 notes=()
    for t in "${test_names[@]}"; do
      r=$(grep -a -o "@@INOTRACE-RESULT kernel=$ver backend=$b binary=$t .*" "$log" | tail -1)
      if [[ -z $r ]]; then
        status=FAIL; notes+=("$t: no result"); continue
      fi
      field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$r"; }
      ntests=$((ntests + $(field tests)))
      secs=$(awk -v a="$secs" -v b="$(field secs)" 'BEGIN { print a + b }')
      if [[ $(field status) == pass ]]; then
        if [[ $(field skipped) != 0 ]]; then
          # Name what skipped: a skip is only acceptable where the feature is really absent.
          section=$(sed -n "/@@INOTRACE-RUN-BEGIN kernel=$ver backend=$b binary=$t\$/,/@@INOTRACE-RESULT kernel=$ver backend=$b binary=$t /p" "$log")
          names=$(grep -aoE '^\[  SKIPPED \] [A-Za-z0-9_]+\.[A-Za-z0-9_/]+' <<<"$section" | awk '{ print $4 }' | sort -u | paste -sd, -)
          notes+=("$t: $(field skipped) skipped${names:+ ($names)}")
        fi
      else
        status=FAIL
        notes+=("$t: exit $(field exit), $(field failed) failed")
        # The failing tests and the first reason, from this run's section of the log.
        section=$(sed -n "/@@INOTRACE-RUN-BEGIN kernel=$ver backend=$b binary=$t\$/,/@@INOTRACE-RESULT kernel=$ver backend=$b binary=$t /p" "$log")
        while IFS= read -r l; do problems+=("kernel $ver backend $b $t: $l"); done < <(
          grep -aE '^\[  FAILED  \] [^ ]+$|^\[  FAILED  \] .*SetUpTestSuite' <<<"$section" | sort -u | head -10
          { grep -aE -m1 'exception with description' <<<"$section" \
            || grep -aE -m1 -A1 'Failure$' <<<"$section" | tail -1; })
      fi
    done
    [[ $status == pass ]] || fails=$((fails + 1))
    detail="$ntests tests, $(printf '%.0f' "$secs") s"
    [[ ${#notes[@]} -eq 0 ]] || { printf -v joined '%s; ' "${notes[@]}"; detail+="; ${joined%; }"; }
    table+=("$(printf 'kernel %-22s backend %-11s %-5s (%s)' "$ver" "$b" "$status" "$detail")")
  done
done

# The host kernel, for the same table: the same binaries, on the backend(s) it offers (the
# development machine has only tracepoint). VM_HOST=0 skips it.
if [[ ${VM_HOST:-1} != 0 ]]; then
  host_ver=$(uname -r)
  for b in ${VM_HOST_BACKENDS:-tracepoint}; do
    status=pass ntests=0 t0=$(date +%s) notes=()
    for i in "${!test_names[@]}"; do
      out=$(INOTRACE_TEST_BACKEND=$b "${bins[$i]}" 2>&1); rc=$?
      printf '%s\n' "$out" > "$logdir/host-$b-${test_names[$i]}.log"  # kept, as the guests' logs are
      n=$(grep -aoE '^\[==========\] [0-9]+ tests' <<<"$out" | tail -1 | grep -oE '[0-9]+')
      ntests=$((ntests + ${n:-0}))
      if [[ $rc != 0 ]]; then
        status=FAIL; notes+=("${test_names[$i]}: exit $rc")
        while IFS= read -r l; do problems+=("host $host_ver backend $b ${test_names[$i]}: $l"); done < \
          <(grep -aE '^\[  FAILED  \] [^ ]+$' <<<"$out" | sort -u | head -10)
        while IFS= read -r l; do problems+=("    $l"); done < <(grep -aE -A5 ': Failure$' <<<"$out" | head -40)
      fi
    done
    [[ $status == pass ]] || fails=$((fails + 1))
    detail="$ntests tests, $(( $(date +%s) - t0 )) s"
    [[ ${#notes[@]} -eq 0 ]] || { printf -v joined '%s; ' "${notes[@]}"; detail+="; ${joined%; }"; }
    table+=("$(printf 'host   %-22s backend %-11s %-5s (%s)' "$host_ver" "$b" "$status" "$detail")")
  done
fi

{
  echo
  echo "=== kernel matrix (qemu TCG, $parallel at a time; host last) ==="
  printf '%s\n' "${table[@]}"
  for ver in "${kvers[@]}"; do
    read -r state bsecs brc < "$logdir/$ver.boot" 2>/dev/null || continue
    [[ $state == "done" ]] && echo "boot   $ver: ${bsecs} s wall (qemu exit $brc), log $logdir/$ver.log"
  done
  [[ ${#envs[@]} -eq 0 ]] || { echo "--- guest environment"; printf '%s\n' "${envs[@]}"; }
  for ver in "${kvers[@]}"; do
    [[ -e $logdir/$ver.retried ]] || continue
    echo "--- booted again: kernel $ver's first boot ended on a code-patching breakpoint escaping under TCG" \
      "($(cat "$logdir/$ver.retried")), outside any BPF program; its log: $logdir/$ver.first-boot.log"
  done
  [[ ${#problems[@]} -eq 0 ]] || { echo "--- details"; printf '%s\n' "${problems[@]}"; }
  echo "VM tier: ${vm_secs} s wall for ${#kvers[@]} kernels (total with fetch: $(elapsed "$t_start") s);" \
    "$([[ $fails -eq 0 ]] && echo PASS || echo "FAIL ($fails problems)")"
} | tee "$logdir/summary.txt"
[[ $fails -eq 0 ]]
