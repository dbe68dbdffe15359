#!/usr/bin/env bash
# e2e: `inotrace check` (node-problem-detector custom plugin) in each of its states, each made
# real on this kernel: ok (0); problem (1) from a watcher over a lowered --watches-warn (its
# escaped name in the line) and from a kubelet-like leak pinned by a containerized mounter's
# mount (the mount in the line); unknown (2) without privileges. Also --json. Needs root;
# exits 77 (CTest: skipped) otherwise, saying why.
set -uo pipefail
INOTRACE=${1:?usage: check_cli_test.sh path/to/inotrace}
if [[ $(id -u) != 0 ]]; then echo "SKIPPED e2e.check_cli: needs root"; exit 77; fi
for tool in inotifywait jq setpriv unshare; do
  command -v $tool >/dev/null || { echo "FAIL: $tool not installed (scripts/install-deps.sh)"; exit 1; }
done

work=$(mktemp -d /tmp/inotrace-check.XXXXXX)
pids=()
cg_dirs=()  # made by the test, removed (deepest first) once its processes are gone
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  for d in "${cg_dirs[@]}"; do rmdir "$d" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
fails=0
check() {  # check <description> <command...>
  local what=$1; shift
  if "$@"; then echo "ok   - $what"; else echo "FAIL - $what"; fails=$((fails + 1)); fi
}
# Runs `inotrace check ARGS...`: stdout in $out, its line count in $lines, exit code in $rc.
run_check() {
  out=$("$INOTRACE" check "$@" 2>"$work/check.err"); rc=$?
  lines=$(printf '%s\n' "$out" | wc -l)
  echo "  check $* -> $rc: $out"
}
# run_check until its exit code is $1 and its line matches the regex $2 (at most 20 tries, 10 s):
# other tests on a shared machine hold pod-shaped watches for seconds (their scratch roots' pods
# are not under this pods root, so here they look deleted).
run_check_until() {
  local want=$1 re=$2; shift 2
  for _ in $(seq 20); do
    run_check "$@"
    [[ $rc = "$want" ]] && grep -qE "$re" <<<"$out" && return 0
    sleep 0.5
  done
}
# `check --json ARGS...` into $work/check.json (exit code in $jrc) until the jq filter $1 holds
# (at most 20 tries, for the same reason).
json_until() {
  local filter=$1; shift
  for _ in $(seq 20); do
    "$INOTRACE" check --json "$@" >"$work/check.json"; jrc=$?
    jq -e "$filter" "$work/check.json" >/dev/null && return 0
    sleep 0.5
  done
}
# Waits until process $1 holds an inotify fd with $2 watches.
wait_watches() {
  local pid=$1 want=$2 n
  for _ in $(seq 100); do
    n=$(cat /proc/"$pid"/fdinfo/* 2>/dev/null | grep -c '^inotify wd:')
    [[ $n -ge $want ]] && return 0
    sleep 0.1
  done
  echo "  pid $pid holds $n watches, not $want"; return 1
}
pods_root="$work/node/var/lib/kubelet/pods"
mkdir -p "$pods_root"

# --- ok ----------------------------------------------------------------------------------------
run_check_until 0 '^InotifyOK: ' --pods-root "$pods_root" --kubepods-cgroup none
check "ok: exit 0" test "$rc" = 0
check "ok: one line" test "$lines" = 1
check "ok: InotifyOK line with the leak count" grep -qE '^InotifyOK: .*0 leaked watches \(max 0\)' <<<"$out"

# --- problem: a user over --watches-warn, its top holder named (escaped) ------------------------
# The watcher runs as its own uid through a symlink whose name holds a newline: its comm does too.
mkdir -p "$work/tree"
for i in $(seq 200); do mkdir "$work/tree/d$i"; done
evil="$work/bin/evil"$'\n'"name"
mkdir -p "$work/bin" && ln -s "$(command -v inotifywait)" "$evil"
chmod 755 "$work" "$work/bin"
setpriv --reuid=47311 --regid=47311 --clear-groups "$evil" -m -q -r "$work/tree" >/dev/null 2>&1 &
w=$!; pids+=("$w")
wait_watches "$w" 201 || exit 1
# 47311's share of max_user_watches, in percent, rounded down: the threshold that it reaches (the
# line names the user nearest its limit: on a node where another user holds more, this fails).
max=$(cat /proc/sys/fs/inotify/max_user_watches)
warn=$(awk -v n=201 -v m="$max" 'BEGIN { printf "%.6f", int(n * 100 / m * 1e6) / 1e6 }')
run_check_until 1 "^InotifyWatchesNearLimit: uid 47311 " --pods-root "$pods_root" --kubepods-cgroup none --watches-warn "$warn"
check "watches: exit 1" test "$rc" = 1
check "watches: one line, the newline in the comm escaped" test "$lines" = 1
check "watches: names uid 47311 and its count" grep -qE "^InotifyWatchesNearLimit: uid 47311 uses 201/$max max_user_watches" <<<"$out"
check "watches: top holder is the watcher (pid, escaped comm)" \
  grep -qF "top holder pid $w evil\\nname (host process) with 201 watches" <<<"$out"
json_until '.problems[0].reason == "InotifyWatchesNearLimit"' --pods-root "$pods_root" --kubepods-cgroup none --watches-warn "$warn"
check "watches --json: exit 1" test "$jrc" = 1
check "watches --json: status, exit_code, first problem" \
  jq -e '.status == "problem" and .exit_code == 1 and .problems[0].reason == "InotifyWatchesNearLimit"' "$work/check.json" >/dev/null
check "watches --json: message is the line" test "$(jq -r .message "$work/check.json")" = "$out"
kill "$w"; wait "$w" 2>/dev/null

# --- problem: a kubelet-like leak (DESIGN.md §7) -----------------------------------------------
# In a private mount namespace: a containerized mounter's tmpfs, bind-mounted to kubelet's path
# of the pod's volume; a watcher on it through kubelet's path; kubelet unmounts its path and
# deletes the pod directory; the mounter's mount pins the tmpfs, and with it the watches. The
# namespace (and the tmpfs) ends with the test. The watcher runs in a cgroup shaped as kubelet's
# cgroupfs driver makes it (a private subtree, as in trace_cli_test.sh): the line names its pod.
uid=0c3f2a1b-9d8e-4f7a-8b6c-5d4e3f2a1b0c
ctr_id=fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210
cg_base=/sys/fs/cgroup/memory
[[ -e /sys/fs/cgroup/cgroup.controllers ]] && cg_base=/sys/fs/cgroup
cg_top="$cg_base/inotrace-check-e2e-$$"
cg_leaf="$cg_top/kubepods/besteffort/pod$uid/$ctr_id"
mkdir -p "$cg_leaf" || { echo "FAIL: cannot make $cg_leaf"; exit 1; }
cg_dirs=("$cg_leaf" "$cg_top/kubepods/besteffort/pod$uid" "$cg_top/kubepods/besteffort" "$cg_top/kubepods" "$cg_top")
vol="volumes/kubernetes.io~projected/kube-api-access-x"
mounter="$work/node/home/kubernetes/containerized_mounter/rootfs/var/lib/kubelet/pods/$uid/$vol"
kubelet="$pods_root/$uid/$vol"
unshare -m --propagation private bash -c '
  set -e
  mkdir -p "$1" "$2"
  mount -t tmpfs tmpfs "$1"
  echo token >"$1/token"
  mount --bind "$1" "$2"
  sh -c "echo \$\$ >\"\$1/cgroup.procs\" && exec inotifywait -m -q \"\$2\" \"\$2/token\"" sh "$6" "$2" >/dev/null 2>&1 &
  echo $! >"$3/watcher.pid"
  # Both watches (the volume root and its token) in place before the unmount.
  for _ in $(seq 100); do [[ $(cat /proc/$!/fdinfo/* 2>/dev/null | grep -c "^inotify wd:") -ge 2 ]] && break; sleep 0.1; done
  sleep 0.3
  # A watcher lstat-ing the token at that moment makes the unmount EBUSY: try again.
  for _ in $(seq 20); do umount "$2" 2>/dev/null && break; sleep 0.1; done
  ! mountpoint -q "$2" || umount "$2"
  rm -rf "$4/$5"
  touch "$3/leak.ready"
  wait' _ "$mounter" "$kubelet" "$work" "$pods_root" "$uid" "$cg_leaf" &
ns_pid=$!; pids+=("$ns_pid")
for _ in $(seq 100); do [[ -e $work/leak.ready ]] && break; sleep 0.1; done
check "leak scenario set up" test -e "$work/leak.ready" || exit 1
iw=$(cat "$work/watcher.pid"); pids+=("$iw")
check "pod directory deleted" test ! -e "$pods_root/$uid"
run_check_until 1 '^InotifyWatchLeak: 2 watches ' --pods-root "$pods_root" --kubepods-cgroup none
check "leak: exit 1" test "$rc" = 1
check "leak: one line" test "$lines" = 1
check "leak: 2 watches into 1 deleted pod" grep -qE '^InotifyWatchLeak: 2 watches into 1 deleted pods \(max 0\)' <<<"$out"
check "leak: top holder is the watcher, in its pod and container" \
  grep -qF "top holder pid $iw inotifywait (pod uid $uid, container ${ctr_id:0:12}) with 2" <<<"$out"
ns=$(stat -Lc %i /proc/"$iw"/ns/mnt)
check "leak: pinned by the mounter's mount, in its namespace" grep -qF "pinned by $mounter (mnt ns $ns, pid " <<<"$out"
check "leak: unmounting it frees both" grep -qF "unmounting it frees 2 watches" <<<"$out"
check "leak: restarting the holder frees both" grep -qF "restarting the holder frees its 2" <<<"$out"
run_check_until 0 '' --pods-root "$pods_root" --kubepods-cgroup none --leaks-max 2
check "leak within --leaks-max 2: exit 0" test "$rc" = 0
check "leak within --leaks-max 2: counted in the ok line" grep -qF "2 leaked watches (max 2)" <<<"$out"
json_until '.leaked_watches == 2' --pods-root "$pods_root" --kubepods-cgroup none
check "leak --json: exit 1" test "$jrc" = 1
check "leak --json: leaked_watches 2, first problem InotifyWatchLeak" \
  jq -e '.leaked_watches == 2 and .problems[0].reason == "InotifyWatchLeak"' "$work/check.json" >/dev/null

# --- unknown: no privileges --------------------------------------------------------------------
# The leak is still there: a check that cannot see it must not say ok.
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$INOTRACE" check --pods-root "$pods_root" 2>/dev/null); rc=$?
echo "  unprivileged check -> $rc: $out"
check "unprivileged: exit 2" test "$rc" = 2
check "unprivileged: InotifyUnknown, saying why" grep -qE '^InotifyUnknown: the fds of [0-9]+ processes could not be read \(permission denied: run as root\)$' <<<"$out"
check "unprivileged: one line" test "$(printf '%s\n' "$out" | wc -l)" = 1
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$INOTRACE" check --source iterator 2>/dev/null); rc=$?
echo "  unprivileged check --source iterator -> $rc: $out"
check "unprivileged, iterator forced: exit 2" test "$rc" = 2
check "unprivileged, iterator forced: InotifyUnknown" grep -q '^InotifyUnknown: ' <<<"$out"
out=$(unshare -p -f --mount-proc "$INOTRACE" check --pods-root "$pods_root" 2>/dev/null); rc=$?
echo "  check in a new PID namespace -> $rc: $out"
check "own PID namespace (a pod without hostPID): exit 2 although root" test "$rc" = 2
check "own PID namespace: says so" grep -q "^InotifyUnknown: not in the host's PID namespace" <<<"$out"
run_check --pods-root "$work/no-such-dir" --btf /nonexistent --source iterator
check "missing BTF with the iterator forced: exit 2" test "$rc" = 2

echo "$fails failures"
[[ $fails = 0 ]]
