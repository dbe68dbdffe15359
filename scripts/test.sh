#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to the whole test suite passing:
#   sudo scripts/test.sh
# Runs every tier: unit, live (real BPF on this kernel; needs root), e2e. Fails on any failure;
# a tier that cannot run here says SKIPPED with its reason in the output.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
cd build
rm -f vm-logs/summary.txt
rc=0
ctest --output-on-failure -j"$(nproc)" "$@" || rc=$?
# ctest hides a passing test's output: print the kernel matrix's results table either way.
if [[ -f vm-logs/summary.txt ]]; then cat vm-logs/summary.txt; fi
exit "$rc"
