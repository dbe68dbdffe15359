#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to the whole test suite passing:
#   sudo scripts/test.sh
# Runs every tier: unit, live (real BPF on this kernel; needs root), e2e, vm; then unit, live and
# e2e again under ASan+UBSan (scripts/test-sanitize.sh) and the fuzz targets
# (scripts/test-fuzz.sh). Fails on any failure; a tier that cannot run here says SKIPPED with its
# reason in the output. With arguments (e.g. -L unit) only `ctest ARGS` runs in build/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
cd build
rm -f vm-logs/summary.txt container-tier.log
rc=0
ctest --output-on-failure -j"$(nproc)" "$@" || rc=$?
# ctest hides a passing test's output: print the kernel matrix's results table either way.
if [[ -f vm-logs/summary.txt ]]; then cat vm-logs/summary.txt; fi
if [[ -f container-tier.log ]]; then echo "=== container tier (tests/container/daemonset_test.sh)"; cat container-tier.log; fi
(($# == 0)) || exit "$rc"
echo "tier main (unit, live, e2e, package, deploy, container, vm): $([[ $rc == 0 ]] && echo passed || echo "FAILED (ctest exit $rc)")"
cd ..
san=0 fuzz=0
bash scripts/test-sanitize.sh 2>&1 | tee build/tier-sanitize.log || san=$?
bash scripts/test-fuzz.sh 2>&1 | tee build/tier-fuzz.log || fuzz=$?
echo "== summary"
echo "tier main (unit, live, e2e, package, deploy, container, vm): $([[ $rc == 0 ]] && echo passed || echo "FAILED (ctest exit $rc)")"
grep -h '^tier sanitize' build/tier-sanitize.log || echo "tier sanitize: FAILED before testing (exit $san)"
grep -h '^fuzz ' build/tier-fuzz.log || true
grep -h '^tier fuzz' build/tier-fuzz.log || echo "tier fuzz: FAILED before fuzzing (exit $fuzz)"
((rc == 0 && san == 0 && fuzz == 0))
