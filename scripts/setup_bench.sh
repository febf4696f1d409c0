#!/usr/bin/env bash
# Creates the two Python venvs that bench/bench_models.py runs its workers in, from PyPI only,
# with the versions pinned in versions.sh, and fetches the model set. Idempotent: each venv has
# a stamp naming its pins and is rebuilt only when they change. Prints the two venv folders.
#   $ANVIL_CACHE/bench-venv       onnxruntime $ANVIL_BENCH_ORT, numpy, onnx and OpenVINO's plugin
#                                 EP (onnxruntime-ep-openvino declares no dependency; it loads
#                                 into onnxruntime >= 1.23 through the plugin EP API): the ORT
#                                 CPU EP, Anvil and OpenVINO sides.
#   $ANVIL_CACHE/bench-ggml-venv  onnxruntime $ANVIL_BENCH_GGML_ORT, numpy and onnxruntime-ggml
#                                 (which requires onnxruntime>=1.29,<1.31): the ggml side.
# Set ANVIL_BENCH_NO_GGML=1 or ANVIL_BENCH_NO_OPENVINO=1 to leave one of the two EPs out.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.sh"

"$here/fetch_models.sh" >/dev/null

# make_venv DIR PACKAGE==VERSION...: (re)creates DIR unless its stamp names the same packages.
make_venv() {
  local venv=$1
  shift
  local stamp
  stamp="$venv/.anvil-bench-$(printf '%s\n' "$@" | sha256sum | cut -c1-12)"
  if [ -f "$stamp" ]; then return 0; fi
  echo "setup_bench: creating $venv ($*)" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "$@" >&2
  "$venv/bin/python" -c "import onnxruntime, numpy" >&2
  touch "$stamp"
}

main_pkgs=("onnxruntime==$ANVIL_BENCH_ORT" "numpy==$ANVIL_BENCH_NUMPY" "onnx==$ANVIL_BENCH_ONNX")
[ "${ANVIL_BENCH_NO_OPENVINO:-0}" = 1 ] || main_pkgs+=("onnxruntime-ep-openvino==$ANVIL_BENCH_OPENVINO_EP")
make_venv "$ANVIL_CACHE/bench-venv" "${main_pkgs[@]}"
echo "$ANVIL_CACHE/bench-venv"

if [ "${ANVIL_BENCH_NO_GGML:-0}" != 1 ]; then
  make_venv "$ANVIL_CACHE/bench-ggml-venv" "onnxruntime==$ANVIL_BENCH_GGML_ORT" \
    "numpy==$ANVIL_BENCH_NUMPY" "onnxruntime-ggml==$ANVIL_BENCH_GGML"
  echo "$ANVIL_CACHE/bench-ggml-venv"
fi
