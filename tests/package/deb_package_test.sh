#!/usr/bin/env bash
# The .deb as an admin gets it: built by `--target package`, installed with dpkg into a
# throw-away root (maintainer scripts run chrootless with DPKG_ROOT, as dpkg does for such
# roots), the installed binary run, the conffile kept over a reinstall, the unit verified, and
# everything gone after --purge. This machine is not touched.
#   deb_package_test.sh BUILD_DIR VERSION
set -euo pipefail
build=$(realpath "$1"); version=$2
here=$(cd "$(dirname "$0")" && pwd)
deb=$build/inotrace_${version}_amd64.deb
fail() { echo "FAIL: $*"; exit 1; }
trap 'echo "FAIL: $BASH_SOURCE line $LINENO: $BASH_COMMAND"' ERR

cmake --build "$build" --target package > "$build/package-build.log" 2>&1 || { tail -30 "$build/package-build.log"; fail "package target"; }
[[ -f $deb ]] || fail "$deb not produced"
echo "built $(basename "$deb") ($(stat -c %s "$deb") bytes)"

# lintian: no errors, no warnings today; what remains is info-level (hardening-no-fortify-functions,
# binary-has-unneeded-section .comment, spelling in libbpf strings compiled in).
if command -v lintian > /dev/null; then
  lintian --fail-on error,warning --allow-root "$deb" || fail "lintian reports errors or warnings"
  echo "lintian: no errors, no warnings"
else
  fail "lintian not installed (scripts/install-deps.sh installs it)"
fi

root=$(mktemp -d "$build/deb-root.XXXXXX")
trap 'rm -rf "$root" "$root.log"' EXIT
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
touch "$root/var/lib/dpkg/status"
# --force-depends: the root holds no libraries; the binary runs with this machine's (the
# Depends check is below). --force-script-chrootless: the root has no /bin/sh.
dpkg_root() { dpkg --root="$root" --force-script-chrootless --force-depends --force-not-root "$@"; }

dpkg_root -i "$deb" > "$root.log" 2>&1 || { cat "$root.log"; fail "dpkg -i"; }
status=$(dpkg_root -s inotrace)
grep -qx "Status: install ok installed" <<<"$status" || fail "not installed"
grep -A1 '^Conffiles:' <<<"$status" | grep -q '/etc/default/inotrace' || fail "/etc/default/inotrace not a conffile"

bin=$root/usr/bin/inotrace
out=$("$bin" --version)
[[ $out == "inotrace $version" ]] || fail "--version printed '$out', want 'inotrace $version'"
echo "installed: $out"
# A known watcher of another user, to be found by every snapshot below.
watched=$(mktemp -d "$build/deb-watched.XXXXXX"); chmod 755 "$watched"
setpriv --reuid=65534 --regid=65534 --clear-groups inotifywait -m -q "$watched" > /dev/null &
watcher=$!
trap 'kill $watcher 2>/dev/null; rm -rf "$root" "$root.log" "$watched"' EXIT
for _ in $(seq 50); do grep -qs '^inotify' /proc/$watcher/fdinfo/* && break; sleep 0.1; done
snap=$("$bin" snapshot --top 0 2>&1) || { echo "$snap"; fail "snapshot"; }
grep -Eq '^inotrace snapshot: [0-9]+ processes, [0-9]+ instances, [0-9]+ watches' <<<"$snap" || { echo "$snap"; fail "snapshot output"; }
grep -q '^USERS' <<<"$snap" || fail "snapshot: no USERS table"
grep -Eq "^ +$watcher inotifywait +65534 +1 +1\$" <<<"$snap" || { echo "$snap"; fail "snapshot: the watcher (pid $watcher, uid 65534, 1 watch) is missing"; }
head -1 <<<"$snap"; grep -E "^ +$watcher inotifywait" <<<"$snap"

# The unit's capability set is enough: a watcher of another user, seen with exactly the unit's
# CapabilityBoundingSet (root uid, every other capability gone) by both snapshot sources, with
# its path; and CAP_SYS_PTRACE is needed (without it the procfs source is refused every process).
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$root/lib/systemd/system/inotrace.service")
[[ -n $caps ]] || fail "no CapabilityBoundingSet in the unit"
bounding=-all$(for c in $caps; do c=${c#CAP_}; printf ',+%s' "${c,,}"; done)
for source in iterator procfs; do
  got=$(setpriv --bounding-set="$bounding" --inh-caps=-all "$bin" snapshot --source $source --pid $watcher --view watches 2>&1) || { echo "$got"; fail "snapshot --source $source with the unit's capabilities"; }
  grep -q '^inotrace snapshot: 1 processes, 1 instances, 1 watches' <<<"$got" && grep -qF " $watched" <<<"$got" \
    || { echo "$got"; fail "snapshot --source $source with the unit's capabilities ($caps) missed the watcher"; }
done
echo "the unit's capabilities ($caps) see another user's watch with its path (iterator and procfs)"
without=$(setpriv --bounding-set="${bounding/,+sys_ptrace/}" --inh-caps=-all "$bin" snapshot --source procfs --pid $watcher 2>&1 || true)
grep -q '^inotrace snapshot: 1 processes' <<<"$without" && fail "procfs source worked without CAP_SYS_PTRACE: drop it from the unit"
echo "without CAP_SYS_PTRACE: $(head -1 <<<"$without")"

# Depends: every library the binary needs comes from a package named in Depends.
depends=$(dpkg-deb -f "$deb" Depends)
dep_names=$(tr ',' '\n' <<<"$depends" | awk '{print $1}')
# (No early-exiting readers in these pipes: a SIGPIPE would fail them under pipefail.)
for so in $(objdump -p "$bin" | awk '/NEEDED/ {print $2}'); do
  path=$(ldconfig -p | awk -v so="$so" '$1 == so && /x86-64/ && !found {print $NF; found = 1}')
  [[ -n $path ]] || fail "$so: not in the loader cache"
  owner=$(dpkg -S "$(realpath "$path")" 2>/dev/null || dpkg -S "$path")
  pkg=${owner%%:*}
  grep -qxF "$pkg" <<<"$dep_names" || fail "$so ($pkg) missing from Depends: $depends"
done
echo "Depends covers every NEEDED library: $depends"

# The man page lists every subcommand.
manpage=$(zcat "$root/usr/share/man/man8/inotrace.8.gz")
for sub in trace snapshot check daemon top repro; do
  grep -q "^\.SS \"inotrace $sub\"" <<<"$manpage" || fail "man page lacks $sub"
done

# node-problem-detector's config, as in the source tree, running the binary where it is installed.
npd=$root/usr/share/inotrace/node-problem-detector/inotify.json
cmp -s "$npd" "$here/../../deploy/node-problem-detector/inotify.json" || fail "the package lacks $npd or ships another one"
jq -e '[.rules[].path] | unique == ["/usr/bin/inotrace"]' "$npd" >/dev/null || fail "$npd runs another binary"

# The unit: systemd-analyze verify against the installed tree (this machine's own units copied
# in for the targets it names). No systemd runs here, so the unit is checked, never started.
if command -v systemd-analyze > /dev/null; then
  vroot=$(mktemp -d "$build/unit-root.XXXXXX")
  cp -a "$root/." "$vroot/"; cp -an /lib/systemd/system/. "$vroot/lib/systemd/system/"
  msg=$(systemd-analyze verify --man=no --root="$vroot" /lib/systemd/system/inotrace.service 2>&1) || { rm -rf "$vroot"; echo "$msg"; fail "systemd-analyze verify"; }
  rm -rf "$vroot"
  [[ -z $msg ]] || { echo "$msg"; fail "systemd-analyze verify warned"; }
  echo "systemd-analyze verify inotrace.service: clean (no running systemd here: not started)"
else
  echo "SKIPPED unit check: systemd-analyze not installed"
fi
grep -q '^ExecStart=/usr/bin/inotrace daemon \$INOTRACE_ARGS$' "$root/lib/systemd/system/inotrace.service" || fail "ExecStart"

# An admin's edit of the conffile survives a reinstall; --purge removes it and the enable link.
echo 'INOTRACE_ARGS="--listen 127.0.0.1:9999"' >> "$root/etc/default/inotrace"
dpkg_root -i "$deb" > "$root.log" 2>&1 || { cat "$root.log"; fail "dpkg -i (reinstall)"; }
grep -q 9999 "$root/etc/default/inotrace" || fail "reinstall overwrote the admin's /etc/default/inotrace"
mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
ln -s /lib/systemd/system/inotrace.service "$root/etc/systemd/system/multi-user.target.wants/inotrace.service"
dpkg_root --purge inotrace > "$root.log" 2>&1 || { cat "$root.log"; fail "dpkg --purge"; }
rm -f "$root.log"
left=$(find "$root" -mindepth 1 -not -path "$root/var*" -not -type d)
[[ -z $left ]] || fail "left after --purge: $left"
echo "PASS: installed, ran, conffile kept over reinstall, purged clean"
