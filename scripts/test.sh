#!/usr/bin/env bash
# Every Anvil test on a fresh machine: installs what is needed, builds, then runs
#   1. the EP tests through ORT's C++ API (ctest),
#   2. the Python package tests in fresh venvs (pinned, newest and a too-old onnxruntime),
#   3. pytest: kernel unit tests, the kernel-list check, the PaddleOCR models, the runner, and the
#      ONNX backend test cases (tests/backend), the fuzz regressions (tests/fuzz);
#   4. the sanitizer runs (scripts/test_sanitizers.sh; clang 16 trees build-asan and build-tsan):
#      ASan+UBSan+LSan: the C++ EP tests; ASan+UBSan: the kernel tests of edge and error cases, the
#      concurrency (8 threads, one session), huge-shape and lifetime tests; TSan: the C++
#      concurrency tests (8 threads on one session, outputs equal to the single-threaded run);
#   5. the fuzzers (scripts/fuzz.sh, in build-asan: libFuzzer, ASan, UBSan): the replay of
#      tests/fuzz/regressions/, then fuzz_model and fuzz_kernel for ANVIL_FUZZ_RUNS inputs each
#      (default 6000, about 40 s per target; 0: the replay only) from the seeds with a fixed
#      libFuzzer seed, so that the verdict depends on the tree, not on the day; the open-ended search for new
#      findings is scripts/fuzz.sh SECONDS, run before a change lands.
# ANVIL_SANITIZERS=0 skips 4 and 5. Cold, on two idle cores: 1-3 about 11 minutes; 4 and 5 about
# 12 (build-asan 5.5 min, build-tsan 2.8 min, the ASan and TSan runs 1.5 min, fuzzing 1.3 min).
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

# 4. The sanitizer runs (ASan+UBSan, TSan) and 5. the fuzzers: on by default; ANVIL_SANITIZERS=0
#    skips both, ANVIL_FUZZ_RUNS sets the inputs per fuzz target (0: the regression replay only).
if [ "${ANVIL_SANITIZERS:-1}" != 0 ]; then
  echo "== sanitizers (ASan+UBSan, TSan)"
  "$top/scripts/test_sanitizers.sh" || status=1
  fuzz_runs=${ANVIL_FUZZ_RUNS:-6000}
  echo "== fuzzing (libFuzzer, ASan, UBSan): the regressions, then ${fuzz_runs} inputs per target, fixed seed"
  if [ "$fuzz_runs" -gt 0 ]; then
    ANVIL_FUZZ_RUNS=$fuzz_runs "$top/scripts/fuzz.sh" 0 || status=1
  else
    "$top/scripts/fuzz.sh" 0 || status=1
  fi
fi
exit $status
