#!/usr/bin/env bash
# Anvil under the sanitizers. Builds two instrumented trees next to the normal one with clang 16
# (scripts/build_sanitized.sh: -O1, line tables only, only the targets
# the runs below need; oneDNN stays the uninstrumented prebuilt library):
#   build-asan  AddressSanitizer + UndefinedBehaviorSanitizer (-fno-sanitize-recover: UB aborts),
#               plus libFuzzer's coverage instrumentation: scripts/fuzz.sh runs its fuzz targets
#   build-tsan  ThreadSanitizer: the plugin and the C++ EP tests
# (ANVIL_ASAN_BUILD_DIR / ANVIL_TSAN_BUILD_DIR override where), then runs
#   ASan+UBSan: the C++ EP tests (ctest, with LeakSanitizer on), a set of the Python kernel tests
#               (all of them with ANVIL_SANITIZE_FULL=1), the huge shape and concurrency tests and
#               the unregister-while-alive lifetime test, with the ASan plugin loaded into the
#               venv's Python (LD_PRELOAD of clang's ASan runtime, which has UBSan's in it; leak
#               checking off there: CPython itself does not free everything at exit);
#   TSan:       the C++ Concurrency.* tests (8 threads running one session, outputs compared with
#               the single-threaded run; see below for why not the Python concurrency test).
# Sanitizer reports go to log files (one per process) under each build dir's sanitizer-logs/; any
# report or failing test makes the script fail, and the summary says which tool found what.
# Suppressions (tests/sanitizers/*.supp) cover only code that is not Anvil's.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/versions.sh"
py=${ANVIL_PYTHON:-$ANVIL_CACHE/venv/bin/python}
asan_dir=${ANVIL_ASAN_BUILD_DIR:-$top/build-asan}
tsan_dir=${ANVIL_TSAN_BUILD_DIR:-$top/build-tsan}
supp=$top/tests/sanitizers
start=$(date +%s)

# The shared sanitizer runtime of the clang that built the trees, e.g. runtime asan.
runtime() {
  local f
  f="$(clang++-16 --print-runtime-dir)/libclang_rt.$1-x86_64.so"
  [ -e "$f" ] || { echo "no $f" >&2; exit 1; }
  echo "$f"
}

failures=()
# step <name> <log dir> <command...>: runs the command, then collects the sanitizer reports the
# processes left in <log dir>. The step fails on a non-zero exit or on any report.
step() {
  local name=$1 logs=$2 rc=0
  shift 2
  rm -rf "$logs"; mkdir -p "$logs"
  echo "-- $name"
  "$@" || rc=$?
  local reports=("$logs"/*)
  if [ -e "${reports[0]}" ]; then
    for r in "${reports[@]}"; do
      echo "   report $r:"
      grep -E "^(SUMMARY|ERROR|WARNING): " "$r" | sed 's/^/     /' | head -5 || true
      sed -n '1,60p' "$r" | sed 's/^/     | /'
    done
    local found
    found=$(grep -h "^SUMMARY: " "${reports[@]}" | sort | uniq -c | sed 's/^ */   /' || true)
    failures+=("$name: sanitizer reports:"$'\n'"${found:-   (reports without a SUMMARY line, see above)}")
  elif [ "$rc" -ne 0 ]; then
    failures+=("$name: exited with $rc (tests failed; no sanitizer report)")
  fi
}

echo "== sanitizers: building $asan_dir (address,undefined + fuzzer coverage) and $tsan_dir (thread)"
"$top/scripts/build_sanitized.sh" asan "$asan_dir"
echo "   $asan_dir built in $(( $(date +%s) - start )) s"
t=$(date +%s)
"$top/scripts/build_sanitized.sh" tsan "$tsan_dir"
echo "   $tsan_dir built in $(( $(date +%s) - t )) s"

libasan=$(runtime asan)
common_ubsan="print_stacktrace=1:halt_on_error=1:suppressions=$supp/ubsan.supp"
# allocator_may_return_null: a malloc past what the machine has must come back as a failed
# allocation, which ORT turns into an error, not as an ASan abort.
common_asan="allocator_may_return_null=1:detect_stack_use_after_return=1:check_initialization_order=1"

cd "$top"
# --- ASan + UBSan ------------------------------------------------------------------------------
logs=$asan_dir/sanitizer-logs
# LeakSanitizer: fast_unwind_on_malloc=0 because ORT has no frame pointers: the fast unwinder stops
# at its first frame, and the suppressions (tests/sanitizers/lsan.supp) need the whole stack.
step "ASan+UBSan+LSan: C++ EP tests (ctest)" "$logs/ctest" \
  env ASAN_OPTIONS="$common_asan:detect_leaks=1:fast_unwind_on_malloc=0:log_path=$logs/ctest/asan" \
      LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0" \
      UBSAN_OPTIONS="$common_ubsan:log_path=$logs/ctest/ubsan" \
  ctest --test-dir "$asan_dir" --output-on-failure -j 1  # one at a time: LeakSanitizer's tracer has crashed under -j 2 on a loaded host
# All of tests/kernels under ASan takes about 35 CPU-minutes (2126 tests, ~1 CPU-second each: 4x the
# uninstrumented run), past the budget. By default: the kernel tests of edge and error cases
# (names with out_of_range, bad, invalid, overflow, wrap, error or zero_size: 83 tests over every
# family, where out-of-bounds accesses and overflows live), the small model and the classifier of the
# concurrency test; every kernel's Create and Compute on random attributes, shapes and inputs is
# exercised under ASan+UBSan by fuzz_kernel (scripts/fuzz.sh). ANVIL_SANITIZE_FULL=1 runs all.
kernel_k="(out_of_range or bad or invalid or overflow or wrap or error or zero_size) and not sequence_lens"
if [ "${ANVIL_SANITIZE_FULL:-0}" = 1 ]; then
  py_tests=(tests/kernels tests/runtime/test_concurrency.py)
  kernel_k=""
else
  py_tests=(tests/kernels "tests/runtime/test_concurrency.py::test_eight_threads_run_one_session[small]"
            "tests/runtime/test_concurrency.py::test_eight_threads_run_one_session[cls]")
fi
py_tests+=(tests/runtime/test_huge_shapes.py
           "tests/runtime/test_lifetime.py::test_unregister_while_a_session_is_alive_then_run_and_release")
# The 256TiB cases of test_huge_shapes.py are left out here: ORT allocates with the throwing
# operator new, which under ASan reports out-of-memory and aborts whatever allocator_may_return_null
# says (a property of the ASan runtime, not of Anvil; they run in the normal test command).
step "ASan+UBSan: Python kernel, huge-shape, concurrency and lifetime tests" "$logs/python" \
  env LD_PRELOAD="$libasan" ANVIL_LIB="$asan_dir/libanvil_ep.so" \
      ASAN_OPTIONS="$common_asan:detect_leaks=0:log_path=$logs/python/asan" \
      UBSAN_OPTIONS="$common_ubsan:log_path=$logs/python/ubsan" \
  "$py" -m pytest "${py_tests[@]}" -k "not 256TiB${kernel_k:+ and (not kernels or $kernel_k)}" \
    -q -p no:cacheprovider

# --- TSan --------------------------------------------------------------------------------------
logs=$tsan_dir/sanitizer-logs
tsan="halt_on_error=0:exitcode=66:second_deadlock_stack=1:suppressions=$supp/tsan.supp"
step "TSan: C++ Concurrency.* tests" "$logs/ctest" \
  env TSAN_OPTIONS="$tsan:log_path=$logs/ctest/tsan" \
  ctest --test-dir "$tsan_dir" --output-on-failure -R "make_test_models|Concurrency\\."
# Concurrency.EightThreadsRunOneSessionOfManyKernels: 8 threads on one session of a model of nine
# of Anvil's kernels and of the PaddleOCR classifier, outputs compared bit for bit with the run
# alone, Anvil at threads=1 (each kernel call on its caller's thread). Not under TSan:
# tests/runtime/test_concurrency.py and Anvil handing tasks to ORT's intra-op pool. ORT
# (uninstrumented) allocates a pool task's state on one thread and frees it on another, synchronised
# by atomics TSan cannot see; the reports are ORT's and no suppression can drop them without also
# hiding Anvil's (race: matches any frame, and every Anvil frame runs under ORT's; called_from_lib
# also drops ORT's mutex operations, which makes false races appear in Anvil's kernels on buffers
# ORT's arena hands from one Run to the next). The Python test runs in the normal test command and
# above under ASan.

echo "== sanitizers: $(( $(date +%s) - start )) s in all"
if [ ${#failures[@]} -gt 0 ]; then
  echo "== sanitizers FAILED:"
  printf '%s\n' "${failures[@]}"
  exit 1
fi
echo "== sanitizers: no findings"
