"""Anvil's normalisation, pooling, softmax and reduction kernels (src/kernels/nn/) against
numpy references, every schema revision, with CPU fallback disabled so each node provably ran
on Anvil."""
import itertools
import math

import numpy as np
import pytest
from onnx import TensorProto

from anvil_testing import check_node, make_node_model, run_anvil, run_cpu, schema_revisions, session

RNG = np.random.default_rng(1234)



from anvil_testing import both_layouts as layout  # noqa: E402,F401 - a fixture, used below

pytestmark = pytest.mark.usefixtures("layout")  # every case in both layouts


def rand(*shape, scale=1.0):
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def distinct(*shape):
    """Values without ties (so MaxPool indices are unambiguous), shuffled."""
    n = int(np.prod(shape))
    scale = 2.0 ** -math.ceil(math.log2(n + 1))  # exact in float32: values in [-0.5, 0.5)
    return ((RNG.permutation(n) - n // 2) * scale).astype(np.float32).reshape(shape)


# ---------------------------------------------------------------------------------------------
# Softmax

def softmax_ref(x, axis, flatten):
    x64 = x.astype(np.float64)
    if flatten:
        a = axis % x.ndim
        rows = int(np.prod(x.shape[:a]))
        x2 = x64.reshape(rows, -1)
        e = np.exp(x2 - x2.max(axis=1, keepdims=True))
        return (e / e.sum(axis=1, keepdims=True)).reshape(x.shape).astype(np.float32)
    e = np.exp(x64 - x64.max(axis=axis, keepdims=True))
    return (e / e.sum(axis=axis, keepdims=True)).astype(np.float32)


SOFTMAX_REVS = schema_revisions("Softmax")
SHAPES_BY_RANK = {1: (17,), 2: (3, 33), 3: (2, 7, 17), 4: (2, 3, 7, 5)}


def test_softmax_revisions_listed():
    assert [s for s, _ in SOFTMAX_REVS] == [1, 11, 13]


@pytest.mark.parametrize("since,opset", SOFTMAX_REVS)
@pytest.mark.parametrize("rank", [1, 2, 3, 4])
def test_softmax_every_axis(since, opset, rank):
    shape = SHAPES_BY_RANK[rank]
    # Large magnitudes and a large common offset: without max subtraction exp overflows.
    x = rand(*shape, scale=300.0) + np.float32(5000.0)
    for axis in range(-rank, rank):
        want = softmax_ref(x, axis, flatten=since < 13)
        check_node("Softmax", [("x", x)], ["y"], opset, attrs={"axis": axis}, reference=[want], rtol=1e-5,
                   atol=1e-6)


@pytest.mark.parametrize("since,opset", SOFTMAX_REVS)
def test_softmax_default_axis(since, opset):
    x = rand(2, 3, 5, scale=20.0)
    default = 1 if since < 13 else -1
    check_node("Softmax", [("x", x)], ["y"], opset, reference=[softmax_ref(x, default, since < 13)])


def test_softmax_flatten_differs_from_axis_semantics():
    # Guards the revision split: on a rank-3 input at axis 1, opset 11 and opset 13 differ.
    x = rand(2, 3, 4, scale=3.0)
    a = check_node("Softmax", [("x", x)], ["y"], 11, attrs={"axis": 1}, reference=[softmax_ref(x, 1, True)])[0]
    b = check_node("Softmax", [("x", x)], ["y"], 13, attrs={"axis": 1}, reference=[softmax_ref(x, 1, False)])[0]
    assert not np.allclose(a, b)


@pytest.mark.parametrize("n", [1, 3, 7, 17, 33])
def test_softmax_odd_sizes(n):
    x = rand(3, n, 5, scale=50.0)
    check_node("Softmax", [("x", x)], ["y"], 13, attrs={"axis": 1}, reference=[softmax_ref(x, 1, False)])
    x = rand(5, n, scale=50.0)
    check_node("Softmax", [("x", x)], ["y"], 13, reference=[softmax_ref(x, -1, False)])


def test_softmax_wide_strided_axis():
    # Inner block wider than the kernel's tile (256) and an odd remainder.
    x = rand(2, 5, 300, scale=10.0)
    check_node("Softmax", [("x", x)], ["y"], 13, attrs={"axis": 1}, reference=[softmax_ref(x, 1, False)])


def test_softmax_paddleocr_shapes():
    x = rand(2, 40, 6625, scale=8.0)
    check_node("Softmax", [("x", x)], ["y"], 13, attrs={"axis": -1}, reference=[softmax_ref(x, -1, False)])
    check_node("Softmax", [("x", x)], ["y"], 11, attrs={"axis": 2}, reference=[softmax_ref(x, 2, True)])
    s = rand(1, 8, 40, 40, scale=30.0)
    check_node("Softmax", [("x", s)], ["y"], 13, attrs={"axis": 3}, reference=[softmax_ref(s, 3, False)])


def test_softmax_masked_inputs():
    x = rand(4, 9, scale=5.0)
    x[:, ::2] = -np.inf  # masked positions get exactly 0
    want = softmax_ref(x, -1, False)
    got = check_node("Softmax", [("x", x)], ["y"], 13, reference=[want])[0]
    assert np.all(got[:, ::2] == 0.0)
    np.testing.assert_allclose(got.sum(axis=-1), 1.0, rtol=1e-6)


def test_softmax_extremes():
    # One dominant value per row and values far below it (exp underflows to 0, no NaN).
    x = np.array([[1e4, 0.0, -1e4, -3e38], [-100.0, -100.0, -100.0, -100.0]], np.float32)
    got = check_node("Softmax", [("x", x)], ["y"], 13, reference=[softmax_ref(x, -1, False)])[0]
    assert np.isfinite(got).all()


@pytest.mark.parametrize("since,opset", SOFTMAX_REVS)
def test_softmax_zero_sized(since, opset):
    for shape, axis in [((0, 5), 1), ((3, 0), 1), ((2, 0, 4), -1), ((2, 0, 4), 1)]:
        x = np.zeros(shape, np.float32)
        check_node("Softmax", [("x", x)], ["y"], opset, attrs={"axis": axis}, reference=[x.copy()])


# ---------------------------------------------------------------------------------------------
# ReduceMean

REDUCE_REVS = schema_revisions("ReduceMean")


def reduce_mean_ref(x, axes, keepdims):
    axes = tuple(range(x.ndim)) if axes is None else tuple(a % x.ndim for a in axes)
    if x.size == 0 or any(x.shape[a] == 0 for a in axes):
        # ORT's CPU provider (which Anvil matches): a mean over no elements is 0.
        shape = [1 if i in axes else d for i, d in enumerate(x.shape)] if keepdims else \
            [d for i, d in enumerate(x.shape) if i not in axes]
        n_reduced = int(np.prod([x.shape[a] for a in axes])) if axes else 1
        return np.zeros(shape, np.float32) if n_reduced == 0 else \
            np.mean(x, axis=axes, keepdims=bool(keepdims)).astype(np.float32)
    return np.mean(x.astype(np.float64), axis=axes, keepdims=bool(keepdims)).astype(np.float32)


def reduce_mean_node(opset, x, axes, keepdims, axes_const=True, noop=None):
    """Runs ReduceMean on Anvil with axes as attribute (opset < 18) or input (18+)."""
    attrs = {"keepdims": keepdims}
    if noop is not None:
        attrs["noop_with_empty_axes"] = noop
    inputs, inits = [("x", x)], {}
    if opset >= 18:
        if axes is not None:
            a = np.array(axes, np.int64)
            inputs.append(("axes", a))
            if axes_const:
                inits["axes"] = a
    elif axes is not None:
        attrs["axes"] = list(axes)
    model = make_node_model("ReduceMean", inputs, ["y"], opset, attrs=attrs, initializers=inits)
    return run_anvil(model, inputs)[0]


def test_reduce_mean_revisions_listed():
    assert [s for s, _ in REDUCE_REVS] == [1, 11, 13, 18]


@pytest.mark.parametrize("since,opset", REDUCE_REVS)
@pytest.mark.parametrize("keepdims", [0, 1])
def test_reduce_mean_every_axis_combination(since, opset, keepdims):
    x = rand(3, 5, 7, 4)
    for r in range(0, 5):
        for combo in itertools.combinations(range(4), r):
            axes = list(combo) if combo else None  # no axes: reduce over everything
            # Alternate between positive and negative spellings of the same axes.
            if axes and len(axes) % 2 == 0:
                axes = [a - 4 for a in axes]
            got = reduce_mean_node(opset, x, axes, keepdims)
            want = reduce_mean_ref(x, axes, keepdims)
            assert got.shape == want.shape, (axes, got.shape, want.shape)
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=f"axes={axes}")


@pytest.mark.parametrize("keepdims", [0, 1])
def test_reduce_mean_axes_as_runtime_input(keepdims):
    x = rand(2, 7, 3, 5)
    model = make_node_model("ReduceMean", [("x", x), ("axes", np.array([0], np.int64))], ["y"], 18,
                            attrs={"keepdims": keepdims})
    axes_dim = model.graph.input[1].type.tensor_type.shape.dim[0]
    axes_dim.dim_param = "num_axes"  # the axes count varies per call
    sess = session(model)  # one session, axes change per call
    for axes in ([0], [-1], [1, 3], [3, 0], [0, 1, 2, 3], [-3, -2]):
        a = np.array(axes, np.int64)
        got = sess.run(None, {"x": x, "axes": a})[0]
        want = reduce_mean_ref(x, axes, keepdims)
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=f"axes={axes}")


@pytest.mark.parametrize("const", [True, False])
@pytest.mark.parametrize("keepdims", [0, 1])
def test_reduce_mean_empty_axes_input(const, keepdims):
    x = rand(3, 4, 5)
    empty = np.zeros((0,), np.int64)
    inputs = [("x", x), ("axes", empty)]
    inits = {"axes": empty} if const else {}
    # noop_with_empty_axes=0: empty axes reduce everything.
    m = make_node_model("ReduceMean", inputs, ["y"], 18, attrs={"keepdims": keepdims, "noop_with_empty_axes": 0},
                        initializers=inits)
    got = run_anvil(m, inputs)[0]
    want = reduce_mean_ref(x, None, keepdims)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    # noop_with_empty_axes=1: the input passes through unchanged.
    m = make_node_model("ReduceMean", inputs, ["y"], 18, attrs={"keepdims": keepdims, "noop_with_empty_axes": 1},
                        initializers=inits)
    got = run_anvil(m, inputs)[0]
    np.testing.assert_array_equal(got, x)


def test_reduce_mean_absent_axes_input_with_noop():
    x = rand(3, 4)
    for noop in (0, 1):
        got = reduce_mean_node(18, x, None, 1, noop=noop)
        want = x if noop else reduce_mean_ref(x, None, 1)
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_reduce_mean_paddleocr_last_axis():
    x = rand(2, 80, 512, scale=4.0) + np.float32(3.0)
    check_node("ReduceMean", [("x", x)], ["y"], 13, attrs={"axes": [-1]},
               reference=[reduce_mean_ref(x, [-1], 1)])
    a = np.array([-1], np.int64)
    check_node("ReduceMean", [("x", x), ("axes", a)], ["y"], 18, initializers={"axes": a},
               reference=[reduce_mean_ref(x, [-1], 1)])


@pytest.mark.parametrize("n", [1, 3, 7, 17, 33])
def test_reduce_mean_odd_sizes(n):
    x = rand(n, 3, n)
    for axes in ([0], [1], [2], [0, 2], [0, 1]):
        check_node("ReduceMean", [("x", x)], ["y"], 13, attrs={"axes": axes, "keepdims": 0},
                   reference=[reduce_mean_ref(x, axes, 0)])


def test_reduce_mean_large_inner_chunks():
    # Kept inner dimension wider than the kernel's chunk (1024), reduced outer dims.
    x = rand(6, 2, 2100)
    check_node("ReduceMean", [("x", x)], ["y"], 13, attrs={"axes": [0, 1]}, reference=[reduce_mean_ref(x, [0, 1], 1)])


def test_reduce_mean_scalar_and_size_one_dims():
    x = rand(1, 5, 1)
    for axes in ([0], [2], [0, 2], [1]):
        check_node("ReduceMean", [("x", x)], ["y"], 13, attrs={"axes": axes, "keepdims": 0},
                   reference=[reduce_mean_ref(x, axes, 0)])
    s = np.array(2.5, np.float32)
    check_node("ReduceMean", [("x", s)], ["y"], 13, attrs={"keepdims": 0}, reference=[s.copy()])


@pytest.mark.parametrize("since,opset", REDUCE_REVS)
def test_reduce_mean_zero_sized(since, opset):
    x = np.zeros((0, 3, 4), np.float32)
    for axes, keepdims in [([1], 1), ([2], 0), ([0], 1), ([0], 0), (None, 0), ([0, 2], 1)]:
        got = reduce_mean_node(opset, x, axes, keepdims)
        want = reduce_mean_ref(x, axes, keepdims)
        assert got.shape == want.shape, (axes, keepdims)
        np.testing.assert_array_equal(got, want)


def test_reduce_mean_empty_axis_matches_cpu_provider():
    x = np.zeros((2, 0, 3), np.float32)
    m = make_node_model("ReduceMean", [("x", x)], ["y"], 13, attrs={"axes": [1], "keepdims": 0})
    got = run_anvil(m, [("x", x)])[0]
    want = run_cpu(m, [("x", x)])[0]
    assert got.shape == (2, 3)
    np.testing.assert_array_equal(got, want)


def test_reduce_mean_bad_axes_declined():
    x = rand(2, 3)
    for axes in ([2], [0, 0], [-3]):
        m = make_node_model("ReduceMean", [("x", x)], ["y"], 13, attrs={"axes": axes})
        with pytest.raises(Exception):
            run_anvil(m, [("x", x)])


# ---------------------------------------------------------------------------------------------
# Pooling

def pool_geometry(in_sp, kernel, strides, pads, dilations, auto_pad, ceil_mode):
    n = len(kernel)
    out, pb, pe = [], [], []
    for i in range(n):
        ext = (kernel[i] - 1) * dilations[i] + 1
        if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            o = -(-in_sp[i] // strides[i])
            total = max(0, (o - 1) * strides[i] + ext - in_sp[i])
            b = total // 2 if auto_pad == "SAME_UPPER" else total - total // 2
            out.append(o), pb.append(b), pe.append(total - b)
            continue
        b, e = (0, 0) if auto_pad == "VALID" else (pads[i], pads[i + n])
        num = in_sp[i] + b + e - ext
        o = (math.ceil(num / strides[i]) if ceil_mode else num // strides[i]) + 1
        if ceil_mode and (o - 1) * strides[i] >= in_sp[i] + b:
            o -= 1  # a window may not start in the end padding
        out.append(o), pb.append(b), pe.append(e)
    return out, pb, pe


def pool_ref(x, kind, kernel, strides=None, pads=None, dilations=None, auto_pad="NOTSET", ceil_mode=0,
             count_include_pad=0, storage_order=0):
    """Direct ONNX pooling: returns Y (and Indices for kind == 'max')."""
    n = len(kernel)
    strides = strides or [1] * n
    pads = pads or [0] * (2 * n)
    dilations = dilations or [1] * n
    in_sp = list(x.shape[2:])
    out, pb, pe = pool_geometry(in_sp, kernel, strides, pads, dilations, auto_pad, ceil_mode)
    N, C = x.shape[:2]
    y = np.zeros((N, C, *out), np.float32)
    idx = np.zeros((N, C, *out), np.int64)
    flat = x.reshape(N, C, -1).astype(np.float64)
    for o in itertools.product(*[range(v) for v in out]):
        taps_per_dim = [[o[i] * strides[i] - pb[i] + t * dilations[i] for t in range(kernel[i])] for i in range(n)]
        valid = [[p for p in taps if 0 <= p < in_sp[i]] for i, taps in enumerate(taps_per_dim)]
        padded = [[p for p in taps if p < in_sp[i] + pe[i]] for i, taps in enumerate(taps_per_dim)]
        positions = list(itertools.product(*valid))
        if positions:
            lin = np.array([np.ravel_multi_index(p, in_sp) for p in positions])
            vals = flat[:, :, lin]
        if kind == "avg":
            count = int(np.prod([len(p) for p in padded])) if count_include_pad else len(positions)
            y[(slice(None), slice(None), *o)] = vals.sum(axis=2) / count if positions else 0.0
        else:
            best = vals.argmax(axis=2)  # first maximum in scan order
            y[(slice(None), slice(None), *o)] = np.take_along_axis(vals, best[..., None], 2)[..., 0]
            coords = np.array(positions)[best]  # (N, C, n)
            if storage_order == 0:
                sp_index = np.ravel_multi_index(tuple(np.moveaxis(coords, -1, 0)), in_sp)
            else:
                sp_index = np.ravel_multi_index(tuple(np.moveaxis(coords, -1, 0)), in_sp, order="F")
            base = (np.arange(N)[:, None] * C + np.arange(C)[None, :]) * int(np.prod(in_sp))
            idx[(slice(None), slice(None), *o)] = base + sp_index
    return (y, idx) if kind == "max" else y


AVG_REVS = schema_revisions("AveragePool")
MAX_REVS = schema_revisions("MaxPool")
AUTO_PADS = ["NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"]


def test_pool_revisions_listed():
    assert [s for s, _ in AVG_REVS] == [7, 10, 11, 19, 22]
    assert [s for s, _ in MAX_REVS] == [1, 8, 10, 11, 12, 22]


def pool_attrs(kernel, strides, pads, dilations, auto_pad, ceil_mode, extra):
    a = {"kernel_shape": kernel, "strides": strides}
    if auto_pad == "NOTSET":
        a["pads"] = pads
    else:
        a["auto_pad"] = auto_pad
    if dilations is not None:
        a["dilations"] = dilations
    if ceil_mode:
        a["ceil_mode"] = 1
    a.update(extra)
    return a


# (input spatial shape, kernel, strides, asymmetric pads, dilations)
POOL_CASES = [
    ((17,), [3], [2], [1, 2], [2]),
    ((7, 17), [3, 2], [2, 3], [1, 0, 2, 1], [2, 1]),
    ((9, 8), [2, 3], [2, 2], [0, 1, 1, 2], [1, 2]),
    ((5, 6, 7), [2, 3, 2], [2, 1, 2], [1, 0, 1, 0, 2, 1], [1, 2, 2]),
]


@pytest.mark.parametrize("since,opset", AVG_REVS)
@pytest.mark.parametrize("case", range(len(POOL_CASES)))
def test_average_pool_attribute_combinations(since, opset, case):
    sp, kernel, strides, pads, dil = POOL_CASES[case]
    x = rand(2, 3, *sp)
    dil_opts = [None, dil] if since >= 19 else [None]
    ceil_opts = [0, 1] if since >= 10 else [0]
    for auto_pad, ceil_mode, include, d in itertools.product(AUTO_PADS, ceil_opts, [0, 1], dil_opts):
        if auto_pad in ("SAME_UPPER", "SAME_LOWER") and (ceil_mode or d is not None):
            continue  # ceil_mode does not apply to SAME padding; SAME + dilations is declined (below)
        attrs = pool_attrs(kernel, strides, pads, d, auto_pad, ceil_mode, {"count_include_pad": include})
        want = pool_ref(x, "avg", kernel, strides, pads, d, auto_pad, ceil_mode, include)
        check_node("AveragePool", [("x", x)], ["y"], opset, attrs=attrs, reference=[want], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("since,opset", MAX_REVS)
@pytest.mark.parametrize("case", range(len(POOL_CASES)))
def test_max_pool_attribute_combinations(since, opset, case):
    sp, kernel, strides, pads, dil = POOL_CASES[case]
    x = distinct(2, 3, *sp)
    dil_opts = [None, dil] if since >= 10 else [None]
    ceil_opts = [0, 1] if since >= 10 else [0]
    with_indices = since >= 8
    for auto_pad, ceil_mode, d in itertools.product(AUTO_PADS, ceil_opts, dil_opts):
        if auto_pad in ("SAME_UPPER", "SAME_LOWER") and (ceil_mode or d is not None):
            continue
        attrs = pool_attrs(kernel, strides, pads, d, auto_pad, ceil_mode, {})
        y, idx = pool_ref(x, "max", kernel, strides, pads, d, auto_pad, ceil_mode)
        if with_indices:
            check_node("MaxPool", [("x", x)], ["y", "i"], opset, attrs=attrs, reference=[y, idx],
                       output_types=[TensorProto.FLOAT, TensorProto.INT64])
        else:
            check_node("MaxPool", [("x", x)], ["y"], opset, attrs=attrs, reference=[y])


@pytest.mark.parametrize("storage_order", [0, 1])
@pytest.mark.parametrize("sp,kernel,strides,pads", [((9,), [2], [2], [0, 1]),
                                                    ((7, 17), [3, 2], [2, 2], [1, 1, 0, 1]),
                                                    ((5, 4, 6), [2, 2, 3], [1, 2, 2], [0, 1, 0, 1, 0, 1])])
def test_max_pool_indices_storage_order(storage_order, sp, kernel, strides, pads):
    x = distinct(3, 2, *sp)
    y, idx = pool_ref(x, "max", kernel, strides, pads, storage_order=storage_order)
    attrs = {"kernel_shape": kernel, "strides": strides, "pads": pads, "storage_order": storage_order}
    check_node("MaxPool", [("x", x)], ["y", "i"], 12, attrs=attrs, reference=[y, idx],
               output_types=[TensorProto.FLOAT, TensorProto.INT64])
    if len(sp) == 2:  # ORT's CPU provider agrees on the column-major index layout
        m = make_node_model("MaxPool", [("x", x)], ["y", "i"], 12, attrs=attrs,
                            output_types=[TensorProto.FLOAT, TensorProto.INT64])
        np.testing.assert_array_equal(run_cpu(m, [("x", x)])[1], idx)


def test_max_pool_omitted_indices_output():
    # Outputs ("y", ""): the optional Indices output is named empty, so only Y is produced.
    x = distinct(1, 2, 6, 6)
    m = make_node_model("MaxPool", [("x", x)], ["y"], 12, attrs={"kernel_shape": [2, 2], "strides": [2, 2]})
    m.graph.node[0].output.append("")
    got = run_anvil(m, [("x", x)])
    assert len(got) == 1
    np.testing.assert_array_equal(got[0], x.reshape(1, 2, 3, 2, 3, 2).max(axis=(3, 5)))


def test_max_pool_ties_pick_first():
    x = np.zeros((1, 1, 4, 4), np.float32)
    y, idx = pool_ref(x, "max", [2, 2], [2, 2])
    assert (idx == [[[[0, 2], [8, 10]]]]).all()
    check_node("MaxPool", [("x", x)], ["y", "i"], 12, attrs={"kernel_shape": [2, 2], "strides": [2, 2]},
               reference=[y, idx], output_types=[TensorProto.FLOAT, TensorProto.INT64])


def test_pool_ceil_mode_matches_cpu_provider():
    # Last window starting in the end padding is dropped; VALID honours ceil_mode: as ORT does.
    x = distinct(1, 2, 4, 5)
    for op, attrs in [("MaxPool", {"kernel_shape": [2, 2], "strides": [3, 3], "pads": [1, 1, 1, 1], "ceil_mode": 1}),
                      ("AveragePool", {"kernel_shape": [2, 2], "strides": [3, 3], "pads": [1, 1, 1, 1],
                                       "ceil_mode": 1}),
                      ("AveragePool", {"kernel_shape": [2, 2], "strides": [2, 2], "auto_pad": "VALID",
                                       "ceil_mode": 1}),
                      ("AveragePool", {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1],
                                       "ceil_mode": 1, "count_include_pad": 1}),
                      ("AveragePool", {"kernel_shape": [2, 2], "dilations": [2, 2], "pads": [1, 1, 1, 1],
                                       "count_include_pad": 1})]:
        check_node(op, [("x", x)], ["y"], 19, attrs=attrs, reference=None)


@pytest.mark.parametrize("n", [1, 3, 7, 17, 33])
def test_pool_odd_sizes(n):
    x = distinct(2, 3, n, n + 2)
    k = [min(3, n), 2]
    for op in ("MaxPool", "AveragePool"):
        for attrs in ({"kernel_shape": k, "strides": [2, 2]},
                      {"kernel_shape": k, "strides": [1, 2], "ceil_mode": 1,
                       "pads": [0, 1, 1 if k[0] > 1 else 0, 0]}):  # pads < kernel, as ORT requires
            want = pool_ref(x, "max" if op == "MaxPool" else "avg", k, attrs["strides"], attrs.get("pads"),
                            ceil_mode=attrs.get("ceil_mode", 0))
            want = want[0] if op == "MaxPool" else want
            check_node(op, [("x", x)], ["y"], 12 if op == "MaxPool" else 11, attrs=attrs, reference=[want])


def test_paddleocr_average_pool():
    x = rand(2, 32, 6, 80)
    attrs = {"kernel_shape": [3, 2], "strides": [3, 2], "pads": [0, 0, 0, 0], "count_include_pad": 0}
    want = pool_ref(x, "avg", [3, 2], [3, 2])
    np.testing.assert_allclose(want, x.reshape(2, 32, 2, 3, 40, 2).mean(axis=(3, 5)), rtol=1e-5, atol=1e-6)
    for opset in (11, 19):
        check_node("AveragePool", [("x", x)], ["y"], opset, attrs=attrs, reference=[want])


def test_paddleocr_max_pool():
    x = rand(2, 16, 24, 160)
    want = x.reshape(2, 16, 12, 2, 80, 2).max(axis=(3, 5))
    for opset in (11, 12):
        check_node("MaxPool", [("x", x)], ["y"], opset, attrs={"kernel_shape": [2, 2], "strides": [2, 2]},
                   reference=[want])


@pytest.mark.parametrize("op", ["MaxPool", "AveragePool"])
def test_pool_wide_rows_generic_path(op):
    # Rows wider than the row-combining buffer (4096) take the per-window path.
    x = distinct(1, 2, 2, 4500)
    attrs = {"kernel_shape": [2, 3], "strides": [1, 2], "pads": [0, 1, 1, 1]}
    if op == "AveragePool":
        attrs["count_include_pad"] = 1
        want = [pool_ref(x, "avg", [2, 3], [1, 2], [0, 1, 1, 1], count_include_pad=1)]
        check_node(op, [("x", x)], ["y"], 19, attrs=attrs, reference=want)
    else:
        want = list(pool_ref(x, "max", [2, 3], [1, 2], [0, 1, 1, 1]))
        check_node(op, [("x", x)], ["y"], 12, attrs=attrs, reference=want[:1])
        check_node(op, [("x", x)], ["y", "i"], 12, attrs=attrs, reference=want,
                   output_types=[TensorProto.FLOAT, TensorProto.INT64])


@pytest.mark.parametrize("op", ["MaxPool", "AveragePool"])
@pytest.mark.parametrize("channels", [1, 5, 16, 28, 64, 70])
@pytest.mark.parametrize("window", ["3x3s2p1", "2x2s2", "3x3d2p2"])
def test_pool_channel_counts_with_nan_and_infinities(op, channels, window):
    # Channels-last (the nhwc layout) combines a window's rows, then its columns, in vectors of the
    # channels: every channel count (vector multiples and remainders), padding, dilation, and
    # infinities as ORT's CPU EP gives them. A window holding NaN gives NaN on Anvil (MaxPool as
    # ReduceMax); ORT's MaxPool keeps or drops a NaN by where it sits in its SIMD max, so NaN's
    # outputs are checked apart: NaN in channel 0 only, everything else as ORT gives. A window of
    # only -inf gives lowest() on Anvil (pool.cc's kMaxInit); ORT gives that on its channels-blocked
    # path and -inf on its plain one, so the two count as equal here.
    rng = np.random.default_rng(channels)
    x = rng.standard_normal((1, channels, 9, 11)).astype(np.float32)
    x[0, 0, 0, 0] = np.nan
    x[0, channels - 1, 4, 5] = np.inf
    x[0, channels // 2, 6:9, 0:4] = -np.inf
    attrs = {"3x3s2p1": {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]},
             "2x2s2": {"kernel_shape": [2, 2], "strides": [2, 2]},
             "3x3d2p2": {"kernel_shape": [3, 3], "dilations": [2, 2], "pads": [2, 2, 2, 2]}}[window]
    if op == "AveragePool":
        if "dilations" in attrs:
            pytest.skip("AveragePool takes dilations from opset 19 only; covered elsewhere")
        attrs = dict(attrs, count_include_pad=1)
    model = make_node_model(op, [("x", x)], ["y"], 19 if op == "AveragePool" else 12, attrs)
    lowest = np.finfo(np.float32).min

    def ort(x):
        y = run_cpu(model, [("x", x)])[0]
        return np.where(y == -np.inf, lowest, y) if op == "MaxPool" else y

    got = session(model).run(None, {"x": x})[0]
    nan = np.isnan(got)
    assert nan[0, 0, 0, 0] and not nan[0, 1:].any()
    np.testing.assert_allclose(got[~nan], ort(x)[~nan], rtol=1e-6, atol=1e-6)
    x[0, 0, 0, 0] = 0.5
    np.testing.assert_allclose(session(model).run(None, {"x": x})[0], ort(x), rtol=1e-6, atol=1e-6)


def test_pool_zero_batch():
    x = np.zeros((0, 3, 7, 9), np.float32)
    check_node("AveragePool", [("x", x)], ["y"], 19, attrs={"kernel_shape": [3, 2], "strides": [3, 2]},
               reference=[np.zeros((0, 3, 2, 4), np.float32)])
    check_node("MaxPool", [("x", x)], ["y", "i"], 12, attrs={"kernel_shape": [2, 2], "strides": [2, 2]},
               reference=[np.zeros((0, 3, 3, 4), np.float32), np.zeros((0, 3, 3, 4), np.int64)],
               output_types=[TensorProto.FLOAT, TensorProto.INT64])


@pytest.mark.parametrize("op,opset", [("MaxPool", 12), ("AveragePool", 19)])
@pytest.mark.parametrize("auto_pad", ["SAME_UPPER", "SAME_LOWER"])
def test_pool_same_padding_with_dilations_declined(op, opset, auto_pad):
    # ORT's CPU provider computes SAME padding from the undilated kernel (output 8 here where the
    # ONNX spec gives 9): Anvil leaves the node to it, and the model still runs with fallback.
    x = rand(1, 2, 17, 5)
    m = make_node_model(op, [("x", x)], ["y"], opset,
                        attrs={"kernel_shape": [3, 1], "strides": [2, 1], "dilations": [2, 1], "auto_pad": auto_pad})
    with pytest.raises(Exception, match="fallback"):
        run_anvil(m, [("x", x)])
    got = session(m, fallback=True).run(None, {"x": x})[0]
    np.testing.assert_array_equal(got, run_cpu(m, [("x", x)])[0])


# Windows wider than the (padded) input: ORT's CPU EP sizes the output with a quotient that
# truncates toward zero, so a window wider by less than a stride still gives one output (taps
# outside the input skipped) and by more gives an empty output; PaddleOCR's classifiers hit this
# on tiny images. A grid of sizes, windows, strides, pads, dilations and ceil_mode, all against ORT.
POOL_ODD = [(n, k, s, d, pb, pe, c) for n, k, s, d, pb, pe, c in
            itertools.product([1, 2, 3], [2, 3, 4], [1, 2, 3], [1, 2], [0, 1], [0, 1], [0, 1]) if pb < k and pe < k]


@pytest.mark.parametrize("op,opset", [("MaxPool", 12), ("AveragePool", 19)])
def test_pool_window_wider_than_input_matches_ort(op, opset):
    for n, k, s, d, pb, pe, c in POOL_ODD:
        if op == "AveragePool" and d > 1:
            continue
        x = rand(1, 2, n, 3)
        attrs = {"kernel_shape": [k, 1], "strides": [s, 1], "pads": [pb, 0, pe, 0], "ceil_mode": c}
        if d > 1:
            attrs["dilations"] = [d, 1]
        m = make_node_model(op, [("x", x)], ["y"], opset, attrs=attrs)
        try:
            want = run_cpu(m, [("x", x)])
        except Exception:  # ORT refuses (a negative output size): Anvil must too, not crash
            with pytest.raises(Exception):
                session(m).run(None, {"x": x})
            continue
        check_node(op, [("x", x)], ["y"], opset, attrs=attrs, reference=want)


@pytest.mark.parametrize("op,opset", [("MaxPool", 12), ("AveragePool", 19)])
def test_pool_empty_spatial_dim_is_a_clean_error(op, opset):
    # ORT refuses an empty spatial dim at run time; so does Anvil (a dynamic dim, so it claims the node).
    x = rand(1, 1, 0, 3)
    m = make_node_model(op, [("x", x)], ["y"], opset, attrs={"kernel_shape": [1, 1]})
    m.graph.input[0].type.tensor_type.shape.dim[2].dim_param = "h"
    with pytest.raises(Exception, match="no output"):
        session(m).run(None, {"x": x})


@pytest.mark.parametrize("op,opset", [("MaxPool", 12), ("AveragePool", 19)])
def test_pool_pads_not_smaller_than_kernel_not_claimed(op, opset):
    # ORT's CPU EP refuses the node ("Pad should be smaller than kernel"): Anvil does not claim it,
    # so with fallback the session fails with ORT's own error.
    x = rand(1, 1, 5, 5)
    m = make_node_model(op, [("x", x)], ["y"], opset, attrs={"kernel_shape": [2, 2], "pads": [1000, 0, 0, 2]})
    with pytest.raises(Exception, match="smaller than kernel"):
        session(m, fallback=True)


# ---------------------------------------------------------------------------------------------
# GlobalAveragePool

GAP_REVS = schema_revisions("GlobalAveragePool")


@pytest.mark.parametrize("since,opset", GAP_REVS)
@pytest.mark.parametrize("shape", [(2, 3, 17), (2, 5, 7, 33), (1, 3, 1, 1), (2, 2, 3, 4, 5), (3, 7, 1, 3)])
def test_global_average_pool(since, opset, shape):
    x = rand(*shape) + np.float32(2.0)
    want = x.astype(np.float64).mean(axis=tuple(range(2, x.ndim)), keepdims=True).astype(np.float32)
    check_node("GlobalAveragePool", [("x", x)], ["y"], opset, reference=[want])


def test_global_average_pool_zero_batch():
    x = np.zeros((0, 4, 5, 5), np.float32)
    check_node("GlobalAveragePool", [("x", x)], ["y"], 13, reference=[np.zeros((0, 4, 1, 1), np.float32)])


def test_global_average_pool_empty_spatial_is_nan():
    # ORT's CPU provider rejects this input; Anvil returns numpy's mean of nothing (NaN).
    x = np.zeros((2, 3, 0, 4), np.float32)
    got = check_node("GlobalAveragePool", [("x", x)], ["y"], 13, reference=[np.full((2, 3, 1, 1), np.nan, np.float32)])
    assert np.isnan(got[0]).all()


def test_global_average_pool_rank2_declined():
    x = rand(2, 3)
    m = make_node_model("GlobalAveragePool", [("x", x)], ["y"], 13)
    with pytest.raises(Exception, match="fallback"):
        run_anvil(m, [("x", x)])


# ---------------------------------------------------------------------------------------------
# BatchNormalization

BN_REVS = schema_revisions("BatchNormalization")


def bn_params(c):
    scale = rand(c) + np.float32(1.0)
    bias = rand(c)
    mean = rand(c)
    var = (RNG.random(c) + 0.1).astype(np.float32)
    return scale, bias, mean, var


def bn_ref(x, scale, bias, mean, var, eps):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    x64 = x.astype(np.float64)
    y = (x64 - mean.reshape(shape)) / np.sqrt(var.astype(np.float64).reshape(shape) + eps) * scale.reshape(shape) \
        + bias.reshape(shape)
    return y.astype(np.float32)


def test_batchnorm_revisions_listed():
    assert [s for s, _ in BN_REVS] == [7, 9, 14, 15]


@pytest.mark.parametrize("since,opset", BN_REVS)
@pytest.mark.parametrize("constant", [True, False])
@pytest.mark.parametrize("shape", [(2, 3), (2, 5, 17), (3, 7, 5, 9), (1, 3, 2, 3, 4), (2, 33, 1, 1)])
def test_batchnorm(since, opset, constant, shape):
    x = rand(*shape, scale=3.0)
    params = bn_params(shape[1])
    names = ["scale", "B", "mean", "var"]
    inputs = [("x", x)] + list(zip(names, params))
    inits = dict(zip(names, params)) if constant else {}
    eps = 1e-3
    check_node("BatchNormalization", inputs, ["y"], opset, attrs={"epsilon": eps}, initializers=inits,
               reference=[bn_ref(x, *params, eps)], rtol=1e-5, atol=1e-5)


def test_batchnorm_default_epsilon_and_zero_batch():
    x = rand(4, 6, 3, 3)
    params = bn_params(6)
    names = ["scale", "B", "mean", "var"]
    params[3][:] = 1e-4  # small variance: epsilon (1e-5 by default) matters
    inputs = [("x", x)] + list(zip(names, params))
    check_node("BatchNormalization", inputs, ["y"], 15, initializers=dict(zip(names, params)),
               reference=[bn_ref(x, *params, 1e-5)], rtol=1e-5, atol=1e-4)
    z = np.zeros((0, 6, 3, 3), np.float32)
    check_node("BatchNormalization", [("x", z)] + list(zip(names, params)), ["y"], 15,
               initializers=dict(zip(names, params)), reference=[z.copy()])


def test_batchnorm_runtime_parameters_change_per_call():
    x = rand(2, 4, 5)
    names = ["scale", "B", "mean", "var"]
    first = bn_params(4)
    model = make_node_model("BatchNormalization", [("x", x)] + list(zip(names, first)), ["y"], 15)
    sess = session(model)
    for params in (first, bn_params(4)):
        got = sess.run(None, {"x": x, **dict(zip(names, params))})[0]
        np.testing.assert_allclose(got, bn_ref(x, *params, 1e-5), rtol=1e-5, atol=1e-5)


def test_batchnorm_mixed_constant_parameters():
    # scale and B constant, mean and var fed at run time: computed per call.
    x = rand(3, 4, 6)
    names = ["scale", "B", "mean", "var"]
    params = bn_params(4)
    inputs = [("x", x)] + list(zip(names, params))
    check_node("BatchNormalization", inputs, ["y"], 15, initializers={"scale": params[0], "B": params[1]},
               reference=[bn_ref(x, *params, 1e-5)], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("opset", [14, 15])
def test_batchnorm_training_mode(opset):
    x = rand(4, 3, 5, 5)
    names = ["scale", "B", "mean", "var"]
    params = bn_params(3)
    inputs = [("x", x)] + list(zip(names, params))
    model = make_node_model("BatchNormalization", inputs, ["y", "running_mean", "running_var"], opset,
                            attrs={"training_mode": 1}, initializers=dict(zip(names, params)))
    got = session(model).run(None, {"x": x})  # Anvil runs training mode (no CPU fallback)
    want = run_cpu(model, inputs)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)
    # Training mode normalises with the batch statistics, not the running ones.
    batch_mean = x.mean(axis=(0, 2, 3))
    assert not np.allclose(got[0], bn_ref(x, *params, 1e-5), atol=1e-3)
    np.testing.assert_allclose(got[0].mean(axis=(0, 2, 3)), params[1], atol=1e-4)
    assert batch_mean.shape == (3,)


@pytest.mark.parametrize("opset", [7, 9])
def test_batchnorm_extra_outputs_declined(opset):
    # Revisions 7 and 9 with the optional mean/var/saved outputs: training semantics, not claimed.
    x = rand(3, 2, 4, 4)
    names = ["scale", "B", "mean", "var"]
    params = bn_params(2)
    inputs = [("x", x)] + list(zip(names, params))
    model = make_node_model("BatchNormalization", inputs, ["y", "m", "v", "sm", "sv"], opset,
                            initializers=dict(zip(names, params)))
    with pytest.raises(Exception, match="fallback"):
        session(model)
    got = session(model, fallback=True).run(None, {"x": x})
    assert len(got) == 5 and got[0].shape == x.shape


# ---- Vectorised MaxPool rows and blocked Softmax rows: the specialised kernel/stride cases,
# odd widths (edge windows on both sides) and row lengths around the vector width.

@pytest.mark.parametrize("k,s,p", [(2, 2, 0), (3, 2, 1), (3, 1, 1), (2, 1, 0), (5, 1, 2), (3, 2, 0), (4, 3, 1)])
def test_maxpool_row_paths(k, s, p):
    for w in (5, 9, 16, 33):
        x = distinct(1, 3, 7, w)
        attrs = {"kernel_shape": [k, k], "strides": [s, s], "pads": [p] * 4}
        want = pool_ref(x, "max", [k, k], [s, s], [p] * 4)[0]
        check_node("MaxPool", [("x", x)], ["y"], 12, attrs=attrs, reference=[want])


def test_softmax_rows_lengths():
    for n in (1, 3, 8, 9, 16, 17, 31, 33, 100):
        x = rand(11, n, scale=4.0)  # 11 rows: one full block of 8 and a partial one
        check_node("Softmax", [("x", x)], ["y"], 13, attrs={"axis": -1}, reference=[softmax_ref(x, -1, False)],
                   rtol=1e-5, atol=1e-6)
    x = rand(9, 20)
    x[3, 5] = np.nan
    (y,) = session(make_node_model("Softmax", [("x", x)], ["y"], 13)).run(None, {"x": x})
    assert np.isnan(y[3]).all() and not np.isnan(np.delete(y, 3, axis=0)).any()


# ---------------------------------------------------------------------------------------------
# ReduceMax (the same kernel as ReduceMean, with the maximum)

def reduce_max_node(opset, x, axes, keepdims):
    attrs, inputs, inits = {"keepdims": keepdims}, [("x", x)], {}
    if opset >= 18:
        if axes is not None:
            a = np.array(axes, np.int64)
            inputs.append(("axes", a))
            inits["axes"] = a
    elif axes is not None:
        attrs["axes"] = list(axes)
    model = make_node_model("ReduceMax", inputs, ["y"], opset, attrs=attrs, initializers=inits)
    return run_anvil(model, inputs)[0]


@pytest.mark.parametrize("since,opset", schema_revisions("ReduceMax"))
@pytest.mark.parametrize("keepdims", [0, 1])
def test_reduce_max_every_axis_combination(since, opset, keepdims):
    x = rand(3, 5, 7, 4)
    for r in range(0, 5):
        for combo in itertools.combinations(range(4), r):
            axes = list(combo) if combo else None
            if axes and len(axes) % 2 == 0:
                axes = [a - 4 for a in axes]
            got = reduce_max_node(opset, x, axes, keepdims)
            ax = None if axes is None else tuple(a % 4 for a in axes)
            want = np.max(x, axis=ax, keepdims=bool(keepdims))
            assert got.shape == want.shape, (axes, got.shape, want.shape)
            np.testing.assert_array_equal(got, want, err_msg=f"axes={axes}")


def test_reduce_max_propagates_nan_and_handles_infinities():
    x = rand(4, 9)
    x[1, 3] = np.nan
    x[2, :] = -np.inf
    x[3, 5] = np.inf
    for axes in ([1], [0]):
        got = reduce_max_node(13, x, axes, 0)
        np.testing.assert_array_equal(got, np.max(x, axis=tuple(axes)))


def test_reduce_max_over_an_empty_axis_is_minus_infinity():
    # ONNX (ReduceMax-18 and later): the maximum of an empty set is -inf.
    x = np.zeros((3, 0, 2), np.float32)
    got = reduce_max_node(18, x, [1], 0)
    np.testing.assert_array_equal(got, np.full((3, 2), -np.inf, np.float32))


# ---------------------------------------------------------------------------------------------
# The Reduce* family (one ReduceKernel, a reduction per op) and ArgMax / ArgMin, against ORT's CPU
# EP: every revision, the types ORT registers, axes as attribute / constant input / run-time input,
# keepdims, noop_with_empty_axes, negative axes, zero-sized dims.

REDUCE_OPS = ["ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
              "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"]
F64 = np.float64


def axes_input_since(op):
    return 13 if op == "ReduceSum" else 18


def reduce_types(op, since):
    types = [np.float32, F64, np.int32, np.int64]
    if op in ("ReduceMax", "ReduceMin") and since >= 12:
        types += [np.int8, np.uint8]
    if op in ("ReduceMax", "ReduceMin") and since >= 20:
        types += [np.bool_]
    return types


def reduce_data(op, shape, dtype, seed=0):
    r = np.random.default_rng(seed)
    if dtype == np.bool_:
        return r.random(shape) < 0.5
    if np.dtype(dtype).kind == "f":
        lo = 0.1 if op == "ReduceLogSum" else -2.0
        hi = 1.5 if op == "ReduceProd" else 2.0
        return r.uniform(lo, hi, size=shape).astype(dtype)
    lo = 1 if op == "ReduceLogSum" else (-3 if op != "ReduceProd" else -2)
    hi = 3 if op in ("ReduceProd", "ReduceLogSumExp") else 6
    if np.dtype(dtype).kind == "u":
        lo = 0
    return r.integers(lo, hi + 1, size=shape).astype(dtype)


def reduce_check(op, opset, x, axes, keepdims=1, noop=None, axes_mode="const", rtol=1e-5, atol=1e-6):
    attrs = {"keepdims": keepdims}
    if noop is not None:
        attrs["noop_with_empty_axes"] = noop
    inputs, inits = [("x", x)], {}
    if opset >= axes_input_since(op):
        if axes is not None:
            a = np.array(axes, np.int64)
            inputs.append(("axes", a))
            if axes_mode == "const":
                inits["axes"] = a
    elif axes is not None:
        attrs["axes"] = list(axes)
    return check_node(op, inputs, ["y"], opset, attrs=attrs, initializers=inits, rtol=rtol, atol=atol)


@pytest.mark.parametrize("op", REDUCE_OPS)
def test_reduce_revisions_types_axes(op):
    for since, opset in schema_revisions(op):
        for dtype in reduce_types(op, since):
            x = reduce_data(op, (2, 3, 4, 5), dtype)
            for axes in [None, [0], [1], [3], [-1], [0, 2], [1, 3], [-3, -1], [0, 1, 2, 3], [2, 1]]:
                for keepdims in (0, 1):
                    reduce_check(op, opset, x, axes, keepdims)
            if since >= axes_input_since(op):
                reduce_check(op, opset, x, [1, -1], 0, axes_mode="runtime")
                for noop in (0, 1):
                    reduce_check(op, opset, x, None, 1, noop=noop)
                    reduce_check(op, opset, x, [], 0, noop=noop)
                    reduce_check(op, opset, x, [], 0, noop=noop, axes_mode="runtime")


@pytest.mark.parametrize("op", REDUCE_OPS)
def test_reduce_zero_sized_and_scalar(op):
    """Reductions over no elements give the identity (0, 1, +-inf, log 0), as ORT's CPU EP."""
    for dtype in (np.float32, np.int32):
        e = np.zeros((2, 0, 3), dtype)
        for opset in (13, 18):
            for axes in [[1], [0, 1], None, [0], [2]]:
                for keepdims in (0, 1):
                    reduce_check(op, opset, e, axes, keepdims)
        s = reduce_data(op, (), dtype)
        reduce_check(op, 13, s, None, 0)
        reduce_check(op, 13, reduce_data(op, (1, 1, 3), dtype), [0, 1], 0)  # size-1 axes only


@pytest.mark.parametrize("op", REDUCE_OPS)
def test_reduce_large_and_odd_sizes(op):
    """Several threads, the chunked kept-inner path and the contiguous-run path."""
    x = reduce_data(op, (3, 70, 1500), np.float32, seed=3)
    if op == "ReduceProd":
        x = (1 + (x - 1) * 0.01).astype(np.float32)
    for axes in ([0], [1], [2], [0, 2], [1, 2]):
        a = np.array(axes, np.int64)
        inputs = [("x", x), ("axes", a)]
        model = make_node_model(op, inputs, ["y"], 18, attrs={"keepdims": 0}, initializers={"axes": a})
        (got,) = session(model, threads=3).run(None, {"x": x})
        (want,) = run_cpu(model, inputs)
        np.testing.assert_allclose(got, want, rtol=2e-4, atol=1e-5, err_msg=f"{op} {axes}")


def test_reduce_special_values():
    x = np.array([[1.0, np.nan, 2.0], [np.inf, 1.0, 2.0], [-np.inf, -np.inf, -np.inf], [np.inf, -1.0, np.inf]],
                 np.float32)
    for op in ["ReduceSum", "ReduceLogSumExp", "ReduceL1", "ReduceSumSquare"]:
        for axes in ([1], [0]):
            reduce_check(op, 18, x, axes, 0)
    # Max and Min: infinities as ORT; NaN propagates (ORT's CPU EP skips NaN in some layouts).
    for op, f in (("ReduceMax", np.max), ("ReduceMin", np.min)):
        reduce_check(op, 18, x[1:], [1], 0)
        got = reduce_check(op, 18, x[:1], [0], 0)
        np.testing.assert_array_equal(got[0], x[0])
        a = np.array([1], np.int64)
        m = make_node_model(op, [("x", x), ("axes", a)], ["y"], 18, attrs={"keepdims": 0}, initializers={"axes": a})
        np.testing.assert_array_equal(run_anvil(m, [("x", x), ("axes", a)])[0], f(x, axis=1))


def test_reduce_logsumexp_large_values_stay_finite():
    x = np.array([[1000.0, 1000.0, 999.0], [-1000.0, -1001.0, -1000.0]], np.float32)
    got = reduce_check("ReduceLogSumExp", 13, x, [1], 0)
    assert np.isfinite(got[0]).all()


def test_reduce_bad_axes():
    x = reduce_data("ReduceSum", (2, 3), np.float32)
    for op in ("ReduceSum", "ReduceL2"):
        for axes in ([2], [0, 0], [-3]):
            with pytest.raises(Exception):
                reduce_check(op, 13 if op == "ReduceSum" else 18, x, axes)
    # A run-time axes input out of range: a clean error.
    a = np.array([0], np.int64)
    model = make_node_model("ReduceSum", [("x", x), ("axes", a)], ["y"], 13)
    sess = session(model)
    with pytest.raises(Exception, match="out of range"):
        sess.run(None, {"x": x, "axes": np.array([5], np.int64)})
    (y,) = sess.run(None, {"x": x, "axes": np.array([-1], np.int64)})
    np.testing.assert_allclose(y, x.sum(axis=1, keepdims=True), rtol=1e-6)


def test_reduce_unsupported_type_not_claimed():
    x = np.array([1, 2, 3], np.int8)
    with pytest.raises(Exception):
        check_node("ReduceSum", [("x", x)], ["y"], 13)


@pytest.mark.parametrize("op", ["ArgMax", "ArgMin"])
def test_arg_reduce(op):
    for since, opset in schema_revisions(op):
        for dtype in (np.float32, F64, np.int32, np.int64, np.int8, np.uint8):
            r = np.random.default_rng(5)
            x = r.integers(0, 4, size=(3, 4, 5)).astype(dtype)  # many ties
            for axis in (0, 1, 2, -1, -3):
                for keepdims in (0, 1):
                    attrs = {"axis": axis, "keepdims": keepdims}
                    lasts = (0, 1) if since >= 12 else (None,)
                    for last in lasts:
                        if last is not None:
                            attrs["select_last_index"] = last
                        check_node(op, [("x", x)], ["y"], opset, attrs=attrs, output_types=[TensorProto.INT64])
    x = np.zeros((0, 3), np.float32)
    check_node(op, [("x", x)], ["y"], 13, attrs={"axis": 1}, output_types=[TensorProto.INT64])
    # An empty reduced axis: not claimed when known, a clean error when found at run time.
    with pytest.raises(Exception):
        check_node(op, [("x", x)], ["y"], 13, attrs={"axis": 0}, output_types=[TensorProto.INT64])


def test_arg_reduce_large():
    x = np.random.default_rng(2).standard_normal((64, 3000)).astype(np.float32)
    for op in ("ArgMax", "ArgMin"):
        for axis in (0, 1):
            model = make_node_model(op, [("x", x)], ["y"], 13, attrs={"axis": axis}, output_types=[TensorProto.INT64])
            (got,) = session(model, threads=3).run(None, {"x": x})
            want = (np.argmax if op == "ArgMax" else np.argmin)(x, axis=axis)
            np.testing.assert_array_equal(got, np.expand_dims(want, axis))


# ---------------------------------------------------------------------------------------------
# LogSoftmax, Hardmax, LpNormalization, LayerNormalization, InstanceNormalization,
# GroupNormalization, MeanVarianceNormalization, LRN, GlobalMaxPool, GlobalLpPool: against ORT's
# CPU EP (and numpy where ORT has no kernel).

def randn(shape, dtype=np.float32, seed=0, scale=1.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)


@pytest.mark.parametrize("op", ["LogSoftmax", "Hardmax", "Softmax"])
def test_logsoftmax_hardmax(op):
    """(Softmax here for its double path.)"""
    types = [np.float32, F64] if op != "Hardmax" else [np.float32]
    for since, opset in schema_revisions(op):
        for dtype in types:
            for shape in [(17,), (3, 33), (2, 7, 17), (2, 3, 7, 5)]:
                x = randn(shape, dtype, seed=len(shape), scale=3.0)
                if op == "Hardmax":
                    x = np.round(x)  # ties: the first maximum wins
                for axis in range(-len(shape), len(shape)):
                    check_node(op, [("x", x)], ["y"], opset, attrs={"axis": axis}, rtol=1e-5, atol=1e-6)
                if len(shape) > 1 or since >= 13:  # (the old default axis 1 is out of range at rank 1)
                    check_node(op, [("x", x)], ["y"], opset, rtol=1e-5, atol=1e-6)  # default axis
            e = np.zeros((2, 0, 3), dtype)
            check_node(op, [("x", e)], ["y"], opset, attrs={"axis": 1})
    with pytest.raises(Exception):
        check_node(op, [("x", randn((2, 3)))], ["y"], 13, attrs={"axis": 2})


def test_logsoftmax_extremes():
    x = np.array([[1000.0, 0.0, -1000.0], [-np.inf, 0.0, 1.0], [5.0, 5.0, 5.0]], np.float32)
    got = check_node("LogSoftmax", [("x", x)], ["y"], 13, rtol=1e-5, atol=1e-6)
    assert np.isfinite(got[0][0, :2]).all()


@pytest.mark.parametrize("since,opset", schema_revisions("LpNormalization"))
def test_lp_normalization(since, opset):
    for dtype in (np.float32, F64):
        x = randn((2, 3, 5), dtype)
        x[0, :, 1] = 0  # a zero vector along axis 1
        for axis in (-1, 0, 1, 2):
            for p in (1, 2):
                if opset >= 22:  # ORT 1.29's CPU EP has LpNormalization-22 too; compare with numpy anyway
                    norm = np.sum(np.abs(x) ** p, axis=axis, keepdims=True) ** (1.0 / p)
                    want = np.where(norm == 0, 0, x / np.where(norm == 0, 1, norm)).astype(dtype)
                    check_node("LpNormalization", [("x", x)], ["y"], opset, attrs={"axis": axis, "p": p},
                               reference=[want], rtol=1e-5, atol=1e-7)
                check_node("LpNormalization", [("x", x)], ["y"], opset, attrs={"axis": axis, "p": p},
                           rtol=1e-5, atol=1e-7)
    with pytest.raises(Exception):
        check_node("LpNormalization", [("x", randn((2, 3)))], ["y"], opset, attrs={"p": 3})


def layer_norm_check(x, scale, bias, axis, eps=None, outputs=("y",), const=False):
    attrs = {"axis": axis}
    if eps is not None:
        attrs["epsilon"] = eps
    inputs = [("x", x), ("scale", scale)] + ([("bias", bias)] if bias is not None else [])
    inits = {"scale": scale} if const else None
    out_types = [TensorProto.DOUBLE if x.dtype == F64 else TensorProto.FLOAT] + [TensorProto.FLOAT] * 2
    return check_node("LayerNormalization", inputs, list(outputs), 17, attrs=attrs, initializers=inits,
                      output_types=out_types[: len(outputs)], rtol=1e-4, atol=1e-5)


def test_layer_normalization():
    for dtype in (np.float32, F64):
        x = randn((2, 3, 4, 5), dtype, scale=2.0) + 1.5
        for axis in (-1, -2, 1, 3, 0):
            norm_shape = x.shape[axis % 4:]
            scale = randn(norm_shape, dtype, seed=1)
            bias = randn(norm_shape, dtype, seed=2)
            layer_norm_check(x, scale, bias, axis)
            layer_norm_check(x, scale, None, axis, eps=1e-3)
            if dtype == np.float32:
                layer_norm_check(x, scale, bias, axis, outputs=("y", "mean", "inv_std"))
                layer_norm_check(x, scale, bias, axis, outputs=("y", "mean"), const=True)
    e = np.zeros((0, 4), np.float32)
    layer_norm_check(e, randn((4,)), randn((4,)), -1)
    # Rows of no elements: an error, as ORT's CPU EP gives.
    e = np.zeros((2, 0), np.float32)
    sess = session(make_node_model("LayerNormalization", [("x", e), ("s", np.zeros(0, np.float32))], ["y"], 17))
    with pytest.raises(Exception, match="no elements"):
        sess.run(None, {"x": e, "s": np.zeros(0, np.float32)})
    with pytest.raises(Exception):  # Scale of the wrong size: not claimed
        layer_norm_check(randn((2, 4)), randn((3,)), None, -1)


def test_layer_normalization_large_rows_threads():
    x = randn((257, 768), scale=3.0) + 2
    scale, bias = randn((768,), seed=1), randn((768,), seed=2)
    model = make_node_model("LayerNormalization", [("x", x), ("s", scale), ("b", bias)], ["y"], 17)
    (got,) = session(model, threads=3).run(None, {"x": x, "s": scale, "b": bias})
    (want,) = run_cpu(model, [("x", x), ("s", scale), ("b", bias)])
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("since,opset", schema_revisions("InstanceNormalization"))
def test_instance_normalization(since, opset):
    for shape in [(2, 3, 5), (2, 3, 4, 5), (1, 4, 2, 3, 2), (2, 3, 1)]:
        x = randn(shape, scale=2.0) + 1
        c = shape[1]
        s, b = randn((c,), seed=1), randn((c,), seed=2)
        for attrs in ({}, {"epsilon": 1e-2}):
            check_node("InstanceNormalization", [("x", x), ("s", s), ("b", b)], ["y"], opset, attrs=attrs,
                       rtol=1e-4, atol=1e-5)
    with pytest.raises(Exception):  # rank 2: ORT's CPU EP rejects it, Anvil does not claim it
        check_node("InstanceNormalization", [("x", randn((2, 3))), ("s", randn((3,))), ("b", randn((3,)))], ["y"],
                   opset)
    x = np.zeros((0, 3, 4), np.float32)
    check_node("InstanceNormalization", [("x", x), ("s", np.ones(3, np.float32)), ("b", np.zeros(3, np.float32))],
               ["y"], opset)


def group_norm_ref(x, scale, bias, groups, eps, per_channel):
    n, c = x.shape[:2]
    xg = x.astype(np.float64).reshape(n, groups, -1)
    mean = xg.mean(axis=2, keepdims=True)
    var = xg.var(axis=2, keepdims=True)
    y = ((xg - mean) / np.sqrt(var + eps)).reshape(x.shape)
    bshape = (1, c) + (1,) * (x.ndim - 2)
    if per_channel:
        s, b = scale.reshape(bshape), bias.reshape(bshape)
    else:
        s = np.repeat(scale, c // groups).reshape(bshape)
        b = np.repeat(bias, c // groups).reshape(bshape)
    return (y * s + b).astype(x.dtype)


@pytest.mark.parametrize("since,opset", schema_revisions("GroupNormalization"))
def test_group_normalization(since, opset):
    per_channel = since >= 21
    for dtype in (np.float32, F64):
        for shape, groups in [((2, 6, 5), 3), ((2, 4, 3, 3), 2), ((1, 4, 2, 2), 4), ((2, 6, 7), 1)]:
            x = randn(shape, dtype, scale=2.0) + 1
            c = shape[1]
            n_par = c if per_channel else groups
            s, b = randn((n_par,), dtype, seed=1), randn((n_par,), dtype, seed=2)
            attrs = {"num_groups": groups, "epsilon": 1e-3}
            check_node("GroupNormalization", [("x", x), ("s", s), ("b", b)], ["y"], opset, attrs=attrs,
                       reference=[group_norm_ref(x, s, b, groups, 1e-3, per_channel)], rtol=1e-4, atol=1e-5)
            check_node("GroupNormalization", [("x", x), ("s", s), ("b", b)], ["y"], opset, attrs=attrs,
                       rtol=1e-4, atol=1e-5)
    with pytest.raises(Exception):  # channels not divisible by groups: not claimed
        x = randn((1, 5, 3))
        check_node("GroupNormalization", [("x", x), ("s", randn((5,))), ("b", randn((5,)))], ["y"], opset,
                   attrs={"num_groups": 2})


@pytest.mark.parametrize("since,opset", schema_revisions("MeanVarianceNormalization"))
def test_mean_variance_normalization(since, opset):
    x = randn((2, 3, 4, 5), scale=2.0) + 1
    for attrs in ({}, {"axes": [2, 3]}, {"axes": [1]}, {"axes": [0, 1, 2, 3]}, {"axes": [-1]}):
        check_node("MeanVarianceNormalization", [("x", x)], ["y"], opset, attrs=attrs, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("since,opset", schema_revisions("LRN"))
def test_lrn(since, opset):
    x = randn((2, 7, 3, 4), scale=2.0)
    for attrs in ({"size": 3}, {"size": 5, "alpha": 0.01, "beta": 0.5, "bias": 2.0}, {"size": 1}, {"size": 9}):
        check_node("LRN", [("x", x)], ["y"], opset, attrs=attrs, rtol=1e-4, atol=1e-6)
    # Even sizes (ONNX allows them, ORT's CPU EP refuses them): the window is c - 1 .. c + 2 for 4.
    sq = np.pad(x.astype(np.float64) ** 2, ((0, 0), (1, 2), (0, 0), (0, 0)))
    window = sum(sq[:, k:k + 7] for k in range(4))
    want = (x / (2.0 + 0.01 / 4 * window) ** 0.5).astype(np.float32)
    check_node("LRN", [("x", x)], ["y"], opset, attrs={"size": 4, "alpha": 0.01, "beta": 0.5, "bias": 2.0},
               reference=[want], rtol=1e-5, atol=1e-6)
    # Rank 3 (ORT's CPU EP takes 4-D only): numpy reference, size 5 centred.
    x3 = randn((2, 5, 6))
    sq = np.pad(x3.astype(np.float64) ** 2, ((0, 0), (2, 2), (0, 0)))
    want = (x3 / (1.0 + 1e-4 / 5 * sum(sq[:, k:k + 5] for k in range(5))) ** 0.75).astype(np.float32)
    check_node("LRN", [("x", x3)], ["y"], opset, attrs={"size": 5}, reference=[want], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("op", ["GlobalMaxPool", "GlobalLpPool"])
def test_global_max_lp_pool(op):
    for since, opset in schema_revisions(op, 2):
        for shape in [(2, 3, 5), (2, 3, 4, 5), (1, 2, 2, 3, 2), (0, 3, 4, 4)]:
            x = randn(shape)
            attr_sets = [{}] if op == "GlobalMaxPool" else [{}, {"p": 1}, {"p": 3}]
            for attrs in attr_sets:
                if op == "GlobalLpPool":
                    p = attrs.get("p", 2)
                    want = (np.sum(np.abs(x.astype(np.float64)) ** p, axis=tuple(range(2, x.ndim)),
                                   keepdims=True) ** (1.0 / p)).astype(np.float32)
                else:
                    want = x.max(axis=tuple(range(2, x.ndim)), keepdims=True) if x.size else \
                        np.zeros(shape[:2] + (1,) * (x.ndim - 2), np.float32)
                check_node(op, [("x", x)], ["y"], opset, attrs=attrs, reference=[want], rtol=1e-5, atol=1e-6)
                if op == "GlobalMaxPool" or since < 22:  # ORT's CPU EP has no GlobalLpPool-22
                    check_node(op, [("x", x)], ["y"], opset, attrs=attrs, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------------------------
# Einsum (explicit letters; an ellipsis is not claimed)

EINSUM_CASES = [
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("ij,jk", [(3, 4), (4, 5)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("bhqd,bhkd->bhqk", [(2, 3, 4, 8), (2, 3, 5, 8)]),
    ("ij->ji", [(3, 4)]),
    ("ijk->kji", [(2, 3, 4)]),
    ("ij->", [(3, 4)]),
    ("ij->i", [(3, 4)]),
    ("ii->i", [(4, 4)]),
    ("ii", [(4, 4)]),
    ("i,i->", [(5,), (5,)]),
    ("i,j->ij", [(3,), (4,)]),
    ("iA,AB->iB", [(3, 4), (4, 2)]),
    ("iAA->", [(2, 3, 3)]),
    ("ij,ij->ij", [(3, 4), (3, 4)]),
    ("ijk,ikl,il->jl", [(2, 3, 4), (2, 4, 5), (2, 5)]),
    (" ij , jk -> ik ", [(2, 3), (3, 2)]),
    ("ij,jk->ik", [(0, 4), (4, 5)]),
    ("ij,jk->ik", [(3, 0), (0, 5)]),
    (",ij->ij", [(), (2, 3)]),
]


@pytest.mark.parametrize("equation,shapes", EINSUM_CASES)
def test_einsum(equation, shapes):
    for dtype in (np.float32, F64, np.int32, np.int64):
        r = np.random.default_rng(3)
        xs = [np.asarray(r.standard_normal(s) * 3).astype(dtype) for s in shapes]
        inputs = [(f"x{i}", x) for i, x in enumerate(xs)]
        want = np.einsum(equation.replace(" ", ""), *[x.astype(np.float64) if dtype in (np.float32, F64) else x
                                                      for x in xs]).astype(dtype)
        check_node("Einsum", inputs, ["y"], 12, attrs={"equation": equation}, reference=[np.asarray(want)],
                   rtol=1e-5, atol=1e-5)
        if equation.strip() != ",ij->ij":
            check_node("Einsum", inputs, ["y"], 12, attrs={"equation": equation}, rtol=1e-5, atol=1e-5)


def test_einsum_not_claimed():
    x = rand(2, 3)
    for eq, inputs in [("...ij->...ji", [("x", x)]), ("ij,jk->ik", [("x", x)]), ("ijk->ik", [("x", x)]),
                       ("ij->iz", [("x", x)]), ("ij->ii", [("x", x)]), ("iA", [("x", x)]),
                       ("ij,ij->ij", [("a", x), ("b", rand(3, 2))])]:
        with pytest.raises(Exception):
            check_node("Einsum", inputs, ["y"], 12, attrs={"equation": eq})


def test_einsum_runtime_size_mismatch_is_an_error():
    from onnx import helper
    g = helper.make_graph([helper.make_node("Einsum", ["a", "b"], ["y"], equation="ij,jk->ik")], "g",
                          [helper.make_tensor_value_info("a", TensorProto.FLOAT, ["n", "m"]),
                           helper.make_tensor_value_info("b", TensorProto.FLOAT, ["p", "q"])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 12)])
    m.ir_version = 8
    sess = session(m)
    with pytest.raises(Exception, match="sizes"):
        sess.run(None, {"a": rand(2, 3), "b": rand(4, 2)})
    (y,) = sess.run(None, {"a": rand(2, 3), "b": rand(3, 2)})
    assert y.shape == (2, 2)


def test_einsum_larger_with_threads():
    r = np.random.default_rng(9)
    for eq, shapes in [("bhqd,bhkd->bhqk", [(1, 4, 64, 32), (1, 4, 48, 32)]), ("ij,jk->ik", [(70, 130), (130, 90)]),
                       ("ijk,ikl,il->jl", [(3, 10, 12), (3, 12, 7), (3, 7)])]:
        xs = [r.standard_normal(s).astype(np.float32) for s in shapes]
        inputs = [(f"x{i}", x) for i, x in enumerate(xs)]
        model = make_node_model("Einsum", inputs, ["y"], 12, attrs={"equation": eq})
        (got,) = session(model, threads=3).run(None, dict(inputs))
        np.testing.assert_allclose(got, np.einsum(eq, *[x.astype(np.float64) for x in xs]), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("since,opset", schema_revisions("LpPool", 2))
def test_lp_pool(since, opset):
    cases = [
        ((2, 3, 9), {"kernel_shape": [3]}),
        ((2, 3, 7, 8), {"kernel_shape": [2, 3], "strides": [2, 1]}),
        ((1, 2, 7, 8), {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "p": 1}),
        ((1, 2, 7, 8), {"kernel_shape": [3, 2], "p": 3}),
        ((1, 2, 4, 5, 6), {"kernel_shape": [2, 2, 2]}),
        ((1, 2, 7, 8), {"kernel_shape": [3, 3], "auto_pad": "SAME_UPPER"}),
        ((0, 2, 7, 8), {"kernel_shape": [3, 3]}),
    ]
    if since >= 18:
        cases += [((1, 2, 9, 9), {"kernel_shape": [3, 3], "dilations": [2, 2]}),
                  ((1, 2, 8, 8), {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1})]
    for shape, attrs in cases:
        x = randn(shape)
        check_node("LpPool", [("x", x)], ["y"], opset, attrs=attrs, rtol=1e-5, atol=1e-6)


def test_max_pool_propagates_nan():
    # A window holding a NaN gives NaN wherever the NaN sits in it (as ReduceMax); ORT's SIMD max
    # keeps it only when it is the window's last tap, so this compares with numpy.
    x = rand(1, 2, 6, 6)
    x[0, 0, 1, 1] = np.nan
    x[0, 1, 4, 5] = np.nan
    want = x.reshape(1, 2, 3, 2, 3, 2).max(axis=(3, 5))
    check_node("MaxPool", [("x", x)], ["y"], 12, attrs={"kernel_shape": [2, 2], "strides": [2, 2]}, reference=[want])
