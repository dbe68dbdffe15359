#!/usr/bin/env bash
# e2e: `inotrace trace` as a user runs it, against a real client (inotifywait), plus every
# user-facing error. Needs root; exits 77 (CTest: skipped) otherwise, saying why.
set -uo pipefail
INOTRACE=${1:?usage: trace_cli_test.sh path/to/inotrace}
if [[ $(id -u) != 0 ]]; then echo "SKIPPED e2e.trace_cli: needs root"; exit 77; fi
for tool in inotifywait jq setpriv unshare; do
  command -v $tool >/dev/null || { echo "FAIL: $tool not installed (scripts/install-deps.sh)"; exit 1; }
done

work=$(mktemp -d /tmp/inotrace-e2e.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
fails=0
check() {  # check <description> <command...>
  local what=$1; shift
  if "$@"; then echo "ok   - $what"; else echo "FAIL - $what"; fails=$((fails + 1)); fi
}

# Starts inotrace in the background and waits until it is attached.
start_trace() {  # start_trace <stderr-file> <args...>
  local err=$1; shift
  "$INOTRACE" trace "$@" 2>"$err" &
  trace_pid=$!
  pids+=("$trace_pid")
  for _ in $(seq 100); do grep -q "Ctrl-C to stop" "$err" && return 0; sleep 0.1; done
  echo "inotrace did not start:"; cat "$err"; return 1
}

watch_with_inotifywait() {  # runs inotifywait -m on $1 for a moment, prints its pid
  inotifywait -m -q "$1" >/dev/null 2>&1 &
  local p=$!
  # Until its watch is in place (a sleep a loaded machine could outlast), then a moment more.
  for _ in $(seq 100); do grep -qs "^inotify wd:" /proc/$p/fdinfo/* && break; sleep 0.1; done
  sleep 0.2
  kill "$p"; wait "$p" 2>/dev/null
  echo "$p"
}

target="$work/watched dir"
mkdir -p "$target"
ino=$(stat -c %i "$target")
dev=$(stat -c '%Hd:%Ld' "$target")

# --- JSON mode ---------------------------------------------------------------------------------
start_trace "$work/json.err" --json -o "$work/events.ndjson" --comm inotifywait || exit 1
iw_pid=$(watch_with_inotifywait "$target")
kill -TERM "$trace_pid"; wait "$trace_pid"; rc=$?
check "trace --json exits 0 on SIGTERM" test "$rc" = 0
check "summary printed on SIGTERM" grep -q "^inotrace: .* events" "$work/json.err"
add=$(jq -c "select(.event == \"add\" and .pid == $iw_pid)" "$work/events.ndjson")
echo "  add: $add"
check "add event from inotifywait pid $iw_pid" test -n "$add"
check "add: wd 1"              test "$(jq -r .wd <<<"$add")" = 1
check "add: ino $ino"          test "$(jq -r .ino <<<"$add")" = "$ino"
check "add: dev $dev"          test "$(jq -r .dev <<<"$add")" = "$dev"
check "add: path"              test "$(jq -r .path <<<"$add")" = "$target"
check "add: comm"              test "$(jq -r .comm <<<"$add")" = inotifywait
check "add: mask names"        test "$(jq -r '.mask | index("IN_MODIFY") != null' <<<"$add")" = true
check "add: user_watches"      test "$(jq -r '.user_watches >= 1' <<<"$add")" = true
check "add: max_user_watches"  test "$(jq -r .max_user_watches <<<"$add")" = "$(cat /proc/sys/fs/inotify/max_user_watches)"
check "add: RFC 3339 ts with ns" grep -qE '"ts":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{9}Z"' "$work/events.ndjson"
check "instance_create precedes the add" \
  test "$(jq -r "select(.pid == $iw_pid) | .event" "$work/events.ndjson" | head -1)" = instance_create
check "every line is one JSON object" jq -e . "$work/events.ndjson" >/dev/null

# --- text mode -------------------------------------------------------------------------------------
start_trace "$work/text.err" --comm inotifywait -o "$work/events.txt" || exit 1
iw_pid=$(watch_with_inotifywait "$target")
kill -INT "$trace_pid"; wait "$trace_pid"
echo "  text: $(grep -E " add " "$work/events.txt")"
check "text: header" grep -q "^TIME .*EVENT .*PID .*COMM .*WD .*DEV:INO .*MASK .*PATH" "$work/events.txt"
check "text: add line with pid, wd, dev:ino, path" \
  grep -qE "add +$iw_pid +inotifywait +1 +$dev:$ino +IN_ALL_EVENTS +$target" "$work/events.txt"

# --- pod attribution ---------------------------------------------------------------------------
# An add made by a process in a cgroup shaped as kubelet's cgroupfs driver makes it (in a private
# subtree, so no other test's kubepods detection sees it) names the pod and the container.
cg_base=/sys/fs/cgroup/memory
[[ -e /sys/fs/cgroup/cgroup.controllers ]] && cg_base=/sys/fs/cgroup
pod_uid=5b4a2c1e-8f3d-4e6a-9b7c-0d1e2f3a4b5c
ctr_id=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
cg_top="$cg_base/inotrace-e2e-$$"
cg_leaf="$cg_top/kubepods/besteffort/pod$pod_uid/$ctr_id"
if [[ -e $cg_base/cgroup.procs ]] && mkdir -p "$cg_leaf"; then
  start_trace "$work/pod.err" --json -o "$work/pod.ndjson" --comm inotifywait || exit 1
  trace_all=$trace_pid
  start_trace "$work/pod-only.err" --json -o "$work/pod-only.ndjson" --pod "$pod_uid" --container "${ctr_id:0:12}" || exit 1
  trace_pod=$trace_pid
  start_trace "$work/other-ns.err" --json -o "$work/other-ns.ndjson" --namespace no-such-namespace || exit 1
  trace_other=$trace_pid
  sh -c 'echo $$ > "$1/cgroup.procs" && exec inotifywait -m -q "$2"' sh "$cg_leaf" "$target" >/dev/null 2>&1 &
  pod_iw=$!
  watch_with_inotifywait "$target" >/dev/null  # a host process's add meanwhile
  snap_pod=$("$INOTRACE" snapshot --json --pod "$pod_uid" 2>/dev/null | jq -c '[.instances[].holders[].pid]')
  snap_ns=$("$INOTRACE" snapshot --json --namespace no-such-namespace 2>/dev/null | jq -c '[.instances[].holders[].pid]')
  kill "$pod_iw"; wait "$pod_iw" 2>/dev/null
  for p in "$trace_all" "$trace_pod" "$trace_other"; do kill -TERM "$p"; wait "$p"; done
  pod_add=$(jq -c "select(.event == \"add\" and .pid == $pod_iw)" "$work/pod.ndjson")
  echo "  add in a pod: $pod_add"
  check "add in a pod: pod uid"       test "$(jq -r .pod.uid <<<"$pod_add")" = "$pod_uid"
  check "add in a pod: QoS class"     test "$(jq -r .pod.qos <<<"$pod_add")" = besteffort
  check "add in a pod: container id"  test "$(jq -r .container.id <<<"$pod_add")" = "$ctr_id"
  check "add outside pods: no pod key" test "$(jq -r 'has("pod")' <<<"$add")" = false
  check "--pod UID --container PREFIX: only the pod's events" \
    test "$(jq -r '.pid' "$work/pod-only.ndjson" | sort -u)" = "$pod_iw"
  check "--pod: its add is there" test "$(jq -c 'select(.event == "add")' "$work/pod-only.ndjson" | wc -l)" = 1
  check "--namespace of no pod: nothing" test ! -s "$work/other-ns.ndjson"
  check "snapshot --pod UID: the pod's watcher only ($snap_pod)" test "$snap_pod" = "[$pod_iw]"
  check "snapshot --namespace of no pod: nothing ($snap_ns)" test "$snap_ns" = "[]"
  for d in "$cg_leaf" "$cg_top/kubepods/besteffort/pod$pod_uid" "$cg_top/kubepods/besteffort" "$cg_top/kubepods" "$cg_top"; do
    rmdir "$d"
  done
else
  echo "SKIPPED e2e.trace_cli pod attribution: no cgroup v2 or v1 memory hierarchy at /sys/fs/cgroup"
fi

# --- user-facing errors ------------------------------------------------------------------------
out=$("$INOTRACE" trace --bogus-flag 2>&1); rc=$?
check "unknown flag: usage error (exit $rc)" test "$rc" != 0
check "unknown flag: names the flag" grep -q "bogus-flag" <<<"$out"

out=$(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$INOTRACE" trace --duration 1 2>&1); rc=$?
echo "  not root: $out"
check "not root: exit 1" test "$rc" = 1
check "not root: names missing capabilities" grep -q "missing privileges: CAP_BPF, CAP_PERFMON" <<<"$out"

out=$("$INOTRACE" trace --backend fentry --duration 0.5 2>&1); rc=$?
echo "  forced backend: $out"
if [[ $rc == 0 ]]; then  # a kernel with trampolines (the VM matrix)
  check "forced fentry runs with fentry" grep -q "backend fentry: forced" <<<"$out"
else
  check "forced unavailable backend: exit 1" test "$rc" = 1
  check "forced unavailable backend: lists what works" grep -q "available here: tracepoint" <<<"$out"
fi

out=$(unshare -m sh -c "mount -t tmpfs none /sys/kernel/btf && '$INOTRACE' trace --duration 1" 2>&1); rc=$?
echo "  no BTF: $out"
check "no BTF: exit 1" test "$rc" = 1
check "no BTF: clear error" grep -q "kernel BTF not found at /sys/kernel/btf/vmlinux" <<<"$out"

cp /sys/kernel/btf/vmlinux "$work/vmlinux.btf"
out=$(unshare -m sh -c "umount /sys/kernel/tracing 2>/dev/null; umount /sys/kernel/debug/tracing 2>/dev/null; '$INOTRACE' trace --duration 0.5" 2>&1); rc=$?
echo "  tracefs unmounted: $(grep tracefs <<<"$out")"
check "tracefs unmounted: inotrace mounts it and runs" test "$rc" = 0
check "tracefs unmounted: says so" grep -q "mounted tracefs at /sys/kernel/tracing" <<<"$out"

out=$(unshare -m sh -c "umount /sys/kernel/tracing 2>/dev/null; mount -t tmpfs -o ro none /sys/kernel; '$INOTRACE' trace --btf '$work/vmlinux.btf' --duration 0.5" 2>&1); rc=$?
echo "  tracefs unmountable: $out"
check "tracefs cannot be mounted: exit 1" test "$rc" = 1
check "tracefs cannot be mounted: says how to fix" grep -q "tracefs is not mounted and mounting it" <<<"$out"

out=$("$INOTRACE" trace --ringbuf-size 1000 2>&1); rc=$?
check "bad ring buffer size: exit 1 with reason" test "$rc" = 1 -a -n "$(grep 'power of two' <<<"$out")"

out=$("$INOTRACE" trace -o /nonexistent-dir/x 2>&1); rc=$?
check "unwritable output: exit 1 with reason" test "$rc" = 1 -a -n "$(grep 'cannot open /nonexistent-dir/x' <<<"$out")"

# --- the per-boot BTF cache (util/boot_cache.h) -------------------------------------------------
# A first run parses the kernel's BTF and keeps what start-up needs; the next one parses nothing
# and records the same events; a damaged entry is made again; a directory a stranger owns is not
# used, and tracing goes on without it.
cache="$work/btf-cache"
cached_add() {  # cached_add <cache dir> <stderr file>: the add inotifywait made, as traced
  start_trace "$2" -v --json -o "$work/cached.ndjson" --comm inotifywait || return 1
  local p; p=$(watch_with_inotifywait "$target")
  kill -INT "$trace_pid"; wait "$trace_pid"
  jq -c "select(.event == \"add\" and .pid == $p) | [.wd, .ino, .dev, .path, .mask]" "$work/cached.ndjson"
}
export INOTRACE_CACHE_DIR=$cache
cold=$(cached_add "$cache" "$work/cold.err")
check "cache: a first run parses the BTF" grep -q "kernel BTF: parsing /sys/kernel/btf/vmlinux (not yet in this boot's cache in $cache)" "$work/cold.err"
boot=$(cat /proc/sys/kernel/random/boot_id)
check "cache: function ids kept for this boot" grep -q "^inotrace func ids 1$" "$cache/boot-$boot.func-ids"
check "cache: a CO-RE BTF kept per object, root-only" test "$(find "$cache" -name "boot-$boot.core-btf-*" -perm 0600 -user root | wc -l)" = 2
check "cache: directory made root-only" test "$(stat -c %a "$cache")" = 700
warm=$(cached_add "$cache" "$work/warm.err")
check "cache: the next run parses nothing" grep -q "kernel BTF: not parsed; this boot's cache in $cache answers" "$work/warm.err"
echo "  traced add, cold: $cold; warm: $warm"
check "cache: the same add traced either way" test -n "$cold" -a "$cold" = "$warm"
mkdir "$work/kept" && cp "$cache/boot-$boot".core-btf-* "$work/kept/"
for f in "$cache/boot-$boot".core-btf-*; do  # a BTF header that promises what the body is not
  { head -c 24 "$f"; head -c $(( $(stat -c %s "$f") - 24 )) /dev/urandom; } > "$work/damaged" && cat "$work/damaged" > "$f"
done
again=$(cached_add "$cache" "$work/again.err")
check "cache: damaged CO-RE BTFs: the same add traced" test "$again" = "$cold"
remade=0
for f in "$work/kept"/*; do cmp -s "$f" "$cache/$(basename "$f")" && remade=$((remade + 1)); done
check "cache: damaged CO-RE BTFs are made again" test "$remade" = 2
printf 'garbage\n' > "$cache/boot-$boot.func-ids"
again=$(cached_add "$cache" "$work/again.err")
check "cache: damaged function ids are not used" grep -q "kernel BTF: parsing" "$work/again.err"
check "cache: damaged function ids: the same add traced" test "$again" = "$cold"
check "cache: damaged function ids are made again" grep -q "^inotrace func ids 1$" "$cache/boot-$boot.func-ids"
theirs="$work/theirs"
mkdir -m 700 "$theirs"; chown 65534:65534 "$theirs"
export INOTRACE_CACHE_DIR=$theirs
strange=$(cached_add "$theirs" "$work/theirs.err")
check "cache: a stranger's directory is not used, and says why" grep -q "no cache: $theirs is not a directory only root can write (owner 65534" "$work/theirs.err"
check "cache: a stranger's directory: the same add traced" test "$strange" = "$cold"
check "cache: nothing written into a stranger's directory" test -z "$(ls -A "$theirs")"
unset INOTRACE_CACHE_DIR

echo "e2e.trace_cli: $fails failure(s)"
exit $((fails > 0))
