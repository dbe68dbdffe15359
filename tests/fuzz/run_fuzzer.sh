#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time from its seed corpus; fails on any crash, leak,
# timeout or sanitizer report. Usage: run_fuzzer.sh BINARY SEED_DIR SECONDS
# New inputs go to a scratch corpus in the working directory (the seeds stay untouched); a crash
# leaves its input as fuzz-out/<target>/crash-* (reproduce: BINARY that-file).
set -euo pipefail
bin=$1 seeds=$2 seconds=$3
name=$(basename "$bin")
out=$PWD/fuzz-out/$name
rm -rf "$out"
mkdir -p "$out/corpus"
log=$out/log.txt
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
rc=0
"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$out/" "$out/corpus" "$seeds" >"$log" 2>&1 || rc=$?
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
seeds_n=$(find "$seeds" -type f | wc -l)
new_n=$(find "$out/corpus" -type f | wc -l)
if ((rc != 0)); then
  tail -n 60 "$log"
  echo "fuzz $name: FAILED (exit $rc) after ${execs:-?} executions; input: $(ls "$out"/crash-* "$out"/leak-* "$out"/timeout-* "$out"/oom-* 2>/dev/null | head -1)" | tee "$out/summary.txt"
  exit 1
fi
# scripts/test-fuzz.sh prints these lines together (ctest hides a passing test's output).
echo "fuzz $name: ${execs:-?} executions in ${seconds} s, 0 crashes (${seeds_n} seeds, ${new_n} new inputs)" | tee "$out/summary.txt"
