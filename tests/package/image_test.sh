#!/usr/bin/env bash
# The OCI image from scripts/build-image.sh: its config (entrypoint, user, port), a rootfs with
# no shell, and a real import + run under a private containerd: --version, then a snapshot of
# this host from inside the container with the host's PID namespace, a read-only root and only
# the daemon's capabilities added. Leaves no containerd, mount or file behind.
#   image_test.sh BUILD_DIR VERSION
set -euo pipefail
build=$(realpath "$1"); version=$2
src=$(cd "$(dirname "$0")/../.." && pwd)
tar=$build/inotrace-image.tar
fail() { echo "FAIL: $*"; exit 1; }
trap 'echo "FAIL: $BASH_SOURCE line $LINENO: $BASH_COMMAND"' ERR

"$src/scripts/build-image.sh" "$build"
echo "image archive: $(stat -c %s "$tar") bytes"

config=$(skopeo inspect --config "oci-archive:$tar:$version")
jq -e '.config.Entrypoint == ["/usr/bin/inotrace", "daemon"]' <<<"$config" > /dev/null || fail "entrypoint: $(jq -c .config.Entrypoint <<<"$config")"
jq -e '.config.User == "0:0" and (.config.ExposedPorts | has("9717/tcp"))' <<<"$config" > /dev/null || fail "user/port"
jq -e --arg v "$version" '.config.Labels["org.opencontainers.image.version"] == $v' <<<"$config" > /dev/null || fail "version label"

# The layer: the binary and its loader, no shell, no package manager, no compiler.
work=$(mktemp -d "$build/image-test.XXXXXX")
cleanup_dirs=("$work")
watcher_pid=
cleanup() {
  [[ -z $watcher_pid ]] || kill "$watcher_pid" 2>/dev/null || true
  [[ $(type -t private_containerd_stop) != function ]] || private_containerd_stop "$work"
  rm -rf "${cleanup_dirs[@]}"
}
trap cleanup EXIT
mkdir "$work/layout"; tar -C "$work/layout" -xf "$tar"
manifest=$(jq -r '.manifests[0].digest' "$work/layout/index.json" | cut -d: -f2)
layer=$(jq -r '.layers[0].digest' "$work/layout/blobs/sha256/$manifest" | cut -d: -f2)
files=$(tar -tzf "$work/layout/blobs/sha256/$layer")
grep -qx './usr/bin/inotrace' <<<"$files" || fail "no /usr/bin/inotrace in the layer"
grep -qx './lib64/ld-linux-x86-64.so.2' <<<"$files" || fail "no dynamic loader in the layer"
if grep -E '(^|/)(sh|bash|dash|busybox|apt|dpkg|gcc|cc|g\+\+)$' <<<"$files"; then fail "shell, package manager or compiler in the image"; fi
echo "layer: $(wc -l <<<"$files") entries, no shell"

if ! command -v containerd > /dev/null || ! command -v ctr > /dev/null; then
  echo "SKIPPED container run: containerd/ctr not installed (scripts/install-deps.sh installs them)"
  exit 0
fi
. "$src/tests/support/private_containerd.sh"
private_containerd_start "$work" || { echo "SKIPPED container run: containerd did not start here"; exit 0; }
sock=$CTR_SOCK
ctr -a "$sock" image import "$tar"
images=$(ctr -a "$sock" image ls -q)
grep -qx "inotrace:$version" <<<"$images" || fail "import did not name the image inotrace:$version"
out=$(ctr -a "$sock" run --rm "inotrace:$version" "inotrace-version-$$" /usr/bin/inotrace --version)
[[ $out == "inotrace $version" ]] || fail "in the container --version printed '$out'"
echo "ctr run inotrace:$version --version: $out"

# A known watcher on the host, to be found from inside the container.
mkdir "$work/watched"
inotifywait -m -q "$work/watched" > /dev/null &
watcher_pid=$!
for _ in $(seq 50); do grep -q '^inotify' "/proc/$watcher_pid/fdinfo/"* 2>/dev/null && break; sleep 0.1; done

# The host's PID namespace (as hostPID: true); /proc/1/ns may be unreadable inside a sandbox,
# this shell's is the same namespace.
snap=$(ctr -a "$sock" run --rm --read-only --with-ns "pid:/proc/$$/ns/pid" \
  --cap-add CAP_BPF --cap-add CAP_PERFMON --cap-add CAP_SYSLOG --cap-add CAP_DAC_READ_SEARCH --cap-add CAP_SYS_PTRACE \
  --mount type=bind,src=/sys/kernel/tracing,dst=/sys/kernel/tracing,options=rbind:ro \
  "inotrace:$version" "inotrace-snapshot-$$" /usr/bin/inotrace snapshot --pid "$watcher_pid" --view watches 2>&1) || { echo "$snap"; fail "snapshot in the container"; }
echo "$snap"
grep -Eq '^inotrace snapshot: 1 processes, 1 instances, 1 watches' <<<"$snap" || fail "the container did not see the host's watcher"
grep -qF "$work/watched" <<<"$snap" || fail "the container did not resolve the watched path"

# The entrypoint's daemon, scraped from the host (host network here only to reach it, on a free
# loopback port).
. "$src/tests/support/free_port.sh"
port=$(free_port)
ctr -a "$sock" run --rm --read-only --net-host --with-ns "pid:/proc/$$/ns/pid" \
  --cap-add CAP_BPF --cap-add CAP_PERFMON --cap-add CAP_SYSLOG --cap-add CAP_DAC_READ_SEARCH --cap-add CAP_SYS_PTRACE \
  --mount type=bind,src=/sys/kernel/tracing,dst=/sys/kernel/tracing,options=rbind:ro \
  "inotrace:$version" "inotrace-daemon-$$" /usr/bin/inotrace daemon --listen "127.0.0.1:$port" --duration 20 \
  > "$work/daemon.log" 2>&1 &
daemon_ctr=$!
metrics=
for _ in $(seq 150); do metrics=$(curl -sf "http://127.0.0.1:$port/metrics" 2>/dev/null) && break; sleep 0.1; done
[[ -n $metrics ]] || { cat "$work/daemon.log"; fail "the containerized daemon served no /metrics"; }
grep -m1 -E '^inotrace_user_watches\{uid="0"' <<<"$metrics" || fail "no inotrace_user_watches for uid 0 in /metrics"
ctr -a "$sock" task kill "inotrace-daemon-$$" > /dev/null 2>&1 || true
wait "$daemon_ctr" || true
echo "containerized daemon: $(head -1 "$work/daemon.log" | cut -c1-100)..."
echo "PASS: image config, no shell, imported and run under containerd"
