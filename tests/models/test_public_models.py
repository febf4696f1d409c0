"""The public model set beyond PaddleOCR (bench/models.py: BlazeFace, Silero VAD v5/v6, the
openWakeWord front end, embedding and heads) runs with every node on Anvil, subgraph nodes
included (profiled: ORT's disable_cpu_ep_fallback does not cover If branches), and matches ORT's
CPU EP on the benchmark's realistic inputs.

Tolerance: fp32 on both sides, summed in different orders; each output is compared with an
absolute tolerance scaled by the output's magnitude (1e-4 of its largest absolute value, at
least 1e-5). Measured worst cases are around 1e-6 relative; a wrong kernel moves outputs by
percent."""
import pathlib
import sys

import numpy as np
import onnxruntime as ort
import pytest

import anvil_testing as t

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "bench"))
import models as bench_models  # noqa: E402

NAMES = ["face_back", "face_front", "vad5", "vad6", "oww_mel", "oww_emb", "oww_jarvis", "oww_timer"]


@pytest.mark.parametrize("name", NAMES)
def test_runs_whole_on_anvil_like_ort(name):
    model = bench_models.BY_NAME[name]
    path = pathlib.Path(bench_models.models_dir()) / model.path
    if not path.exists():
        pytest.fail(f"{path} missing: scripts/fetch_models.sh fetches it")
    feeds = bench_models.make_inputs(model)
    got, ran = t.run_profiled(str(path), feeds)
    elsewhere = sorted({r for r in ran if r[1] != t.EP_NAME})
    assert ran, "profiling recorded no node"
    assert not elsewhere, f"{name}: nodes that did not run on Anvil: {elsewhere}"
    want = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feeds)
    for i, (g, w) in enumerate(zip(got, want)):
        assert g.shape == w.shape and g.dtype == w.dtype, f"output {i}: {g.shape} {g.dtype} vs {w.shape} {w.dtype}"
        tol = max(1e-4 * float(np.max(np.abs(w))) if w.size else 0.0, 1e-5)
        np.testing.assert_allclose(g, w, rtol=0, atol=tol, err_msg=f"{name} output {i}")
