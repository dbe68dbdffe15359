#!/usr/bin/env bash
# Prints the ELF vmlinux inside a Debian bzImage: the payload is an xz (5.10, 6.1) or zstd
# (6.12) stream; decompress from each candidate magic until one yields an ELF.
set -euo pipefail
img=$1
try() {  # try <magic-as-grep-pattern> <decompressor...>
  local magic=$1; shift
  local off
  for off in $(LC_ALL=C grep -obUaP "$magic" "$img" | cut -d: -f1); do
    if tail -c +$((off + 1)) "$img" | "$@" 2>/dev/null > "$out"; then :; fi
    if [[ $(head -c 4 "$out" | od -An -tx1 | tr -d ' ') == 7f454c46 ]]; then
      cat "$out"; return 0
    fi
  done
  return 1
}
out=$(mktemp); trap 'rm -f "$out"' EXIT
try '\xFD\x37\x7A\x58\x5A\x00' xz -dc || try '\x28\xB5\x2F\xFD' zstd -dc || {
  echo "extract-vmlinux: no xz/zstd ELF payload in $img" >&2; exit 1; }
