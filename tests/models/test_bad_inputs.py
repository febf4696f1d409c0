"""Bad inputs on every public model: a wrong element type, a wrong rank, a dimension that
contradicts the model, NaN and Inf, a zero-sized batch, non-contiguous arrays. Anvil (no CPU
fallback) must give either a clean error naming the input, when ORT's CPU EP refuses too, or the
same result as ORT's CPU EP; never a crash or a hang. (ORT itself checks types, ranks and fixed
dims before any EP runs; the rest reaches Anvil's kernels.)"""
import pathlib
import sys

import numpy as np
import onnxruntime as ort
import pytest

import anvil_testing as t

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "bench"))
import models as bench_models  # noqa: E402

NAMES = ["det", "rec", "cls", "face_back", "face_front", "vad5", "vad6", "oww_mel", "oww_emb", "oww_jarvis"]
SESSIONS = {}


def sessions(name):
    if name not in SESSIONS:
        model = bench_models.BY_NAME[name]
        path = pathlib.Path(bench_models.models_dir()) / model.path
        if not path.exists():
            pytest.fail(f"{path} missing: scripts/fetch_models.sh fetches it")
        # The reference is the model as written: ORT's graph optimizations rewrite it for its own
        # kernels (its NCHWc layout pass adds Reshapes that refuse a zero-sized batch, fused
        # activations treat NaN differently), which is not what Anvil is asked to match.
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        cpu = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        SESSIONS[name] = (t.session(str(path)), cpu, bench_models.make_inputs(model))
    return SESSIONS[name]


def first_float(feeds):
    return next(k for k, v in feeds.items() if v.dtype == np.float32 and v.ndim >= 2)


def variants(cpu, feeds):
    name = first_float(feeds)
    x = feeds[name]
    declared = next(i.shape for i in cpu.get_inputs() if i.name == name)
    yield "float64", {**feeds, name: x.astype(np.float64)}
    yield "rank+1", {**feeds, name: x[None]}
    yield "rank-1", {**feeds, name: x.reshape(x.shape[1:]) if x.shape[0] == 1 else x[0]}
    fixed = [i for i, d in enumerate(declared) if isinstance(d, int) and d > 1]
    if fixed:
        shape = list(x.shape)
        shape[fixed[-1]] += 1
        yield "fixed dim changed", {**feeds, name: np.resize(x, shape).astype(np.float32)}
    nan = x.copy()
    nan.flat[:: max(1, x.size // 7)] = np.nan
    yield "NaN", {**feeds, name: nan}
    inf = x.copy()
    inf.flat[:: max(1, x.size // 5)] = np.inf
    inf.flat[1:: max(1, x.size // 5)] = -np.inf
    yield "Inf", {**feeds, name: inf}
    if not (isinstance(declared[0], int) and declared[0] > 0):
        yield "zero batch", {**feeds, name: np.zeros((0,) + x.shape[1:], np.float32)}
    wide = np.zeros(x.shape[:-1] + (2 * x.shape[-1],), np.float32)
    wide[..., ::2] = x
    yield "non-contiguous", {**feeds, name: wide[..., ::2]}


def outcome(sess, feeds):
    try:
        return "ok", sess.run(None, feeds)
    except Exception as e:  # noqa: BLE001 - any clean error is an outcome
        return "error", str(e)


@pytest.mark.parametrize("name", NAMES)
def test_bad_inputs_give_ort_result_or_clean_error(name):
    anvil, cpu, feeds = sessions(name)
    input_name = first_float(feeds)
    for label, bad in variants(cpu, feeds):
        a_kind, a = outcome(anvil, bad)
        c_kind, c = outcome(cpu, bad)
        if c_kind == "error":
            assert a_kind == "error", f"{name} {label}: ORT refuses ({c[:200]}) but Anvil ran"
            # ORT checks types and ranks itself before any EP runs (same message); else Anvil's names the node.
            assert a == c or input_name in a or "Anvil" in a, \
                f"{name} {label}: the error names neither the input nor an Anvil node: {a[:300]}"
            continue
        assert a_kind == "ok", f"{name} {label}: ORT runs it, Anvil fails: {a[:300]}"
        for i, (g, w) in enumerate(zip(a, c)):
            assert g.shape == w.shape, f"{name} {label} output {i}: shape {g.shape} vs {w.shape}"
            # NaN: wherever ORT's output is NaN, Anvil's is. Anvil may give NaN where ORT does not:
            # ORT's SIMD max and clamp (MaxPool, activations) keep a NaN only when it is the last
            # operand, so a NaN in the input vanishes or not by its position; Anvil propagates it.
            lost = np.isnan(w) & ~np.isnan(g)
            assert not lost.any(), f"{name} {label} output {i}: {lost.sum()} NaN of ORT's are numbers on Anvil"
            finite = np.isfinite(w) & np.isfinite(g)
            inf_diff = (np.isinf(g) != np.isinf(w)) & ~np.isnan(g) & ~np.isnan(w)
            assert not inf_diff.any(), f"{name} {label} output {i}: Inf positions differ"
            if finite.any():
                tol = 1e-4 * max(1.0, float(np.max(np.abs(w[finite]))))
                np.testing.assert_allclose(g[finite], w[finite], rtol=0, atol=tol, err_msg=f"{name} {label} output {i}")
