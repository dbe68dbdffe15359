#!/usr/bin/env bash
# Builds the benchmark helpers into OUT_DIR. Not part of the project's CMake build.
#   workload    bench/workload.c, gcc -O2 -fno-omit-frame-pointer (the --stacks walk follows
#               frame pointers), statically when libc allows it (the VM image then
#               needs no libraries for it)
#   null_floor  bench/null_floor.bpf.c (clang -target bpf, as cmake/BpfSkeleton.cmake builds the
#               project's objects, against the committed vmlinux/ headers) + its skeleton
#               (bpftool gen skeleton) + bench/null_floor.c, libbpf linked statically when
#               libbpf.a is there. If clang, bpftool or libbpf are missing it is not built (a
#               message on stderr) and the benchmarks report the floor as not measured.
#
# usage: bench/build.sh [OUT_DIR]     (default: $BENCH_OUT or /tmp/inotrace-bench)
# Prints the path of the built workload; null_floor is OUT_DIR/null_floor when built.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
out=${1:-${BENCH_OUT:-/tmp/inotrace-bench}}
mkdir -p "$out"
src=$here/workload.c bin=$out/workload
if [[ ! -x $bin || $src -nt $bin || $0 -nt $bin ]]; then
  gcc -O2 -fno-omit-frame-pointer -Wall -Wextra -static -o "$bin.tmp" "$src" 2>/dev/null \
    || gcc -O2 -fno-omit-frame-pointer -Wall -Wextra -o "$bin.tmp" "$src"
  mv "$bin.tmp" "$bin"
fi

build_null_floor() {
  local nf=$out/null_floor arch=${INOTRACE_BPF_ARCH:-x86} clang bpftool
  [[ -x $nf && $nf -nt $here/null_floor.c && $nf -nt $here/null_floor.bpf.c ]] && return 0
  clang=$(command -v clang || command -v clang-16 || command -v clang-15 || command -v clang-14) || return 1
  bpftool=$(command -v bpftool || ls /usr/sbin/bpftool 2>/dev/null) || return 1
  "$clang" -g -O2 -target bpf -D__TARGET_ARCH_$arch -Wall -Wno-unused-function -Werror \
    -I"$repo/vmlinux/$arch" -I"$repo/include" -c "$here/null_floor.bpf.c" -o "$out/null_floor.bpf.o" || return 1
  "$bpftool" gen skeleton "$out/null_floor.bpf.o" name null_floor > "$out/null_floor.skel.h" || return 1
  gcc -O2 -Wall -Wextra -I"$out" -o "$nf.tmp" "$here/null_floor.c" -Wl,-Bstatic -lbpf -lelf -lz -Wl,-Bdynamic 2>/dev/null \
    || gcc -O2 -Wall -Wextra -I"$out" -o "$nf.tmp" "$here/null_floor.c" -lbpf || return 1
  mv "$nf.tmp" "$nf"
}
build_null_floor || { rm -f "$out/null_floor"; echo "bench/build.sh: null_floor not built (needs clang, bpftool, libbpf-dev)" >&2; }
echo "$bin"
