#!/usr/bin/env bash
# Anvil's main job on a fresh machine: install what is needed, build, then run the three
# PaddleOCR models on Anvil next to ORT's CPU EP (placement, agreement, latency ratio).
# Extra arguments go to the runner (build/anvil_run --help).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/setup.sh"
"$top/scripts/build.sh"
exec "${ANVIL_BUILD_DIR:-$top/build}/anvil_run" "$@"
