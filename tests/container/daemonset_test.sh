#!/usr/bin/env bash
# The DaemonSet under a real container runtime (CTest label `container`): a private containerd
# runs the image (build/inotrace-image.tar) with exactly the DaemonSet's container spec — derived
# from deploy/kubernetes/daemonset.yaml by daemonset_oci_spec.py: its arguments, capabilities,
# read-only root, host PID namespace, host paths and propagation, limits — in a pod-like network
# namespace. From the host: /readyz turns ready and /metrics scrapes on the pod IP, the JSON API
# is not there. A pod's container (inotifywait, a kubelet-like cgroup path, CRI annotations)
# watches its projected volume under a kubelet-like root; the pod directory is deleted while a
# containerized mounter's bind mount pins the volume; the daemon's loopback API (nsenter into
# the pod's network namespace) reports the leak with the pod's uid and what pins it. Then each
# capability is removed in turn: what fails without it. Leaves nothing behind (checked).
#   daemonset_test.sh BUILD_DIR VERSION
set -euo pipefail
build=$(realpath "$1"); version=$2
src=$(cd "$(dirname "$0")/../.." && pwd)
tar=$build/inotrace-image.tar
# ctest shows a passing test's output to nobody: scripts/test.sh prints this copy.
exec > >(tee "$build/container-tier.log") 2>&1
fail() { echo "FAIL: $*"; exit 1; }
trap 'echo "FAIL: $BASH_SOURCE line $LINENO: $BASH_COMMAND"' ERR
[[ $(id -u) == 0 ]] || { echo "SKIPPED container.daemonset: needs root"; exit 77; }
for t in containerd ctr runc skopeo busybox inotifywait curl jq ip nsenter python3; do
  command -v "$t" > /dev/null || { echo "SKIPPED container.daemonset: $t is not installed (scripts/install-deps.sh)"; exit 77; }
done
python3 -c 'import yaml' 2> /dev/null || { echo "SKIPPED container.daemonset: python3-yaml missing"; exit 77; }

"$src/scripts/build-image.sh" "$build" > /dev/null
work=$(mktemp -d "$build/container-test.XXXXXX")
uid=$(cat /proc/sys/kernel/random/uuid)        # the watcher's pod
ds_uid=$(cat /proc/sys/kernel/random/uuid)     # the daemon's own pod
netns=inotrace-ct-$$
veth=itct$$
pod_ip=10.231.$(( $$ % 200 + 20 )).2
host_ip=${pod_ip%.2}.1
cid=watcher-$$
cgroup_leaf=kubepods/besteffort/pod$uid/$cid
. "$src/tests/support/private_containerd.sh"

created_cgroups=()
cleanup() {
  set +e
  if [[ -n ${CTR_SOCK:-} && -S ${CTR_SOCK:-/nonexistent} ]]; then
    for c in $(ctr_ task ls -q 2>/dev/null); do ctr_ task kill -s SIGKILL "$c" >/dev/null 2>&1; done
    sleep 0.5
    for c in $(ctr_ task ls -q 2>/dev/null); do ctr_ task delete -f "$c" >/dev/null 2>&1; done
    for c in $(ctr_ container ls -q 2>/dev/null); do ctr_ container delete "$c" >/dev/null 2>&1; done
  fi
  private_containerd_stop "$work"
  ip netns del "$netns" 2>/dev/null
  # The kubelet-like cgroups this test created (leaf first; only those it created).
  for ((i = ${#created_cgroups[@]} - 1; i >= 0; i--)); do rmdir "${created_cgroups[$i]}" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT

command -v containerd > /dev/null
private_containerd_start "$work" || { echo "SKIPPED container.daemonset: containerd cannot run here"; exit 77; }
ctr_ image import "$tar" > /dev/null
ctr_ image ls -q | grep -qx "inotrace:$version" || fail "import did not name the image inotrace:$version"

# --- the node: a kubelet-like root (rshared, as the kubelet makes /var/lib/kubelet), a pod
# with a projected-volume tmpfs, and a containerized mounter that bind-mounts the volume.
host=$work/host
kubelet=$host/var/lib/kubelet
vol_rel=pods/$uid/volumes/kubernetes.io~projected/kube-api-access-test
mounter=$host/home/kubernetes/containerized_mounter/rootfs/var/lib/kubelet
mkdir -p "$kubelet/$vol_rel" "$mounter/$vol_rel" "$host/run/inotrace"
chmod 700 "$host/run/inotrace"
mount --bind "$kubelet" "$kubelet"
mount --make-rshared "$kubelet"
mount -t tmpfs -o size=1m,mode=0755 tmpfs "$kubelet/$vol_rel"
echo token > "$kubelet/$vol_rel/token"
mount --bind "$kubelet/$vol_rel" "$mounter/$vol_rel"
mount --make-private "$mounter/$vol_rel"

# The pod's network namespace with one veth, as a CNI plugin would give it.
ip netns add "$netns"
ip link add "$veth" type veth peer name eth0 netns "$netns"
ip addr add "$host_ip/24" dev "$veth"
ip link set "$veth" up
ip -n "$netns" addr add "$pod_ip/24" dev eth0
ip -n "$netns" link set eth0 up
ip -n "$netns" link set lo up

# --- the daemon's container, as the DaemonSet declares it.
for ctrl_dir in /sys/fs/cgroup/*/; do
  [[ -w $ctrl_dir && ! -L ${ctrl_dir%/} ]] || continue
  for d in kubepods kubepods/besteffort "kubepods/besteffort/pod$uid" kubepods/burstable "kubepods/burstable/pod$ds_uid"; do
    [[ -d $ctrl_dir$d ]] || { mkdir "$ctrl_dir$d" 2>/dev/null && created_cgroups+=("$ctrl_dir$d"); }
  done
done
skopeo inspect --config "oci-archive:$tar:$version" > "$work/image-config.json"
ctr oci spec > "$work/base-spec.json"
# The image's root filesystem from containerd's snapshotter (a spec file takes no image).
mkdir "$work/daemon-rootfs"
ctr_ images mount --rw "inotrace:$version" "$work/daemon-rootfs" > /dev/null
# A capability outside this machine's own bounding set no runtime here can grant (this sandbox
# lacks CAP_SYS_RESOURCE); such a one is left out, and said so.
ds_caps=$(python3 -c 'import sys, yaml; c = yaml.safe_load(open(sys.argv[1]))["spec"]["template"]["spec"]["containers"][0]
print(" ".join(c["securityContext"]["capabilities"]["add"]))' "$src/deploy/kubernetes/daemonset.yaml")
bounding=$((16#$(awk '/^CapBnd/ {print $2}' /proc/self/status)))
ungrantable=()
for cap in $ds_caps; do
  # setpriv --list-caps names the capabilities in the order of their numbers, from 0.
  bit=$(setpriv --list-caps | grep -nx "${cap,,}" | cut -d: -f1)
  [[ -n $bit ]] || fail "unknown capability $cap in the DaemonSet"
  (( bounding >> (bit - 1) & 1 )) || ungrantable+=("$cap")
done
for cap in "${ungrantable[@]}"; do
  echo "NOTE: CAP_$cap is not in this machine's bounding set ($(awk '/^CapBnd/ {print $2}' /proc/self/status)): the daemon runs without it here"
done
daemon_spec() {  # daemon_spec OUT [--drop-cap CAP]
  local out=$1 c; shift
  for c in "${ungrantable[@]}"; do set -- "$@" --drop-cap "$c"; done
  python3 "$src/tests/container/daemonset_oci_spec.py" "$src/deploy/kubernetes/daemonset.yaml" \
    "$work/image-config.json" "$work/base-spec.json" "/var/run/netns/$netns" "/kubepods/burstable/pod$ds_uid/daemon" "$work/daemon-rootfs" \
    --host-path "/var/lib/kubelet=$kubelet" --host-path "/run/inotrace=$host/run/inotrace" \
    --env "POD_IP=$pod_ip" --env "NODE_NAME=$(hostname)" "$@" > "$out"
}
daemon_spec "$work/daemon-spec.json"
echo "daemon container: $(jq -c '.process.args' "$work/daemon-spec.json")"
echo "  capabilities $(jq -c '.process.capabilities.effective' "$work/daemon-spec.json"), read-only root" \
  "$(jq '.root.readonly' "$work/daemon-spec.json"), namespaces $(jq -c '[.linux.namespaces[].type]' "$work/daemon-spec.json")"
echo "  mounts: $(jq -r '[.mounts[] | select(.type == "bind") | "\(.destination) (\(.options | join(",")))"] | join("; ")' "$work/daemon-spec.json")"
jq -e '.process.capabilities.effective | index("CAP_SYS_ADMIN") | not' "$work/daemon-spec.json" > /dev/null || fail "CAP_SYS_ADMIN in the spec"

ctr_ run -d --log-uri "file://$work/daemon.log" --config "$work/daemon-spec.json" inotrace-daemon > /dev/null
ready=
for _ in $(seq 600); do
  ready=$(curl -s -m 2 -w ' %{http_code}' "http://$pod_ip:9717/readyz" 2>/dev/null || true)
  [[ $ready == *" 200" ]] && break
  ctr_ task ls 2>/dev/null | grep -q '^inotrace-daemon .*RUNNING' || fail "the daemon's container stopped: $(cat "$work/daemon.log")"
  sleep 0.1
done
[[ $ready == *" 200" ]] || fail "/readyz on $pod_ip:9717 never turned 200 (last: $ready): $(cat "$work/daemon.log")"
echo "/readyz on the pod IP: ${ready% 200}"
metrics=$(curl -sf "http://$pod_ip:9717/metrics") || fail "/metrics on the pod IP"
grep -m1 '^inotrace_build_info' <<<"$metrics"
grep -q '^inotrace_watches ' <<<"$metrics" || fail "no inotrace_watches in /metrics"
api_on_pod_ip=$(curl -s -o /dev/null -w '%{http_code}' "http://$pod_ip:9717/api/leaks")
[[ $api_on_pod_ip == 404 ]] || fail "the pod IP serves /api/leaks (HTTP $api_on_pod_ip); it must stay on loopback"
curl -s -m 2 "http://$pod_ip:9718/api/leaks" > /dev/null 2>&1 && fail "the API port answers on the pod IP"
echo "pod IP $pod_ip: /metrics served, /api/leaks 404 there, port 9718 closed there"
token=$(cat "$host/run/inotrace/api-token")
api() { nsenter --net="/var/run/netns/$netns" curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:9718$1"; }
api /api/status > "$work/status.json" || fail "the loopback API did not answer /api/status"
echo "loopback API: $(jq -c '{backend, snapshot_source, watches, instances}' "$work/status.json")"

# --- the pod's container: inotifywait (with its libraries) on the volume, a kubelet-like cgroup path and the
# CRI annotations a kubelet's containerd would set.
rootfs=$work/watcher-rootfs
mkdir -p "$rootfs/bin" "$rootfs/proc" "$rootfs/dev" "$rootfs/sys" "$rootfs/var/lib/kubelet"
cp "$(command -v busybox)" "$rootfs/bin/busybox"
ln -s busybox "$rootfs/bin/sh"
cp "$(command -v inotifywait)" "$rootfs/bin/inotifywait"
for lib in $(ldd "$(command -v inotifywait)" | grep -o '/[^ ]*'); do
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"
done
ctr_ run -d --rootfs --cgroup "/$cgroup_leaf" \
  --annotation io.kubernetes.cri.container-type=container \
  --annotation io.kubernetes.cri.container-name=app \
  --annotation io.kubernetes.cri.sandbox-name=leaky-pod \
  --annotation io.kubernetes.cri.sandbox-namespace=default \
  --annotation "io.kubernetes.cri.sandbox-uid=$uid" \
  --mount "type=bind,src=$kubelet,dst=/var/lib/kubelet,options=rbind:ro:rslave" \
  "$rootfs" "$cid" /bin/inotifywait -m -q "/var/lib/kubelet/$vol_rel" "/var/lib/kubelet/$vol_rel/token" > /dev/null
wpid=
for _ in $(seq 100); do
  wpid=$(ctr_ task ls | awk -v c="$cid" '$1 == c && $3 == "RUNNING" {print $2}')
  [[ -n $wpid ]] && grep -qs '^inotify' /proc/"$wpid"/fdinfo/* && break
  sleep 0.1
done
[[ -n $wpid ]] || fail "the watcher container did not start: $(ctr_ task ls)"
grep -q "/$cgroup_leaf\$" "/proc/$wpid/cgroup" || fail "the watcher is not in /$cgroup_leaf: $(cat /proc/$wpid/cgroup)"
echo "watcher: pid $wpid (inotifywait), cgroup /$cgroup_leaf, 2 watches on the volume"
known=0
for _ in $(seq 300); do
  known=$(api "/api/watches?pid=$wpid" | jq '.watches | length') || known=0
  [[ $known == 2 ]] && break
  sleep 0.1
done
[[ $known == 2 ]] || fail "the daemon knows $known of the watcher's 2 watches"
[[ $(api /api/leaks | jq '.leaks | length') == 0 ]] || fail "a leak before any deletion"

# --- the kubelet deletes the pod: unmounts the volume, removes the pod directory; the mounter's
# bind mount still pins the tmpfs, so the watches live on.
deleted_at=$(date +%s.%N)
umount "$kubelet/$vol_rel"
rm -rf "${kubelet:?}/pods/$uid"
leaks=
for _ in $(seq 300); do
  leaks=$(api /api/leaks) || leaks='{"leaks":[]}'
  [[ $(jq --arg u "$uid" '[.leaks[] | select(.pod_uid == $u)] | length' <<<"$leaks") == 2 ]] && break
  sleep 0.1
done
seen_after=$(echo "$(date +%s.%N) - $deleted_at" | bc)
n=$(jq --arg u "$uid" '[.leaks[] | select(.pod_uid == $u)] | length' <<<"$leaks")
[[ $n == 2 ]] || fail "the daemon reports $n leaks of pod $uid (want 2): $leaks"
jq -c --arg u "$uid" '.leaks[] | select(.pod_uid == $u) | {reason, pod_uid, pid, comm, path, pinned_by}' <<<"$leaks"
jq -e --arg u "$uid" --argjson p "$wpid" --arg m "${mounter#$host}/$vol_rel" '
  [.leaks[] | select(.pod_uid == $u)] | all(.reason == "pod_deleted" and .pid == $p and .comm == "inotifywait"
    and ([.pinned_by[].mount_point] | any(endswith($m))))' <<<"$leaks" > /dev/null \
  || fail "the leaks do not name pod_deleted, the watcher and the mounter's pin"
echo "leak of pod $uid reported through the containerized daemon's loopback API, ${seen_after:0:4} s after the deletion"
for _ in $(seq 50); do  # the loop publishes the page within 0.1 s of a change
  leaked=$(curl -sf "http://$pod_ip:9717/metrics" | grep '^inotrace_leaked_watches{reason="pod_deleted"}' || true)
  [[ $leaked == *" 2" ]] && break
  sleep 0.1
done
[[ $leaked == *" 2" ]] || fail "/metrics: '$leaked' (want 2 pod_deleted)"
echo "/metrics on the pod IP: $leaked"
ctr_ task kill -s SIGTERM inotrace-daemon
for _ in $(seq 100); do ctr_ task ls | grep -q '^inotrace-daemon .*STOPPED' && break; sleep 0.1; done
ctr_ task delete inotrace-daemon > /dev/null 2>&1 || true
ctr_ container delete inotrace-daemon > /dev/null

# --- each capability removed in turn: what fails without it (the DaemonSet's comments say why
# each is there). The fatal ones must stop the daemon with an error that names what is missing.
declare -A expect_fatal=([BPF]="CAP_BPF" [PERFMON]="CAP_PERFMON")
for cap in $ds_caps; do
  [[ " ${ungrantable[*]} " == *" $cap "* ]] && { printf 'without %-16s (not grantable on this machine: see NOTE above)\n' "$cap:"; continue; }
  daemon_spec "$work/spec-$cap.json" --drop-cap "$cap"
  name=inotrace-no-$(tr 'A-Z_' 'a-z-' <<<"$cap")
  ctr_ run --config "$work/spec-$cap.json" "$name" > "$work/$name.log" 2>&1 &
  runner=$!
  outcome=
  for _ in $(seq 300); do
    if ! kill -0 "$runner" 2>/dev/null; then
      wait "$runner" && rc=0 || rc=$?
      outcome="exited $rc: $(grep -m1 -E 'error|missing' "$work/$name.log" | cut -c1-150 || true)"
      break
    fi
    if [[ $(curl -s -m 1 -o /dev/null -w '%{http_code}' "http://$pod_ip:9717/readyz") == 200 ]]; then
      token=$(cat "$host/run/inotrace/api-token")  # each start writes a new one
      sleep 2  # a leak is reported once a snapshot confirmed it (within 2 s)
      w=$(api "/api/watches?pid=$wpid" | jq -c '[.watches[].path]' 2>/dev/null || echo '?')
      l=$(api /api/leaks | jq --arg u "$uid" '[.leaks[] | select(.pod_uid == $u)] | length' 2>/dev/null || echo '?')
      outcome="ready; leaks of the pod: $l; the watcher's watch paths: $w"
      ctr_ task kill -s SIGTERM "$name" > /dev/null 2>&1 || true
      wait "$runner" || true
      break
    fi
    sleep 0.1
  done
  ctr_ task delete -f "$name" > /dev/null 2>&1 || true
  ctr_ container delete "$name" > /dev/null 2>&1 || true
  printf 'without %-16s %s\n' "$cap:" "${outcome:-no answer in 30 s}"
  [[ $outcome != "exited 1: " ]] || { echo "--- its output:"; tail -5 "$work/$name.log"; }
  # Without SYS_PTRACE the holder's /proc/PID/root is closed to the daemon: the watch has no
  # path and the leak goes unseen (the DaemonSet's comment on SYS_PTRACE).
  if [[ $cap == SYS_PTRACE && $outcome != *"leaks of the pod: 0;"* ]]; then
    fail "without SYS_PTRACE the leak was still found: is SYS_PTRACE still needed? ($outcome)"
  fi
  # SYSLOG (kallsyms) serves only the kprobe backend and kernels before 5.10: here the daemon
  # learns inotify's addresses from an inotify fd of its own and must work without it.
  if [[ $cap == SYSLOG && ( $outcome != ready* || $outcome == *"leaks of the pod: 0;"* ) ]]; then
    fail "without SYSLOG the daemon must run and find the leak on this kernel ($outcome)"
  fi
  if [[ -n ${expect_fatal[$cap]:-} ]]; then
    [[ $outcome == exited* && $outcome != "exited 0"* && $outcome == *"${expect_fatal[$cap]}"* ]] \
      || fail "without $cap the daemon must stop naming ${expect_fatal[$cap]}"
  fi
done

# --- nothing left behind: no task, no container mount, no cgroup of ours once cleaned up.
ctr_ task kill -s SIGKILL "$cid" > /dev/null 2>&1 || true
for _ in $(seq 50); do ctr_ task ls | grep -q "^$cid .*RUNNING" || break; sleep 0.1; done
ctr_ task delete -f "$cid" > /dev/null 2>&1 || true
ctr_ container delete "$cid" > /dev/null
cleanup
trap - EXIT
left=$(awk -v d="$work/" 'index($5, d) == 1' /proc/self/mountinfo | wc -l)
[[ $left == 0 ]] || fail "$left mounts left under $work"
for c in "${created_cgroups[@]}"; do [[ ! -d $c ]] || fail "cgroup $c left behind"; done
pgrep -f "containerd --config $work/" > /dev/null && fail "containerd left running"
ip netns list | grep -q "^$netns\b" && fail "network namespace $netns left behind"
echo "PASS: the DaemonSet's container under containerd: ready, scraped, leak of pod $uid reported; nothing left behind"
