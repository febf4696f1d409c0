#!/usr/bin/env bash
# Installs everything Anvil needs on a fresh Debian 12 machine, from package registries only:
# Debian packages (compiler, CMake, oneDNN, GoogleTest), the pinned ORT SDK, the pinned models,
# Debian's ONNX backend test data,
# and a Python venv with the pinned onnxruntime, onnx, numpy and pytest. Idempotent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.sh"

missing=()
for p in $ANVIL_DEBIAN_PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >&2
fi

"$here/fetch_ort.sh" >/dev/null
"$here/fetch_models.sh" >/dev/null
"$here/fetch_backend_data.sh" >/dev/null

venv="$ANVIL_CACHE/venv"
stamp="$venv/.anvil-$ANVIL_PY_ORT_PINNED-$(sha256sum "$here/requirements-test.txt" | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  echo "setup: creating $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements-test.txt" \
    "onnxruntime==$ANVIL_PY_ORT_PINNED" >&2
  touch "$stamp"
fi
