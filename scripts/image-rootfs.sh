#!/usr/bin/env bash
# The image's root file system: inotrace, every library the dynamic loader maps for it (ldd) as
# Debian's packages installed them, those packages' copyright files, and a minimal /etc. No shell,
# no package manager, no compiler. Used by scripts/build-image.sh and by the Containerfile.
#   image-rootfs.sh BINARY EMPTY_DIR   (prints the Debian packages used, one "name=version" a line)
set -euo pipefail
bin=$1; root=$2
src=$(cd "$(dirname "$0")/.." && pwd)

install -D -m 0755 "$bin" "$root/usr/bin/inotrace"
strip --strip-unneeded "$root/usr/bin/inotrace"
pkgs=()
for lib in $(ldd "$bin" | awk '/=> \// {print $3} /^\t\/[^ ]+ \(/ {print $1}'); do
  real=$(realpath "$lib")
  install -D -m 0644 "$real" "$root$lib"
  pkg=$(dpkg -S "$real" 2>/dev/null || dpkg -S "$lib")
  pkgs+=("${pkg%%:*}")
done
chmod 0755 "$root/lib64/ld-linux-x86-64.so.2"
mapfile -t pkgs < <(printf '%s\n' "${pkgs[@]}" | sort -u)
for p in "${pkgs[@]}"; do
  install -D -m 0644 "/usr/share/doc/$p/copyright" "$root/usr/share/doc/$p/copyright"
done
install -D -m 0644 "$src/packaging/deb/copyright" "$root/usr/share/doc/inotrace/copyright"
# /etc: names for uid/gid 0 and nobody (runtimes look them up). No time zone file: the daemon's
# log timestamps are UTC.
mkdir -p "$root/etc" "$root/tmp" "$root/proc" "$root/sys" "$root/dev"
printf 'root:x:0:0:root:/:/nonexistent\nnobody:x:65534:65534:nobody:/nonexistent:/nonexistent\n' > "$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
chmod 1777 "$root/tmp"
for p in "${pkgs[@]}"; do dpkg-query -W -f='${Package}=${Version}\n' "$p"; done
