#!/usr/bin/env bash
# Downloads stock Debian kernel images (5.10 bullseye, 6.1 bookworm, 6.12 bookworm-security)
# with `apt-get download` and unpacks them with `dpkg -x` into a cache outside the repository.
# The system's apt configuration is never modified: bullseye comes from a temporary sources
# list and a private lists directory.
#
# usage: scripts/fetch-kernels.sh [CACHE_DIR]      (default: $INOTRACE_KERNEL_CACHE or
#                                                    /var/cache/inotrace/kernels)
# Prints one line per kernel: "<series> <dir>" where <dir>/boot/vmlinuz-* is the kernel.
set -euo pipefail

cache=${1:-${INOTRACE_KERNEL_CACHE:-/var/cache/inotrace/kernels}}
mkdir -p "$cache"
cd "$cache"

latest() {  # latest <apt-get options...> -- <regex>: newest package name matching regex
  local opts=() ; while [[ $1 != -- ]]; do opts+=("$1"); shift; done; shift
  apt-cache "${opts[@]}" search --names-only "$1" | awk '{print $1}' | grep -E "$1" | sort -V | tail -1
}

fetch() {  # fetch <series> <regex> [apt options...]
  local series=$1 regex=$2; shift 2
  local pkg
  pkg=$(latest "$@" -- "$regex")
  [[ -n $pkg ]] || { echo "fetch-kernels: no package matches $regex" >&2; return 1; }
  local dir="$cache/$pkg"
  if ! compgen -G "$dir/boot/vmlinuz-*" >/dev/null; then
    rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
    (cd "$dir.tmp" && apt-get "$@" download "$pkg" >&2)
    dpkg -x "$dir.tmp"/*.deb "$dir.tmp/root"
    rm -rf "$dir" && mv "$dir.tmp/root" "$dir" && rm -rf "$dir.tmp"
  fi
  echo "$series $dir"
}

# bullseye lives in a private apt state so the host's sources stay untouched.
bullseye_opts() {
  local st="$cache/apt-bullseye"
  mkdir -p "$st/lists/partial"
  cat > "$st/sources.list" <<SRC
deb http://deb.debian.org/debian bullseye main
deb http://deb.debian.org/debian-security bullseye-security main
SRC
  echo "-o Dir::Etc::sourcelist=$st/sources.list -o Dir::Etc::sourceparts=- -o Dir::State::Lists=$st/lists -o Dir::Cache::pkgcache=$st/pkgcache.bin -o Dir::Cache::srcpkgcache=$st/srcpkgcache.bin"
}

want=${INOTRACE_KERNELS:-"5.10 6.1 6.12"}
for k in $want; do
  case $k in
    5.10)
      read -ra bo <<<"$(bullseye_opts)"
      if [[ ! -s $cache/apt-bullseye/.updated ]]; then
        apt-get "${bo[@]}" update -qq >&2 && date > "$cache/apt-bullseye/.updated"
      fi
      fetch 5.10 '^linux-image-5\.10\.0-[0-9]+-amd64-unsigned$' "${bo[@]}" ;;
    6.1)  fetch 6.1 '^linux-image-6\.1\.0-[0-9]+-amd64-unsigned$' ;;
    6.12) fetch 6.12 '^linux-image-6\.12\.[0-9]+\+deb12-amd64-unsigned$' ;;
    *) echo "fetch-kernels: unknown series $k" >&2; exit 2 ;;
  esac
done
