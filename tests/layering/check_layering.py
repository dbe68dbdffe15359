#!/usr/bin/env python3
"""The build enforces the layering of userspace/ (docs/ARCHITECTURE.md): for every layer, a
source of it can include a header of each layer it uses (transitively, as declared in
CMakeLists.txt: build/layers/<dir>.uses) and of no other. Each case is compiled for real
(-fsyntax-only) with the flags CMake gives that layer's sources (compile_commands.json).

usage: check_layering.py BUILD_DIR SOURCE_DIR"""
import concurrent.futures
import json
import os
import shlex
import subprocess
import sys
import tempfile

build, src = sys.argv[1], sys.argv[2]
layers_dir = os.path.join(build, "layers")
uses = {}
for f in os.listdir(layers_dir):
    if f.endswith(".uses"):
        text = open(os.path.join(layers_dir, f)).read().strip()
        uses[f[:-5]] = [u for u in text.split(";") if u]


def closure(layer):
    seen, todo = set(), list(uses[layer])
    while todo:
        u = todo.pop()
        if u not in seen:
            seen.add(u)
            todo += uses[u]
    return seen


commands = json.load(open(os.path.join(build, "compile_commands.json")))
flags_of = {}
for c in commands:
    rel = os.path.relpath(c["file"], os.path.join(src, "userspace"))
    layer = rel.split(os.sep)[0]
    if layer in uses and layer not in flags_of:
        args = shlex.split(c["command"]) if "command" in c else c["arguments"]
        keep, skip = [], False
        for a in args[1:]:
            if skip:
                skip = False
                continue
            if a in ("-o", "-c", "-MF", "-MT", "-MQ"):
                skip = True
                continue
            if a == c["file"] or a.startswith("-M"):
                continue
            keep.append(a)
        flags_of[layer] = (args[0], keep, c["directory"])


def a_header(layer):
    d = os.path.join(src, "userspace", layer)
    return sorted(h for h in os.listdir(d) if h.endswith(".h"))[0]


def try_include(layer, other):
    compiler, flags, cwd = flags_of[layer]
    header = f"{other}/{a_header(other)}"
    # The probe lives in the layer's directory, as its sources do (quote includes look there first).
    with tempfile.NamedTemporaryFile("w", suffix=".cpp", dir=os.path.join(src, "userspace", layer),
                                     prefix=".layering-probe-", delete=True) as probe:
        probe.write(f'#include "{header}"\n')
        probe.flush()
        r = subprocess.run([compiler, *flags, "-fsyntax-only", probe.name], cwd=cwd, capture_output=True, text=True)
    return layer, other, header, r


failures = []
pairs = [(l, o) for l in sorted(uses) for o in sorted(uses)]
with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 2) as pool:
    results = list(pool.map(lambda p: try_include(*p), pairs))
cases = len(results)
for layer, other, header, r in results:
    allowed = closure(layer) | {layer}
    ok = r.returncode == 0
    if other in allowed and not ok:
        failures.append(f"{layer} may use {other}, but including {header} failed:\n{r.stderr[:600]}")
    if other not in allowed:
        if ok:
            failures.append(f"{layer} must not see {other} (not in its uses), yet {header} compiled")
        elif "No such file or directory" not in r.stderr:
            failures.append(f"{layer} -> {header} failed for another reason:\n{r.stderr[:600]}")
print(f"layering: {len(uses)} layers, {cases} include cases compiled; "
      f"{sum(len(closure(l)) + 1 for l in uses)} allowed, the rest rejected by the build")
for l in sorted(uses, key=lambda l: len(closure(l))):
    print(f"  {l:9} uses {', '.join(sorted(closure(l))) or '-'}")
for f in failures:
    print("FAIL:", f)
sys.exit(1 if failures else 0)
