#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a running tracer:
#   sudo scripts/run.sh [inotrace arguments...]     (default: trace)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh >&2
if (($# == 0)); then set -- trace; fi
exec build/inotrace "$@"
