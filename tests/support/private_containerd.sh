# Sourced by the tests that run containers: a private containerd (own root, state and socket
# under a test directory; the CRI plugin off), so nothing clashes with a system instance and
# nothing outlives the test.
#   private_containerd_start DIR   -> sets CTR_SOCK and CONTAINERD_PID; returns 1 (with the
#                                     log's tail) when containerd cannot run here
#   private_containerd_stop DIR    -> stops it and unmounts whatever it left under DIR
#   ctr_ ARGS...                   -> ctr against it

private_containerd_start() {
  local dir=$1
  CTR_SOCK=$dir/containerd.sock
  cat > "$dir/containerd.toml" <<TOML
version = 2
root = "$dir/containerd-root"
state = "$dir/containerd-state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$CTR_SOCK"
[ttrpc]
  address = "$CTR_SOCK.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
TOML
  containerd --config "$dir/containerd.toml" > "$dir/containerd.log" 2>&1 &
  CONTAINERD_PID=$!
  for _ in $(seq 100); do ctr -a "$CTR_SOCK" version > /dev/null 2>&1 && return 0; sleep 0.1; done
  tail -20 "$dir/containerd.log"
  return 1
}

ctr_() { ctr -a "$CTR_SOCK" "$@"; }

private_containerd_stop() {
  local dir=$1
  if [[ -n ${CONTAINERD_PID:-} ]]; then
    kill "$CONTAINERD_PID" 2>/dev/null || true
    wait "$CONTAINERD_PID" 2>/dev/null || true
    CONTAINERD_PID=
  fi
  # What containerd (and the test) mounted under DIR, deepest first.
  awk -v d="$dir/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done
}
