#!/usr/bin/env bash
# Tests the Python package onnxruntime-ep-anvil as users get it:
#   1. builds ONE wheel from this repository with scripts/wheel.sh (pip wheel: scikit-build-core +
#      CMake, the plugin compile; then auditwheel gives it its manylinux tag),
#   2. makes three venvs under $ANVIL_CACHE, each with one onnxruntime from scripts/versions.sh
#      (pinned, newest, too old) plus the pinned numpy/onnx/pytest of scripts/requirements-test.txt;
#      a venv is reused only while its stamp matches those pins, else made anew,
#   3. installs the wheel into each venv and checks that doing so installs nothing else (no
#      onnxruntime is pulled, the venv's onnxruntime is unchanged),
#   4. runs pytest tests/python in the pinned and in the newest venv; the too-old check (registering
#      with onnxruntime 1.28.0 must fail naming both versions) runs the old venv's interpreter from
#      there and is also run directly here.
# Exits non-zero if anything fails. PYTHON selects the interpreter for the venvs (default python3).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/versions.sh"
start=$SECONDS
python=${PYTHON:-python3}
reqs="$top/scripts/requirements-test.txt"
reqs_hash=$(sha256sum "$reqs" | cut -c1-12)
py_version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
pip_flags=(-q --disable-pip-version-check --no-input)
step() { echo "== test_python: $* ($((SECONDS - start)) s)"; }

make_venv() {  # make_venv ORT_VERSION -> prints the venv path
  local ort=$1 venv="$ANVIL_CACHE/venv-py-ort-$1"
  local stamp_text="onnxruntime==$ort requirements=$reqs_hash python=$py_version"
  if [ -f "$venv/.anvil-stamp" ] && [ "$(cat "$venv/.anvil-stamp")" = "$stamp_text" ] && [ -x "$venv/bin/python" ]; then
    echo "   reusing $venv" >&2
  else
    echo "   creating $venv" >&2
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/pip" install "${pip_flags[@]}" -r "$reqs" "onnxruntime==$ort" >&2
    echo "$stamp_text" > "$venv/.anvil-stamp"
  fi
  echo "$venv"
}

install_wheel() {  # install_wheel VENV ORT_VERSION
  local venv=$1 ort=$2 before after
  before=$("$venv/bin/pip" freeze --all | sort)
  "$venv/bin/pip" install "${pip_flags[@]}" --force-reinstall "$wheel" >&2
  after=$("$venv/bin/pip" freeze --all | sort)
  local changed
  changed=$(diff <(echo "$before" | grep -iv '^onnxruntime-ep-anvil') <(echo "$after" | grep -iv '^onnxruntime-ep-anvil') || true)
  if [ -n "$changed" ]; then
    echo "test_python: installing the wheel changed other packages in $venv:" >&2
    echo "$changed" >&2
    return 1
  fi
  "$venv/bin/python" -c "import onnxruntime as o; assert o.__version__ == '$ort', o.__version__"
}

mkdir -p "$ANVIL_CACHE"
dist=$(mktemp -d)
build_pid=""
trap 'if [ -n "$build_pid" ]; then kill "$build_pid" 2>/dev/null || true; fi; rm -rf "$dist"' EXIT
step "creating the venv with onnxruntime $ANVIL_PY_ORT_PINNED"
pinned=$(make_venv "$ANVIL_PY_ORT_PINNED")

# The compile (most of the time) runs while the other two venvs are made.
step "building the wheel in the background"
# As `pip install .` does: isolated build env (scikit-build-core from PyPI), in-tree source, a
# fresh CMake build dir. (A persistent build dir would not help: scikit-build-core clears its cache
# whenever the isolated env changes, i.e. on every build.)
"$top/scripts/wheel.sh" "$dist" > "$dist/build.log" 2>&1 &
build_pid=$!

step "creating the venvs with onnxruntime $ANVIL_PY_ORT_NEWEST and $ANVIL_PY_ORT_TOO_OLD"
newest=$(make_venv "$ANVIL_PY_ORT_NEWEST")
too_old=$(make_venv "$ANVIL_PY_ORT_TOO_OLD")

if ! wait $build_pid; then
  cat "$dist/build.log" >&2
  echo "test_python: FAILED building the wheel" >&2
  exit 1
fi
wheel=$(tail -1 "$dist/build.log")
step "built $(basename "$wheel") ($(du -k "$wheel" | cut -f1) KiB)"

status=0
step "installing the wheel into each venv"
for pair in "$pinned:$ANVIL_PY_ORT_PINNED" "$newest:$ANVIL_PY_ORT_NEWEST" "$too_old:$ANVIL_PY_ORT_TOO_OLD"; do
  install_wheel "${pair%%:*}" "${pair##*:}" || status=1
done
[ $status = 0 ] || { echo "test_python: FAILED installing the wheel" >&2; exit 1; }

export ANVIL_PY_TOO_OLD_PYTHON="$too_old/bin/python"
cd "$top"
for pair in "$pinned:$ANVIL_PY_ORT_PINNED" "$newest:$ANVIL_PY_ORT_NEWEST"; do
  step "pytest tests/python with onnxruntime ${pair##*:}"
  # The package is under python/, not at the root: tests import the installed one.
  "${pair%%:*}/bin/python" -m pytest tests/python -q -p no:cacheprovider -rs || status=1
done

# Self-contained: the installed wheel must work with the system's oneDNN and OpenMP runtimes
# hidden (bind-mounted over with /dev/null in a private mount namespace), as on a machine that
# never had libdnnl2 or libgomp1.
step "running the installed wheel with the system's libdnnl, libgomp and libtbb hidden"
hide=$(ls /usr/lib/x86_64-linux-gnu/lib{dnnl,gomp,tbb,iomp5}*.so* /usr/lib/x86_64-linux-gnu/libdnnl* 2>/dev/null | sort -u || true)
if ! unshare --mount true 2>/dev/null; then
  echo "   skipped: unshare --mount needs root here"
elif ! out=$(unshare --mount bash -c '
  for f in '"$(echo $hide)"'; do mount --bind /dev/null "$f"; done
  exec "'"$pinned"'/bin/python" - <<"PY"
import numpy as np, onnx, onnxruntime as ort, onnxruntime_ep_anvil as anvil
from onnx import helper, TensorProto, numpy_helper
w = numpy_helper.from_array(np.arange(64, dtype=np.float32).reshape(8, 8) / 64, "w")
g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["m"]), helper.make_node("Relu", ["m"], ["y"])], "g",
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 8])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 8])], [w])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
ort.register_execution_provider_library("anvil", anvil.get_library_path())
so = ort.SessionOptions(); so.add_session_config_entry("session.disable_cpu_ep_fallback", "1")
so.add_provider_for_devices([d for d in ort.get_ep_devices() if d.ep_name == anvil.get_ep_name()], {})
s = ort.InferenceSession(m.SerializeToString(), so)
x = np.linspace(-1, 1, 32, dtype=np.float32).reshape(4, 8)
assert np.allclose(s.run(None, {"x": x})[0], np.maximum(x @ (np.arange(64).reshape(8, 8) / 64), 0), atol=1e-5)
maps = open("/proc/self/maps").read()
assert not any(n in maps for n in ("libdnnl", "libgomp", "libtbb")), "a hidden runtime got loaded"
print("ok: MatMul+Relu on Anvil, no libdnnl/libgomp/libtbb mapped")
PY' 2>&1); then
  echo "test_python: the wheel fails with the system runtimes hidden ($hide):" >&2; echo "$out" >&2; status=1
else
  echo "   $(tail -1 <<<"$out") (hidden: $(echo $hide | wc -w) files)"
fi

step "registering with onnxruntime $ANVIL_PY_ORT_TOO_OLD (must be refused)"
if out=$("$too_old/bin/python" -c '
import onnxruntime as ort, onnxruntime_ep_anvil as anvil
ort.register_execution_provider_library("anvil", anvil.get_library_path())' 2>&1); then
  echo "test_python: onnxruntime $ANVIL_PY_ORT_TOO_OLD registered Anvil; it must refuse" >&2; status=1
elif ! grep -q "1.$ANVIL_ORT_API_VERSION.0 or newer.*$ANVIL_PY_ORT_TOO_OLD" <<<"$out"; then
  echo "test_python: refusal does not name both versions: $out" >&2; status=1
else
  echo "   refused: $(grep -o 'Anvil .*' <<<"$out" | head -1)"
fi

step "done, status $status"
exit $status
