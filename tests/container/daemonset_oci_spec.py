#!/usr/bin/env python3
"""The OCI runtime spec a kubelet + containerd would give the DaemonSet's container, derived from
deploy/kubernetes/daemonset.yaml itself so that the container test runs exactly what ships:
entrypoint + args ($(VAR) expanded from env), env, capabilities (drop ALL, add the list),
read-only root, no privilege escalation, seccomp as declared, host PID namespace, the host paths
at their mount paths (read-only and HostToContainer propagation as declared), the memory and CPU
limits.

usage: daemonset_oci_spec.py DAEMONSET_YAML IMAGE_CONFIG_JSON BASE_SPEC_JSON NETNS_PATH CGROUPS_PATH
         ROOTFS [--host-path HOST_PATH=TEST_PATH ...] [--env NAME=VALUE ...] [--drop-cap CAP]
  IMAGE_CONFIG_JSON: `skopeo inspect --config` of the image (its Entrypoint)
  BASE_SPEC_JSON:    `ctr oci spec` (the runtime's defaults: /proc, /dev, masked paths)
  ROOTFS:            the image's root filesystem (`ctr images mount`)
  --host-path:       a hostPath volume redirected to a test directory (else the host's own path;
                     a volume of type "" whose path is absent is left out, as the kubelet does)
  --env:             values the downward API would give (POD_IP, NODE_NAME)
  --drop-cap:        leave one of the DaemonSet's capabilities out (what it is needed for)
Prints the spec as JSON."""
import argparse
import json
import os
import re
import sys

import yaml


def parse_quantity(q):
    """Kubernetes quantity -> bytes (memory) or millicores (cpu, given as '1' or '500m')."""
    q = str(q)
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "K": 10**3, "M": 10**6, "G": 10**9}
    for u, m in units.items():
        if q.endswith(u):
            return int(float(q[: -len(u)]) * m)
    return int(float(q))


def millicores(q):
    q = str(q)
    return int(q[:-1]) if q.endswith("m") else int(float(q) * 1000)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("daemonset")
    ap.add_argument("image_config")
    ap.add_argument("base_spec")
    ap.add_argument("netns")
    ap.add_argument("cgroups_path")
    ap.add_argument("rootfs")
    ap.add_argument("--host-path", action="append", default=[])
    ap.add_argument("--env", action="append", default=[])
    ap.add_argument("--drop-cap", action="append", default=[])
    a = ap.parse_args()

    ds = yaml.safe_load(open(a.daemonset))
    pod = ds["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    image = json.load(open(a.image_config))["config"]
    spec = json.load(open(a.base_spec))
    redirect = dict(kv.split("=", 1) for kv in a.host_path)
    given = dict(kv.split("=", 1) for kv in a.env)

    # Environment: literal values, and the downward API's from --env.
    env = {}
    for e in c.get("env", []):
        if "value" in e:
            env[e["name"]] = e["value"]
        elif e["name"] in given:
            env[e["name"]] = given[e["name"]]
        else:
            sys.exit(f"env {e['name']} comes from the downward API: pass --env {e['name']}=VALUE")
    expand = lambda s: re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m.group(1), m.group(0)), s)
    # Kubernetes: command replaces the entrypoint, args follow it.
    argv = [expand(x) for x in c.get("command", image.get("Entrypoint") or [])] + [expand(x) for x in c.get("args", [])]
    p = spec["process"]
    p["args"] = argv
    p["env"] = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"] + [f"{k}={v}" for k, v in env.items()]
    sc = c.get("securityContext", {})
    if sc.get("privileged"):
        sys.exit("the DaemonSet asks for privileged: this test runs what ships, and that must not")
    p["user"] = {"uid": sc.get("runAsUser", 0), "gid": sc.get("runAsGroup", 0)}
    p["noNewPrivileges"] = sc.get("allowPrivilegeEscalation", True) is False
    caps = sc.get("capabilities", {})
    if caps.get("drop") != ["ALL"]:
        sys.exit(f"capabilities.drop is {caps.get('drop')}, expected [ALL]")
    wanted = ["CAP_" + x for x in caps.get("add", []) if x not in a.drop_cap]
    p["capabilities"] = {k: wanted for k in ("bounding", "effective", "permitted")}
    p["capabilities"]["inheritable"] = []
    p["capabilities"]["ambient"] = []
    spec["root"] = {"path": a.rootfs, "readonly": bool(sc.get("readOnlyRootFilesystem"))}

    lin = spec["linux"]
    seccomp = sc.get("seccompProfile", {}).get("type", "RuntimeDefault")
    if seccomp != "Unconfined":
        sys.exit(f"seccompProfile {seccomp}: only Unconfined is modelled here (see daemonset.yaml)")
    lin.pop("seccomp", None)
    # hostPID: no PID namespace of its own. hostNetwork: false: the pod's network namespace.
    ns = [n for n in lin["namespaces"] if n["type"] != "network"]
    if pod.get("hostPID"):
        ns = [n for n in ns if n["type"] != "pid"]
    if not pod.get("hostNetwork"):
        ns.append({"type": "network", "path": a.netns})
    lin["namespaces"] = ns
    lin["cgroupsPath"] = a.cgroups_path
    limits = c.get("resources", {}).get("limits", {})
    res = lin.setdefault("resources", {})
    if "memory" in limits:
        res["memory"] = {"limit": parse_quantity(limits["memory"])}
    if "cpu" in limits:
        res["cpu"] = {"period": 100000, "quota": millicores(limits["cpu"]) * 100}

    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    slave = False
    for vm in c.get("volumeMounts", []):
        v = volumes[vm["name"]]
        if "hostPath" not in v:
            sys.exit(f"volume {vm['name']}: only hostPath volumes are modelled")
        hp = v["hostPath"]
        src = redirect.get(hp["path"], hp["path"])
        if not os.path.exists(src):
            if hp.get("type", "") == "":
                continue  # the kubelet mounts an untyped hostPath only if it is there
            if hp.get("type") == "DirectoryOrCreate":
                os.makedirs(src, mode=0o755)
            else:
                sys.exit(f"hostPath {src} ({vm['name']}, type {hp.get('type')}) does not exist")
        opts = ["rbind", "ro" if vm.get("readOnly") else "rw"]
        prop = vm.get("mountPropagation", "None")
        if prop == "HostToContainer":
            opts.append("rslave")
            slave = True
        elif prop == "Bidirectional":
            sys.exit("Bidirectional propagation needs privileged: not allowed here")
        else:
            opts.append("rprivate")
        spec["mounts"].append({"destination": vm["mountPath"], "type": "bind", "source": src, "options": opts})
    if slave:
        lin["rootfsPropagation"] = "rslave"
    json.dump(spec, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
