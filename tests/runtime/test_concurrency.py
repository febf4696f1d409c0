"""One session, many callers: 8 threads call Run on the same Anvil session at once (ORT allows
concurrent Run on one session), each on its own inputs, and every output must equal the output of
the same input run alone, bit for bit. A kernel that keeps per-call state in the kernel object
(a scratch buffer, a cached shape, a lazily built primitive) shows up here as a wrong or torn
output; scripts/test_sanitizers.sh runs this file under ThreadSanitizer as well.

Models: the three PaddleOCR v4 models (at small input sizes, several shapes per model so that
shape-dependent caches are exercised) and a small model built here with several Anvil kernels
(Conv, Relu, MaxPool, Reshape, MatMul, Add, Softmax, Transpose, Concat)."""
import os
import pathlib
import threading

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

import anvil_testing as t

MODELS = pathlib.Path(os.environ.get("ANVIL_CACHE", pathlib.Path.home() / ".cache/anvil")) / "models/paddleocr"
THREADS = 8
ROUNDS = 3  # Run calls per thread and input


def small_model():
    """x [N, 4, 12, 12] -> Conv 3x3 (8 ch) -> Relu -> MaxPool 2x2 -> Reshape [N, 288] -> MatMul
    [288, 10] -> Add -> Softmax, concatenated with Transpose(x) reshaped [N, 576]."""
    rng = np.random.default_rng(7)
    f = TensorProto.FLOAT
    inits = [
        numpy_helper.from_array(rng.standard_normal((8, 4, 3, 3)).astype(np.float32) * 0.3, "W"),
        numpy_helper.from_array(rng.standard_normal(8).astype(np.float32) * 0.1, "B"),
        numpy_helper.from_array(np.array([0, 288], np.int64), "S"),
        numpy_helper.from_array(np.array([0, 576], np.int64), "S2"),
        numpy_helper.from_array(rng.standard_normal((288, 10)).astype(np.float32) * 0.1, "M"),
        numpy_helper.from_array(rng.standard_normal(10).astype(np.float32), "C"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "W", "B"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Reshape", ["p", "S"], ["f"]),
        helper.make_node("MatMul", ["f", "M"], ["m"]),
        helper.make_node("Add", ["m", "C"], ["a"]),
        helper.make_node("Softmax", ["a"], ["s"], axis=-1),
        helper.make_node("Transpose", ["x"], ["tx"], perm=[0, 2, 3, 1]),
        helper.make_node("Reshape", ["tx", "S2"], ["ft"]),
        helper.make_node("Concat", ["s", "ft"], ["y"], axis=1),
    ]
    g = helper.make_graph(nodes, "small", [helper.make_tensor_value_info("x", f, ["N", 4, 12, 12])],
                          [helper.make_tensor_value_info("y", f, None)], initializer=inits)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def page(shape, seed):
    """PaddleOCR-like input: a light page with dark bars (normalised), so the models' outputs are
    not flat (see tests/models/test_paddleocr.py)."""
    n, _, h, w = shape
    rng = np.random.default_rng(seed)
    img = np.full((n, h, w, 3), 235.0) + rng.normal(0, 4, (n, h, w, 3))
    for b in range(n):
        for y in range(int(h * 0.1), h - 8, max(8, h // 4)):
            x = int(rng.integers(1, max(2, w // 8)))
            while x < w - 6:
                ww = int(rng.integers(6, max(7, w // 4)))
                img[b, y:y + max(4, h // 8), x:min(w - 1, x + ww)] = rng.uniform(10, 60)
                x += ww + int(rng.integers(3, 12))
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    return ((img / 255.0 - mean) / std).transpose(0, 3, 1, 2).astype(np.float32)


CASES = {
    "det": ("ch_PP-OCRv4_det_infer.onnx", [(1, 3, 96, 96), (1, 3, 64, 128), (2, 3, 64, 64)]),
    "rec": ("ch_PP-OCRv4_rec_infer.onnx", [(1, 3, 48, 96), (1, 3, 48, 160), (2, 3, 48, 64)]),
    "cls": ("ch_ppocr_mobile_v2.0_cls_infer.onnx", [(1, 3, 48, 192), (2, 3, 48, 192), (3, 3, 48, 192)]),
    "small": (None, [(1, 4, 12, 12), (3, 4, 12, 12), (5, 4, 12, 12)]),
}


def load(name):
    file, shapes = CASES[name]
    if file is None:
        return small_model(), [np.random.default_rng(i).standard_normal(s).astype(np.float32)
                                for i, s in enumerate(shapes)]
    path = MODELS / file
    if not path.exists():
        pytest.fail(f"{path} missing: scripts/fetch_models.sh fetches it")
    import onnx
    return onnx.load(str(path)), [page(s, i) for i, s in enumerate(shapes)]


@pytest.mark.parametrize("name", list(CASES))
def test_eight_threads_run_one_session(name):
    model, inputs = load(name)
    session = t.session(model, anvil=True, threads=2)
    feed = session.get_inputs()[0].name
    # The single-threaded results first: the session has not yet been run concurrently.
    alone = [session.run(None, {feed: x}) for x in inputs]
    assert all(np.isfinite(o).all() for outs in alone for o in outs)

    start = threading.Barrier(THREADS)
    failures = []

    def worker(k):
        try:
            start.wait()
            for r in range(ROUNDS * len(inputs)):
                i = (k + r) % len(inputs)  # threads are on different inputs at the same moment
                got = session.run(None, {feed: inputs[i]})
                for j, (g, w) in enumerate(zip(got, alone[i])):
                    if g.shape != w.shape or not np.array_equal(g, w):
                        diff = np.abs(g - w).max() if g.shape == w.shape else "shape"
                        failures.append(f"thread {k} round {r} input {i} output {j}: max diff {diff}")
        except Exception as e:  # noqa: BLE001 - reported below with the thread
            failures.append(f"thread {k}: {type(e).__name__}: {e}")

    workers = [threading.Thread(target=worker, args=(k,)) for k in range(THREADS)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not failures, f"{len(failures)} concurrent results differ from the single-threaded ones:\n" + \
        "\n".join(failures[:10])
