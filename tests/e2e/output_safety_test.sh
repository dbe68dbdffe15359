#!/usr/bin/env bash
# e2e: what inotrace writes is safe to run as root on a shared machine (issue 11):
#   symlink    `trace -o` refuses a symlink planted by another user (item 3)
#   pointers   no kernel pointer in any output; instance ids stable across commands (item 4)
#   promtool   /metrics passes `promtool check metrics` with hostile process names (item 6);
#              one metric per quantity, inotrace_build_info, and every metric the alert rules
#              and the Grafana dashboard (deploy/) use is on the page (issue 13)
#   stderr     an unwritable stderr never kills trace or the daemon (item 7)
#   fullfs     `-o` on a full filesystem: whole lines only, and what was not written is counted (item 12)
#   losses     ring-buffer losses: at most one stderr line a second (item 13)
#   closedpipe a reader that goes away (`| head`): one clear error line, exit 1, never "internal
#              error", in every snapshot view and in --json; `check` exits 2 (unknown) whatever
#              it saw
# Usage: output_safety_test.sh path/to/inotrace [section...]   (default: every section)
# Needs root; exits 77 (CTest: skipped) otherwise, saying why.
set -uo pipefail
INOTRACE=${1:?usage: output_safety_test.sh path/to/inotrace [section...]}
shift
sections=("$@")
((${#sections[@]})) || sections=(symlink pointers promtool stderr fullfs losses closedpipe)
if [[ $(id -u) != 0 ]]; then echo "SKIPPED e2e.output_safety: needs root"; exit 77; fi
for tool in inotifywait jq setpriv curl promtool; do
  command -v $tool >/dev/null || { echo "FAIL: $tool not installed (scripts/install-deps.sh)"; exit 1; }
done

work=$(mktemp -d /tmp/inotrace-out-e2e.XXXXXX)
chmod 755 "$work"
pids=()
mounts=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  for m in "${mounts[@]}"; do umount "$m" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
fails=0
check() {  # check <description> <command...>
  local what=$1; shift
  if "$@"; then echo "ok   - $what"; else echo "FAIL - $what"; fails=$((fails + 1)); fi
}
all_json() { [[ -s $1 ]] && jq -e . "$1" >/dev/null 2>&1; }  # every line of file $1 is JSON
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }

# Starts `inotrace trace` in the background and waits until it is attached.
start_trace() {  # start_trace <stderr-file> <args...>
  local err=$1; shift
  "$INOTRACE" trace "$@" 2>"$err" &
  trace_pid=$!
  pids+=("$trace_pid")
  for _ in $(seq 100); do grep -q "Ctrl-C to stop" "$err" && return 0; sleep 0.1; done
  echo "inotrace did not start:"; cat "$err"; return 1
}
stop_trace() { kill -INT "$trace_pid"; wait "$trace_pid"; }

. "$(dirname "$0")/../support/free_port.sh"
start_daemon() {  # start_daemon <stderr-file> [args...]; its port in $port, picked now (not at the script's start)
  local err=$1; shift
  port=$(free_port) || return
  # The JSON API asks for the bearer token the daemon writes (root-only) to its token file.
  "$INOTRACE" daemon --listen "127.0.0.1:$port" --api-token-file "$work/api-token" --kubepods-cgroup none "$@" \
    2>"$err" >/dev/null &
  daemon_pid=$!
  pids+=("$daemon_pid")
  for _ in $(seq 150); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && return 0; sleep 0.1; done
  echo "daemon did not start:"; cat "$err"; return 1
}

make_tree() {  # make_tree <dir> <n>: n subdirectories
  mkdir -p "$1"
  (cd "$1" && seq -f "d%05g" "$2" | xargs mkdir -p)
}

section_symlink() {
  echo "# symlink: trace -o onto a symlink planted by uid 65534"
  local shared="$work/shared" victim="$work/victim"
  mkdir "$shared" && chmod 1777 "$shared"
  echo "root's secret" >"$victim" && chmod 600 "$victim"
  as_nobody ln -s "$victim" "$shared/out"
  out=$("$INOTRACE" trace --duration 0.5 -o "$shared/out" 2>&1); rc=$?
  echo "  trace -o $shared/out: exit $rc: $(grep error <<<"$out")"
  check "planted symlink: trace refuses (exit 1)" test "$rc" = 1
  check "planted symlink: clear error" grep -q "cannot open $shared/out for writing: it is a symlink" <<<"$out"
  check "planted symlink: target intact" test "$(cat "$victim")" = "root's secret"
  check "planted symlink: target still mode 600" test "$(stat -c %a "$victim")" = 600
}

section_pointers() {
  echo "# pointers: no kernel pointer in any output; one instance, one id, across commands"
  local dir="$work/ptr" pat='ffff[0-9a-f]{12}'
  mkdir -p "$dir"
  inotifywait -m -q "$dir" >/dev/null 2>&1 &
  local iw=$!
  pids+=("$iw")
  for _ in $(seq 100); do grep -qs "^inotify wd:" /proc/$iw/fdinfo/* && break; sleep 0.1; done
  "$INOTRACE" snapshot --json >"$work/snap.json" 2>"$work/snap.err"
  "$INOTRACE" snapshot --view instances >"$work/snap-inst.txt" 2>>"$work/snap.err"
  "$INOTRACE" snapshot --view watches >"$work/snap-watch.txt" 2>>"$work/snap.err"
  local snap_id
  snap_id=$(jq -r ".instances[] | select(any(.holders[]; .pid == $iw)) | .instance" "$work/snap.json")
  echo "  snapshot: instance of inotifywait $iw: $snap_id"
  start_trace "$work/trace.err" --json -o "$work/trace.ndjson" || return
  "$INOTRACE" trace -o "$work/trace.txt" --duration 6 2>"$work/trace-text.err" &
  local text_trace=$!
  start_daemon "$work/daemon.err" --duration 30 || return
  sleep 0.5
  inotifywait -q -t 1 "$dir" >/dev/null 2>&1  # a new instance: instance_create / add / destroy
  kill "$iw"; wait "$iw" 2>/dev/null
  # The tracepoint backend finds the close at its next reconcile (every 1 s; slower under load).
  for _ in $(seq 150); do
    grep -q "\"event\":\"instance_destroy\",\"pid\":$iw," "$work/trace.ndjson" && break
    sleep 0.1
  done
  for api in /api/watches /api/events /api/leaks /api/processes /api/status /metrics; do
    curl -sf -H "Authorization: Bearer $(cat "$work/api-token")" "http://127.0.0.1:$port$api" \
      >"$work/api${api//\//_}.out"
  done
  kill "$daemon_pid"; wait "$daemon_pid"  # its port is the next section's
  stop_trace
  wait "$text_trace"
  local trace_id
  trace_id=$(jq -r "select(.pid == $iw and .event == \"instance_destroy\") | .instance" "$work/trace.ndjson" | head -1)
  echo "  trace: instance_destroy of inotifywait $iw: $trace_id"
  for f in snap.json snap-inst.txt snap-watch.txt trace.ndjson trace.txt api_api_watches.out api_api_events.out \
    api_api_leaks.out api_api_processes.out api_api_status.out api_metrics.out snap.err trace.err daemon.err; do
    local hits
    hits=$(grep -cE "$pat" "$work/$f")
    [[ $hits != 0 ]] && echo "  $f: $(grep -oE "$pat[^\"]*" "$work/$f" | head -1) ($hits lines)"
    check "no kernel pointer in $f" test "$hits" = 0
  done
  check "trace --json has instance ids" test "$(jq -r 'select(.instance != null) | .instance' "$work/trace.ndjson" | wc -l)" -gt 0
  check "instance ids are 16 hex digits" test -z "$(jq -r 'select(.instance != null) | .instance' "$work/trace.ndjson" | grep -vxE '[0-9a-f]{16}')"
  check "snapshot found the instance" test -n "$snap_id"
  check "same instance, same id in snapshot --json and a later trace --json ($snap_id / $trace_id)" \
    test -n "$snap_id" -a "$snap_id" = "$trace_id"
}

section_promtool() {
  echo "# promtool: /metrics with a hostile process name"
  # exec names the process after its file: invalid UTF-8, a quote, a backslash, a newline.
  local name=$'\xff\xfe"q\\\nevil' bin="$work/bin"
  mkdir -p "$bin"
  cp "$(command -v inotifywait)" "$bin/$name"
  make_tree "$work/hostile" 300
  "$bin/$name" -m -r -q "$work/hostile" >/dev/null 2>&1 &
  pids+=($!)
  sleep 1
  check "hostile comm really set" grep -q evil /proc/$!/comm
  start_daemon "$work/promd.err" || return
  curl -sf "http://127.0.0.1:$port/metrics" >"$work/metrics.txt"
  kill "$daemon_pid"; wait "$daemon_pid"
  check "hostile comm is a label" grep -q 'evil' "$work/metrics.txt"
  grep 'evil' "$work/metrics.txt" | sed 's/^/  /' | cat -v
  out=$(promtool check metrics <"$work/metrics.txt" 2>&1); rc=$?
  echo "  promtool check metrics: exit $rc: $(head -c 400 <<<"$out")"
  check "promtool check metrics passes" test "$rc" = 0
  check "every *_total family is a counter" \
    test -z "$(grep '^# TYPE .*_total ' "$work/metrics.txt" | grep -v ' counter$')"
  local m
  for m in inotrace_watches inotrace_instances inotrace_stale_watches inotrace_user_instances inotrace_user_instances_limit; do
    check "$m is a gauge" grep -qx "# TYPE $m gauge" "$work/metrics.txt"
  done
  check "no multi-quantity inotrace_state{what=...}" test -z "$(grep '^inotrace_state' "$work/metrics.txt")"
  grep -E '^inotrace_(build_info|user_instances)' "$work/metrics.txt" | sed 's/^/  /'
  check "inotrace_build_info{version,backend} 1" \
    grep -qE '^inotrace_build_info\{.*version="[^"]+".*\} 1$|^inotrace_build_info\{backend="[a-z_]+",version="[^"]+"\} 1$' "$work/metrics.txt"
  check "root's instance limit is max_user_instances ($(cat /proc/sys/fs/inotify/max_user_instances))" \
    grep -qx "inotrace_user_instances_limit{uid=\"0\",user_ns=\"4026531837\"} $(cat /proc/sys/fs/inotify/max_user_instances)" "$work/metrics.txt"
  local deploy used missing=""
  deploy="$(dirname "$0")/../../deploy"
  used=$(cat "$deploy/prometheus/inotrace-rules.yaml" "$deploy/grafana/inotrace-dashboard.json" 2>/dev/null |
    grep -o 'inotrace_[a-z_]*' | sort -u)
  # Families with no series until something happens (a refused init; a forecast after its
  # warm-up): DaemonForecastE2E.* and container.attribution scrape them once they exist.
  local conditional=" inotrace_init_failures_total inotrace_user_instances_exhaustion_seconds inotrace_user_watches_exhaustion_seconds "
  for m in $used; do
    [[ $conditional == *" $m "* ]] || grep -q "^# TYPE $m " "$work/metrics.txt" || missing+=" $m"
  done
  echo "  alert rules and dashboard use: $(echo $used)"
  check "every metric the alert rules and the dashboard use is on the page${missing:+ (missing:$missing)}" test -n "$used" -a -z "$missing"
}

section_stderr() {
  echo "# stderr: unwritable stderr never kills trace or the daemon"
  local dir="$work/err"
  mkdir -p "$dir"
  for how in /dev/full closed dead-pipe; do
    local out="$work/stderr-${how//\//_}.ndjson"
    case $how in
      /dev/full) "$INOTRACE" trace --json -o "$out" --duration 6 -v 2>/dev/full & ;;
      closed) "$INOTRACE" trace --json -o "$out" --duration 6 -v 2>&- & ;;
      dead-pipe) "$INOTRACE" trace --json -o "$out" --duration 6 -v 2> >(true) & ;;
    esac
    local tp=$!
    # Watches added all along (when trace is attached cannot be read from its stderr here).
    while kill -0 "$tp" 2>/dev/null; do sleep 0.3; timeout 0.2 inotifywait -q "$dir" >/dev/null 2>&1; done
    wait "$tp"
    rc=$?
    echo "  trace 2>$how: exit $rc, $(wc -l <"$out" 2>/dev/null) lines"
    check "trace with stderr $how: exit 0 (not 134/141)" test "$rc" = 0
    check "trace with stderr $how: events after the log lines written" \
      test -n "$(jq -c "select(.event == \"add\" and .path == \"$dir\")" "$out" 2>/dev/null)"
    check "trace with stderr $how: every line is JSON" all_json "$out"
  done
  port=$(free_port) || return
  "$INOTRACE" daemon --listen "127.0.0.1:$port" --kubepods-cgroup none --duration 3 >/dev/null 2> >(true)
  rc=$?
  echo "  daemon 2>dead-pipe: exit $rc"
  check "daemon with stderr into a dead pipe: exit 0" test "$rc" = 0
}

section_fullfs() {
  echo "# fullfs: trace -o on a 64 KiB tmpfs"
  local small="$work/small" tree="$work/fulltree"
  mkdir -p "$small"
  mount -t tmpfs -o size=64k none "$small" && mounts+=("$small")
  make_tree "$tree" 500
  start_trace "$work/full.err" --json -o "$small/out.ndjson" || return
  for _ in 1 2; do inotifywait -r -q -t 1 "$tree" >/dev/null 2>&1; done
  sleep 1.5
  stop_trace; rc=$?
  local summary total written not_written
  summary=$(grep -E "^inotrace: [0-9]+ events \(" "$work/full.err")
  echo "  $summary"
  grep error "$work/full.err" | sed 's/^/  /'
  total=$(sed -nE 's/^inotrace: ([0-9]+) events.*/\1/p' <<<"$summary")
  written=$(wc -l <"$small/out.ndjson")
  not_written=$(grep -oE '[0-9]+ not written|not written [0-9]+' <<<"$summary" | grep -oE '[0-9]+')
  echo "  $total events, $written lines in the file, not written: ${not_written:-?}; file $(stat -c %s "$small/out.ndjson") bytes"
  check "filesystem really filled (events > lines written)" test "$total" -gt "$written"
  check "trace exits 1 (output incomplete)" test "$rc" = 1
  check "file ends with a newline" test "$(tail -c1 "$small/out.ndjson" | od -An -c | tr -d ' ')" = '\n'
  check "every line parses as JSON" all_json "$small/out.ndjson"
  check "summary counts what was not written (${not_written:-none} = $total - $written)" \
    test "${not_written:-x}" = "$((total - written))"
}

section_losses() {
  echo "# losses: ring-buffer losses are reported at most once a second"
  local tree="$work/losstree"
  make_tree "$tree" 3000
  start_trace "$work/loss.err" --json -o /dev/null --ringbuf-size 4096 --reconcile-interval 0 || return
  local t0=$SECONDS
  for _ in 1 2 3; do inotifywait -r -q -t 1 "$tree" >/dev/null 2>&1; done
  stop_trace
  local secs=$((SECONDS - t0 + 2)) lines drops
  lines=$(grep -c "lost (ring buffer full)" "$work/loss.err")
  drops=$(sed -nE 's/.*ring buffer full ([0-9]+),.*/\1/p' "$work/loss.err" | tail -1)
  echo "  $drops events lost in ${secs} s; $lines loss lines on stderr"
  grep "lost (ring buffer full)" "$work/loss.err" | head -3 | sed 's/^/  /'
  if [[ ${drops:-0} == 0 ]]; then
    echo "FAIL - no ring-buffer loss happened: the burst did not test anything"; fails=$((fails + 1)); return
  fi
  check "losses reported ($lines lines)" test "$lines" -ge 1
  check "at most one loss line a second ($lines lines in $secs s)" test "$lines" -le "$secs"
}

section_closedpipe() {
  echo "# closedpipe: stdout is a pipe whose reader has gone (| head)"
  # A watcher so that every view has rows.
  mkdir -p "$work/pipe"
  inotifywait -m -q "$work/pipe" > /dev/null 2>&1 &
  pids+=($!)
  sleep 0.3
  # A FIFO opened read-write then write-only; closing the read-write end leaves no reader, so
  # the first write fails with EPIPE whatever the timing (a `| true` reader may still be alive).
  mkfifo "$work/pipe.fifo"
  local rfd wfd args rc errors
  exec {rfd}<>"$work/pipe.fifo" {wfd}>"$work/pipe.fifo"
  exec {rfd}<&-
  closed_run() {  # closed_run ARGS...: inotrace ARGS with stdout on the reader-less FIFO; rc in $rc
    "$INOTRACE" "$@" >&"$wfd" 2> "$work/pipe.err"
    rc=$?
    errors=$(grep -c "error:" "$work/pipe.err")
    echo "  inotrace $* > (no reader) -> exit $rc: $(grep "error:" "$work/pipe.err")"
  }
  for args in "snapshot" "snapshot --view watches --top 0" "snapshot --view instances" "snapshot --view pods" "snapshot --json"; do
    # shellcheck disable=SC2086
    closed_run $args
    check "$args into a closed pipe exits 1 (got $rc)" test "$rc" = 1
    check "$args into a closed pipe says why" grep -q "closed by its reader (broken pipe); the output is incomplete" "$work/pipe.err"
    check "$args into a closed pipe is no internal error" bash -c "! grep -q 'internal error' '$work/pipe.err'"
    check "$args into a closed pipe: one error line ($errors)" test "$errors" = 1
  done
  for args in "check" "check --json"; do
    # shellcheck disable=SC2086
    closed_run $args
    check "$args into a closed pipe exits 2, unknown, whatever it saw (got $rc)" test "$rc" = 2
    check "$args into a closed pipe says why" grep -q "closed by its reader (broken pipe)" "$work/pipe.err"
  done
  # trace: the first line it writes fails (text: its header, at once; --json: the first event's,
  # which inotifywait makes); it stops by itself, in the one-shot commands' words.
  for args in "trace" "trace --json"; do
    # shellcheck disable=SC2086
    timeout 20 "$INOTRACE" $args >&"$wfd" 2> "$work/pipe.err" &
    local tp=$!
    for _ in $(seq 100); do grep -q "Ctrl-C to stop" "$work/pipe.err" && break; sleep 0.1; done
    inotifywait -q -t 1 "$work/pipe" >/dev/null 2>&1  # an instance, a watch: lines to write
    wait "$tp"; rc=$?
    echo "  inotrace $args > (no reader) -> exit $rc: $(grep "error:" "$work/pipe.err" | tr '\n' ' ')"
    check "$args into a closed pipe stops by itself with exit 1 (got $rc; 124 = still running)" test "$rc" = 1
    check "$args into a closed pipe says why" grep -q "error: writing stdout: closed by its reader (broken pipe);.*stopping" "$work/pipe.err"
    check "$args into a closed pipe is no internal error" bash -c "! grep -q 'internal error' '$work/pipe.err'"
  done
  exec {wfd}>&-
}

for s in "${sections[@]}"; do "section_$s"; done
echo "e2e.output_safety: $fails failure(s)"
exit $((fails > 0))
