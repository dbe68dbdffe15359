// Validates rendered Kubernetes manifests (multi-document YAML on stdin, e.g. the output of
// `kubectl kustomize deploy/kubernetes`) offline, against the Kubernetes OpenAPI schemas
// (kubernetes-models) and prometheus-operator's CRD schemas (@kubernetes-models/prometheus-operator).
// Also checks that the PrometheusRule's groups equal deploy/prometheus/inotrace-rules.yaml's (the
// file promtool checks and tests) and the DaemonSet's least-privilege invariants.
// Prints one line per object; exits 1 on any error.
import { readFileSync } from "node:fs";
import { isDeepStrictEqual } from "node:util";
import { parseAllDocuments, parse } from "yaml";

const rulesFile = process.argv[2];
const docs = parseAllDocuments(readFileSync(0, "utf8")).map((d) => d.toJS()).filter((d) => d);
let errors = 0;
const fail = (what, msg) => { errors++; console.log(`FAIL ${what}: ${msg}`); };

async function modelFor(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  const pkg = group === "monitoring.coreos.com" ? "@kubernetes-models/prometheus-operator" : "kubernetes-models";
  const path = group ? `${pkg}/${group}/${version}/${kind}` : `${pkg}/${version}/${kind}`;
  return (await import(path))[kind];
}

// Least privilege, as documented in daemonset.yaml: not privileged, every capability dropped and
// only the listed ones added, read-only root, no privilege escalation.
function checkDaemonSet(ds, what) {
  const allowed = ["BPF", "PERFMON", "SYS_RESOURCE", "DAC_READ_SEARCH", "SYS_PTRACE", "SYSLOG"];
  for (const c of ds.spec.template.spec.containers) {
    const sc = c.securityContext ?? {};
    if (sc.privileged !== false) fail(what, `container ${c.name}: privileged must be false`);
    if (sc.allowPrivilegeEscalation !== false) fail(what, `container ${c.name}: allowPrivilegeEscalation must be false`);
    if (sc.readOnlyRootFilesystem !== true) fail(what, `container ${c.name}: readOnlyRootFilesystem must be true`);
    if (!isDeepStrictEqual(sc.capabilities?.drop, ["ALL"])) fail(what, `container ${c.name}: capabilities.drop must be [ALL]`);
    for (const cap of sc.capabilities?.add ?? [])
      if (!allowed.includes(cap)) fail(what, `container ${c.name}: capability ${cap} is not in the justified list`);
  }
}

for (const doc of docs) {
  const what = `${doc.kind}/${doc.metadata?.name} (${doc.apiVersion})`;
  let Model;
  try {
    Model = await modelFor(doc.apiVersion, doc.kind);
  } catch (e) {
    fail(what, `no schema for this apiVersion/kind (${e.code ?? e.message})`);
    continue;
  }
  const before = errors;
  try {
    new Model(doc).validate();
  } catch (e) {
    fail(what, e.message);
  }
  if (doc.kind === "DaemonSet") checkDaemonSet(doc, what);
  if (doc.kind === "PrometheusRule" && rulesFile) {
    const plain = parse(readFileSync(rulesFile, "utf8"));
    if (!isDeepStrictEqual(doc.spec?.groups, plain.groups))
      fail(what, `spec.groups differ from ${rulesFile}'s groups (keep them identical)`);
  }
  if (errors === before) console.log(`ok   ${what}`);
}
if (docs.length === 0) fail("input", "no objects");
console.log(`${docs.length} objects, ${errors} errors`);
process.exit(errors ? 1 : 0);
