#!/usr/bin/env bash
# Configures and builds Anvil (plugin, runner, C++ tests) into ${ANVIL_BUILD_DIR:-build}.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/versions.sh"
build=${ANVIL_BUILD_DIR:-$top/build}
gen=(); command -v ninja >/dev/null && gen=(-G Ninja)
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$top" -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DANVIL_PYTHON="$ANVIL_CACHE/venv/bin/python" >&2
fi
cmake --build "$build" -j "$(nproc)" >&2
