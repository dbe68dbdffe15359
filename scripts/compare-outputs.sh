#!/bin/bash
# Captures what two inotrace builds print for one live population and diffs them: `snapshot
# --json` (iterator and procfs sources), `trace --json` over a scripted burst of adds and
# removes, and the daemon's /api/* documents (all but /api/events, whose recent-event ring
# differs run to run). Fields that differ between any two runs
# (times, durations, the burst's pids, inode numbers of directories the burst recreates,
# counters) are dropped before the diff; everything else must match.
#
#   scripts/compare-outputs.sh OLD_BINARY NEW_BINARY [OUT_DIR]     (root; prints the diff)
set -euo pipefail
old=$1 new=$2 out=${3:-/tmp/inotrace-compare}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tests/support/free_port.sh"
mkdir -p "$out"
root=$(mktemp -d /tmp/inotrace-cmp.XXXXXX)
setsid python3 "$here/compare-population.py" hold "$root" >"$out/population.txt" 2>&1 &
holder=$!
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  kill -- -"$holder" 2>/dev/null || true
  sleep 0.3
  awk -v r="$root/" 'index($5, r) == 1 {print $5}' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l
  rm -rf "$root"
}
trap cleanup EXIT
for _ in $(seq 100); do grep -q ready "$out/population.txt" && break; sleep 0.1; done
grep -q ready "$out/population.txt" || { cat "$out/population.txt"; exit 1; }

by_watch='sort_by(.pid, .fd, .wd)'
snapshot_filter="del(.taken_at, .duration_ms) | .watches |= $by_watch"
trace_filter='select(.comm == "itr-burst") | del(.ts, .pid, .tid, .instance, .ino, .user_watches, .user_instances, .cgroup_id)'

capture() {
  local bin=$1 tag=$2
  "$bin" snapshot --json | jq -S "$snapshot_filter" >"$out/$tag.snapshot-iterator.json"
  "$bin" snapshot --json --source procfs | jq -S "$snapshot_filter" >"$out/$tag.snapshot-procfs.json"

  "$bin" trace --json -o "$out/$tag.trace.raw" 2>"$out/$tag.trace.err" &
  local tracer=$!
  pids+=("$tracer")
  for _ in $(seq 100); do grep -q "tracing inotify" "$out/$tag.trace.err" && break; sleep 0.1; done
  python3 "$here/compare-population.py" burst "$root"
  sleep 2.5  # two reconciles on the tracepoint backend
  kill -INT "$tracer"
  wait "$tracer" || true
  jq -c -S "$trace_filter" "$out/$tag.trace.raw" >"$out/$tag.trace.json"

  local port token="$out/$tag.token"
  port=$(free_port)
  "$bin" daemon --api-listen "127.0.0.1:$port" --api-token-file "$token" --pods-root "$root/pods" \
    --kubepods-cgroup none 2>"$out/$tag.daemon.err" &
  local daemon=$!
  pids+=("$daemon")
  for _ in $(seq 300); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
  sleep 3  # leak candidates are confirmed by the next snapshots
  local auth="Authorization: Bearer $(cat "$token")"
  curl -sf -H "$auth" "http://127.0.0.1:$port/api/watches?limit=10000" |
    jq -S ".watches |= $by_watch | del(.next_cursor)" >"$out/$tag.api-watches.json"
  curl -sf -H "$auth" "http://127.0.0.1:$port/api/leaks" | jq -S 'del(.. | .since?, .since_mono_ns?, .age_s?)' >"$out/$tag.api-leaks.json"
  curl -sf -H "$auth" "http://127.0.0.1:$port/api/users" | jq -S . >"$out/$tag.api-users.json"
  # Newer than some builds compared: a 404 is captured as such.
  curl -s -H "$auth" "http://127.0.0.1:$port/api/pods" | (jq -S . 2>/dev/null || echo "not served") >"$out/$tag.api-pods.json"
  curl -sf -H "$auth" "http://127.0.0.1:$port/api/processes" | jq -S . >"$out/$tag.api-processes.json"
  curl -sf -H "$auth" "http://127.0.0.1:$port/api/status" | jq -S 'keys' >"$out/$tag.api-status-keys.json"
  kill -TERM "$daemon"
  wait "$daemon" || true
}

capture "$old" before
capture "$new" after
status=0
for f in snapshot-iterator.json snapshot-procfs.json trace.json api-watches.json api-leaks.json api-users.json \
  api-pods.json api-processes.json api-status-keys.json; do
  if diff -u "$out/before.$f" "$out/after.$f" >"$out/diff.$f"; then
    echo "same: $f ($(wc -c <"$out/after.$f") bytes)"
  else
    echo "DIFFERS: $f"
    cat "$out/diff.$f"
    status=1
  fi
done
exit $status
