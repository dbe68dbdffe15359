#!/usr/bin/env bash
# The fuzz tier: builds the libFuzzer targets (tests/fuzz/, clang, ASan+UBSan) in build-fuzz/ and
# runs each from its seed corpus for INOTRACE_FUZZ_SECONDS (default 20) seconds; fails on any
# crash or sanitizer report. Prints one line per target: executions, crashes.
# Usage: scripts/test-fuzz.sh   (scripts/test.sh runs it; no root needed)
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
seconds=${INOTRACE_FUZZ_SECONDS:-20}
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DINOTRACE_FUZZ=ON -DCMAKE_BUILD_TYPE=Release \
  -DINOTRACE_FUZZ_SECONDS="$seconds" >/dev/null
cmake --build build-fuzz -j"$(nproc)"
built=$(date +%s)
cd build-fuzz
rm -rf tests/fuzz/fuzz-out
rc=0
ctest -L fuzz -j"$(nproc)" --output-on-failure || rc=$?
cat tests/fuzz/fuzz-out/*/summary.txt 2>/dev/null || true
targets=$(ls tests/fuzz/fuzz-out 2>/dev/null | wc -l)
status=$([[ $rc == 0 ]] && echo "0 crashes" || echo FAILED)
echo "tier fuzz: ${targets} targets x ${seconds} s, ${status}; build $((built - start)) s, run $(( $(date +%s) - built )) s"
exit "$rc"
