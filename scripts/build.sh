#!/usr/bin/env bash
# Configures and builds Anvil (plugin, runner, C++ tests) into ${ANVIL_BUILD_DIR:-build}.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${ANVIL_BUILD_DIR:-$top/build}
gen=(); command -v ninja >/dev/null && gen=(-G Ninja)
[ -f "$build/CMakeCache.txt" ] || cmake -S "$top" -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release >&2
cmake --build "$build" -j "$(nproc)" >&2
