#!/usr/bin/env bash
# The sanitizer tier: the unit, live and e2e tests once more, everything built with
# -fsanitize=address,undefined (build-sanitize/, -DINOTRACE_SANITIZE=ON). Any ASan, LSan or UBSan
# report fails the test that triggered it. Root, like scripts/test.sh.
# Usage: scripts/test-sanitize.sh [ctest args]   (default: -L 'unit|live|e2e')
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo -DINOTRACE_SANITIZE=ON >/dev/null
cmake --build build-sanitize -j"$(nproc)" --target inotrace inotrace_unit_tests inotrace_live_tests inotrace_e2e_tests
built=$(date +%s)
# halt_on_error: the first report ends the process, so it cannot be missed in a passing test.
# Leak checking stays on; scripts/lsan.supp lists (with reasons) what is deliberately not freed.
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export LSAN_OPTIONS=suppressions=$PWD/scripts/lsan.supp:print_suppressions=0
cd build-sanitize
args=("$@")
# ReproE2E.LeaksAreExactlyTheWatchesOfPinnedPods asserts removal reasons (unmount) that the
# tracepoint backend deduces only when userspace keeps up with the scenario: under ASan's
# slowdown it saw inode_deleted in 2 of 3 runs (passes 4/4 in the release build). Excluded here
# until the deduction says when it is uncertain (issue 11, items 15 and 19); it runs in tier main.
# DaemonHttpE2E.ConcurrentWatchListingsStreamInBoundedMemory and ...AtRestStayWithin40MB measure
# the daemon's RSS: ASan's allocator keeps freed memory in its quarantine (256 MB by default),
# ignores malloc_trim and adds its shadow memory, so there RSS says nothing about the daemon's
# own use (seen: 338 -> 992 MB). They run in tier main.
# DaemonHttpE2E.MetricsAndApiAnswerFastWhileReconciling100kWatches asserts p99 latencies and at
# least 4 full reconciles of 100k watches in a 9 s window: a performance claim that ASan's 2-3x
# slowdown (and this tier's parallel tests) changes, not a memory-safety one. It runs in tier main.
((${#args[@]})) || args=(-L 'unit|live|e2e'
  -E '^(ReproE2E\.LeaksAreExactlyTheWatchesOfPinnedPods|DaemonHttpE2E\.ConcurrentWatchListingsStreamInBoundedMemory|DaemonHttpE2E\.HundredThousandWatchesAtRestStayWithin40MB|DaemonHttpE2E\.MetricsAndApiAnswerFastWhileReconciling100kWatches)$')
set +e
ctest --output-on-failure -j"$(nproc)" "${args[@]}" 2>&1 | tee sanitize-ctest.log
rc=${PIPESTATUS[0]}
set -e
result=$(grep -E '^[0-9]+% tests passed' sanitize-ctest.log | tail -1)
reports=$(grep -cE '^(==[0-9]+==ERROR|SUMMARY: (Address|Leak|UndefinedBehavior)Sanitizer)|runtime error:' \
  Testing/Temporary/LastTest.log 2>/dev/null || true)
echo "tier sanitize (ASan+UBSan, ${args[*]}): ${result:-no result}; sanitizer reports ${reports:-0}; build $((built - start)) s, run $(( $(date +%s) - built )) s"
exit "$rc"
