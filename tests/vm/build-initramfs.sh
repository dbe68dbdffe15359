#!/usr/bin/env bash
# Builds the initramfs of the kernel-matrix harness: a gzip'd newc cpio holding busybox-static,
# each BIN with its shared libraries, inotifywait, the kernel's loop/ext4 modules (with their
# dependencies, decompressed) and /init (tests/vm/init.sh).
#
# usage: tests/vm/build-initramfs.sh OUT.cpio.gz KERNEL_DIR BIN...
#   KERNEL_DIR  an unpacked Debian linux-image package (scripts/fetch-kernels.sh prints them):
#               KERNEL_DIR/lib/modules/<version>/ holds the modules.
#   BIN         files installed in /opt/inotrace/bin (on the guest's PATH). The guest runs the
#               ones named *_tests unless the kernel command line says inotrace.tests=...
# env:
#   VM_MODULES     modules to load at boot (default "loop ext4 crc32c_generic"); dependencies
#                  and pre-softdeps are added; a built-in module is fine.
#   VM_EXTRA_BINS  more host executables copied to their own path with their libraries
#                  (default "/usr/bin/inotifywait").
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
if [[ $# -lt 3 ]]; then
  echo "usage: $0 OUT.cpio.gz KERNEL_DIR BIN..." >&2
  exit 2
fi
out=$1 kdir=$2; shift 2
bins=("$@")
modules=${VM_MODULES:-"loop ext4 crc32c_generic"}
extra_bins=${VM_EXTRA_BINS:-"/usr/bin/inotifywait"}

die() { echo "build-initramfs: $*" >&2; exit 1; }
if [[ ! -x /bin/busybox ]] || ldd /bin/busybox >/dev/null 2>&1; then
  die "/bin/busybox is missing or not static (apt-get install busybox-static)"
fi
mapfile -t kvers < <(ls "$kdir/lib/modules" 2>/dev/null)
[[ ${#kvers[@]} -eq 1 ]] || die "expected exactly one version under $kdir/lib/modules"
kver=${kvers[0]}

work=$(mktemp -d /tmp/inotrace-initramfs.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,lib,lib64,etc/inotrace,proc,sys,dev,tmp,run,root,mnt}
mkdir -p "$root/opt/inotrace/bin" "$root/lib/modules/$kver"
mknod -m 600 "$root/dev/console" c 5 1   # init's stdio before devtmpfs is mounted
mknod -m 666 "$root/dev/null" c 1 3

# copy_elf SRC DEST: SRC to $root/DEST plus every shared library ldd names (at the path ldd
# prints, dereferenced; the dynamic loader included).
copy_elf() {
  local src=$1 dest=$2 line lib
  mkdir -p "$(dirname "$root/$dest")"
  cp -L "$src" "$root/$dest"
  chmod 755 "$root/$dest"
  if ! ldd_out=$(ldd "$src" 2>&1); then
    [[ $ldd_out == *"not a dynamic executable"* ]] && return 0
    die "ldd $src: $ldd_out"
  fi
  while read -r line; do
    lib=
    if [[ $line == *" => not found"* ]]; then die "$src: missing library: $line"
    elif [[ $line =~ =\>\ (/[^ ]+) ]]; then lib=${BASH_REMATCH[1]}
    elif [[ $line =~ ^(/[^ ]+) ]]; then lib=${BASH_REMATCH[1]}
    fi
    [[ -n $lib && ! -e $root$lib ]] || continue
    mkdir -p "$(dirname "$root$lib")"
    cp -L "$lib" "$root$lib"
  done <<<"$ldd_out"
}

for b in "${bins[@]}"; do
  [[ -x $b ]] || die "not an executable: $b"
  copy_elf "$b" "/opt/inotrace/bin/$(basename "$b")"
done
for b in $extra_bins; do
  [[ -x $b ]] || die "not an executable: $b (VM_EXTRA_BINS)"
  copy_elf "$b" "$b"
done

# Modules: depmod on a symlinked view of the package (the package ships no modules.dep and
# the cache stays untouched), then `modprobe --show-depends` gives the load order, pre-softdeps
# (crypto-crc32c for ext4/jbd2) included.
mroot=$work/depmod
mkdir -p "$mroot/lib/modules/$kver"
for f in "$kdir/lib/modules/$kver"/*; do ln -s "$f" "$mroot/lib/modules/$kver/"; done
depmod -b "$mroot" "$kver"
: > "$root/etc/inotrace/modules"
declare -A seen=()
for m in $modules; do
  deps=$(modprobe -d "$mroot" -S "$kver" --show-depends "$m" 2>&1) \
    || die "module $m not found for $kver: $deps"
  while read -r kind path _; do
    case $kind in
      builtin) echo "build-initramfs: $kver: $path is built in" >&2 ;;
      insmod)
        name=$(basename "$path"); name=${name%%.ko*}
        [[ -z ${seen[$name]:-} ]] || continue
        seen[$name]=1
        case $path in
          *.ko) cp -L "$path" "$root/lib/modules/$kver/$name.ko" ;;
          *.ko.xz) xz -dc "$path" > "$root/lib/modules/$kver/$name.ko" ;;
          *.ko.zst) zstd -qdc "$path" > "$root/lib/modules/$kver/$name.ko" ;;
          *.ko.gz) gzip -dc "$path" > "$root/lib/modules/$kver/$name.ko" ;;
          *) die "unknown module format: $path" ;;
        esac
        echo "$name" >> "$root/etc/inotrace/modules" ;;
      *) die "unexpected modprobe output for $m: $kind $path" ;;
    esac
  done <<<"$deps"
done

cat > "$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat > "$root/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
EOF
echo "$kver" > "$root/etc/inotrace/kernel"
cp "$here/init.sh" "$root/init"
chmod 755 "$root/init"
# busybox last, and only the binary plus /bin/sh: init installs the applet links at boot
# (`busybox --install -s` never overwrites the busybox binary itself).
cp /bin/busybox "$root/bin/busybox"
ln -s busybox "$root/bin/sh"

mkdir -p "$(dirname "$out")"
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --owner=0:0 --quiet) \
  | gzip -1 > "$out.tmp"
mv "$out.tmp" "$out"
echo "build-initramfs: $out ($kver; $(du -h "$out" | cut -f1); modules: $(paste -sd, "$root/etc/inotrace/modules"))" >&2
