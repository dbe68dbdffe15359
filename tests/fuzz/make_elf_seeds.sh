#!/usr/bin/env bash
# Rebuilds corpus/elf/: three small real ELF files (gcc, binutils), one per table the reader
# names frames from: .symtab (prog-symtab), .dynsym (lib-dynsym.so, stripped) and Go's
# .gopclntab (prog-gopclntab: a stripped C program given a hand-made Go 1.20 table of two
# functions, main.alpha and main.beta, at the start of its .text). Usage: make_elf_seeds.sh
set -euo pipefail
out=$(cd "$(dirname "$0")" && pwd)/corpus/elf
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
cat >prog.c <<'C'
#include <sys/inotify.h>
__attribute__((noinline)) int add_watch_from_alpha(int fd, const char* p) { return inotify_add_watch(fd, p, IN_MODIFY) + 1; }
__attribute__((noinline)) int add_watch_from_beta(int fd, const char* p) { return inotify_add_watch(fd, p, IN_CREATE) + 2; }
int main(int argc, char** argv) { int fd = inotify_init1(0); return add_watch_from_alpha(fd, argv[0]) + add_watch_from_beta(fd, "/tmp") > 0; }
C
printf 'int exported_watch_helper(int x) { return x * 3 + 1; }\nint exported_other_helper(int x) { return x * 5 + 2; }\n' >lib.c
gcc -Os -o prog-symtab prog.c
gcc -Os -s -shared -fPIC -o lib-dynsym.so lib.c
gcc -Os -s -o prog-stripped prog.c
text=$(readelf -SW prog-stripped | awk '$2 == ".text" {print $4}')
python3 - "$text" <<'PY'
import struct, sys
text = int(sys.argv[1], 16)
# Go 1.20 layout: magic, pads, quantum 1, ptrsize 8; words nfunc, nfiles, textStart,
# funcnametab, cutab, filetab, pctab, functab; then names, (entryoff, funcoff) pairs, _func stubs.
names = b"main.alpha\0main.beta\0"
nametab = 8 + 8 * 8
functab = nametab + len(names) + (-len(names)) % 4
funcs = 3 * 8  # funcoff is relative to functab
pairs = b"".join(struct.pack("<II", e, f) for e, f in [(0, funcs), (0x20, funcs + 8), (0x40, 0)])
stubs = struct.pack("<Ii", 0, 0) + struct.pack("<Ii", 0x20, 11)  # entryoff, nameoff
words = [2, 0, text, nametab, 0, 0, 0, functab]
blob = struct.pack("<IBBBB", 0xfffffff1, 0, 0, 1, 8) + b"".join(struct.pack("<Q", w) for w in words)
open("pclntab.bin", "wb").write(blob + names + b"\0" * ((-len(names)) % 4) + pairs + stubs)
PY
objcopy --add-section .gopclntab=pclntab.bin prog-stripped prog-gopclntab
mkdir -p "$out"
cp prog-symtab lib-dynsym.so prog-gopclntab "$out/"
ls -l "$out"
