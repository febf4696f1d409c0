"""The three PaddleOCR v4 models run with every node on Anvil (session.disable_cpu_ep_fallback=1:
session creation fails if any node would land on ORT's CPU EP) and match ORT's CPU EP.

Inputs are synthetic pages (light background, dark word-like bars) normalised the way PaddleOCR
preprocesses images, so the detector really fires (outputs near 1 on the "text") and the
classifiers give confident answers: on random noise the detector outputs ~1e-4 everywhere, where
any absolute tolerance would pass a broken kernel.

Tolerance: both sides compute in fp32 but sum in different orders (oneDNN vs MLAS blocking), so
they differ by rounding, about 1e-7 relative per layer, growing through 40-60 layers of conv,
batch-norm and hard-swish and steepest where a sigmoid crosses 0.5. The outputs are probabilities
in [0, 1]. Measured worst case: 3.2e-5 (det at 640x640); we allow 2e-4. A wrong kernel moves them
by 1e-2 or more. The recogniser's best class per time step (the decoded text) must also agree
wherever the top two probabilities are not within 1e-3 of each other."""
import os
import pathlib

import numpy as np
import onnxruntime as ort
import pytest

import anvil_testing as t

MODELS = pathlib.Path(os.environ.get("ANVIL_CACHE", pathlib.Path.home() / ".cache/anvil")) / "models/paddleocr"
ATOL = 2e-4
DET, REC, CLS = "ch_PP-OCRv4_det_infer.onnx", "ch_PP-OCRv4_rec_infer.onnx", "ch_ppocr_mobile_v2.0_cls_infer.onnx"

CASES = [
    (DET, (1, 3, 640, 640)),
    (DET, (2, 3, 320, 480)),
    (DET, (1, 3, 352, 800)),
    (REC, (1, 3, 48, 320)),
    (REC, (3, 3, 48, 160)),
    (REC, (2, 3, 48, 88)),
    (CLS, (1, 3, 48, 192)),
    (CLS, (4, 3, 48, 192)),
    (CLS, (2, 3, 64, 256)),
]


def document_image(n, h, w, seed):
    """A synthetic page: light background with dark word-like bars, normalised like PaddleOCR's
    preprocessing ((x / 255 - mean) / std per channel), NCHW float32."""
    rng = np.random.default_rng(seed)
    img = np.full((n, h, w, 3), 235.0) + rng.normal(0, 4, (n, h, w, 3))
    for b in range(n):
        y = int(h * 0.08)
        while y < h - 12:
            lh = int(rng.integers(max(8, h // 24), max(12, h // 12)))
            x = int(rng.integers(2, max(3, w // 10)))
            while x < w - 10:
                ww = int(rng.integers(lh, lh * 5))
                img[b, y:y + lh, x:min(w - 2, x + ww)] = rng.uniform(10, 60)
                x += ww + int(rng.integers(max(1, lh // 2), lh * 2))
            y += lh + int(rng.integers(lh, lh * 3))
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    return ((img / 255.0 - mean) / std).transpose(0, 3, 1, 2).astype(np.float32)


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
    x = document_image(shape[0], shape[2], shape[3], seed=sum(shape))
    (got,) = anvil.run(None, {"x": x})
    (want,) = cpu.run(None, {"x": x})
    assert got.shape == want.shape
    assert np.isfinite(got).all()
    diff = np.abs(got - want).max()
    assert diff <= ATOL, f"{name} {shape}: max |anvil - cpu| = {diff:.3g} > {ATOL}"
    if name == DET:
        assert (want > 0.5).mean() > 0.005, "the test page should make the detector fire"
    else:
        assert want.max() > 0.5, "the classifier should be confident on the test page"
    if name == REC:
        top2 = np.sort(want, axis=-1)[..., -2:]
        clear = (top2[..., 1] - top2[..., 0]) > 1e-3
        np.testing.assert_array_equal(got.argmax(-1)[clear], want.argmax(-1)[clear])


@pytest.mark.parametrize("hw", [(1, 1), (2, 3), (5, 7)])
def test_cls_on_tiny_images_matches_ort(hw):
    # Pooling windows wider than the tiny feature maps: ORT's CPU EP still produces output (its
    # output size truncates toward zero), and so must Anvil.
    path = MODELS / CLS
    x = np.random.default_rng(1).random((1, 3) + hw, dtype=np.float32)
    got = t.session(str(path)).run(None, {"x": x})[0]
    want = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    np.testing.assert_allclose(got, want, rtol=0, atol=ATOL)
