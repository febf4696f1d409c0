"""The three PaddleOCR v4 models run with every node on Anvil (session.disable_cpu_ep_fallback=1:
session creation fails if any node would land on ORT's CPU EP) and match ORT's CPU EP.

Tolerance: both sides compute in fp32 but sum in different orders (oneDNN vs MLAS GEMM
blocking), so results differ by rounding: about 1e-6 relative per layer, growing through 40-60
layers of conv + batch-norm + hard-swish. The outputs are probabilities (sigmoid / softmax in
[0, 1]); we require max |anvil - cpu| <= 2e-4 absolute. The measured worst case is reported by
the runner's default job (README)."""
import os
import pathlib

import numpy as np
import pytest

import anvil_testing as t

MODELS = pathlib.Path(os.environ.get("ANVIL_CACHE", pathlib.Path.home() / ".cache/anvil")) / "models/paddleocr"
ATOL = 2e-4

CASES = [
    ("ch_PP-OCRv4_det_infer.onnx", (1, 3, 640, 640)),
    ("ch_PP-OCRv4_det_infer.onnx", (2, 3, 320, 480)),
    ("ch_PP-OCRv4_det_infer.onnx", (1, 3, 96, 160)),
    ("ch_PP-OCRv4_rec_infer.onnx", (1, 3, 48, 320)),
    ("ch_PP-OCRv4_rec_infer.onnx", (3, 3, 48, 160)),
    ("ch_PP-OCRv4_rec_infer.onnx", (2, 3, 48, 88)),
    ("ch_ppocr_mobile_v2.0_cls_infer.onnx", (1, 3, 48, 192)),
    ("ch_ppocr_mobile_v2.0_cls_infer.onnx", (4, 3, 48, 192)),
    ("ch_ppocr_mobile_v2.0_cls_infer.onnx", (2, 3, 64, 256)),
]

_sessions = {}


def sessions(name):
    if name not in _sessions:
        path = MODELS / name
        if not path.exists():
            pytest.skip(f"{path} missing: run scripts/fetch_models.sh")
        import onnx
        model = onnx.load(str(path))
        _sessions[name] = (t.session(model, anvil=True), t.session(model, anvil=False))
    return _sessions[name]


@pytest.mark.parametrize("name,shape", CASES, ids=[f"{n.split('_')[2]}-{'x'.join(map(str, s))}" for n, s in CASES])
def test_model_runs_entirely_on_anvil_and_matches_ort_cpu(name, shape):
    anvil, cpu = sessions(name)
    rng = np.random.default_rng(sum(shape))
    x = rng.uniform(-1, 1, size=shape).astype(np.float32)
    (got,) = anvil.run(None, {"x": x})
    (want,) = cpu.run(None, {"x": x})
    assert got.shape == want.shape
    assert np.isfinite(got).all()
    diff = np.abs(got - want).max()
    assert diff <= ATOL, f"{name} {shape}: max |anvil - cpu| = {diff:.3g} > {ATOL}"
