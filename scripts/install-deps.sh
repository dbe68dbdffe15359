#!/usr/bin/env bash
# Installs every build, test and benchmark dependency from Debian's archive.
# Idempotent: re-running only installs what is missing.
set -euo pipefail

PKGS=(
  # build
  cmake make g++ pkg-config clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev
  libcli11-dev libfmt-dev nlohmann-json3-dev libgtest-dev libgmock-dev
  prometheus-cpp-dev libcivetweb-dev libabsl-dev
  # tests and the kernel-matrix harness
  inotify-tools busybox-static qemu-system-x86 cpio xz-utils zstd e2fsprogs util-linux
  kmod procps tmux jq
  prometheus  # promtool: e2e.output_safety checks the /metrics page; deploy.alerts the alert rules
  nodejs      # deploy.manifests validates the Kubernetes manifests (npm packages, deploy/check)
  # the .deb (help2man, dpkg-shlibdeps, lintian) and the OCI image (umoci, skopeo, containerd)
  help2man dpkg-dev lintian umoci skopeo containerd runc curl
  # container tier: a pod network namespace (ip), the DaemonSet read as YAML, bc for timings
  iproute2 python3-yaml bc
  # fuzz tier: libFuzzer and clang's ASan/UBSan runtimes (clang's -fsanitize=fuzzer)
  libclang-rt-14-dev
  # benchmarks and plots
  hyperfine librsvg2-bin time linux-perf valgrind
  # creation stacks: the Go test program, built in the test (gopclntab symbolisation)
  golang-go
)

missing=()
# npm: Debian's package, unless the installed nodejs already brings its own npm.
command -v npm >/dev/null || PKGS+=(npm)
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#PKGS[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Third-party sources on some machines are unreachable; Debian's own lists are what matter.
apt-get update -qq || echo "install-deps: apt-get update reported errors (continuing with what was fetched)"
apt-get install -y -qq --no-install-recommends "${missing[@]}"
