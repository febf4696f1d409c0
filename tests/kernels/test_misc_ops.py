"""Dropout, BitCast, Det, CumProd, Hann/Hamming/BlackmanWindow, MelWeightMatrix, TfIdfVectorizer:
every schema revision and registered type against ORT's CPU EP (or a property where the op is
random), with CPU fallback disabled, so a test fails unless Anvil ran the node."""
import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from anvil_testing import schema_revisions, session

F32, F64, I32, I64 = np.float32, np.float64, np.int32, np.int64


def onnx_type(dtype):
    return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


def model_of(op, inputs, outputs, opset, attrs=None, initializers=None):
    """inputs: (name, array or None); outputs: (name, onnx type)."""
    initializers = initializers or {}
    names, graph_inputs, inits = [], [], []
    for name, v in inputs:
        if v is None:
            names.append("")
            continue
        names.append(name)
        if name in initializers:
            inits.append(numpy_helper.from_array(np.asarray(v), name))
        else:
            graph_inputs.append(helper.make_tensor_value_info(name, onnx_type(v.dtype), list(np.shape(v))))
    node = helper.make_node(op, names, [n for n, _ in outputs], **(attrs or {}))
    graph = helper.make_graph([node], op, graph_inputs, [helper.make_tensor_value_info(n, t, None) for n, t in outputs
                                                         if n], initializer=inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8 if opset <= 17 else 10
    return m


def feeds(model, inputs):
    names = {i.name for i in model.graph.input}
    return {n: v for n, v in inputs if v is not None and n in names}


def both(op, inputs, outputs, opset, attrs=None, initializers=None, rtol=1e-6, atol=1e-7, exact=False):
    m = model_of(op, inputs, outputs, opset, attrs, initializers)
    got = session(m).run(None, feeds(m, inputs))
    want = session(m, anvil=False).run(None, feeds(m, inputs))
    for g, w in zip(got, want):
        assert g.shape == w.shape and g.dtype == w.dtype, (op, g.shape, w.shape, g.dtype, w.dtype)
        if g.dtype.kind == "f" and not exact:
            np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, err_msg=f"{op} opset {opset}")
        else:
            np.testing.assert_array_equal(g, w, err_msg=f"{op} opset {opset}")
    return got


def not_claimed(op, inputs, outputs, opset, attrs=None, initializers=None):
    m = model_of(op, inputs, outputs, opset, attrs, initializers)
    with pytest.raises(Exception):
        session(m)


def run_error(op, inputs, outputs, opset, attrs=None, match=None):
    m = model_of(op, inputs, outputs, opset, attrs)
    s = session(m)
    with pytest.raises(Exception, match=match):
        s.run(None, feeds(m, inputs))


def rng(seed=0):
    return np.random.default_rng(seed)


# ---- CumProd

@pytest.mark.parametrize("since,opset", schema_revisions("CumProd"))
@pytest.mark.parametrize("dtype", [F32, F64, I32, I64, np.uint32, np.uint64], ids=lambda t: np.dtype(t).name)
def test_cumprod(since, opset, dtype):
    r = rng(1)
    x = (r.uniform(0.5, 1.5, (3, 4, 5)) if np.dtype(dtype).kind == "f" else r.integers(1, 4, (3, 4, 5))).astype(dtype)
    for axis in [0, 1, 2, -1, -3]:
        for exclusive in [0, 1]:
            for reverse in [0, 1]:
                both("CumProd", [("x", x), ("a", np.array(axis, I64))], [("y", onnx_type(dtype))], opset,
                     {"exclusive": exclusive, "reverse": reverse}, rtol=1e-5)
    both("CumProd", [("x", x), ("a", np.array([1], I32))], [("y", onnx_type(dtype))], opset)
    both("CumProd", [("x", np.zeros((2, 0, 3), dtype)), ("a", np.array(1, I64))], [("y", onnx_type(dtype))], opset)
    if np.dtype(dtype).kind == "i":  # wrap-around like ORT
        big = np.full(40, 7, dtype)
        both("CumProd", [("x", big), ("a", np.array(0, I64))], [("y", onnx_type(dtype))], opset)


def test_cumprod_bad_axis():
    x = np.ones((2, 3), F32)
    run_error("CumProd", [("x", x), ("a", np.array(2, I64))], [("y", TensorProto.FLOAT)], 26, match="out of range")
    run_error("CumProd", [("x", x), ("a", np.array([0, 1], I64))], [("y", TensorProto.FLOAT)], 26)


# ---- Dropout

@pytest.mark.parametrize("since,opset", schema_revisions("Dropout"))
@pytest.mark.parametrize("dtype", [F32, F64, np.float16], ids=lambda t: np.dtype(t).name)
def test_dropout_inference(since, opset, dtype):
    x = rng(2).standard_normal((3, 4, 5)).astype(dtype)
    t = onnx_type(dtype)
    both("Dropout", [("x", x)], [("y", t)], opset, exact=True)
    if since < 12:
        both("Dropout", [("x", x)], [("y", t)], opset, {"ratio": 0.3}, exact=True)
    if since >= 10:
        y, mask = both("Dropout", [("x", x)], [("y", t), ("m", TensorProto.BOOL)], opset, exact=True)
        # ORT's CPU EP: an all-false mask at revisions 10-11, all-true from 12.
        assert mask.shape == x.shape and (mask.all() if since >= 12 else not mask.any())
    if since >= 12:
        ratio = np.array(0.7, dtype)
        both("Dropout", [("x", x), ("r", ratio)], [("y", t), ("m", TensorProto.BOOL)], opset, exact=True)
        # training_mode false, and true with ratio 0: deterministic identity.
        for train, r in [(False, 0.5), (True, 0.0)]:
            both("Dropout", [("x", x), ("r", np.array(r, dtype)), ("t", np.array(train))],
                 [("y", t), ("m", TensorProto.BOOL)], opset, {"seed": 3}, exact=True)
        both("Dropout", [("x", np.zeros((0, 2), dtype)), ("r", ratio), ("t", np.array(True))],
             [("y", t), ("m", TensorProto.BOOL)], opset)


@pytest.mark.parametrize("since,opset", [r for r in schema_revisions("Dropout") if r[0] >= 12])
def test_dropout_training_random(since, opset):
    x = rng(3).uniform(1, 2, (200, 50)).astype(F32)
    m = model_of("Dropout", [("x", x), ("r", np.array(0.25, F32)), ("t", np.array(True))],
                 [("y", TensorProto.FLOAT), ("m", TensorProto.BOOL)], opset, {"seed": 5})
    s = session(m)
    y, mask = s.run(None, {"x": x, "r": np.array(0.25, F32), "t": np.array(True)})
    np.testing.assert_allclose(y[mask], x[mask] / 0.75, rtol=1e-6)
    assert (y[~mask] == 0).all()
    assert 0.2 < 1 - mask.mean() < 0.3  # about ratio of the elements dropped
    run_error("Dropout", [("x", x), ("r", np.array(1.5, F32)), ("t", np.array(True))], [("y", TensorProto.FLOAT)],
              opset, match="ratio")


def test_dropout_not_claimed():
    x = np.ones((2, 2), F32)
    # Revision 7's mask has type T, which Anvil does not produce.
    not_claimed("Dropout", [("x", x)], [("y", TensorProto.FLOAT), ("m", TensorProto.FLOAT)], 7)


# ---- BitCast

BITCAST_TYPES = [F32, F64, I32, I64, np.int8, np.uint8, np.int16, np.uint16, np.uint32, np.uint64, np.float16]


@pytest.mark.parametrize("since,opset", schema_revisions("BitCast"))
@pytest.mark.parametrize("src", BITCAST_TYPES, ids=lambda t: np.dtype(t).name)
def test_bitcast(since, opset, src):
    raw = rng(4).integers(0, 256, 48 * 8, dtype=np.uint8)
    x = raw[: 48 * np.dtype(src).itemsize].view(src).reshape(4, -1)
    for to in BITCAST_TYPES:
        if np.dtype(to).itemsize != np.dtype(src).itemsize:
            continue
        got = both("BitCast", [("x", x)], [("y", onnx_type(to))], opset, {"to": onnx_type(to)}, exact=True)[0]
        np.testing.assert_array_equal(got.view(np.uint8), x.view(np.uint8))
    both("BitCast", [("x", np.array(3, src))], [("y", onnx_type(src))], opset, {"to": onnx_type(src)}, exact=True)


def test_bitcast_size_mismatch_not_claimed():
    not_claimed("BitCast", [("x", np.ones(3, F32))], [("y", TensorProto.INT64)], 26, {"to": TensorProto.INT64})


# ---- Det

@pytest.mark.parametrize("since,opset", schema_revisions("Det"))
def test_det(since, opset):
    r = rng(5)
    for shape in [(2, 2), (3, 3), (1, 1), (4, 5, 5), (2, 3, 4, 4), (0, 3, 3), (3, 0, 0)]:
        x = r.standard_normal(shape).astype(F32)
        both("Det", [("x", x)], [("y", TensorProto.FLOAT)], opset, rtol=1e-4, atol=1e-5)
    singular = np.array([[1, 2, 3], [2, 4, 6], [0, 1, 5]], F32)
    both("Det", [("x", singular)], [("y", TensorProto.FLOAT)], opset, atol=1e-5)
    both("Det", [("x", np.eye(6, dtype=F32)[::-1].copy())], [("y", TensorProto.FLOAT)], opset)  # permutation: sign


def test_det_not_square():
    not_claimed("Det", [("x", np.ones((2, 3), F32))], [("y", TensorProto.FLOAT)], 22)
    not_claimed("Det", [("x", np.ones((3,), F32))], [("y", TensorProto.FLOAT)], 22)


# ---- windows

@pytest.mark.parametrize("op", ["HannWindow", "HammingWindow", "BlackmanWindow"])
@pytest.mark.parametrize("since,opset", schema_revisions("HannWindow"))
def test_windows(op, since, opset):
    for size in [1, 2, 5, 10, 64, 0]:
        for itype in [I32, I64]:
            for periodic in [0, 1]:
                for out in [TensorProto.FLOAT, TensorProto.DOUBLE]:
                    if size == 1 and periodic == 0:
                        continue  # 0 / 0
                    both(op, [("n", np.array(size, itype))], [("y", out)], opset,
                         {"periodic": periodic, "output_datatype": out}, rtol=1e-5, atol=1e-6)


def test_window_negative_size():
    run_error("HannWindow", [("n", np.array(-3, I64))], [("y", TensorProto.FLOAT)], 17, match="negative")


# ---- MelWeightMatrix

@pytest.mark.parametrize("since,opset", schema_revisions("MelWeightMatrix"))
def test_mel_weight_matrix(since, opset):
    for bins, dft, rate, lo, hi in [(8, 16, 8192, 0.0, 4096.0), (20, 512, 16000, 20.0, 8000.0),
                                    (32, 400, 16000, 60.0, 7600.0), (4, 64, 8000, 100.0, 3000.0)]:
        for itype in [I32, I64]:
            for out in [TensorProto.FLOAT, TensorProto.DOUBLE]:
                both("MelWeightMatrix", [("a", np.array(bins, itype)), ("b", np.array(dft, itype)),
                                         ("c", np.array(rate, itype)), ("d", np.array(lo, F32)),
                                         ("e", np.array(hi, F32))], [("y", out)], opset, {"output_datatype": out},
                     rtol=1e-5, atol=1e-6)


def test_mel_weight_matrix_bad_values():
    run_error("MelWeightMatrix", [("a", np.array(0, I64)), ("b", np.array(16, I64)), ("c", np.array(8000, I64)),
                                  ("d", np.array(0, F32)), ("e", np.array(4000, F32))], [("y", TensorProto.FLOAT)], 17)


# ---- TfIdfVectorizer

POOL = dict(ngram_counts=[0, 4], ngram_indexes=[0, 1, 2, 3, 4, 5, 6],
            pool_int64s=[2, 3, 5, 4, 5, 6, 7, 8, 6, 7])  # unigrams 2 3 5 4, bigrams (5,6) (7,8) (6,7)


@pytest.mark.parametrize("since,opset", schema_revisions("TfIdfVectorizer"))
@pytest.mark.parametrize("itype", [I32, I64], ids=lambda t: np.dtype(t).name)
def test_tfidf(since, opset, itype):
    x2 = np.array([[1, 1, 3, 3, 3, 7], [8, 6, 7, 5, 6, 8]], itype)
    x1 = np.array([1, 1, 3, 3, 3, 7, 8, 6, 7, 5, 6, 8, 5, 6, 2, 4], itype)
    for mode in ["TF", "IDF", "TFIDF"]:
        for weights in [None, [0.5, 1.0, 2.0, 3.0, 4.0, 0.25, 1.5]]:
            for mn, mx, skip in [(1, 1, 0), (1, 2, 0), (2, 2, 0), (1, 2, 3), (2, 2, 5)]:
                attrs = dict(POOL, mode=mode, min_gram_length=mn, max_gram_length=mx, max_skip_count=skip)
                if weights:
                    attrs["weights"] = weights
                for x in [x1, x2, np.zeros((0,), itype)]:
                    both("TfIdfVectorizer", [("x", x)], [("y", TensorProto.FLOAT)], opset, attrs)
    # duplicate output indexes add up; an empty unigram level
    attrs = dict(ngram_counts=[0, 0], ngram_indexes=[0, 0, 1], pool_int64s=[5, 6, 7, 8, 6, 7], mode="TF",
                 min_gram_length=2, max_gram_length=2, max_skip_count=0)
    both("TfIdfVectorizer", [("x", x1)], [("y", TensorProto.FLOAT)], opset, attrs)


def test_tfidf_not_claimed():
    x = np.array([1, 2], I64)
    base = dict(POOL, min_gram_length=1, max_gram_length=2, max_skip_count=0)
    not_claimed("TfIdfVectorizer", [("x", x)], [("y", TensorProto.FLOAT)], 9, dict(base, mode="BM25"))
    not_claimed("TfIdfVectorizer", [("x", x)], [("y", TensorProto.FLOAT)], 9,
                dict(base, mode="TF", min_gram_length=3, max_gram_length=2))
    not_claimed("TfIdfVectorizer", [("x", x)], [("y", TensorProto.FLOAT)], 9,
                dict(base, mode="TF", max_gram_length=3))  # more levels than ngram_counts has
    not_claimed("TfIdfVectorizer", [("x", np.ones((1, 2, 2), I64))], [("y", TensorProto.FLOAT)], 9,
                dict(base, mode="TF"))


# ---- TensorScatter

@pytest.mark.parametrize("since,opset", schema_revisions("TensorScatter"))
@pytest.mark.parametrize("dtype", [F32, np.float16, I64, np.int8, np.bool_], ids=lambda t: np.dtype(t).name)
def test_tensor_scatter(since, opset, dtype):
    r = rng(8)
    def arr(shape):
        v = r.integers(0, 2 if dtype == np.bool_ else 100, shape)
        return v.astype(dtype)
    t = onnx_type(dtype)
    past, upd = arr((2, 3, 8, 4)), arr((2, 3, 3, 4))
    for mode, idx in [("linear", [0, 5]), ("circular", [6, 7]), ("linear", None)]:
        ins = [("p", past), ("u", upd), ("w", None if idx is None else np.array(idx, I64))]
        both("TensorScatter", ins, [("y", t)], opset, {"mode": mode}, exact=True)
    # another axis (negative counted from the end), a 3-D cache
    both("TensorScatter", [("p", arr((2, 6, 5))), ("u", arr((2, 2, 5))), ("w", np.array([1, 4], I64))], [("y", t)],
         opset, {"axis": 1}, exact=True)
    both("TensorScatter", [("p", arr((2, 4, 6))), ("u", arr((2, 4, 3))), ("w", np.array([5, 0], I64))], [("y", t)],
         opset, {"axis": -1, "mode": "circular"}, exact=True)
    both("TensorScatter", [("p", arr((2, 4, 6))), ("u", arr((2, 4, 0))), ("w", np.array([5, 0], I64))], [("y", t)],
         opset, {"axis": -1}, exact=True)


def test_tensor_scatter_errors():
    past, upd = np.zeros((2, 8, 4), F32), np.ones((2, 3, 4), F32)
    run_error("TensorScatter", [("p", past), ("u", upd), ("w", np.array([0, 6], I64))], [("y", TensorProto.FLOAT)], 24,
              match="does not fit")
    run_error("TensorScatter", [("p", past), ("u", upd), ("w", np.array([-1, 0], I64))], [("y", TensorProto.FLOAT)],
              24, match="write index")
    not_claimed("TensorScatter", [("p", past), ("u", upd)], [("y", TensorProto.FLOAT)], 24, {"axis": 0})
    not_claimed("TensorScatter", [("p", past), ("u", upd)], [("y", TensorProto.FLOAT)], 24, {"mode": "ring"})


# ---- BatchNormalization, training_mode=1 (the kernel is src/kernels/nn/batchnorm.cc)

@pytest.mark.parametrize("since,opset", schema_revisions("BatchNormalization", first_opset=14))
def test_batchnorm_training_mode(since, opset):
    r = rng(9)
    for shape in [(2, 3, 4, 5), (4, 3), (1, 2, 7), (0, 3, 2)]:
        c = shape[1]
        x = (r.standard_normal(shape) * 3 + 1).astype(F32)
        s, b = r.uniform(0.5, 1.5, c).astype(F32), r.standard_normal(c).astype(F32)
        m, v = r.standard_normal(c).astype(F32), r.uniform(0.5, 2, c).astype(F32)
        ins = [("x", x), ("s", s), ("b", b), ("m", m), ("v", v)]
        if shape[0] == 0:
            continue  # ORT's CPU EP divides by the empty batch
        for outs in [[("y", TensorProto.FLOAT), ("rm", TensorProto.FLOAT), ("rv", TensorProto.FLOAT)]]:
            both("BatchNormalization", ins, outs, opset, {"training_mode": 1, "momentum": 0.7, "epsilon": 1e-3},
                 rtol=1e-4, atol=1e-5)
        both("BatchNormalization", ins, [("y", TensorProto.FLOAT), ("rm", TensorProto.FLOAT),
                                         ("rv", TensorProto.FLOAT)], opset, {"training_mode": 1},
             initializers={"s": s, "b": b, "m": m, "v": v}, rtol=1e-4, atol=1e-5)
