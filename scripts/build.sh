#!/usr/bin/env bash
# Installs dependencies (Debian packages) and builds build/inotrace and the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc)"
