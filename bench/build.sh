#!/usr/bin/env bash
# Builds the benchmark workload (bench/workload.c) with gcc -O2, statically when libc allows it
# (the VM image then needs no libraries for it). Not part of the project's CMake build.
#
# usage: bench/build.sh [OUT_DIR]     (default: $BENCH_OUT or /tmp/inotrace-bench)
# Prints the path of the built binary.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-${BENCH_OUT:-/tmp/inotrace-bench}}
mkdir -p "$out"
src=$here/workload.c bin=$out/workload
if [[ ! -x $bin || $src -nt $bin ]]; then
  gcc -O2 -Wall -Wextra -static -o "$bin.tmp" "$src" 2>/dev/null \
    || gcc -O2 -Wall -Wextra -o "$bin.tmp" "$src"
  mv "$bin.tmp" "$bin"
fi
echo "$bin"
