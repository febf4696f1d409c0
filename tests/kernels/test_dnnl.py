"""Conv, ConvTranspose, MatMul and Gemm on Anvil's oneDNN kernels, against numpy references
(float64 accumulation) and, for ConvTranspose corner cases, ORT's CPU EP.

Tolerance: float32 sums of up to a few thousand products of O(1) values. oneDNN accumulates in
float32 in a blocked order, so the rounding error grows like sqrt(terms) * 2^-24 * |partial sums|:
for ~2000 terms of magnitude ~1 that is ~1e-5 absolute on results of magnitude ~10-50. rtol=1e-4
and atol=1e-4 leave a margin of ~10x while still catching any real indexing, padding or layout
error (those produce O(1) differences)."""
import os
import pathlib

import numpy as np
import onnx
import pytest
from onnx import helper

from anvil_testing import (anvil_devices, check_node, make_node_model, run_cpu, schema_revisions, session)
import onnxruntime as ort

RTOL = 1e-4
ATOL = 1e-4

rng = np.random.default_rng(1234)



from anvil_testing import both_layouts as layout  # noqa: E402,F401 - a fixture, used below

pytestmark = pytest.mark.usefixtures("layout")  # every case in both layouts


def f32(*shape):
    return rng.standard_normal(shape).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# numpy references


def conv_pads(in_sizes, kernel, strides, dilations, auto_pad, pads):
    """Begin/end pads per the ONNX Conv spec."""
    nsp = len(in_sizes)
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        begin, end = [], []
        for i in range(nsp):
            out = -(-in_sizes[i] // strides[i])
            total = max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - in_sizes[i])
            small, big = total // 2, total - total // 2
            begin.append(small if auto_pad == "SAME_UPPER" else big)
            end.append(big if auto_pad == "SAME_UPPER" else small)
        return begin + end
    if auto_pad == "VALID":
        return [0] * (2 * nsp)
    return list(pads) if pads is not None else [0] * (2 * nsp)


def conv_ref(x, w, b=None, strides=None, pads=None, dilations=None, group=1, auto_pad="NOTSET"):
    nsp = x.ndim - 2
    strides = strides or [1] * nsp
    dilations = dilations or [1] * nsp
    k = w.shape[2:]
    pads = conv_pads(x.shape[2:], k, strides, dilations, auto_pad, pads)
    n, c = x.shape[:2]
    m = w.shape[0]
    xp = np.pad(x.astype(np.float64), [(0, 0), (0, 0)] + [(pads[i], pads[i + nsp]) for i in range(nsp)])
    out = [(xp.shape[2 + i] - ((k[i] - 1) * dilations[i] + 1)) // strides[i] + 1 for i in range(nsp)]
    g, cg, mg = group, c // group, m // group
    y = np.zeros((n, g, mg) + tuple(out))
    wg = w.astype(np.float64).reshape((g, mg, cg) + tuple(k))
    for kpos in np.ndindex(*k):
        sl = tuple(slice(kpos[i] * dilations[i], kpos[i] * dilations[i] + (out[i] - 1) * strides[i] + 1, strides[i])
                   for i in range(nsp))
        patch = xp[(slice(None), slice(None)) + sl].reshape((n, g, cg) + tuple(out))
        y += np.einsum("ngc...,gmc->ngm...", patch, wg[(slice(None),) * 3 + kpos])
    y = y.reshape((n, m) + tuple(out))
    if b is not None:
        y += b.reshape((1, m) + (1,) * nsp)
    return y.astype(np.float32)


def conv_transpose_ref(x, w, b=None, strides=None, pads=None, dilations=None, group=1, output_padding=None,
                       output_shape=None, auto_pad="NOTSET"):
    """ONNX ConvTranspose: scatter every input pixel into the full output, then cut the pads."""
    nsp = x.ndim - 2
    strides = strides or [1] * nsp
    dilations = dilations or [1] * nsp
    output_padding = output_padding or [0] * nsp
    n, c = x.shape[:2]
    g, cg, mg = group, c // group, w.shape[1]
    k, ins = w.shape[2:], x.shape[2:]
    full = [strides[i] * (ins[i] - 1) + (k[i] - 1) * dilations[i] + 1 for i in range(nsp)]
    yf = np.zeros((n, g, mg) + tuple(full))
    xg = x.astype(np.float64).reshape((n, g, cg) + tuple(ins))
    wg = w.astype(np.float64).reshape((g, cg, mg) + tuple(k))
    for kpos in np.ndindex(*k):
        sl = tuple(slice(kpos[i] * dilations[i], kpos[i] * dilations[i] + (ins[i] - 1) * strides[i] + 1, strides[i])
                   for i in range(nsp))
        yf[(slice(None),) * 3 + sl] += np.einsum("ngc...,gcm->ngm...", xg, wg[(slice(None),) * 3 + kpos])
    begin, out = [], []
    for i in range(nsp):
        natural = full[i] + output_padding[i]
        if output_shape is not None or auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            o = output_shape[i] if output_shape is not None else ins[i] * strides[i]
            total = natural - o
            begin.append(total // 2 if auto_pad == "SAME_UPPER" else total - total // 2)
            out.append(o)
        elif auto_pad == "VALID":
            begin.append(0)
            out.append(natural)
        else:
            p = pads or [0] * (2 * nsp)
            begin.append(p[i])
            out.append(natural - p[i] - p[i + nsp])
    y = np.zeros((n, g * mg) + tuple(out))
    src = yf.reshape((n, g * mg) + tuple(full))
    # y[o] = full[o + begin] where that index exists, else 0
    dst_sl, src_sl = [], []
    for i in range(nsp):
        lo = max(0, -begin[i])
        hi = min(out[i], full[i] - begin[i])
        dst_sl.append(slice(lo, max(lo, hi)))
        src_sl.append(slice(lo + begin[i], max(lo, hi) + begin[i]))
    y[(slice(None), slice(None)) + tuple(dst_sl)] = src[(slice(None), slice(None)) + tuple(src_sl)]
    if b is not None:
        y += b.reshape((1, -1) + (1,) * nsp)
    return y.astype(np.float32)


def matmul_ref(a, b):
    return np.matmul(a.astype(np.float64), b.astype(np.float64)).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# helpers


def run_conv(x, w, b=None, packed=True, opset=17, op="Conv", reference=None, **attrs):
    inputs = [("X", x), ("W", w)] + ([("B", b)] if b is not None else [])
    inits = {"W": w} if packed else {}
    attrs = {k: v for k, v in attrs.items() if v is not None}
    if reference is None:
        ref_fn = conv_ref if op == "Conv" else conv_transpose_ref
        ref_attrs = dict(attrs)
        ref_attrs.pop("kernel_shape", None)
        reference = [ref_fn(x, w, b, **ref_attrs)]
    elif isinstance(reference, str):  # "cpu": ORT's CPU EP
        reference = None
    return check_node(op, inputs, ["Y"], opset, attrs=attrs, initializers=inits, reference=reference,
                      rtol=RTOL, atol=ATOL)


def anvil_session(model, config=None, threads=None):
    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.add_session_config_entry("session.disable_cpu_ep_fallback", "1")
    for k, v in (config or {}).items():
        so.add_session_config_entry(k, v)
    so.add_provider_for_devices(anvil_devices(), {"threads": str(threads)} if threads else {})
    return ort.InferenceSession(model.SerializeToString(), so)


def make_dynamic(model, input_name, dims):
    """Replaces the dims of graph input `input_name` by symbolic dims where `dims` has a string."""
    for vi in model.graph.input:
        if vi.name == input_name:
            for d, v in zip(vi.type.tensor_type.shape.dim, dims):
                if isinstance(v, str):
                    d.Clear()
                    d.dim_param = v
    return model


# ---------------------------------------------------------------------------------------------
# Conv


@pytest.mark.parametrize("since,opset", schema_revisions("Conv"))
def test_conv_schema_revisions(since, opset):
    x, w, b = f32(1, 4, 6, 7), f32(6, 4, 3, 3), f32(6)
    run_conv(x, w, b, opset=opset, pads=[1, 1, 1, 1])
    run_conv(x, w, None, packed=False, opset=opset, strides=[2, 2])


# (C, M, H, W, kernel, strides, group, pads): PaddleOCR's convolution configurations.
PADDLE_CONVS = [
    (3, 8, 32, 32, (3, 3), (2, 2), 1, [1, 1, 1, 1]),       # stem
    (16, 24, 9, 11, (1, 1), (1, 1), 1, [0, 0, 0, 0]),      # pointwise
    (24, 24, 9, 11, (3, 3), (1, 1), 24, [1, 1, 1, 1]),     # depthwise 3x3
    (24, 24, 9, 11, (3, 3), (2, 2), 24, [1, 1, 1, 1]),     # depthwise 3x3 stride 2
    (40, 40, 10, 12, (5, 5), (1, 1), 40, [2, 2, 2, 2]),    # depthwise 5x5
    (40, 40, 10, 12, (5, 5), (2, 2), 40, [2, 2, 2, 2]),    # depthwise 5x5 stride 2
    (480, 480, 5, 7, (3, 3), (1, 1), 480, [1, 1, 1, 1]),   # depthwise, 480 groups
    (480, 480, 5, 7, (5, 5), (1, 1), 480, [2, 2, 2, 2]),
    (16, 32, 8, 20, (3, 3), (2, 1), 1, [1, 1, 1, 1]),      # recognition: stride (2,1)
    (32, 32, 8, 20, (3, 3), (2, 1), 32, [1, 1, 1, 1]),
    (16, 16, 8, 20, (3, 3), (1, 2), 1, [1, 1, 1, 1]),      # stride (1,2)
    (16, 24, 6, 20, (1, 3), (1, 1), 1, [0, 1, 0, 1]),      # 1x3 kernel
    (8, 16, 9, 9, (3, 3), (2, 2), 1, [0, 0, 1, 1]),        # asymmetric pads
    (8, 16, 9, 10, (2, 2), (2, 2), 1, [0, 1, 0, 1]),       # asymmetric pads (0,1,0,1)
    (64, 16, 7, 9, (1, 1), (2, 2), 1, [0, 0, 0, 0]),       # 1x1 stride 2
    (12, 12, 7, 9, (3, 3), (1, 1), 3, [1, 1, 1, 1]),       # grouped, not depthwise
]


@pytest.mark.parametrize("cfg", PADDLE_CONVS, ids=[f"c{c[0]}m{c[1]}k{c[4]}s{c[5]}g{c[6]}p{c[7]}" for c in PADDLE_CONVS])
@pytest.mark.parametrize("packed", [True, False], ids=["packed", "input"])
def test_conv_paddle_configs(cfg, packed):
    c, m, h, wd, k, s, g, pads = cfg
    x, w, b = f32(2, c, h, wd), f32(m, c // g, *k), f32(m)
    run_conv(x, w, b if packed else None, packed=packed, strides=list(s), group=g, pads=pads,
             kernel_shape=list(k) if packed else None)


@pytest.mark.parametrize("auto_pad", ["NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"])
@pytest.mark.parametrize("strides,dilations", [([1, 1], [1, 1]), ([2, 2], [1, 1]), ([2, 1], [2, 2]), ([1, 3], [1, 2])])
def test_conv_auto_pad(auto_pad, strides, dilations):
    x, w, b = f32(1, 5, 11, 12), f32(7, 5, 3, 4), f32(7)
    pads = [1, 0, 2, 1] if auto_pad == "NOTSET" else None
    run_conv(x, w, b, strides=strides, dilations=dilations, auto_pad=auto_pad, pads=pads)


@pytest.mark.parametrize("n", [0, 1, 2, 3])
@pytest.mark.parametrize("c", [1, 3, 7, 17])
def test_conv_batch_and_channels(n, c):
    x, w, b = f32(n, c, 5, 7), f32(5, c, 3, 3), f32(5)
    y = run_conv(x, w, b, pads=[1, 1, 1, 1])[0]
    assert y.shape == (n, 5, 5, 7)
    run_conv(x, w, None, packed=False, strides=[2, 2])


@pytest.mark.parametrize("hw", [(1, 1), (5, 7), (33, 17)])
@pytest.mark.parametrize("k,group", [((1, 1), 1), ((3, 3), 1), ((3, 3), 17)])
def test_conv_spatial_sizes(hw, k, group):
    x, w, b = f32(2, 17, *hw), f32(17, 17 // group, *k), f32(17)
    run_conv(x, w, b, group=group, pads=[k[0] // 2, k[1] // 2] * 2)


def test_conv_1d_and_3d():
    run_conv(f32(2, 3, 17), f32(5, 3, 3), f32(5), strides=[2], pads=[1, 0], dilations=[2])
    run_conv(f32(2, 6, 9), f32(6, 1, 5), None, group=6, auto_pad="SAME_UPPER")
    run_conv(f32(2, 4, 5, 6, 7), f32(6, 2, 3, 3, 3), f32(6), group=2, pads=[1, 0, 1, 1, 1, 0], strides=[1, 2, 1])
    run_conv(f32(1, 4, 5, 6, 7), f32(6, 4, 1, 1, 1), None, packed=False)


def test_conv_kernel_shape_absent_and_large_sum():
    # C*kh*kw = 3200 terms per output: the tolerance holds for sums of a few thousand terms.
    x, w = f32(1, 128, 8, 8), f32(16, 128, 5, 5)
    run_conv(x, w, None, pads=[2, 2, 2, 2])


def test_conv_bias_matters():
    # A kernel that ignored the bias would fail here.
    x, w, b = f32(1, 3, 4, 4), f32(4, 3, 1, 1), np.array([100, -50, 3, 0], np.float32)
    y = run_conv(x, w, b)[0]
    assert abs(float(y[0, 0].mean()) - 100) < 10


def test_conv_rejects_unsupported():
    # Double is not claimed: session creation fails with CPU fallback disabled.
    x, w = rng.standard_normal((1, 2, 4, 4)), rng.standard_normal((2, 2, 3, 3))
    model = make_node_model("Conv", [("X", x), ("W", w)], ["Y"], 17)
    with pytest.raises(Exception):
        anvil_session(model)


def test_conv_dynamic_shapes_reuse_packed_weights():
    # Packed for a nominal shape; run at several actual shapes (plans per shape, weight reorders
    # from the packed layout when the actual primitive prefers another one).
    w, b = f32(16, 8, 3, 3), f32(16)
    x0 = f32(1, 8, 10, 10)
    for attrs in (dict(pads=[1, 1, 1, 1]), dict(pads=[0, 1, 0, 1], strides=[2, 2])):
        model = make_node_model("Conv", [("X", x0), ("W", w), ("B", b)], ["Y"], 17, attrs, {"W": w, "B": b})
        model = make_dynamic(model, "X", ["N", 8, "H", "W"])
        sess = anvil_session(model)
        for shape in [(1, 8, 10, 10), (3, 8, 3, 3), (2, 8, 33, 17), (1, 8, 64, 64), (0, 8, 5, 5), (1, 8, 10, 10)]:
            x = f32(*shape)
            got = sess.run(None, {"X": x})[0]
            np.testing.assert_allclose(got, conv_ref(x, w, b, **attrs), rtol=RTOL, atol=ATOL)


# ---------------------------------------------------------------------------------------------
# ConvTranspose


@pytest.mark.parametrize("since,opset", schema_revisions("ConvTranspose"))
def test_conv_transpose_schema_revisions(since, opset):
    x, w, b = f32(1, 4, 5, 6), f32(4, 3, 2, 2), f32(3)
    run_conv(x, w, b, opset=opset, op="ConvTranspose", strides=[2, 2])
    run_conv(x, w, None, packed=False, opset=opset, op="ConvTranspose", pads=[1, 0, 0, 1])


@pytest.mark.parametrize("n", [0, 1, 3])
@pytest.mark.parametrize("packed", [True, False])
def test_conv_transpose_paddle(n, packed):
    # PaddleOCR's DB neck/head: 2x2 stride 2 with bias.
    x, w, b = f32(n, 24, 9, 11), f32(24, 6, 2, 2), f32(6)
    run_conv(x, w, b, packed=packed, op="ConvTranspose", strides=[2, 2], kernel_shape=[2, 2])


# Kernel == stride, no padding: Anvil runs these as one matrix product and a scatter of the patches.
@pytest.mark.parametrize("x_shape,w_shape,strides", [
    ((2, 3, 7), (3, 4, 3), [3]),               # 1-D, kernel 3
    ((1, 5, 4, 6), (5, 2, 3, 2), [3, 2]),      # 2-D, unequal kernel
    ((2, 2, 3, 2, 4), (2, 3, 2, 1, 2), [2, 1, 2]),  # 3-D
    ((1, 4, 5, 6), (4, 3, 1, 1), [1, 1]),      # 1x1: a plain channel mix
    ((2, 24, 5, 7), (24, 1, 2, 2), [2, 2]),    # one output channel (PaddleOCR det's last layer): channels-last too
    ((1, 3, 2, 3, 4), (3, 1, 2, 1, 2), [2, 1, 2]),  # 3-D, one output channel
])
@pytest.mark.parametrize("packed", [True, False])
def test_conv_transpose_as_patch_scatter(x_shape, w_shape, strides, packed):
    x, w = f32(*x_shape), f32(*w_shape)
    run_conv(x, w, f32(w_shape[1]), packed=packed, op="ConvTranspose", strides=strides)
    run_conv(x, w, None, packed=packed, op="ConvTranspose", strides=strides, auto_pad="VALID")


CONVT_CASES = [
    dict(strides=[2, 2], pads=[1, 1, 1, 1]),
    dict(strides=[2, 3], pads=[0, 1, 2, 0], dilations=[2, 1]),
    dict(strides=[2, 2], output_padding=[1, 1]),
    dict(strides=[3, 2], output_padding=[2, 1], pads=[1, 0, 0, 0]),  # output padding past the pads
    dict(strides=[2, 2], group=2),
    dict(strides=[1, 1], group=4, pads=[1, 1, 1, 1]),
    dict(strides=[2, 2], output_shape=[10, 12]),
    dict(strides=[2, 2], output_shape=[13, 15]),  # larger than natural: zero/bias border (ORT's CPU EP refuses)
    dict(strides=[2, 2], auto_pad="SAME_UPPER"),
    dict(strides=[2, 2], auto_pad="SAME_LOWER"),
    dict(strides=[3, 3], auto_pad="SAME_UPPER"),
    dict(strides=[2, 2], auto_pad="VALID", output_padding=[1, 0]),
]


@pytest.mark.parametrize("attrs", CONVT_CASES, ids=[str(i) for i in range(len(CONVT_CASES))])
@pytest.mark.parametrize("with_bias", [True, False])
def test_conv_transpose_corner_cases(attrs, with_bias):
    g = attrs.get("group", 1)
    x, w, b = f32(2, 4, 5, 6), f32(4, 6 // g if g > 1 else 3, 3, 3), None
    m = w.shape[1] * g
    b = f32(m) if with_bias else None
    if "SAME" not in attrs.get("auto_pad", ""):
        run_conv(x, w, b, op="ConvTranspose", **attrs)  # numpy reference, per the ONNX spec
    if attrs.get("output_shape") != [13, 15]:
        run_conv(x, w, b, op="ConvTranspose", reference="cpu", **attrs)  # ORT's CPU EP


def test_conv_transpose_1d():
    run_conv(f32(2, 3, 7), f32(3, 4, 3), f32(4), op="ConvTranspose", strides=[2], pads=[1, 0])


# ---------------------------------------------------------------------------------------------
# MatMul


def run_matmul(a, b, packed=False, opset=13):
    return check_node("MatMul", [("A", a), ("B", b)], ["Y"], opset, initializers={"B": b} if packed else {},
                      reference=[matmul_ref(a, b)], rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("since,opset", schema_revisions("MatMul"))
def test_matmul_schema_revisions(since, opset):
    run_matmul(f32(3, 5), f32(5, 4), opset=opset)
    run_matmul(f32(2, 3, 5), f32(5, 4), packed=True, opset=opset)


MATMUL_SHAPES = [
    ((5,), (5, 4)),            # 1-D x 2-D
    ((3, 5), (5,)),            # 2-D x 1-D
    ((5,), (5,)),              # 1-D x 1-D
    ((2, 3, 5), (5,)),
    ((7,), (2, 7, 3)),
    ((2, 1, 3, 5), (4, 5, 6)),  # batch broadcasting both ways
    ((1, 3, 5), (4, 5, 6)),
    ((4, 3, 5), (1, 5, 6)),
    ((2, 3, 4, 1), (1, 3, 1, 5)),  # K = 1
    ((6, 1), (1, 9)),
    ((2, 4, 8, 16), (2, 4, 16, 8)),  # attention scores [B,H,T,D] x [B,H,D,T]
    ((0, 3, 5), (5, 4)),         # empty batch
    ((2, 0, 5), (2, 5, 4)),
    ((3, 0), (0, 4)),            # K = 0: zeros
]


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES, ids=[f"{a}x{b}" for a, b in MATMUL_SHAPES])
def test_matmul_shapes(sa, sb):
    run_matmul(f32(*sa), f32(*sb))
    if len(sb) == 2 and 0 not in sb:
        run_matmul(f32(*sa), f32(*sb), packed=True)


@pytest.mark.parametrize("n,t,c,k", [(1, 80, 120, 97), (3, 25, 64, 17), (2, 1, 7, 3), (1, 40, 1, 5)])
def test_matmul_constant_weights(n, t, c, k):
    # PaddleOCR: [N,T,C] x constant [C,K], with a dynamic N and T (packed for a nominal shape).
    b = f32(c, k)
    model = make_node_model("MatMul", [("A", f32(n, t, c)), ("B", b)], ["Y"], 13, initializers={"B": b})
    model = make_dynamic(model, "A", ["N", "T", c])
    sess = anvil_session(model)
    for shape in [(n, t, c), (1, 1, c), (2, 3 * t + 1, c), (0, t, c)]:
        a = f32(*shape)
        np.testing.assert_allclose(sess.run(None, {"A": a})[0], matmul_ref(a, b), rtol=RTOL, atol=ATOL)


# ---------------------------------------------------------------------------------------------
# Gemm


def gemm_ref(a, b, c, trans_a, trans_b, alpha, beta):
    a64 = a.astype(np.float64).T if trans_a else a.astype(np.float64)
    b64 = b.astype(np.float64).T if trans_b else b.astype(np.float64)
    y = alpha * a64 @ b64
    if c is not None:
        y = y + beta * c.astype(np.float64)
    return y.astype(np.float32)


@pytest.mark.parametrize("since,opset", schema_revisions("Gemm"))
def test_gemm_schema_revisions(since, opset):
    a, b, c = f32(3, 5), f32(5, 4), f32(3, 4)
    check_node("Gemm", [("A", a), ("B", b), ("C", c)], ["Y"], opset, attrs=dict(alpha=0.5, beta=2.0),
               reference=[gemm_ref(a, b, c, 0, 0, 0.5, 2.0)], rtol=RTOL, atol=ATOL)
    check_node("Gemm", [("A", a), ("B", b), ("C", c)], ["Y"], opset, initializers={"B": b},
               reference=[gemm_ref(a, b, c, 0, 0, 1.0, 1.0)], rtol=RTOL, atol=ATOL)


C_SHAPES = [None, (), (1,), (4,), (1, 4), (3, 1), (3, 4), (1, 1)]


@pytest.mark.parametrize("trans_a", [0, 1])
@pytest.mark.parametrize("trans_b", [0, 1])
@pytest.mark.parametrize("alpha,beta", [(1.0, 1.0), (0.5, 1.0), (1.0, -2.0), (2.0, 0.0)])
@pytest.mark.parametrize("c_shape", C_SHAPES, ids=[str(s) for s in C_SHAPES])
def test_gemm_combinations(trans_a, trans_b, alpha, beta, c_shape):
    m, k, n = 3, 6, 4
    a = f32(k, m) if trans_a else f32(m, k)
    b = f32(n, k) if trans_b else f32(k, n)
    c = None if c_shape is None else f32(*c_shape)
    inputs = [("A", a), ("B", b)] + ([("C", c)] if c is not None else [])
    attrs = dict(transA=trans_a, transB=trans_b, alpha=alpha, beta=beta)
    ref = [gemm_ref(a, b, c, trans_a, trans_b, alpha, beta)]
    packed = (trans_a + trans_b + len(c_shape or ())) % 2 == 0  # alternate packed / plain B
    check_node("Gemm", inputs, ["Y"], 13, attrs=attrs, initializers={"B": b} if packed else {}, reference=ref,
               rtol=RTOL, atol=ATOL)


# A single row times a constant B runs Anvil's GEMV over oneDNN's packed panels (no primitive).
ROW_SHAPES = [(1, 1), (3, 1), (16, 24), (100, 25), (1536, 128), (128, 130), (7, 300)]


@pytest.mark.parametrize("k,n", ROW_SHAPES, ids=[f"k{k}_n{n}" for k, n in ROW_SHAPES])
@pytest.mark.parametrize("a_shape", ["row", "vector", "batch1"])
def test_matmul_one_row_times_constant_b(capfd, k, n, a_shape):
    b = f32(k, n)
    a = {"row": f32(1, k), "vector": f32(k), "batch1": f32(1, 1, k)}[a_shape]
    model = make_node_model("MatMul", [("A", a), ("B", b)], ["Y"], 13, initializers={"B": b})
    got = session(model, options={"log": "dispatch"}).run(None, {"A": a})[0]
    np.testing.assert_allclose(got, matmul_ref(a, b), rtol=RTOL, atol=ATOL)
    assert got.shape == matmul_ref(a, b).shape
    assert "anvil:gemv" in capfd.readouterr().err


@pytest.mark.parametrize("trans_a,trans_b", [(0, 0), (0, 1), (1, 1)])
@pytest.mark.parametrize("alpha,beta,c_shape", [(1.0, 1.0, (24,)), (0.5, 2.0, (1, 24)), (1.0, 1.0, ()),
                                                (2.0, 0.0, (24,)), (1.0, 1.0, None)])
def test_gemm_one_row_times_constant_b(capfd, trans_a, trans_b, alpha, beta, c_shape):
    k, n = 40, 24
    a = f32(k, 1) if trans_a else f32(1, k)
    b = f32(n, k) if trans_b else f32(k, n)
    c = None if c_shape is None else f32(*c_shape)
    inputs = [("A", a), ("B", b)] + ([("C", c)] if c is not None else [])
    model = make_node_model("Gemm", inputs, ["Y"], 13, dict(transA=trans_a, transB=trans_b, alpha=alpha, beta=beta),
                            {"B": b})
    got = session(model, options={"log": "dispatch"}).run(None, {"A": a} | ({"C": c} if c is not None else {}))[0]
    np.testing.assert_allclose(got, gemm_ref(a, b, c, trans_a, trans_b, alpha, beta), rtol=RTOL, atol=ATOL)
    assert "Gemm: anvil:gemv" in capfd.readouterr().err


def test_gemm_one_row_with_a_fused_tail_and_nan():
    # openWakeWord's last layer: Gemm + Sigmoid, the tail in Anvil's pass after the GEMV; a NaN in
    # the row makes every output NaN, as on ORT's CPU EP.
    k, n = 128, 3
    b, c = f32(n, k), f32(n)
    nodes = [helper.make_node("Gemm", ["A", "B", "C"], ["G"], transB=1), helper.make_node("Sigmoid", ["G"], ["Y"])]
    graph = helper.make_graph(nodes, "gemm_sigmoid", [helper.make_tensor_value_info("A", onnx.TensorProto.FLOAT, [1, k])],
                              [helper.make_tensor_value_info("Y", onnx.TensorProto.FLOAT, None)],
                              [onnx.numpy_helper.from_array(b, "B"), onnx.numpy_helper.from_array(c, "C")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    sess = session(model)
    for a in (f32(1, k), np.full((1, k), np.nan, np.float32)):
        want = run_cpu(model, [("A", a)])[0]
        np.testing.assert_allclose(sess.run(None, {"A": a})[0], want, rtol=RTOL, atol=ATOL)


# The GEMV takes C and a first Relu or Clip of the tail in registers (the store), the rest of the
# tail in Anvil's pass: results as ORT's CPU EP gives, NaN and infinities included, full and
# partial panels (n 24, 128, 130), and the dispatch log says how many steps ran in registers.
ROW_TAILS = {
    "relu": ([("Relu", [], {})], 1),
    "clip": ([("Clip", [-0.25, 0.5], {})], 1),
    "clip_one_bound": ([("Clip", [None, 0.5], {})], 1),
    "leaky": ([("LeakyRelu", [], {"alpha": 0.1})], 0),
    "relu_then_mul": ([("Relu", [], {}), ("Mul", [1.5], {})], 1),
    "sigmoid_then_relu": ([("Sigmoid", [], {}), ("Relu", [], {})], 0),
}


@pytest.mark.parametrize("op", ["Gemm", "MatMul"])
@pytest.mark.parametrize("n", [24, 128, 130])
@pytest.mark.parametrize("tail", list(ROW_TAILS))
def test_one_row_tail_in_registers(capfd, op, n, tail):
    k = 70
    steps, in_registers = ROW_TAILS[tail]
    b = f32(n, k) if op == "Gemm" else f32(k, n)
    inits = [onnx.numpy_helper.from_array(b, "B")]
    ins = ["A", "B"]
    attrs = {}
    if op == "Gemm":
        inits.append(onnx.numpy_helper.from_array(f32(n), "C"))
        ins.append("C")
        attrs = dict(transB=1, alpha=0.75, beta=1.5)
    nodes = [helper.make_node(op, ins, ["t0"], **attrs)]
    for i, (step, consts, step_attrs) in enumerate(steps):
        names = []
        for j, v in enumerate(consts):
            if v is None:
                names.append("")
                continue
            names.append(f"c{i}_{j}")
            inits.append(onnx.numpy_helper.from_array(np.array(v, np.float32), names[-1]))
        out = "Y" if i == len(steps) - 1 else f"t{i + 1}"
        nodes.append(helper.make_node(step, [f"t{i}"] + names, [out], **step_attrs))
    graph = helper.make_graph(nodes, "row_tail", [helper.make_tensor_value_info("A", onnx.TensorProto.FLOAT, [1, k])],
                              [helper.make_tensor_value_info("Y", onnx.TensorProto.FLOAT, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    sess = session(model, options={"log": "dispatch"})
    special = f32(1, k)
    special[0, 3] = np.nan  # every output NaN
    rows = [f32(1, k) * 4, -f32(1, k) * 4, special, np.full((1, k), np.inf, np.float32)]
    for a in rows:
        want = run_cpu(model, [("A", a)])[0]
        np.testing.assert_allclose(sess.run(None, {"A": a})[0], want, rtol=RTOL, atol=ATOL)
    log = capfd.readouterr().err
    assert f"{op}: anvil:gemv" in log
    assert f"fused tail of {len(steps)} steps: {in_registers} in registers" in log, log


def test_gemm_empty_and_k1():
    a, b, c = f32(0, 5), f32(5, 4), f32(4)
    check_node("Gemm", [("A", a), ("B", b), ("C", c)], ["Y"], 13, initializers={"B": b},
               reference=[np.zeros((0, 4), np.float32)])
    a, b, c = f32(3, 1), f32(1, 4), f32(3, 4)
    check_node("Gemm", [("A", a), ("B", b), ("C", c)], ["Y"], 13, attrs=dict(beta=0.5),
               reference=[gemm_ref(a, b, c, 0, 0, 1.0, 0.5)], rtol=RTOL, atol=ATOL)


# ---------------------------------------------------------------------------------------------
# Pre-packing off and several threads give the same results


def _models():
    """(model, feeds, numpy reference or None for ORT's CPU EP), all weights initializers."""
    x, w, b = f32(2, 24, 13, 17), f32(24, 1, 3, 3), f32(24)
    yield (make_node_model("Conv", [("X", x), ("W", w), ("B", b)], ["Y"], 17, dict(group=24, pads=[1, 1, 1, 1]),
                           {"W": w, "B": b}), {"X": x}, conv_ref(x, w, b, group=24, pads=[1, 1, 1, 1]))
    w2 = f32(32, 24, 3, 3)
    yield (make_node_model("Conv", [("X", x), ("W", w2)], ["Y"], 17, dict(strides=[2, 1], pads=[0, 1, 0, 1]),
                           {"W": w2}), {"X": x}, conv_ref(x, w2, strides=[2, 1], pads=[0, 1, 0, 1]))
    w3, b3 = f32(24, 8, 2, 2), f32(8)
    yield (make_node_model("ConvTranspose", [("X", x), ("W", w3), ("B", b3)], ["Y"], 17, dict(strides=[2, 2]),
                           {"W": w3}), {"X": x, "B": b3}, None)
    a, bm = f32(2, 30, 40), f32(40, 50)
    yield make_node_model("MatMul", [("A", a), ("B", bm)], ["Y"], 13, {}, {"B": bm}), {"A": a}, matmul_ref(a, bm)
    ga, gb, gc = f32(20, 40), f32(30, 40), f32(30)
    yield (make_node_model("Gemm", [("A", ga), ("B", gb), ("C", gc)], ["Y"], 13, dict(transB=1, alpha=0.7),
                           {"B": gb, "C": gc}), {"A": ga}, gemm_ref(ga, gb, gc, 0, 1, 0.7, 1.0))


def test_disable_prepacking_and_threads_agree():
    for model, feed, ref in _models():
        base = anvil_session(model).run(None, feed)[0]
        want = ref if ref is not None else run_cpu(model, list(feed.items()))[0]
        np.testing.assert_allclose(base, want, rtol=RTOL, atol=ATOL)
        unpacked = anvil_session(model, {"session.disable_prepacking": "1"}).run(None, feed)[0]
        np.testing.assert_allclose(unpacked, want, rtol=RTOL, atol=ATOL)
        two = anvil_session(model, threads=2)
        for _ in range(2):
            np.testing.assert_allclose(two.run(None, feed)[0], want, rtol=RTOL, atol=ATOL)
        one = anvil_session(model, threads=1).run(None, feed)[0]
        np.testing.assert_allclose(one, want, rtol=RTOL, atol=ATOL)


def test_concurrent_runs():
    # Compute is re-entrant: one session, several Python threads, different shapes at once.
    import concurrent.futures
    w, b = f32(16, 8, 3, 3), f32(16)
    model = make_node_model("Conv", [("X", f32(1, 8, 6, 6)), ("W", w), ("B", b)], ["Y"], 17,
                            dict(pads=[1, 1, 1, 1]), {"W": w, "B": b})
    sess = anvil_session(make_dynamic(model, "X", ["N", 8, "H", "W"]), threads=2)
    xs = [f32(1 + i % 3, 8, 5 + i, 9 - i % 4) for i in range(12)]

    def work(x):
        return sess.run(None, {"X": x})[0]

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        for _ in range(3):
            for x, y in zip(xs, pool.map(work, xs)):
                np.testing.assert_allclose(y, conv_ref(x, w, b, pads=[1, 1, 1, 1]), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("op", ["Conv", "ConvTranspose"])
def test_conv_auto_pad_with_explicit_pads_not_claimed(op):
    # ORT's CPU EP refuses a node with both (at session creation); Anvil does not claim it, so the
    # session fails with ORT's own message rather than running a node ORT calls invalid.
    from anvil_testing import session
    x = np.random.default_rng(0).random((1, 2, 5, 5), dtype=np.float32)
    w = np.ones((2, 2, 3, 3), np.float32)
    m = make_node_model(op, [("x", x), ("w", w)], ["y"], 17, attrs={"auto_pad": "SAME_UPPER", "pads": [1, 1, 1, 1]},
                        initializers={"w": w})
    with pytest.raises(Exception, match="auto_pad"):
        session(m, fallback=True)


@pytest.mark.parametrize("length", [640, "T"], ids=["known_length", "unknown_length"])
def test_constant_weights_are_not_reordered_per_call(capfd, length):
    # Pre-packing guesses the input's shape; when the plan for the real shape wants the weights in
    # another layout (Silero VAD's STFT convolution channels-last), they are reordered once for
    # that plan, never on every call. The dispatch log says which. With the length unknown (as in
    # Silero's If branches) the guess must still fit the 256-tap kernel.
    x = f32(1, 1, 640)
    w = f32(258, 1, 256)
    model = make_node_model("Conv", [("x", x), ("w", w)], ["y"], 17, attrs={"strides": [128]}, initializers={"w": w})
    model.graph.input[0].type.tensor_type.shape.dim[2].Clear()
    if isinstance(length, str):
        model.graph.input[0].type.tensor_type.shape.dim[2].dim_param = length
    else:
        model.graph.input[0].type.tensor_type.shape.dim[2].dim_value = length
    sess = session(model, options={"log": "dispatch"})
    for _ in range(2):
        got = sess.run(None, {"x": x})[0]
    np.testing.assert_allclose(got, run_cpu(model, [("x", x)])[0], rtol=RTOL, atol=ATOL)
    err = capfd.readouterr().err
    assert "anvil dispatch: Conv node" in err, err
    assert "reordered on every call" not in err, err


# On AVX-512, depthwise convolutions run oneDNN's direct kernel (jit_dw), not the brgemm one it
# ranks first (src/kernels/dnnl/conv.cc): the weights are packed for it, and results match ORT.
# Elsewhere oneDNN's choice stays and only the results are checked.
AVX512 = "avx512f" in open("/proc/cpuinfo").read()
@pytest.mark.parametrize("c,k,stride", [(24, 3, 1), (24, 3, 2), (72, 5, 1), (40, 5, 2)])
def test_depthwise_conv_runs_the_direct_kernel(capfd, c, k, stride):
    x, w, b = f32(1, c, 20, 20), f32(c, 1, k, k), f32(c)
    pad = k // 2
    model = make_node_model("Conv", [("X", x), ("W", w), ("B", b)], ["Y"], 17,
                            dict(group=c, pads=[pad] * 4, strides=[stride] * 2), {"W": w, "B": b})
    got = session(model, options={"log": "dispatch"}).run(None, {"X": x})[0]
    np.testing.assert_allclose(got, run_cpu(model, [("X", x)])[0], rtol=RTOL, atol=ATOL)
    log = capfd.readouterr().err
    assert "onednn:jit_dw:avx512" in log if AVX512 else "onednn:" in log


def test_an_implementation_override_that_matches_nothing_keeps_onednns_choice():
    """ANVIL_DNNL_CONV_IMPL / ANVIL_DNNL_MATMUL_IMPL name a preferred implementation; one that no
    implementation matches leaves oneDNN's first choice (not the last one it tried, a reference
    kernel), for convolutions and matrix products alike."""
    import subprocess
    import sys
    code = r'''
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np
from anvil_testing import make_node_model, session, run_cpu
rng = np.random.default_rng(0)
x, w = rng.standard_normal((1, 8, 12, 12), dtype=np.float32), rng.standard_normal((16, 8, 3, 3), dtype=np.float32)
conv = make_node_model("Conv", [("X", x), ("W", w)], ["Y"], 17, dict(pads=[1, 1, 1, 1]), {"W": w})
a, b = rng.standard_normal((5, 32), dtype=np.float32), rng.standard_normal((32, 16), dtype=np.float32)
mm = make_node_model("MatMul", [("A", a), ("B", b)], ["Y"], 13, initializers={"B": b})
for model, feed in [(conv, [("X", x)]), (mm, [("A", a)])]:
    got = session(model, options={"log": "dispatch"}).run(None, dict(feed))[0]
    np.testing.assert_allclose(got, run_cpu(model, feed)[0], rtol=1e-4, atol=1e-4)
'''
    env = dict(os.environ, ANVIL_DNNL_CONV_IMPL="no_such_impl", ANVIL_DNNL_MATMUL_IMPL="no_such_impl")
    tests_dir = str(pathlib.Path(__file__).resolve().parents[1])
    r = subprocess.run([sys.executable, "-c", code, tests_dir], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    impls = [line for line in r.stderr.splitlines() if "onednn:" in line]
    assert len(impls) >= 2, r.stderr[-3000:]
    assert not any("onednn:ref" in line for line in impls), "\n".join(impls)
