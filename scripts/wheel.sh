#!/usr/bin/env bash
# Builds the onnxruntime-ep-anvil wheel into dist/ with a manylinux platform tag:
#   1. pip wheel (scikit-build-core + CMake: the plugin compile; oneDNN from the cache),
#   2. auditwheel repair: finds the oldest manylinux policy the library's glibc symbol versions
#      allow and retags the wheel (the plugin needs only libc, libm and ld-linux: nothing to graft),
#   3. auditwheel show, printed.
# The tools come from scripts/requirements-wheel.txt (pinned, hash-checked) in a venv of their own.
# Prints the wheel's path last. Usage: scripts/wheel.sh [DIST_DIR]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/versions.sh"
dist=${1:-$top/dist}
python=${PYTHON:-python3}
pip_flags=(-q --disable-pip-version-check --no-input)
tools="$ANVIL_CACHE/wheel-venv"
reqs="$top/scripts/requirements-wheel.txt"
stamp=$(sha256sum "$reqs" | cut -c1-12)
if [ "$(cat "$tools/.anvil-stamp" 2>/dev/null)" != "$stamp" ]; then
  rm -rf "$tools"
  "$python" -m venv "$tools"
  "$tools/bin/pip" install "${pip_flags[@]}" --require-hashes -r "$reqs" >&2
  echo "$stamp" > "$tools/.anvil-stamp"
fi
raw=$(mktemp -d)
trap 'rm -rf "$raw"' EXIT
echo "== wheel: building (compiles the plugin)" >&2
"$tools/bin/pip" wheel "${pip_flags[@]}" --no-deps -w "$raw" "$top" >&2
mkdir -p "$dist"
echo "== wheel: auditwheel repair" >&2
PATH="$tools/bin:$PATH" "$tools/bin/auditwheel" repair --only-plat -w "$dist" "$raw"/onnxruntime_ep_anvil-*.whl >&2 \
  || PATH="$tools/bin:$PATH" "$tools/bin/auditwheel" repair -w "$dist" "$raw"/onnxruntime_ep_anvil-*.whl >&2
wheel=$(ls -t "$dist"/onnxruntime_ep_anvil-*manylinux*.whl | head -1)
"$tools/bin/auditwheel" show "$wheel" >&2
echo "$wheel"
