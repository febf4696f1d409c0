"""A plugin runs inside someone else's process: unregistering the library while a session made
with it is alive must not crash, and neither sessions nor register/unregister cycles may leak.

Each scenario runs in a fresh process (tests/runtime/lifetime_probe.py) on the public PaddleOCR
direction classifier, with Anvil (no CPU fallback) and, as the baseline for what ORT itself keeps,
with ORT's CPU EP. RSS moves by whole pages and with malloc's arenas, so the figures are growth
per iteration over 100 iterations after 10 of warm-up; a real leak of a model's packed weights
(hundreds of KB per session) or of a per-session allocator wrapper shows up as far more. The
heap figure (malloc's bytes in use, median of the per-iteration deltas) is exact where RSS is not.
bench/bench_lifetime.py reports the same figures over 1000 iterations on more models."""
import json
import re
import os
import pathlib
import subprocess
import sys

import pytest

import anvil_testing as t

PROBE = pathlib.Path(__file__).with_name("lifetime_probe.py")
MODEL = pathlib.Path(os.environ.get("ANVIL_CACHE", pathlib.Path.home() / ".cache/anvil")) / \
    "models/paddleocr/ch_ppocr_mobile_v2.0_cls_infer.onnx"
ITERATIONS = 100
RSS_LIMIT = 50 * 1024   # bytes of RSS growth per session or cycle (mean)
HEAP_LIMIT = 10 * 1024  # bytes of heap growth per session or cycle above ORT's own (median)


def probe(scenario, n, side="anvil"):
    proc = subprocess.run([sys.executable, str(PROBE), t.library_path(), str(MODEL), scenario, str(n), side],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{scenario} on {side} died with {proc.returncode}:\n{proc.stderr[-3000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module", autouse=True)
def needs_model():
    if not MODEL.exists():
        pytest.fail(f"{MODEL} missing: scripts/fetch_models.sh fetches it")


def test_unregister_while_a_session_is_alive_then_run_and_release():
    r = probe("unregister_first", 3)
    assert r["outputs_equal"], "the session's outputs changed after the library was unregistered"


@pytest.mark.parametrize("scenario", ["sessions", "cycles"])
def test_no_growth(scenario):
    """sessions: create, run, release; cycles: register, create, run, release and unregister (every
    other cycle with the session still alive at unregister). The baseline is the same loop with the
    session on ORT's CPU EP: ORT 1.29 itself keeps about 7 KB of heap per session."""
    anvil = probe(scenario, ITERATIONS)
    ort_own = probe(scenario, ITERATIONS, side="cpu")
    what = {"sessions": "session", "cycles": "register/run/unregister cycle"}[scenario]
    assert anvil["rss_per_iteration"] < RSS_LIMIT, \
        f"RSS grows by {anvil['rss_per_iteration'] / 1024:.1f} KB per {what} (limit {RSS_LIMIT // 1024} KB)"
    above = anvil["heap_per_iteration"] - max(ort_own["heap_per_iteration"], 0)
    assert above < HEAP_LIMIT, \
        f"the heap grows by {anvil['heap_per_iteration'] / 1024:.1f} KB per {what} with Anvil, " \
        f"{ort_own['heap_per_iteration'] / 1024:.1f} KB on ORT's CPU EP (limit {HEAP_LIMIT // 1024} KB above it)"


REC = MODEL.with_name("ch_PP-OCRv4_rec_infer.onnx")
PACKED = re.compile(r"(cached \(new\)|cached \(reused\)|owned|shared) pre-packed input \d+ at 0x[0-9a-f]+, (\d+) bytes")


def packed_lines(stderr):
    return [(m.group(1), int(m.group(2))) for m in PACKED.finditer(stderr)]


def test_second_session_shares_the_packed_weights():
    """Two sessions of PaddleOCR rec alive together: with Anvil's weight cache (the default) the
    second one reuses every packed weight of the first, and its heap grows by at least 90 % of
    those bytes less than with share_weights=0 (ORT's own per-session state is the rest)."""
    runs = {}
    for side in ("anvil", "anvil-noshare"):
        proc = subprocess.run([sys.executable, str(PROBE), t.library_path(), str(REC), "two_sessions", "1", side],
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
        runs[side] = (json.loads(proc.stdout.strip().splitlines()[-1]), packed_lines(proc.stderr))
    shared, shared_packs = runs["anvil"]
    _, own_packs = runs["anvil-noshare"]
    assert shared_packs and len(shared_packs) % 2 == 0, "no packed-weight lines in Anvil's verbose log"
    first, second = shared_packs[:len(shared_packs) // 2], shared_packs[len(shared_packs) // 2:]
    assert all(mode == "cached (new)" for mode, _ in first), first
    assert all(mode == "cached (reused)" for mode, _ in second), \
        f"{sum(mode != 'cached (reused)' for mode, _ in second)} of the second session's packed weights were not reused"
    assert all(mode != "cached (reused)" for mode, _ in own_packs)
    packed_bytes = sum(b for _, b in first)
    saved = runs["anvil-noshare"][0]["second_heap"] - shared["second_heap"]
    assert saved >= 0.9 * packed_bytes, \
        f"the second session's heap grew by {shared['second_heap'] / 2**20:.1f} MB with sharing and " \
        f"{runs['anvil-noshare'][0]['second_heap'] / 2**20:.1f} MB without: {saved / 2**20:.1f} MB saved of " \
        f"{packed_bytes / 2**20:.1f} MB packed"
