#!/usr/bin/env bash
# CTest deploy.manifests: `kubectl kustomize deploy/kubernetes` renders, and every rendered object
# validates offline against the Kubernetes and prometheus-operator schemas (validate.mjs, with the
# npm packages pinned in package-lock.json, installed into WORK by `npm ci`).
# Usage: manifests_test.sh WORK_DIR   Exits 77 (CTest: skipped) saying why when a tool is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=${1:?usage: manifests_test.sh WORK_DIR}
if ! command -v kubectl >/dev/null; then
  # Debian 12 has no kubectl package (kubernetes-client left the archive); kustomize is in kubectl.
  echo "SKIPPED deploy.manifests: kubectl not installed (not packaged in Debian 12; install kubectl >= 1.27 to render the kustomize base)"
  exit 77
fi
for tool in node npm; do
  command -v $tool >/dev/null || { echo "SKIPPED deploy.manifests: $tool not installed (scripts/install-deps.sh installs nodejs and npm)"; exit 77; }
done
mkdir -p "$work"
cp "$here/package.json" "$here/package-lock.json" "$here/validate.mjs" "$work/"
if ! cmp -s "$here/package-lock.json" "$work/node_modules/.package-lock.json.installed" 2>/dev/null; then
  (cd "$work" && npm ci --no-audit --no-fund --loglevel=error) >"$work/npm.log" 2>&1 || { cat "$work/npm.log"; exit 1; }
  cp "$here/package-lock.json" "$work/node_modules/.package-lock.json.installed"
fi
echo "# kubectl kustomize deploy/kubernetes ($(kubectl version --client 2>/dev/null | grep -i kustomize))"
kubectl kustomize "$repo/deploy/kubernetes" >"$work/rendered.yaml"
grep -c '^kind:' "$work/rendered.yaml" | sed 's/^/  objects rendered: /'
echo "# validate.mjs: Kubernetes + prometheus-operator schemas"
node "$work/validate.mjs" "$repo/deploy/prometheus/inotrace-rules.yaml" <"$work/rendered.yaml"
