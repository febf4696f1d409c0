"""Shape and data-movement kernels on Anvil: Shape, Reshape, Squeeze, Unsqueeze, Flatten, Identity,
Concat, Slice, Transpose, Gather, Resize. Every test runs with CPU fallback disabled, so a node that
Anvil did not claim fails session creation."""
import itertools

import numpy as np
import pytest
from onnx import TensorProto

from anvil_testing import check_node, make_node_model, run_anvil, run_cpu, schema_revisions, session

RNG = np.random.default_rng(1234)
INT64_MAX = np.iinfo(np.int64).max
INT64_MIN = np.iinfo(np.int64).min


def data(shape, dtype=np.float32):
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return np.asarray(RNG.random(shape) > 0.5)
    if dtype.kind == "f":
        return RNG.standard_normal(shape).astype(dtype)
    return RNG.integers(-100, 100, size=shape).astype(dtype)


def i64(*v):
    return np.array(v, dtype=np.int64)


def revs(op, first=1):
    return schema_revisions(op, first_opset=first)


def assert_fails(model, inputs, *needles):
    """Anvil claims the node but Compute rejects the inputs: a clear error, and the process lives on."""
    with pytest.raises(Exception) as err:
        run_anvil(model, inputs)
    msg = str(err.value)
    for n in needles:
        assert n in msg, f"{n!r} not in error message: {msg}"
    return msg


def assert_not_claimed(model, inputs):
    """Anvil declines the node: no session without fallback; with fallback ORT's CPU EP runs it."""
    with pytest.raises(Exception):
        session(model, fallback=False)
    got = session(model, fallback=True).run(None, {n: v for n, v in inputs if v is not None and
                                                   n in {i.name for i in model.graph.input}})
    want = run_cpu(model, inputs)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------------------------------ Shape

@pytest.mark.parametrize("since,opset", revs("Shape"))
@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.int32, np.bool_])
def test_shape(since, opset, dtype):
    for shape in [(2, 3, 4), (0, 5), (), (7,)]:
        x = data(shape, dtype)
        check_node("Shape", [("x", x)], ["y"], opset, reference=[np.array(shape, dtype=np.int64)],
                   output_types=[TensorProto.INT64])


@pytest.mark.parametrize("since,opset", [r for r in revs("Shape") if r[0] >= 15])
def test_shape_start_end(since, opset):
    x = data((2, 3, 4, 5))
    s = list(x.shape)
    for start, end in [(1, None), (0, 2), (-2, None), (-1, -3), (-10, 10), (2, 1), (4, None), (None, -1)]:
        attrs = {}
        if start is not None:
            attrs["start"] = start
        if end is not None:
            attrs["end"] = end
        want = np.array(s[slice(start, end)], dtype=np.int64)
        check_node("Shape", [("x", x)], ["y"], opset, attrs=attrs, reference=[want],
                   output_types=[TensorProto.INT64])


# ---------------------------------------------------------------------------------------- Reshape

@pytest.mark.parametrize("since,opset", revs("Reshape", 5))
@pytest.mark.parametrize("const", [True, False])
def test_reshape(since, opset, const):
    x = data((2, 3, 4))
    for shape in [(4, 6), (-1,), (0, -1), (2, 0, 2, 2), (-1, 3, 1), (24,), (1, 1, 24)]:
        s = i64(*shape)
        want = x.reshape([x.shape[i] if d == 0 else d for i, d in enumerate(shape)])
        check_node("Reshape", [("x", x), ("s", s)], ["y"], opset, initializers={"s": s} if const else None,
                   reference=[want])


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_, np.float64, np.uint8, np.int8])
def test_reshape_types(dtype):
    x = data((3, 5), dtype)
    check_node("Reshape", [("x", x), ("s", i64(5, 3))], ["y"], 13, reference=[x.reshape(5, 3)])


def test_reshape_zero_size():
    x = data((0, 4))
    check_node("Reshape", [("x", x), ("s", i64(0, 2, 2))], ["y"], 13, reference=[x.reshape(0, 2, 2)])
    check_node("Reshape", [("x", x), ("s", i64(-1, 2))], ["y"], 13, reference=[x.reshape(0, 2)])


@pytest.mark.parametrize("since,opset", [r for r in revs("Reshape") if r[0] >= 14])
def test_reshape_allowzero(since, opset):
    x = data((0, 4))
    check_node("Reshape", [("x", x), ("s", i64(4, 0))], ["y"], opset, attrs={"allowzero": 1},
               reference=[x.reshape(4, 0)])
    # allowzero=0: the 0 copies the input dim.
    y = data((3, 4))
    check_node("Reshape", [("x", y), ("s", i64(0, 2, 2))], ["y"], opset, attrs={"allowzero": 0},
               reference=[y.reshape(3, 2, 2)])


def fails(op, inputs, opset, *needles, attrs=None):
    return assert_fails(make_node_model(op, inputs, ["y"], opset, attrs=attrs), inputs, *needles)


def test_reshape_errors():
    x = data((2, 3))
    fails("Reshape", [("x", x), ("s", i64(4, 2))], 13, "cannot reshape", "[2,3]", "[4,2]")
    fails("Reshape", [("x", x), ("s", i64(-1, -1))], 13, "more than one -1")
    fails("Reshape", [("x", x), ("s", i64(-1, 4))], 13, "cannot reshape", "-1")
    fails("Reshape", [("x", x), ("s", i64(1, 2, 0, 3))], 13, "copies dim 2")
    m = make_node_model("Reshape", [("x", x), ("s", i64(4, 2))], ["y"], 13)
    # The session survives the errors.
    np.testing.assert_array_equal(run_anvil(m, [("x", x), ("s", i64(3, 2))])[0], x.reshape(3, 2))


# ---------------------------------------------------------------------------------------- Squeeze

@pytest.mark.parametrize("since,opset", revs("Squeeze"))
@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.bool_])
def test_squeeze(since, opset, dtype):
    x = data((1, 3, 1, 4, 1), dtype)
    cases = [None, [0], [-1], [0, 2], [2, -5, 4]] if opset >= 11 else [None, [0], [0, 2], [2, 4]]
    for axes in cases:
        want = np.squeeze(x) if axes is None else np.squeeze(x, axis=tuple(axes))
        if opset < 13:
            attrs = {} if axes is None else {"axes": axes}
            check_node("Squeeze", [("x", x)], ["y"], opset, attrs=attrs, reference=[want])
        elif axes is None:
            check_node("Squeeze", [("x", x)], ["y"], opset, reference=[want])
        else:
            a = i64(*axes)
            check_node("Squeeze", [("x", x), ("a", a)], ["y"], opset, initializers={"a": a}, reference=[want])
            check_node("Squeeze", [("x", x), ("a", a)], ["y"], opset, reference=[want])


def test_squeeze_zero_size_and_error():
    x = data((0, 1, 3))
    check_node("Squeeze", [("x", x), ("a", i64(1))], ["y"], 13, reference=[x.reshape(0, 3)])
    check_node("Squeeze", [("x", x)], ["y"], 13, reference=[x.reshape(0, 3)])
    y = data((2, 1))
    fails("Squeeze", [("x", y), ("a", i64(0))], 13, "cannot squeeze axis 0", "[2,1]")
    fails("Squeeze", [("x", y), ("a", i64(2))], 13, "out of range")


# -------------------------------------------------------------------------------------- Unsqueeze

@pytest.mark.parametrize("since,opset", revs("Unsqueeze"))
@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.bool_])
def test_unsqueeze(since, opset, dtype):
    x = data((3, 4), dtype)
    cases = [[0], [2], [0, 3], [1, 3]] + ([[-1], [-1, 0], [-4, 2]] if opset >= 11 else [])
    for axes in cases:
        want = np.expand_dims(x, tuple(axes))
        if opset < 13:
            check_node("Unsqueeze", [("x", x)], ["y"], opset, attrs={"axes": axes}, reference=[want])
        else:
            a = i64(*axes)
            check_node("Unsqueeze", [("x", x), ("a", a)], ["y"], opset, initializers={"a": a}, reference=[want])
            check_node("Unsqueeze", [("x", x), ("a", a)], ["y"], opset, reference=[want])


def test_unsqueeze_scalar_zero_size_and_error():
    s = np.array(5.0, dtype=np.float32)
    check_node("Unsqueeze", [("x", s), ("a", i64(0))], ["y"], 13, reference=[s.reshape(1)])
    z = data((0, 3))
    check_node("Unsqueeze", [("x", z), ("a", i64(-1, 1))], ["y"], 13, reference=[z.reshape(0, 1, 3, 1)])
    x = data((2,))
    fails("Unsqueeze", [("x", x), ("a", i64(0, 0))], 13, "repeated")
    fails("Unsqueeze", [("x", x), ("a", i64(5))], 13, "out of range")


# ---------------------------------------------------------------------------------------- Flatten

@pytest.mark.parametrize("since,opset", revs("Flatten"))
def test_flatten(since, opset):
    dtypes = [np.float32] if since < 9 else [np.float32, np.int64, np.bool_]
    for dtype in dtypes:
        x = data((2, 3, 4, 5), dtype)
        axes = [0, 1, 2, 4] + ([-1, -3, -4] if opset >= 11 else [])
        for axis in axes:
            a = axis + 4 if axis < 0 else axis
            want = x.reshape(int(np.prod(x.shape[:a])), -1)
            check_node("Flatten", [("x", x)], ["y"], opset, attrs={"axis": axis}, reference=[want])
    x = data((2, 3))
    check_node("Flatten", [("x", x)], ["y"], opset, reference=[x.reshape(2, 3)])  # default axis 1


def test_flatten_zero_size():
    x = data((2, 0, 3))
    check_node("Flatten", [("x", x)], ["y"], 13, attrs={"axis": 2}, reference=[np.zeros((0, 3), np.float32)])
    check_node("Flatten", [("x", x)], ["y"], 13, attrs={"axis": 1}, reference=[np.zeros((2, 0), np.float32)])


# --------------------------------------------------------------------------------------- Identity

@pytest.mark.parametrize("since,opset", revs("Identity"))
def test_identity(since, opset):
    for dtype in [np.float32, np.int64, np.int32, np.bool_, np.uint8, np.float64]:
        for shape in [(3, 4), (), (0, 2)]:
            x = data(shape, dtype)
            check_node("Identity", [("x", x)], ["y"], opset, reference=[x])


def test_identity_large():
    x = data((1 << 20,))  # parallel copy
    check_node("Identity", [("x", x)], ["y"], 13, reference=[x])


# ----------------------------------------------------------------------------------------- Concat

@pytest.mark.parametrize("since,opset", revs("Concat", 4))
@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.int32, np.bool_, np.int8, np.float64])
def test_concat(since, opset, dtype):
    axes = [0, 1, 2] + ([-1, -3] if opset >= 11 else [])
    for axis in axes:
        shapes = []
        for k in range(3):
            s = [2, 3, 4]
            s[axis] = k + 1
            shapes.append(s)
        xs = [data(s, dtype) for s in shapes]
        check_node("Concat", [(f"x{i}", x) for i, x in enumerate(xs)], ["y"], opset, attrs={"axis": axis},
                   reference=[np.concatenate(xs, axis=axis)])


def test_concat_zero_size_and_edges():
    a, b, c = data((2, 0, 3)), data((2, 4, 3)), data((2, 1, 3))
    check_node("Concat", [("a", a), ("b", b), ("c", c)], ["y"], 13, attrs={"axis": 1},
               reference=[np.concatenate([a, b, c], 1)])
    z1, z2 = data((0, 3)), data((0, 3))
    check_node("Concat", [("a", z1), ("b", z2)], ["y"], 13, attrs={"axis": 0}, reference=[np.zeros((0, 3), np.float32)])
    check_node("Concat", [("a", z1), ("b", z2)], ["y"], 13, attrs={"axis": 1}, reference=[np.zeros((0, 6), np.float32)])
    one = data((3, 4))
    check_node("Concat", [("a", one)], ["y"], 13, attrs={"axis": 1}, reference=[one])
    # Shape-vector style (int64, 1-D) with a constant piece, as built by exported graphs.
    s1, s2 = i64(1, 2), i64(-1)
    check_node("Concat", [("a", s1), ("b", s2)], ["y"], 13, attrs={"axis": 0}, initializers={"b": s2},
               reference=[i64(1, 2, -1)])
    # Many inputs, large rows (parallel paths for few and for many rows).
    xs = [data((2, 50000)) for _ in range(5)]
    check_node("Concat", [(f"x{i}", x) for i, x in enumerate(xs)], ["y"], 13, attrs={"axis": 1},
               reference=[np.concatenate(xs, 1)])
    xs = [data((4000, 7 + i)) for i in range(3)]
    check_node("Concat", [(f"x{i}", x) for i, x in enumerate(xs)], ["y"], 13, attrs={"axis": -1},
               reference=[np.concatenate(xs, -1)])


# ------------------------------------------------------------------------------------------ Slice

def np_slice(x, starts, ends, axes=None, steps=None):
    axes = list(range(len(starts))) if axes is None else axes
    steps = [1] * len(starts) if steps is None else steps
    sl = [slice(None)] * x.ndim
    for s, e, a, st in zip(starts, ends, axes, steps):
        # Python slicing clamps exactly as the ONNX spec, except huge sentinels: map them to None.
        s = None if (st > 0 and s <= -(1 << 62)) or (st < 0 and s >= (1 << 62)) else int(s)
        e = None if abs(int(e)) >= (1 << 62) else int(e)
        sl[a] = slice(s, e, int(st))
    return x[tuple(sl)]


def test_slice_rev1():
    x = data((4, 5, 6))
    for starts, ends, axes in [([1], [3], None), ([0, 1], [2, -1], [0, 2]), ([-3], [INT64_MAX], [1]),
                               ([1, 0, 2], [1000, 2, 4], None), ([2], [1], [0])]:
        attrs = {"starts": starts, "ends": ends}
        if axes is not None:
            attrs["axes"] = axes
        check_node("Slice", [("x", x)], ["y"], 7, attrs=attrs, reference=[np_slice(x, starts, ends, axes)])


SLICE_CASES = [
    ([1], [3], None, None),
    ([0, 1], [2, -1], [0, 2], None),
    ([-3], [INT64_MAX], [1], None),
    ([INT64_MIN], [2], [-1], None),
    ([4], [INT64_MIN], [0], [-1]),
    ([-1], [INT64_MIN], [2], [-2]),
    ([5, 0], [0, 6], [2, 1], [-2, 3]),
    ([0, 0, 0], [4, 5, 6], None, [2, 2, 2]),
    ([10], [20], [0], [1]),       # empty: start clamped to the dim
    ([2], [2], [1], [1]),         # empty
    ([-100], [100], [2], [1]),    # clamped to the whole axis
    ([100], [-100], [2], [-1]),   # whole axis, reversed
    ([1], [3], [-2], [INT64_MAX]),
    ([3], [0], [-2], [INT64_MIN]),
]


@pytest.mark.parametrize("since,opset", [r for r in revs("Slice") if r[0] >= 10])
@pytest.mark.parametrize("tind", [np.int64, np.int32])
def test_slice(since, opset, tind):
    x = data((4, 5, 6))
    for starts, ends, axes, steps in SLICE_CASES:
        if tind == np.int32:
            clip = lambda v: [int(np.clip(a, -(2**31), 2**31 - 1)) for a in v]  # noqa: E731
            starts, ends = clip(starts), clip(ends)
            steps = None if steps is None else clip(steps)
        if since == 10 and axes is not None and min(axes) < 0:
            continue  # negative axes arrived in revision 11
        inputs = [("x", x), ("s", np.array(starts, tind)), ("e", np.array(ends, tind))]
        inputs.append(("a", None if axes is None and steps is None else
                       np.array(axes if axes is not None else list(range(len(starts))), tind)))
        if steps is not None:
            inputs.append(("t", np.array(steps, tind)))
        want = np_slice(x, starts, ends, axes, steps)
        check_node("Slice", inputs, ["y"], opset, reference=[want])
        consts = {n: v for n, v in inputs[1:] if v is not None}
        check_node("Slice", inputs, ["y"], opset, initializers=consts, reference=[want])


@pytest.mark.parametrize("dtype", [np.int64, np.bool_, np.uint8, np.float64, np.int32])
def test_slice_types_and_shapes(dtype):
    x = data((3, 4, 5, 6), dtype)
    for _ in range(6):
        starts, ends, steps = [], [], []
        for d in x.shape:
            st = int(RNG.choice([-3, -2, -1, 1, 2, 3]))
            starts.append(int(RNG.integers(-d - 2, d + 2)))
            ends.append(int(RNG.integers(-d - 2, d + 2)))
            steps.append(st)
        inputs = [("x", x), ("s", i64(*starts)), ("e", i64(*ends)), ("a", i64(0, 1, 2, 3)), ("t", i64(*steps))]
        check_node("Slice", inputs, ["y"], 13, reference=[np_slice(x, starts, ends, [0, 1, 2, 3], steps)])
    z = data((0, 4), dtype)
    check_node("Slice", [("x", z), ("s", i64(1)), ("e", i64(3)), ("a", i64(1))], ["y"], 13, reference=[z[:, 1:3]])
    check_node("Slice", [("x", z), ("s", i64(-1)), ("e", i64(INT64_MIN)), ("a", i64(0)), ("t", i64(-1))], ["y"],
               13, reference=[z[::-1]])
    big = data((64, 300, 40), dtype)  # parallel strided copy with contiguous runs
    check_node("Slice", [("x", big), ("s", i64(3, 5)), ("e", i64(290, 35)), ("a", i64(1, 2))], ["y"], 13,
               reference=[big[:, 3:290, 5:35]])


def test_slice_errors():
    x = data((4, 5))
    fails("Slice", [("x", x), ("s", i64(0)), ("e", i64(2)), ("a", i64(0)), ("t", i64(0))], 13, "step 0")
    fails("Slice", [("x", x), ("s", i64(0)), ("e", i64(2)), ("a", i64(2)), ("t", i64(1))], 13, "out of range")
    fails("Slice", [("x", x), ("s", i64(0, 0)), ("e", i64(2)), ("a", i64(0)), ("t", i64(1))], 13, "ends has")
    fails("Slice", [("x", x), ("s", i64(0, 0)), ("e", i64(2, 2)), ("a", i64(1, -1)), ("t", i64(1, 1))], 13,
          "repeated")


# -------------------------------------------------------------------------------------- Transpose

@pytest.mark.parametrize("since,opset", revs("Transpose"))
@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.bool_, np.int32])
def test_transpose(since, opset, dtype):
    x = data((2, 3, 4), dtype)
    for perm in itertools.permutations(range(3)):
        check_node("Transpose", [("x", x)], ["y"], opset, attrs={"perm": list(perm)},
                   reference=[np.transpose(x, perm)])
    check_node("Transpose", [("x", x)], ["y"], opset, reference=[np.transpose(x)])  # default: reverse


def test_transpose_shapes():
    cases = [
        ((37, 53), (1, 0)),            # 2-D, blocked
        ((300, 200), (1, 0)),          # 2-D, several tiles, parallel
        ((2, 3, 65, 33), (0, 2, 3, 1)),  # NCHW -> NHWC
        ((2, 65, 33, 3), (0, 3, 1, 2)),  # NHWC -> NCHW
        ((1, 41, 19, 45), (0, 3, 1, 2)),  # NHWC -> NCHW, narrow bands with both edges
        ((2, 9, 8, 16), (0, 3, 1, 2)),  # ... exact 8x8 blocks, two matrices
        ((2, 5, 7, 8), (0, 2, 1, 3)),  # attention heads: contiguous inner runs
        ((3, 1, 4, 1, 5), (4, 3, 2, 1, 0)),  # size-1 dims
        ((2, 3, 4, 5, 6), (3, 1, 4, 0, 2)),  # general N-d
        ((2, 3, 4, 5, 6, 2), (5, 0, 4, 1, 3, 2)),
        ((7,), (0,)),
        ((), ()),
        ((1, 1), (1, 0)),
        ((0, 3, 4), (2, 0, 1)),        # zero-size
        ((3, 0), (1, 0)),
    ]
    for shape, perm in cases:
        for dtype in [np.float32, np.int8, np.float64]:
            x = data(shape, dtype)
            check_node("Transpose", [("x", x)], ["y"], 13, attrs={"perm": list(perm)} if perm else None,
                       reference=[np.transpose(x, perm)])
    for rank in range(1, 6):
        for _ in range(4):
            shape = tuple(int(v) for v in RNG.integers(1, 5, size=rank))
            perm = tuple(int(v) for v in RNG.permutation(rank))
            x = data(shape)
            check_node("Transpose", [("x", x)], ["y"], 13, attrs={"perm": list(perm)},
                       reference=[np.transpose(x, perm)])


# ----------------------------------------------------------------------------------------- Gather

@pytest.mark.parametrize("since,opset", revs("Gather"))
@pytest.mark.parametrize("tind", [np.int64, np.int32])
def test_gather(since, opset, tind):
    for dtype in [np.float32, np.int64, np.bool_]:
        x = data((5, 4, 3), dtype)
        for axis in [0, 1, 2, -1, -3]:
            n = x.shape[axis]
            for idx in [np.array([0, n - 1, 1], tind), np.array(-1, tind), np.array([[0, -1], [-n, 1]], tind),
                        np.zeros((0,), tind)]:
                want = np.take(x, idx.astype(np.int64), axis=axis)
                check_node("Gather", [("x", x), ("i", idx)], ["y"], opset, attrs={"axis": axis}, reference=[want])
                check_node("Gather", [("x", x), ("i", idx)], ["y"], opset, attrs={"axis": axis},
                           initializers={"i": idx}, reference=[want])


def test_gather_shapes_and_large():
    shape = i64(1, 3, 32, 100)  # Shape -> Gather(scalar) as exported graphs do
    check_node("Gather", [("x", shape), ("i", np.array(2, np.int64))], ["y"], 13, reference=[np.array(32, np.int64)])
    z = data((0, 4))
    check_node("Gather", [("x", z), ("i", i64(1, 3))], ["y"], 13, attrs={"axis": 1}, reference=[z[:, [1, 3]]])
    emb = data((1000, 96))
    idx = RNG.integers(-1000, 1000, size=(8, 40)).astype(np.int64)
    check_node("Gather", [("x", emb), ("i", idx)], ["y"], 13, reference=[np.take(emb, idx, axis=0)])


def test_gather_out_of_range():
    x = data((4, 3))
    fails("Gather", [("x", x), ("i", i64(0, 4))], 13, "index 4", "out of range", "size 4", attrs={"axis": 0})
    fails("Gather", [("x", x), ("i", i64(-5))], 13, "index -5", "out of range", attrs={"axis": 0})
    fails("Gather", [("x", x), ("i", np.array([3], np.int32))], 13, "index 3", "size 3", attrs={"axis": 1})
    # The process and the session survive: the same session runs good indices after a bad one.
    m = make_node_model("Gather", [("x", x), ("i", i64(0))], ["y"], 13, attrs={"axis": 0})
    sess = session(m)
    with pytest.raises(Exception, match="out of range"):
        sess.run(None, {"x": x, "i": i64(7)})
    np.testing.assert_array_equal(sess.run(None, {"x": x, "i": i64(-1)})[0], x[[-1]])


# ----------------------------------------------------------------------------------------- Resize

def resize_inputs(x, opset, scales=None, sizes=None, const=True):
    """Inputs and initializers for Resize at `opset` (revision 10: X, scales; 11+: X, roi, scales, sizes)."""
    if opset < 11:
        s = np.array(scales, np.float32)
        return [("x", x), ("scales", s)], ({"scales": s} if const else {})
    roi = np.zeros((0,), np.float32)
    inputs = [("x", x), ("roi", roi)]
    inits = {"roi": roi}
    if scales is not None:
        s = np.array(scales, np.float32)
        inputs.append(("scales", s))
        if const:
            inits["scales"] = s
    else:
        if opset < 13:
            e = np.zeros((0,), np.float32)
            inputs.append(("scales", e))
            inits["scales"] = e
        else:
            inputs.append(("scales", None))
        z = np.array(sizes, np.int64)
        inputs.append(("sizes", z))
        if const:
            inits["sizes"] = z
    return inputs, inits


def onnx_reference(x, opset, attrs, scales=None, sizes=None):
    """The ONNX reference implementation (for cases ORT's CPU EP does not run, e.g. linear on outer dims)."""
    from onnx.reference import ReferenceEvaluator
    inputs, inits = resize_inputs(x, opset, scales, sizes, const=True)
    model = make_node_model("Resize", inputs, ["y"], opset, attrs=attrs, initializers=inits)
    return ReferenceEvaluator(model).run(None, {"x": x})


def check_resize(x, opset, attrs, scales=None, sizes=None, const=True, reference=None):
    inputs, inits = resize_inputs(x, opset, scales, sizes, const)
    if reference == "onnx":
        reference = onnx_reference(x, opset, attrs, scales, sizes)
    return check_node("Resize", inputs, ["y"], opset, attrs=attrs, initializers=inits, reference=reference,
                      rtol=1e-5, atol=1e-5)


COORDS = ["half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel", "tf_half_pixel_for_nn"]
NEAREST = ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"]
SCALES = [[1, 1, 2, 2], [1, 1, 3, 1], [1, 1, 1.7, 2.3], [1, 1, 0.5, 0.5], [1, 1, 0.6, 1.4], [1, 1, 1, 1]]


@pytest.mark.parametrize("since,opset", [r for r in revs("Resize") if r[0] >= 11])
def test_resize_nearest(since, opset):
    x = data((2, 3, 5, 7))
    for ctm, nm in itertools.product(COORDS, NEAREST):
        attrs = {"mode": "nearest", "coordinate_transformation_mode": ctm, "nearest_mode": nm}
        for scales in SCALES:
            check_resize(x, opset, attrs, scales=scales)
        check_resize(x, opset, attrs, sizes=[2, 3, 9, 4])


@pytest.mark.parametrize("since,opset", [r for r in revs("Resize") if r[0] >= 11])
def test_resize_linear(since, opset):
    x = data((2, 3, 5, 7))
    coords = COORDS[:4] + (["half_pixel_symmetric"] if since >= 19 else [])
    for ctm in coords:
        attrs = {"mode": "linear", "coordinate_transformation_mode": ctm}
        for scales in SCALES:
            check_resize(x, opset, attrs, scales=scales)
        check_resize(x, opset, attrs, sizes=[2, 3, 9, 4])
        check_resize(x, opset, attrs, sizes=[2, 3, 1, 1])
    if since >= 19:
        # (Scales with no exact .5 tie: there ORT's float rounding and the ONNX reference disagree.)
        for scales in [[1, 1, 1.7, 0.8], [1, 1, 2, 2], [1, 1, 0.5, 1.3]]:
            for nm in NEAREST:
                attrs = {"mode": "nearest", "coordinate_transformation_mode": "half_pixel_symmetric", "nearest_mode": nm}
                check_resize(x, opset, attrs, scales=scales)


def test_resize_rev10():
    x = data((1, 2, 4, 6))
    for mode in ["nearest", "linear"]:
        for scales in [[1, 1, 2, 2], [1, 1, 2, 3], [1, 1, 0.5, 0.5], [1, 1, 0.6, 1.5], [1, 1, 1, 1]]:
            check_resize(x, 10, {"mode": mode}, scales=scales)


def test_resize_paddleocr_upsample():
    """PaddleOCR's FPN: nearest / asymmetric / floor, constant scales [1,1,2,2], revision 11."""
    attrs = {"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}
    for shape in [(1, 96, 40, 40), (2, 3, 5, 7), (1, 1, 1, 1)]:
        x = data(shape)
        want = x.repeat(2, axis=2).repeat(2, axis=3)
        check_resize(x, 11, attrs, scales=[1, 1, 2, 2], reference=[want])
        check_resize(x, 11, attrs, scales=[1, 1, 2, 2], const=False, reference=[want])
    x = data((1, 2, 3, 4))
    check_resize(x, 11, attrs, scales=[1, 1, 3, 4], reference=[x.repeat(3, axis=2).repeat(4, axis=3)])
    check_resize(x, 11, attrs, scales=[1, 1, 1, 3], reference=[x.repeat(3, axis=3)])
    check_resize(x, 13, attrs, sizes=[1, 2, 6, 8], reference=[x.repeat(2, axis=2).repeat(2, axis=3)])


@pytest.mark.parametrize("const", [True, False])
def test_resize_ranks_and_dynamic(const):
    for shape, scales, sizes in [((5, 7), [2.0, 0.5], [3, 11]), ((3, 4, 6), [1, 1.5, 0.7], [3, 7, 2]),
                                 ((6,), [2.5], [4]), ((1, 2, 2, 3, 4), [1, 1, 1, 2, 2], [1, 2, 2, 5, 3])]:
        x = data(shape)
        for attrs in [{"mode": "nearest"}, {"mode": "linear"},
                      {"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"},
                      {"mode": "linear", "coordinate_transformation_mode": "align_corners"}]:
            ref = "onnx" if attrs["mode"] == "linear" and len(shape) in (1, 5) else None
            check_resize(x, 13, attrs, scales=scales, const=const, reference=ref)
            check_resize(x, 13, attrs, sizes=sizes, const=const, reference=ref)


def test_resize_outer_axes_and_axes_attribute():
    # Outer dims resized: the separable general path.
    x = data((2, 3, 4, 5))
    for mode in ["nearest", "linear"]:
        ref = "onnx" if mode == "linear" else None  # ORT's CPU EP has no 4-D linear over outer dims
        check_resize(x, 13, {"mode": mode}, scales=[2, 0.5, 1.5, 1], reference=ref)
        check_resize(x, 13, {"mode": mode}, scales=[1, 1.5, 1, 1], reference=ref)
        # Only the middle two of four dims: whole pixels of the last dim (the channels-last path).
        check_resize(x, 13, {"mode": mode}, scales=[1, 2, 1.5, 1], reference=ref)
        check_resize(x, 13, {"mode": mode, "coordinate_transformation_mode": "align_corners"}, sizes=[2, 7, 3, 5],
                     reference=None if ref is None else onnx_reference(
                         x, 13, {"mode": mode, "coordinate_transformation_mode": "align_corners"}, sizes=[2, 7, 3, 5]))
        check_resize(x, 13, {"mode": mode}, sizes=[3, 5, 2, 9], const=False,
                     reference=None if ref is None else onnx_reference(x, 13, {"mode": mode}, sizes=[3, 5, 2, 9]))
        # Revision 18+ axes attribute: scales/sizes for the named axes only.
        check_resize(x, 19, {"mode": mode, "axes": [2, 3]}, scales=[2, 0.6])
        check_resize(x, 19, {"mode": mode, "axes": [-1, -2]}, sizes=[7, 3])
        check_resize(x, 19, {"mode": mode, "axes": [0, 2]}, scales=[1.5, 2], reference=ref)
    x3 = data((3, 4, 5))  # trilinear: all three axes
    check_resize(x3, 13, {"mode": "linear"}, scales=[2, 0.5, 1.5])


def conv_resize_conv(opset, attrs, scales=None, sizes=None, roi=None, dynamic=False):
    """x [1,8,10,12] -> Conv 3x3 -> Resize -> Conv 1x1: with layout=nhwc ORT puts the convolutions
    in channels-last and Transposes at the borders of that layout. `dynamic`: scales or sizes come
    in as a graph input (then a feed, returned second)."""
    from onnx import helper, numpy_helper
    rng = np.random.default_rng(7)
    inits = [numpy_helper.from_array((rng.standard_normal((16, 8, 3, 3)) * 0.2).astype(np.float32), "w1"),
             numpy_helper.from_array((rng.standard_normal((8, 16, 1, 1)) * 0.2).astype(np.float32), "w2")]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 10, 12])]
    feeds = {"x": rng.standard_normal((1, 8, 10, 12)).astype(np.float32)}
    names = ["a", "roi", "", ""]  # Resize-11 needs a roi input, if empty
    for i, (name, value) in enumerate([("scales", scales), ("sizes", sizes)], start=2):
        if value is None:
            continue
        arr = np.array(value, np.float32 if name == "scales" else np.int64)
        names[i] = name
        if dynamic:
            inputs.append(helper.make_tensor_value_info(
                name, TensorProto.FLOAT if name == "scales" else TensorProto.INT64, [len(value)]))
            feeds[name] = arr
        else:
            inits.append(numpy_helper.from_array(arr, name))
    inits.append(numpy_helper.from_array(np.array(roi if roi is not None else [], np.float32), "roi"))
    while names[-1] == "":
        names.pop()
    nodes = [helper.make_node("Conv", ["x", "w1"], ["a"], pads=[1, 1, 1, 1]),
             helper.make_node("Resize", names, ["r"], **attrs),
             helper.make_node("Conv", ["r", "w2"], ["y"])]
    graph = helper.make_graph(nodes, "conv_resize_conv", inputs,
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model, feeds


NEAREST_FLOOR = {"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}


@pytest.mark.parametrize("opset,attrs,scales,sizes", [
    (11, NEAREST_FLOOR, [1, 1, 2, 2], None),  # PaddleOCR det's FPN upsampling
    (13, {"mode": "linear"}, None, [1, 16, 15, 30]),
    (19, {"mode": "linear", "coordinate_transformation_mode": "align_corners"}, [1, 1, 0.5, 1.5], None),
    (19, {"mode": "nearest"}, [1, 1, 3, 3], None),
], ids=["nearest-x2", "linear-sizes", "linear-align-corners", "nearest-x3"])
def test_resize_between_channels_last_convs_runs_channels_last(opset, attrs, scales, sizes):
    # A Resize among channels-last convolutions runs channels-last too: ORT's layout transformer
    # then needs no Transposes around it, only the two at the model's input and output.
    from anvil_testing import run_profiled
    model, feeds = conv_resize_conv(opset, attrs, scales=scales, sizes=sizes)
    outs, ran = run_profiled(model, feeds, counts=True)
    assert ran[("Resize", "AnvilExecutionProvider")] == 1, ran
    assert ran[("Transpose", "AnvilExecutionProvider")] == 2, ran
    assert all(provider == "AnvilExecutionProvider" for _, provider in ran), ran
    np.testing.assert_allclose(outs[0], run_cpu(model, feeds.items())[0], rtol=1e-5, atol=1e-5)
    nchw = session(model, options={"layout": "nchw"}).run(None, feeds)[0]
    np.testing.assert_allclose(outs[0], nchw, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("case", ["scales-input", "sizes-input", "tf_crop_and_resize", "axes"])
def test_resize_that_channels_last_would_break_stays_channels_first(case):
    # Near misses: what ORT's layout transformer leaves in channels-first order (a scales or sizes
    # graph input, tf_crop_and_resize's roi, the axes attribute) keeps the Resize channels-first,
    # with its Transposes, and correct.
    from anvil_testing import run_profiled
    if case == "scales-input":
        model, feeds = conv_resize_conv(13, NEAREST_FLOOR, scales=[1, 1, 2, 2], dynamic=True)
    elif case == "sizes-input":
        model, feeds = conv_resize_conv(13, {"mode": "linear"}, sizes=[1, 16, 15, 30], dynamic=True)
    elif case == "tf_crop_and_resize":
        model, feeds = conv_resize_conv(13, {"mode": "linear", "coordinate_transformation_mode": "tf_crop_and_resize"},
                                        scales=[1, 1, 2, 2], roi=[0, 0, 0.1, 0.2, 1, 1, 0.9, 0.7])
    else:
        model, feeds = conv_resize_conv(19, {"mode": "nearest", "axes": [2, 3]}, scales=[2, 2])
    outs, ran = run_profiled(model, feeds, counts=True)
    assert ran[("Resize", "AnvilExecutionProvider")] == 1, ran
    assert ran[("Transpose", "AnvilExecutionProvider")] == 4, ran
    np.testing.assert_allclose(outs[0], run_cpu(model, feeds.items())[0], rtol=1e-5, atol=1e-5)


def test_one_resize_channels_last_would_break_keeps_every_resize_channels_first():
    # ORT asks per op type, not per node: a graph with one Resize that would break channels-last
    # keeps the other, harmless one channels-first too (6 Transposes, not 2), and both correct.
    from onnx import helper, numpy_helper
    from anvil_testing import run_profiled
    rng = np.random.default_rng(11)
    w = [numpy_helper.from_array((rng.standard_normal(s) * 0.2).astype(np.float32), f"w{i}")
         for i, s in enumerate([(8, 4, 3, 3), (8, 8, 3, 3), (4, 8, 1, 1)])]
    inits = w + [numpy_helper.from_array(np.array([], np.float32), "roi"),
                 numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "s_const")]
    nodes = [helper.make_node("Conv", ["x", "w0"], ["a"], pads=[1, 1, 1, 1]),
             helper.make_node("Resize", ["a", "roi", "s_const"], ["b"], **NEAREST_FLOOR),
             helper.make_node("Conv", ["b", "w1"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Resize", ["c", "roi", "s_input"], ["d"], mode="linear"),
             helper.make_node("Conv", ["d", "w2"], ["y"])]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 6, 5]),
              helper.make_tensor_value_info("s_input", TensorProto.FLOAT, [4])]
    graph = helper.make_graph(nodes, "two_resizes", inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    feeds = {"x": rng.standard_normal((1, 4, 6, 5)).astype(np.float32), "s_input": np.array([1, 1, 1.5, 2], np.float32)}
    outs, ran = run_profiled(model, feeds, counts=True)
    assert ran[("Resize", "AnvilExecutionProvider")] == 2, ran
    assert ran[("Transpose", "AnvilExecutionProvider")] == 6, ran
    np.testing.assert_allclose(outs[0], run_cpu(model, feeds.items())[0], rtol=1e-5, atol=1e-5)


def test_resize_zero_size_and_errors():
    z = data((0, 3, 4, 4))
    check_resize(z, 13, {"mode": "nearest"}, scales=[1, 1, 2, 2], reference=[np.zeros((0, 3, 8, 8), np.float32)])
    x = data((1, 1, 4, 4))
    check_resize(x, 13, {"mode": "linear"}, scales=[1, 1, 0.1, 0.1], reference=[np.zeros((1, 1, 0, 0), np.float32)])
    roi = np.zeros((0,), np.float32)
    fails("Resize", [("x", x), ("roi", roi), ("scales", np.array([1, 2, 2], np.float32))], 13, "scales has 3 values",
          attrs={"mode": "nearest"})
    fails("Resize", [("x", x), ("roi", roi), ("scales", np.array([1, 1, -2, 2], np.float32))], 13,
          "must be positive", attrs={"mode": "nearest"})
    e = data((1, 1, 0, 4))
    fails("Resize", [("x", e), ("roi", roi), ("scales", None), ("sizes", i64(1, 1, 3, 4))], 13,
          "cannot resize the empty axis 2", attrs={"mode": "nearest"})


def test_resize_declined():
    x = data((1, 2, 4, 4))
    inputs, inits = resize_inputs(x, 19, scales=[1, 1, 0.5, 0.5])
    for attrs in [{"mode": "nearest", "antialias": 1}, {"mode": "area"}]:
        model = make_node_model("Resize", inputs, ["y"], 19, attrs=attrs, initializers=inits)
        with pytest.raises(Exception):
            session(model, fallback=False)
    # Upsample: constant scales below 1 (ORT rejects the model too); Anvil does not claim the node.
    s = np.array([1, 1, 0.5, 2], np.float32)
    model = make_node_model("Upsample", [("x", x), ("s", s)], ["y"], 9, initializers={"s": s})
    with pytest.raises(Exception):
        session(model, fallback=False)


CUBIC_COORDS = ["half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel"]


@pytest.mark.parametrize("since,opset", [r for r in revs("Resize") if r[0] >= 11])
def test_resize_cubic(since, opset):
    x = data((2, 3, 5, 7))
    coords = CUBIC_COORDS + (["half_pixel_symmetric"] if since >= 19 else [])
    for ctm in coords:
        for extra in [{}, {"cubic_coeff_a": -0.5, "exclude_outside": 1}, {"cubic_coeff_a": -0.6}]:
            attrs = {"mode": "cubic", "coordinate_transformation_mode": ctm, **extra}
            for scales in [[1, 1, 2, 2], [1, 1, 1.7, 0.6], [1, 1, 0.5, 0.5], [1, 1, 1, 3]]:
                check_resize(x, opset, attrs, scales=scales)
            check_resize(x, opset, attrs, sizes=[2, 3, 9, 4])
            check_resize(x, opset, attrs, sizes=[2, 3, 1, 1])
    x2 = data((4, 6))  # 2-D bicubic
    check_resize(x2, opset, {"mode": "cubic"}, scales=[1.5, 0.7])
    x1 = data((1, 1, 1, 5))  # a length-1 axis: every tap reads the edge
    check_resize(x1, opset, {"mode": "cubic"}, scales=[1, 1, 3, 2])


def crop_inputs(x, roi, scales=None, sizes=None, opset=13):
    roi = np.array(roi, np.float32)
    inputs = [("x", x), ("roi", roi)]
    inits = {"roi": roi}
    if scales is not None:
        inputs.append(("scales", np.array(scales, np.float32)))
        inits["scales"] = inputs[-1][1]
    else:
        inputs.append(("scales", np.zeros((0,), np.float32) if opset < 13 else None))
        if opset < 13:
            inits["scales"] = inputs[-1][1]
        inputs.append(("sizes", np.array(sizes, np.int64)))
        inits["sizes"] = inputs[-1][1]
    return inputs, inits


@pytest.mark.parametrize("since,opset", [r for r in revs("Resize") if r[0] >= 11])
def test_resize_tf_crop_and_resize(since, opset):
    x = data((1, 2, 6, 5))
    for mode in ["nearest", "linear", "cubic"]:
        for extra in [{}, {"extrapolation_value": 10.0}]:
            attrs = {"mode": mode, "coordinate_transformation_mode": "tf_crop_and_resize", **extra}
            for roi in [[0, 0, 0.4, 0.6, 1, 1, 0.6, 0.8], [0, 0, -0.2, 0.1, 1, 1, 1.3, 0.7], [0, 0, 0, 0, 1, 1, 1, 1]]:
                inputs, inits = crop_inputs(x, roi, scales=[1, 1, 1.5, 0.8])
                check_node("Resize", inputs, ["y"], opset, attrs=attrs, initializers=inits, atol=1e-5)
                inputs, inits = crop_inputs(x, roi, sizes=[1, 2, 3, 1], opset=opset)
                check_node("Resize", inputs, ["y"], opset, attrs=attrs, initializers=inits, atol=1e-5)
    if since >= 18:
        attrs = {"mode": "linear", "coordinate_transformation_mode": "tf_crop_and_resize", "axes": [3, 2]}
        inputs, inits = crop_inputs(x, [0.6, 0.4, 0.8, 0.6], sizes=[3, 3], opset=opset)
        check_node("Resize", inputs, ["y"], opset, attrs=attrs, initializers=inits, atol=1e-5)
    # A roi of the wrong length: a clean error at run time.
    roi = np.array([0, 0, 1, 1], np.float32)
    fails("Resize", [("x", x), ("roi", roi), ("scales", np.array([1, 1, 2, 2], np.float32))], opset, "roi has 4",
          attrs={"mode": "linear", "coordinate_transformation_mode": "tf_crop_and_resize"})


@pytest.mark.parametrize("since,opset", [r for r in revs("Resize") if r[0] >= 18])
def test_resize_keep_aspect_ratio(since, opset):
    x = data((1, 1, 4, 6))
    for policy in ["not_larger", "not_smaller"]:
        for mode in ["nearest", "linear", "cubic"]:
            for sizes in [[7, 8], [2, 5], [3, 3], [9, 1]]:
                check_resize(x, opset, {"mode": mode, "keep_aspect_ratio_policy": policy, "axes": [2, 3]},
                             sizes=sizes)
        # Without axes the policy scales every dim (ORT runs that only for nearest).
        check_resize(x, opset, {"mode": "nearest", "keep_aspect_ratio_policy": policy}, sizes=[1, 1, 7, 8])


@pytest.mark.parametrize("since,opset", [r for r in revs("Resize") if r[0] >= 18])
def test_resize_antialias(since, opset):
    x = data((2, 3, 9, 11))
    for mode in ["linear", "cubic"]:
        for ctm in ["half_pixel", "pytorch_half_pixel", "asymmetric", "align_corners"]:
            for extra in [{}, {"exclude_outside": 1}, {"cubic_coeff_a": -0.5}]:
                attrs = {"mode": mode, "antialias": 1, "coordinate_transformation_mode": ctm, **extra}
                for scales in [[1, 1, 0.5, 0.5], [1, 1, 0.3, 0.8], [1, 1, 2, 1.5], [1, 1, 1, 0.25]]:
                    check_resize(x, opset, attrs, scales=scales)
                check_resize(x, opset, attrs, sizes=[2, 3, 4, 3])
                check_resize(x, opset, {**attrs, "axes": [3, 2]}, sizes=[1, 5])


@pytest.mark.parametrize("since,opset", [r for r in revs("Upsample") if r[0] in (7, 9)])
def test_upsample(since, opset):
    x = data((2, 3, 4, 5))
    for mode in ["nearest", "linear"]:
        for scales in [[1, 1, 2, 2], [1, 1, 2, 3], [1, 1, 1.5, 2.5], [1, 1, 1, 1]]:
            s = np.array(scales, np.float32)
            if opset < 9:
                check_node("Upsample", [("x", x)], ["y"], opset, attrs={"mode": mode, "scales": [float(v) for v in scales]})
            else:
                check_node("Upsample", [("x", x), ("s", s)], ["y"], opset, attrs={"mode": mode},
                           initializers={"s": s})
    if opset >= 9:
        check_node("Upsample", [("x", x), ("s", np.array([1, 1, 2, 2], np.float32))], ["y"], opset)  # dynamic
        fails("Upsample", [("x", x), ("s", np.array([1, 1, 0.5, 2], np.float32))], opset, "must be >= 1")


# ------------------------------------------------------------------------------- threaded paths

def test_parallel_paths():
    """Large inputs with 4 threads: every kernel's ParallelFor split must give the same bytes."""
    def run(op, inputs, want, attrs=None, inits=None):
        model = make_node_model(op, inputs, ["y"], 13, attrs=attrs, initializers=inits)
        got = run_anvil(model, inputs, threads=4)[0]
        assert got.shape == want.shape
        np.testing.assert_array_equal(got, want, err_msg=op)

    x = data((4, 64, 48, 40))
    run("Transpose", [("x", x)], np.transpose(x, (0, 2, 3, 1)), attrs={"perm": [0, 2, 3, 1]})
    run("Transpose", [("x", x)], np.transpose(x, (3, 1, 0, 2)), attrs={"perm": [3, 1, 0, 2]})
    run("Transpose", [("x", x)], np.transpose(x, (0, 2, 1, 3)), attrs={"perm": [0, 2, 1, 3]})
    run("Concat", [("a", x), ("b", x[:, :5].copy())], np.concatenate([x, x[:, :5]], 1), attrs={"axis": 1})
    run("Concat", [("a", x), ("b", x)], np.concatenate([x, x], 0), attrs={"axis": 0})
    run("Slice", [("x", x), ("s", i64(-1, 3)), ("e", i64(INT64_MIN, 40)), ("a", i64(2, 3)), ("t", i64(-2, 3))],
        x[:, :, ::-2, 3::3])
    idx = RNG.integers(0, 48, size=(30,)).astype(np.int64)
    run("Gather", [("x", x), ("i", idx)], np.take(x, idx, axis=2), attrs={"axis": 2})
    run("Identity", [("x", x)], x)
    roi = np.zeros((0,), np.float32)
    sc = np.array([1, 1, 2, 2], np.float32)
    run("Resize", [("x", x), ("roi", roi), ("scales", sc)], x.repeat(2, 2).repeat(2, 3),
        attrs={"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"},
        inits={"roi": roi, "scales": sc})
    model = make_node_model("Resize", [("x", x), ("roi", roi), ("scales", np.array([1, 1, 1.5, 0.7], np.float32))],
                            ["y"], 13, attrs={"mode": "linear"})
    feeds = {"x": x, "roi": roi, "scales": np.array([1, 1, 1.5, 0.7], np.float32)}
    np.testing.assert_allclose(session(model, threads=4).run(None, feeds)[0], run_cpu(model, list(feeds.items()))[0],
                               rtol=1e-5, atol=1e-5)


# Reshape, Flatten, Squeeze, Unsqueeze and Identity declare that output 0 may share input 0's
# buffer (KernelDefBuilder alias, as ORT's own kernels do): between two other nodes ORT's planner
# then gives the output the input's memory and Anvil copies nothing (the profile's impl says
# anvil:view); a consumer that reads both the input and the output must still see both intact.
VIEW_OPS = {
    "Reshape": (lambda g: [g.make_node("Reshape", ["r", "s"], ["v"])], [("s", i64(2, 3, 20))], (2, 3, 20)),
    "Flatten": (lambda g: [g.make_node("Flatten", ["r"], ["v"], axis=2)], [], (2, 60)),
    "Squeeze": (lambda g: [g.make_node("Squeeze", ["r", "ax"], ["v"])], [("ax", i64(0))], (2, 3, 4, 5)),
    "Unsqueeze": (lambda g: [g.make_node("Unsqueeze", ["r", "ax"], ["v"])], [("ax", i64(1))], (1, 1, 2, 3, 4, 5)),
    "Identity": (lambda g: [g.make_node("Identity", ["r"], ["v"])], [], (1, 2, 3, 4, 5)),
}


def view_model(op, reuse_input):
    from onnx import helper, numpy_helper
    make, consts, out_shape = VIEW_OPS[op]
    nodes = [helper.make_node("Relu", ["x"], ["r"])] + make(helper)
    # Sigmoid of the view; with reuse_input also Add(view-as-input-shape, r) reads both buffers.
    nodes.append(helper.make_node("Sigmoid", ["v"], ["y"]))
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)]
    if reuse_input:
        nodes.append(helper.make_node("Neg", ["r"], ["z"]))
        outputs.append(helper.make_tensor_value_info("z", TensorProto.FLOAT, None))
    graph = helper.make_graph(nodes, "view", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 3, 4, 5])],
                              outputs, initializer=[numpy_helper.from_array(v, n) for n, v in consts])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model, out_shape


@pytest.mark.parametrize("op", sorted(VIEW_OPS))
@pytest.mark.parametrize("reuse_input", [False, True])
def test_reshapes_view_their_input(op, reuse_input, tmp_path):
    import json
    import onnxruntime as ort
    from anvil_testing import anvil_devices, EP_NAME
    model, out_shape = view_model(op, reuse_input)
    x = data((1, 2, 3, 4, 5))
    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.add_session_config_entry("session.disable_cpu_ep_fallback", "1")
    so.enable_profiling = True
    so.profile_file_prefix = str(tmp_path / "view")
    so.add_provider_for_devices(anvil_devices(), {"fuse": "0", "layout": "nchw"})
    sess = ort.InferenceSession(model.SerializeToString(), so)
    for _ in range(2):
        outs = sess.run(None, {"x": x})
        r = np.maximum(x, 0)
        np.testing.assert_allclose(outs[0], 1 / (1 + np.exp(-r.reshape(out_shape))), rtol=1e-6, atol=1e-6)
        if reuse_input:
            np.testing.assert_array_equal(outs[1], -r)
    with open(sess.end_profiling()) as f:
        events = json.load(f)
    impls = {e["args"]["impl"] for e in events
             if e.get("cat") == "Kernel" and e.get("args", {}).get("provider") == EP_NAME and e["args"]["op_name"] == op}
    assert impls == {"anvil:view"}, f"{op}: {impls}"


def test_a_graph_input_reshaped_to_a_graph_output_is_copied():
    """ORT cannot give a graph output the caller's input buffer: the kernel copies."""
    x = data((2, 6))
    model = make_node_model("Reshape", [("x", x), ("s", i64(3, 4))], ["y"], 17, initializers={"s": i64(3, 4)})
    (y,) = run_anvil(model, [("x", x)])
    np.testing.assert_array_equal(y, x.reshape(3, 4))
    kept = y.copy()
    x[:] = 0  # the output is not a view of the caller's array
    np.testing.assert_array_equal(y, kept)
