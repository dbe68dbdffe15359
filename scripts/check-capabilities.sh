#!/usr/bin/env bash
# Which capabilities does `inotrace` need without root's full set? Runs `inotrace snapshot` and a
# short `inotrace daemon` with the DaemonSet's capability list (deploy/kubernetes/daemonset.yaml)
# as the bounding set, then with each capability removed in turn, and prints what changed.
# Prints, per set: the snapshot (BPF iterator, else /proc), the /proc fdinfo source, the daemon.
# The watcher is uid 65534 in a private mount namespace, as a container's process would be.
# Usage (root): scripts/check-capabilities.sh build/inotrace
set -uo pipefail
. "$(dirname "$0")/../tests/support/free_port.sh"
BIN=${1:?usage: check-capabilities.sh path/to/inotrace}
[[ $(id -u) == 0 ]] || { echo "needs root"; exit 1; }
CAPS=(bpf perfmon sys_resource dac_read_search sys_ptrace syslog)
ns=$(mktemp -d /tmp/inotrace-caps.XXXXXX)
chmod 755 "$ns"
# The watched directory exists only in the watcher's mount namespace (a tmpfs mounted there).
unshare -m --propagation private sh -c "mount -t tmpfs none '$ns' && mkdir -p '$ns/pod/vol' && chmod -R 755 '$ns' &&
  exec setpriv --reuid=65534 --regid=65534 --clear-groups inotifywait -m -q '$ns/pod/vol'" >/dev/null 2>&1 &
watcher=$!
trap 'kill $watcher 2>/dev/null; wait 2>/dev/null; rmdir "$ns"' EXIT
sleep 1
iw=$(pgrep -P $watcher -x inotifywait || echo $watcher)
run() {  # run <label> <capability...>
  local label=$1; shift
  local set=-all c
  for c in "$@"; do set+=",+$c"; done
  local snap src watches path rc port
  port=$(free_port)
  snap=$(setpriv --inh-caps=-all --bounding-set="$set" -- "$BIN" snapshot --json --pid "$iw" 2>/tmp/inotrace-caps-snap.err); rc=$?
  src=$(jq -r '.source // "-"' <<<"$snap" 2>/dev/null)
  watches=$(jq -r '.totals.watches // "-"' <<<"$snap" 2>/dev/null)
  path=$(jq -r '.watches[0].path // "none"' <<<"$snap" 2>/dev/null)
  # The /proc fdinfo source (used where the BPF iterator is not): file handles, open_by_handle_at.
  local procfs
  procfs=$(setpriv --inh-caps=-all --bounding-set="$set" -- "$BIN" snapshot --source procfs --json --pid "$iw" 2>/dev/null |
    jq -r '"\(.totals.watches) watches, path \(.watches[0].path // "none")"' 2>/dev/null)
  setpriv --inh-caps=-all --bounding-set="$set" -- "$BIN" daemon --duration 30 --kubepods-cgroup none \
    --listen "127.0.0.1:$port" >/dev/null 2>/tmp/inotrace-caps-daemon.err &
  local d=$! m="" drc
  for _ in $(seq 100); do
    m=$(curl -sf "http://127.0.0.1:$port/metrics") && break
    kill -0 $d 2>/dev/null || break
    sleep 0.2
  done
  kill -INT $d 2>/dev/null
  wait $d; drc=$?
  local served; served=$(grep -c '^inotrace_watches ' <<<"$m")
  local why; why=$(cat /tmp/inotrace-caps-daemon.err /tmp/inotrace-caps-snap.err | grep -m1 -E 'error|missing' | cut -c1-120)
  printf '%-24s snapshot exit %s (%s): watcher watches %s, path %s | --source procfs: %s | daemon exit %s, /metrics %s%s\n' \
    "$label" "$rc" "$src" "$watches" "$path" "${procfs:-failed}" "$drc" "$([[ $served == 1 ]] && echo served || echo 'not served')" "${why:+ | $why}"
}
run "all six" "${CAPS[@]}"
for drop in "${CAPS[@]}"; do
  rest=()
  for c in "${CAPS[@]}"; do [[ $c == "$drop" ]] || rest+=("$c"); done
  run "without $drop" "${rest[@]}"
done
run "none"
