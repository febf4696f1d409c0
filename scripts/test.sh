#!/usr/bin/env bash
# Every Anvil test on a fresh machine: installs what is needed, builds, then runs
#   1. the EP tests through ORT's C++ API (ctest),
#   2. the Python package tests in fresh venvs (pinned, newest and a too-old onnxruntime),
#   3. pytest: kernel unit tests, the kernel-list check, the PaddleOCR models, the runner, and the
#      ONNX backend test cases (tests/backend), the fuzz regressions (tests/fuzz);
#   4. with ANVIL_SANITIZERS=1: the sanitizer runs (scripts/test_sanitizers.sh);
#   5. with ANVIL_FUZZ_SECONDS=N: a fuzz run of N seconds per target (scripts/fuzz.sh: clang,
#      ASan and UBSan).
# 4 and 5 are off by default for now: their instrumented builds (gcc ASan+TSan, clang ASan +
# libFuzzer) take 15-35 minutes on two cores from cold, past the test command's budget.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/versions.sh"
"$top/scripts/setup.sh"
"$top/scripts/build.sh"
build=${ANVIL_BUILD_DIR:-$top/build}
status=0

echo "== EP tests (C++ API)"
ctest --test-dir "$build" --output-on-failure -j 2 || status=1

if [ -x "$top/scripts/test_python.sh" ]; then
  echo "== Python package"
  "$top/scripts/test_python.sh" || status=1
fi

echo "== kernels, kernel list, models, runner, ONNX backend cases"
cd "$top"
ANVIL_LIB="$build/libanvil_ep.so" ANVIL_RUNNER="$build/anvil_run" \
  "$ANVIL_CACHE/venv/bin/python" -m pytest tests/kernels tests/conformance tests/runtime tests/models tests/runner tests/backend tests/fuzz -q -p no:cacheprovider \
  || status=1

# 4. The C++ EP tests and the Python kernel and concurrency tests again under ASan+UBSan and TSan
#    (their own build trees: build-asan, build-tsan).
if [ "${ANVIL_SANITIZERS:-0}" = 1 ]; then
  echo "== sanitizers (ASan+UBSan, TSan)"
  "$top/scripts/test_sanitizers.sh" || status=1
fi

# 5. Fuzzing: both libFuzzer targets for a short time each.
fuzz_secs=${ANVIL_FUZZ_SECONDS:-0}
if [ "$fuzz_secs" -gt 0 ]; then
  echo "== fuzzing (libFuzzer, ASan, UBSan), ${fuzz_secs} s per target"
  "$top/scripts/fuzz.sh" "$fuzz_secs" || status=1
fi
exit $status
