#!/usr/bin/env bash
# inotrace(8) from the binary's own --help (help2man), with one subsection per subcommand made
# from `inotrace SUB --help`, so the page never drifts from the code.
#   gen-manpage.sh BUILT_BINARY OUT.8.gz
set -euo pipefail
bin=$(realpath "$1"); out=$2
extra=$(dirname "$0")/manpage.h2m
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# argv[0] "inotrace" (not the build path) in every Usage: line.
mkdir "$tmp/bin"; ln -s "$bin" "$tmp/bin/inotrace"
export PATH="$tmp/bin:$PATH"

# CLI11 option lines -> roff: "  SPEC  DESCRIPTION" or "  SPEC" with the description on the next,
# deeply indented line. Backslashes escaped, '-' in option names as \-.
to_roff() {
  sed -e 's/\\/\\e/g' | awk '
    function spec(s) { gsub(/-/, "\\-", s); return "\\fB" s "\\fR" }
    NR == 1 { print; next }
    /^Usage: / { sub(/^Usage: /, ""); print ".PP\n.B " $0; next }
    /^(Options|Subcommands):$/ { next }
    /^$/ { next }
    /^  [^ ]/ {
      line = substr($0, 3)
      if (match(line, /  +/)) { print ".TP\n" spec(substr(line, 1, RSTART - 1)) "\n" substr(line, RSTART + RLENGTH) }
      else { print ".TP\n" spec(line) }
      next
    }
    /^   +[^ ]/ { sub(/^ +/, ""); print; next }
    { print }'
}

{
  echo "[COMMANDS]"
  for sub in trace snapshot check daemon top repro; do
    echo ".SS \"inotrace $sub\""
    inotrace "$sub" --help | to_roff
  done
  cat "$extra"
} > "$tmp/include.h2m"

SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$(dirname "$0")" log -1 --format=%ct 2>/dev/null || echo 0)} \
  help2man --no-info --section 8 --name "trace Linux inotify watches with eBPF" \
    --include "$tmp/include.h2m" --output "$tmp/inotrace.8" inotrace
gzip -9n < "$tmp/inotrace.8" > "$out"
