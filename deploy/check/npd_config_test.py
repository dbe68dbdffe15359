#!/usr/bin/env python3
"""CTest deploy.npd_config: deploy/node-problem-detector/inotify.json is a node-problem-detector
custom plugin monitor config that works with this inotrace: valid JSON of NPD's shape; every
rule runs the binary where the Debian package and the image install it (the path
packaging/deb/inotrace.service starts) with `check` and arguments this build's CLI accepts (each
rule's command is run: one line, an NPD exit code); permanent rules name a declared condition,
temporary ones none; no rule outlives the plugin timeout; the output limit holds a whole line.

usage: npd_config_test.py SOURCE_DIR path/to/inotrace"""
import json
import os
import re
import subprocess
import sys

src, binary = sys.argv[1], sys.argv[2]
failures = []


def check(what, ok):
    print(("ok   - " if ok else "FAIL - ") + what)
    if not ok:
        failures.append(what)


def seconds(d):
    m = re.fullmatch(r"(\d+)(s|m)", d)
    return int(m.group(1)) * (60 if m.group(2) == "m" else 1) if m else None


config = json.load(open(os.path.join(src, "deploy/node-problem-detector/inotify.json")))
service = open(os.path.join(src, "packaging/deb/inotrace.service")).read()
installed = re.search(r"^ExecStart=(\S+)", service, re.M).group(1)
image = open(os.path.join(src, "scripts/build-image.sh")).read()
check(f"the image's entrypoint is the same path ({installed})",
      re.search(r"--config\.entrypoint (\S+)", image).group(1) == installed)

check("plugin is custom", config.get("plugin") == "custom")
pc = config.get("pluginConfig", {})
timeout = seconds(pc.get("timeout", ""))
check("pluginConfig: invoke_interval and timeout are durations",
      seconds(pc.get("invoke_interval", "")) is not None and timeout is not None)
# NPD cuts stdout at max_output_length (default 80): a leak's line with its mount path is longer.
check("pluginConfig: max_output_length >= 256", pc.get("max_output_length", 80) >= 256)
check("source is set", bool(config.get("source")))
conditions = {c["type"]: c for c in config.get("conditions", [])}
check("conditions declared, each with a default reason and message",
      bool(conditions) and all(c.get("reason") and c.get("message") for c in conditions.values()))
rules = config.get("rules", [])
check("a temporary and a permanent rule", {r.get("type") for r in rules} == {"temporary", "permanent"})
for i, r in enumerate(rules):
    name = f"rule {i} ({r.get('type')})"
    check(f"{name}: path {r.get('path')} is where the package installs inotrace ({installed})", r.get("path") == installed)
    check(f"{name}: runs `check`", r.get("args", [None])[0] == "check")
    check(f"{name}: has a reason", bool(r.get("reason")))
    if r.get("type") == "permanent":
        cond = conditions.get(r.get("condition"))
        check(f"{name}: condition {r.get('condition')} is declared", cond is not None)
        check(f"{name}: its problem reason differs from the condition's healthy one",
              cond is not None and cond["reason"] != r.get("reason"))
    else:
        check(f"{name}: no condition (an event only)", "condition" not in r)
    if r.get("type") == "permanent" and cond is not None:
        # The healthy message states the thresholds: they must be the ones the rule passes.
        warns = [a.split("=", 1)[1] for a in r.get("args", []) if a.startswith(("--watches-warn=", "--instances-warn="))]
        check(f"{name}: the condition's healthy message states its thresholds ({', '.join(w + '%' for w in warns)})",
              bool(warns) and all(f"{w}%" in cond["message"] for w in warns))
    rt = seconds(r.get("timeout", pc.get("timeout", "")))
    check(f"{name}: timeout within the plugin's", rt is not None and timeout is not None and rt <= timeout)
    p = subprocess.run([binary, *r.get("args", [])], capture_output=True, text=True, timeout=60)
    lines = p.stdout.splitlines()
    print(f"  {binary} {' '.join(r.get('args', []))} -> {p.returncode}: {p.stdout.strip()}")
    expected = {0, 1} if os.geteuid() == 0 else {2}
    check(f"{name}: this build accepts its arguments (exit {sorted(expected)}, one Inotify* line)",
          p.returncode in expected and len(lines) == 1 and lines[0].startswith("Inotify"))

print(f"{len(failures)} failures")
sys.exit(1 if failures else 0)
