"""The ONNX backend test cases (onnx's node cases and data folders, Debian's libonnx-testdata) on
Anvil against ORT's CPU EP: see run.py. One run serves every test here."""
import time

import pytest

from . import run

# Anvil must pass at least this many cases; `python -m tests.backend.run --update` prints the
# current count. Raise it when kernels land; never lower it to hide a regression.
PASS_FLOOR = 2318


@pytest.fixture(scope="module")
def backend_results(request):
    t0 = time.monotonic()
    results = run.run_cases(run.collect())
    seconds = time.monotonic() - t0
    # The counts belong in every run's output, not only a failing one's.
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print()
        for line in run.summary_lines(results, seconds):
            print(line)
    return results


def test_no_wrong_result_error_crash_or_hang(backend_results):
    problems = run.check_failures(backend_results)
    assert not problems, "\n".join(problems)


def test_passes_at_least_the_floor(backend_results):
    problems = run.check_floor(backend_results, PASS_FLOOR)
    assert not problems, "\n".join(problems)


def test_declined_list_is_current(backend_results):
    listed = run.read_declined()
    assert listed, f"{run.DECLINED} is missing or empty"
    problems = run.check_declined(backend_results, listed)
    assert not problems, "\n".join(problems)
