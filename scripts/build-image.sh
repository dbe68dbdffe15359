#!/usr/bin/env bash
# OCI image of the daemon, from Debian packages only (no registry needed):
#   scripts/build-image.sh [BUILD_DIR]   ->  BUILD_DIR/inotrace-image.tar  (tag inotrace:<version>)
# The rootfs (scripts/image-rootfs.sh) is build/inotrace plus its shared-library closure (ldd) as
# installed from Debian's packages here, their copyright files and a minimal /etc: no shell, no
# package manager, no compiler. One layer, packed with umoci; the tar is an OCI layout that `ctr image import`,
# `skopeo ... oci-archive:` and `podman load` read. Up to date (same binary, same script) -> exits
# at once, so tests can call it freely. Containerfile builds the same image with a registry.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(realpath "${1:-$src/build}")
bin=$build/inotrace
out=$build/inotrace-image.tar
[[ -x $bin ]] || { echo "build-image: $bin missing: cmake --build $build --target inotrace" >&2; exit 1; }
for tool in umoci ldd dpkg-query; do
  command -v "$tool" > /dev/null || { echo "build-image: $tool missing (scripts/install-deps.sh)" >&2; exit 1; }
done
# Tests may call this concurrently: one builds, the others then find it up to date.
exec 9> "$build/.inotrace-image.lock"
flock 9
version=$("$bin" --version | awk '{print $2}')
stamp=$(cat "$bin" "$0" "$src/scripts/image-rootfs.sh" | sha256sum | cut -c1-64)
if [[ -f $out && -f $out.stamp && $(cat "$out.stamp") == "$stamp" ]]; then
  echo "build-image: $out up to date (inotrace:$version)"
  exit 0
fi

work=$build/image
rm -rf "$work"; mkdir -p "$work/rootfs"
trap 'rm -rf "$work"' EXIT
root=$work/rootfs

pkg_list=$("$src/scripts/image-rootfs.sh" "$bin" "$root" | tr '\n' ' ')

# One reproducible layer: sorted, root-owned, fixed mtime.
epoch=$(git -C "$src" log -1 --format=%ct 2>/dev/null || echo 0)
created=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)
tar -C "$root" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" -cf "$work/layer.tar" .

layout=$work/oci
umoci init --layout "$layout"
umoci new --image "$layout:$version"
umoci raw add-layer --image "$layout:$version" --history.created "$created" \
  --history.created_by "scripts/build-image.sh: inotrace + ldd closure from Debian packages" "$work/layer.tar"
umoci config --image "$layout:$version" --created "$created" --history.created "$created" \
  --architecture amd64 --os linux --author "inotrace" \
  --config.entrypoint /usr/bin/inotrace --config.entrypoint daemon \
  --config.user 0:0 --config.workingdir / --config.stopsignal SIGTERM \
  --config.exposedports 9717/tcp \
  --config.env PATH=/usr/bin \
  --config.label org.opencontainers.image.title=inotrace \
  --config.label "org.opencontainers.image.description=eBPF tracer of Linux inotify watches: the node daemon" \
  --config.label "org.opencontainers.image.version=$version" \
  --config.label "org.opencontainers.image.created=$created" \
  --config.label "io.inotrace.debian-packages=${pkg_list% }"
# ctr names an imported image from this annotation (a bare tag needs --base-name instead).
jq --arg name "inotrace:$version" \
  '.manifests[0].annotations["io.containerd.image.name"] = $name' "$layout/index.json" > "$work/index.json"
mv "$work/index.json" "$layout/index.json"
umoci gc --layout "$layout"

tar -C "$layout" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" -cf "$out.tmp" .
mv "$out.tmp" "$out"
echo "$stamp" > "$out.stamp"
echo "build-image: $out (inotrace:$version, rootfs $(du -sh --apparent-size "$root" | cut -f1), archive $(du -h --apparent-size "$out" | cut -f1))"
