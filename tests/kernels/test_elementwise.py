"""Element-wise kernels: Add, Sub, Mul, Div, Pow, Sqrt, Sigmoid, HardSigmoid, HardSwish, Relu,
Clip, Cast. Every schema revision and registered type, against numpy references computed here.
Every model runs with CPU fallback disabled, so session creation fails unless Anvil claimed the
node."""
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from anvil_testing import NP_TO_ONNX, check_node, make_node_model, schema_revisions, session

F32, I32, I64 = np.float32, np.int32, np.int64
FLOAT_INTS = [F32, I32, I64]


def rng(seed=0):
    return np.random.default_rng(seed)


def rand(shape, dtype, seed=0, lo=-3.0, hi=3.0):
    r = rng(seed)
    if np.dtype(dtype).kind == "f":
        return np.asarray(r.uniform(lo, hi, size=shape)).astype(dtype)
    return np.asarray(r.integers(-20, 21, size=shape)).astype(dtype)


def nonzero(shape, dtype, seed=1):
    """Divisors: away from zero, both signs."""
    r = rng(seed)
    sign = np.where(r.random(size=shape) < 0.5, -1, 1)
    if np.dtype(dtype).kind == "f":
        return np.asarray(sign * r.uniform(0.5, 3.0, size=shape)).astype(dtype)
    return np.asarray(sign * r.integers(1, 10, size=shape)).astype(dtype)


def symbolic_model(op_type, inputs, opset, attrs=None, out_type=None):
    """One-node model whose inputs have unknown shapes (so ORT cannot check them at load time)."""
    graph_inputs = [helper.make_tensor_value_info(n, NP_TO_ONNX[v.dtype], None) for n, v in inputs]
    out_type = out_type or NP_TO_ONNX[inputs[0][1].dtype]
    node = helper.make_node(op_type, [n for n, _ in inputs], ["y"], **(attrs or {}))
    graph = helper.make_graph([node], "g", graph_inputs, [helper.make_tensor_value_info("y", out_type, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8 if opset <= 17 else 10
    return model


# Shapes exercising every path of the broadcast plan: same shape, scalar / single element on either
# side, per-channel, trailing, both sides broadcasting, general strided, rank 0, odd sizes, empty.
BROADCAST_CASES = [
    ((2, 3, 4, 5), (2, 3, 4, 5)),
    ((1,), (1,)),
    ((7,), (7,)),
    ((15,), (15,)),
    ((17,), (17,)),
    ((33,), (33,)),
    ((100003,), (100003,)),
    ((), ()),
    ((2, 3, 4, 5), ()),
    ((), (3, 17)),
    ((2, 3, 4, 5), (1,)),
    ((1, 1, 1), (7, 15)),
    ((2, 3, 4, 5), (1, 3, 1, 1)),
    ((2, 3, 4, 5), (3, 1, 1)),
    ((1, 3, 1, 1), (2, 3, 4, 5)),
    ((2, 3, 4, 5), (2, 3, 1, 1)),
    ((2, 3, 4, 5), (5,)),
    ((2, 3, 4, 5), (4, 5)),
    ((33,), (2, 33)),
    ((3, 1), (1, 4)),
    ((2, 1, 5), (1, 3, 1)),
    ((2, 3, 1, 5), (1, 1, 4, 1)),
    ((7, 1, 15), (1, 33, 1)),
    ((4, 1, 3, 1, 2), (1, 5, 1, 3, 1)),
    ((2, 16, 61, 67), (16, 1, 1)),       # large per-channel: several threads, chunks split rows
    ((130, 1, 67), (1, 16, 67)),         # large, both sides broadcasting
    ((3, 100003), (3, 1)),
    ((0,), ()),
    ((0, 3), (3,)),
    ((2, 0, 4), (2, 1, 4)),
    ((1, 0), (3, 1)),
    ((3, 1, 2), (0, 1)),
]

ARITH = {
    "Add": lambda a, b: a + b,
    "Sub": lambda a, b: a - b,
    "Mul": lambda a, b: a * b,
}


def int_div(a, b):
    """C-style integer division (truncate toward zero)."""
    a64, b64 = a.astype(np.int64), b.astype(np.int64)
    q = np.abs(a64) // np.abs(b64)
    return (np.sign(a64) * np.sign(b64) * q).astype(a.dtype)


def arith_ref(op, a, b):
    if op == "Div":
        if a.dtype.kind == "f":
            return np.asarray(a / b, dtype=a.dtype)
        a_, b_ = np.broadcast_arrays(a, b)
        return int_div(np.ascontiguousarray(a_), np.ascontiguousarray(b_)).reshape(np.broadcast_shapes(a.shape, b.shape))
    return np.asarray(ARITH[op](a, b), dtype=a.dtype)


# Older revisions share the kernel: a representative subset of the cases is enough for them.
OLD_REVISION_CASES = [0, 6, 8, 12, 19, 29]


@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div"])
@pytest.mark.parametrize("dtype", FLOAT_INTS, ids=lambda t: np.dtype(t).name)
def test_arith_broadcast(op, dtype):
    revisions = schema_revisions(op)
    for since, opset in revisions:
        newest = since == revisions[-1][0]
        for i, (sa, sb) in enumerate(BROADCAST_CASES):
            if not newest and i not in OLD_REVISION_CASES:
                continue
            a = rand(sa, dtype, seed=i)
            b = nonzero(sb, dtype, seed=100 + i) if op == "Div" else rand(sb, dtype, seed=100 + i)
            check_node(op, [("a", a), ("b", b)], ["y"], opset, reference=[arith_ref(op, a, b)],
                       rtol=1e-6, atol=0)


@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div"])
@pytest.mark.parametrize("dtype", FLOAT_INTS, ids=lambda t: np.dtype(t).name)
def test_arith_symbolic_shapes_and_threads(op, dtype):
    """Shapes only known at run time, several threads, one session reused across shapes."""
    a0 = rand((1,), dtype)
    for since, opset in schema_revisions(op)[-1:]:
        sess = session(symbolic_model(op, [("a", a0), ("b", a0)], opset), threads=3)
        for i, (sa, sb) in enumerate(BROADCAST_CASES):
            a = rand(sa, dtype, seed=i)
            b = nonzero(sb, dtype, seed=7 + i) if op == "Div" else rand(sb, dtype, seed=7 + i)
            (y,) = sess.run(None, {"a": a, "b": b})
            want = arith_ref(op, a, b)
            assert y.shape == want.shape and y.dtype == want.dtype, (sa, sb)
            np.testing.assert_allclose(y, want, rtol=1e-6, atol=0, err_msg=f"{op} {sa} {sb}")


@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div"])
@pytest.mark.parametrize("dtype", FLOAT_INTS, ids=lambda t: np.dtype(t).name)
def test_arith_constant_initializer(op, dtype):
    a = rand((2, 3, 5, 7), dtype)
    for which in ("a", "b"):
        for sb in [(3, 1, 1), (), (7,)]:
            b = nonzero(sb, dtype) if op == "Div" else rand(sb, dtype, seed=3)
            inputs = [("a", a), ("b", b)]
            init = {"a": a} if which == "a" else {"b": b}
            check_node(op, inputs, ["y"], 14, initializers=init, reference=[arith_ref(op, a, b)], rtol=1e-6, atol=0)


@pytest.mark.parametrize("dtype", [I32, I64], ids=lambda t: np.dtype(t).name)
def test_int_div_truncates_and_wraps(dtype):
    a = np.array([7, -7, 7, -7, 0, 5, -5, 1, np.iinfo(dtype).min, np.iinfo(dtype).max], dtype)
    b = np.array([2, 2, -2, -2, 3, 7, 7, -1, -1, -1], dtype)
    want = np.array([3, -3, -3, 3, 0, 0, 0, -1, np.iinfo(dtype).min, -np.iinfo(dtype).max], dtype)
    check_node("Div", [("a", a), ("b", b)], ["y"], 14, reference=[want])


@pytest.mark.parametrize("dtype", [I32, I64], ids=lambda t: np.dtype(t).name)
def test_int_arith_wraps(dtype):
    info = np.iinfo(dtype)
    a = np.array([info.max, info.min, info.max], dtype)
    b = np.array([1, 1, 2], dtype)
    with np.errstate(over="ignore"):
        for op in ("Add", "Sub", "Mul"):
            check_node(op, [("a", a), ("b", b)], ["y"], 14, reference=[ARITH[op](a, b)])


@pytest.mark.parametrize("dtype", [I32, I64], ids=lambda t: np.dtype(t).name)
def test_int_div_by_zero_is_an_error(dtype):
    a = np.arange(1, 7, dtype=dtype).reshape(2, 3)
    for b in [np.array([1, 0, 2], dtype), np.array(0, dtype)]:
        model = make_node_model("Div", [("a", a), ("b", b)], ["y"], 14)
        sess = session(model)
        with pytest.raises(Exception, match="division by zero"):
            sess.run(None, {"a": a, "b": b})
        # The session is still usable afterwards.
        (y,) = sess.run(None, {"a": a, "b": np.ones_like(b)})
        np.testing.assert_array_equal(y, np.broadcast_to(a, y.shape))
    # No division happens when the output is empty: no error.
    e = np.zeros((0, 3), dtype)
    check_node("Div", [("a", e), ("b", np.array([1, 0, 2], dtype))], ["y"], 14, reference=[e])


def test_float_div_by_zero_is_ieee():
    a = np.array([1, -1, 0], F32)
    b = np.zeros(3, F32)
    got = check_node("Div", [("a", a), ("b", b)], ["y"], 14, reference=[np.array([np.inf, -np.inf, np.nan], F32)])
    assert np.isnan(got[0][2])


@pytest.mark.parametrize("op", ["Add", "Mul", "Div", "Pow"])
def test_incompatible_shapes_error_names_the_shapes(op):
    a = rand((2, 3), F32)
    b = rand((4,), F32, lo=0.5)
    sess = session(symbolic_model(op, [("a", a), ("b", b)], 15))
    with pytest.raises(Exception) as err:
        sess.run(None, {"a": a, "b": b})
    assert "[2,3]" in str(err.value) and "[4]" in str(err.value), str(err.value)
    b2 = rand((2, 1), F32, lo=0.5)
    with pytest.raises(Exception, match=r"\[0,3\].*\[2,1\]"):
        sess.run(None, {"a": np.zeros((0, 3), F32), "b": b2})


# ---- Pow ----

def pow_inputs(tb, te, shape_b, shape_e, seed=0):
    r = rng(seed)
    if np.dtype(tb).kind == "f" and np.dtype(te).kind == "f":
        base = r.uniform(0.1, 3.0, size=shape_b)
        exp = r.uniform(-2.0, 2.0, size=shape_e)
    elif np.dtype(tb).kind == "f":
        base = np.where(r.random(size=shape_b) < 0.5, -1, 1) * r.uniform(0.5, 3.0, size=shape_b)
        exp = r.integers(-3, 4, size=shape_e)
    elif np.dtype(te).kind == "f":
        base = r.integers(0, 6, size=shape_b)
        exp = r.choice(np.array([0.0, 1.0, 2.0, 3.0, 0.5], np.float64), size=shape_e)
    else:
        base = r.integers(-5, 6, size=shape_b)
        exp = r.integers(0, 6, size=shape_e)
    return np.asarray(base).astype(tb), np.asarray(exp).astype(te)


def pow_ref(base, exp):
    r = np.power(base.astype(np.float64), exp.astype(np.float64))
    if base.dtype.kind == "f":
        return r.astype(base.dtype)
    return np.trunc(r).astype(np.int64).astype(base.dtype)


POW_CASES = [
    ((2, 3, 4, 5), (2, 3, 4, 5)),
    ((17,), ()),
    ((), (33,)),
    ((2, 3, 4, 5), (3, 1, 1)),
    ((3, 1), (1, 4)),
    ((100003,), (1,)),
    ((0, 4), (4,)),
    ((), ()),
]


def pow_type_pairs(since):
    if since < 12:
        return [(F32, F32)]
    return [(tb, te) for tb in FLOAT_INTS for te in FLOAT_INTS]


@pytest.mark.parametrize("since,opset", schema_revisions("Pow"))
def test_pow_types_and_broadcasting(since, opset):
    newest = since == schema_revisions("Pow")[-1][0]
    for tb, te in pow_type_pairs(since):
        for i, (sb, se) in enumerate(POW_CASES):
            if not newest and since >= 12 and i not in (0, 1, 3, 6):
                continue  # the kernel is shared: a subset for older revisions
            base, exp = pow_inputs(tb, te, sb, se, seed=i)
            check_node("Pow", [("x", base), ("e", exp)], ["y"], opset, reference=[pow_ref(base, exp)],
                       rtol=2e-6, atol=0)


@pytest.mark.parametrize("dtype", [I32, I64], ids=lambda t: np.dtype(t).name)
def test_pow_int_negative_exponent(dtype):
    base = np.array([1, -1, -1, 2, -3, 0, 5], dtype)
    exp = np.array([-3, -3, -2, -1, -2, -1, 0], dtype)
    want = np.array([1, -1, 1, 0, 0, 0, 1], dtype)
    check_node("Pow", [("x", base), ("e", exp)], ["y"], 15, reference=[want])


@pytest.mark.parametrize("exp_value,exp_type", [(v, t) for v in [2.0, 0.5, 1.0, 3.0, 1.5, -1.0, 0.0]
                                                for t in [F32, I32, I64] if t == F32 or v == int(v)],
                         ids=lambda p: str(p) if not isinstance(p, type) else np.dtype(p).name)
def test_pow_constant_exponent(exp_value, exp_type):
    """Constant exponents 1, 2, 3 and 0.5 take fast paths; others the general one."""
    for shape in [(2, 3, 4, 5), (), (7,), (100003,), (0, 3)]:
        x = rand(shape, F32, seed=5, lo=-4.0, hi=4.0)
        if x.size and exp_value == int(exp_value):
            x.flat[0] = -np.inf  # numpy's pow(-inf, 0.5) is NaN, C's is +inf: only test integral exponents
        e = np.array(exp_value, exp_type)
        with np.errstate(invalid="ignore", divide="ignore"):
            want = pow_ref(x, e)
        check_node("Pow", [("x", x), ("e", e)], ["y"], 15, initializers={"e": e}, reference=[want],
                   rtol=2e-6, atol=0)
    # A single-element exponent of higher rank grows the output's rank.
    x = rand((2, 3), F32, seed=6)
    e = np.full((1, 1, 1), exp_value, exp_type)
    with np.errstate(invalid="ignore"):
        want = pow_ref(x, e)
    assert want.shape == (1, 2, 3)
    check_node("Pow", [("x", x), ("e", e)], ["y"], 15, initializers={"e": e}, reference=[want], rtol=2e-6, atol=0)


def test_pow_square_constant_opset7():
    x = rand((1, 8, 13, 17), F32)
    e = np.array([2.0], F32)
    check_node("Pow", [("x", x), ("e", e)], ["y"], 7, initializers={"e": e}, reference=[x * x], rtol=1e-6, atol=0)


# ---- One-input activations ----

UNARY_SHAPES = [(), (1,), (7,), (15,), (17,), (33,), (100003,), (2, 3, 4, 5), (0,), (3, 0, 2)]


def unary_check(op, x, want, opset, attrs=None, rtol=1e-6, atol=0.0):
    check_node(op, [("x", x)], ["y"], opset, attrs=attrs, reference=[want], rtol=rtol, atol=atol)


def sigmoid_ref(x):
    with np.errstate(over="ignore"):
        return (1.0 / (1.0 + np.exp(-x.astype(np.float64)))).astype(np.float32)


@pytest.mark.parametrize("since,opset", schema_revisions("Sqrt"))
def test_sqrt(since, opset):
    for i, shape in enumerate(UNARY_SHAPES):
        x = rand(shape, F32, seed=i, lo=0.0, hi=100.0)
        unary_check("Sqrt", x, np.sqrt(x), opset)
    x = np.array([-1.0, 0.0, np.inf, 4.0], F32)
    got = check_node("Sqrt", [("x", x)], ["y"], opset, reference=[np.array([np.nan, 0, np.inf, 2], F32)])
    assert np.isnan(got[0][0])


@pytest.mark.parametrize("since,opset", schema_revisions("Sigmoid"))
def test_sigmoid(since, opset):
    for i, shape in enumerate(UNARY_SHAPES):
        x = rand(shape, F32, seed=i, lo=-20.0, hi=20.0)
        unary_check("Sigmoid", x, sigmoid_ref(x), opset, rtol=1e-6)
    # Numerically stable at the extremes: no NaN, saturates to exactly 0 and 1.
    x = np.array([-1e30, -1000, -100, -88, -87, -50, -10, -1e-3, 0, 1e-3, 10, 50, 87, 88, 100, 1000, 1e30,
                  -np.inf, np.inf], F32)
    got = check_node("Sigmoid", [("x", x)], ["y"], opset, reference=[sigmoid_ref(x)], rtol=1e-6, atol=1e-37)
    assert not np.isnan(got[0]).any()
    assert got[0][0] == 0.0 and got[0][-3] == 1.0
    # Accuracy over the whole useful range.
    x = np.linspace(-80, 80, 200001, dtype=F32)
    unary_check("Sigmoid", x, sigmoid_ref(x), opset, rtol=1e-6)


@pytest.mark.parametrize("since,opset", schema_revisions("HardSigmoid"))
def test_hard_sigmoid(since, opset):
    for attrs, alpha, beta in [(None, 0.2, 0.5), ({"alpha": 0.1666667, "beta": 0.3}, 0.1666667, 0.3),
                               ({"alpha": -0.5}, -0.5, 0.5)]:
        for i, shape in enumerate(UNARY_SHAPES):
            x = rand(shape, F32, seed=i, lo=-6.0, hi=6.0)
            want = np.clip(np.float32(alpha) * x + np.float32(beta), 0, 1).astype(F32)
            unary_check("HardSigmoid", x, want, opset, attrs=attrs, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("since,opset", schema_revisions("HardSwish"))
def test_hard_swish(since, opset):
    for i, shape in enumerate(UNARY_SHAPES):
        x = rand(shape, F32, seed=i, lo=-6.0, hi=6.0)
        xd = x.astype(np.float64)
        want = (xd * np.clip(xd / 6 + 0.5, 0, 1)).astype(F32)
        unary_check("HardSwish", x, want, opset, rtol=1e-5, atol=1e-6)
    x = np.array([-4, -3, 0, 3, 4], F32)
    unary_check("HardSwish", x, np.array([0, 0, 0, 3, 4], F32), opset)


@pytest.mark.parametrize("since,opset", schema_revisions("Relu"))
def test_relu(since, opset):
    types = FLOAT_INTS if since >= 14 else [F32]
    for dtype in types:
        for i, shape in enumerate(UNARY_SHAPES):
            x = rand(shape, dtype, seed=i)
            unary_check("Relu", x, np.maximum(x, 0).astype(dtype), opset)


def test_activations_propagate_nan():
    # NaN in vector lanes and in the scalar tail (size 11 = 8 + 3).
    x = rand((11,), F32, seed=2)
    x[[1, 6, 9]] = np.nan
    for op, ref in [("Sigmoid", sigmoid_ref), ("Sqrt", lambda v: np.sqrt(np.abs(v))),
                    ("HardSigmoid", lambda v: np.clip(np.float32(0.2) * v + np.float32(0.5), 0, 1)),
                    ("HardSwish", lambda v: v * np.clip(v / 6 + 0.5, 0, 1)), ("Relu", None)]:
        xi = np.abs(x) if op == "Sqrt" else x
        (y,) = session(make_node_model(op, [("x", xi)], ["y"], 14 if op != "HardSigmoid" else 13)).run(None, {"x": xi})
        assert np.isnan(y[[1, 6, 9]]).all(), (op, y)
        if ref is not None:
            finite = ~np.isnan(x)
            np.testing.assert_allclose(y[finite], ref(xi)[finite].astype(F32), rtol=1e-5, atol=1e-6, err_msg=op)


def test_concurrent_runs_share_one_session():
    import concurrent.futures
    a0 = rand((1,), F32)
    sess = session(symbolic_model("Mul", [("a", a0), ("b", a0)], 14), threads=2)
    cases = [(rand((2, 16, 61, 67), F32, seed=i), rand((16, 1, 1), F32, seed=50 + i)) for i in range(8)]

    def run(case):
        a, b = case
        (y,) = sess.run(None, {"a": a, "b": b})
        return np.array_equal(y, a * b)

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        assert all(pool.map(run, cases * 3))


# ---- Clip ----

def clip_types(since):
    return [F32] if since < 12 else FLOAT_INTS


def clip_ref(x, lo, hi):
    y = x if lo is None else np.maximum(x, lo)
    y = y if hi is None else np.minimum(y, hi)
    return y.astype(x.dtype)


CLIP_SHAPES = [(), (1,), (17,), (2, 3, 4, 5), (100003,), (0, 3)]


@pytest.mark.parametrize("since,opset", [r for r in schema_revisions("Clip") if r[0] < 11])
def test_clip_attributes(since, opset):
    for attrs, lo, hi in [({"min": -1.0, "max": 2.0}, -1.0, 2.0), ({"min": 0.5}, 0.5, None),
                          ({"max": -0.5}, None, -0.5), ({}, None, None), ({"min": 2.0, "max": 1.0}, 2.0, 1.0)]:
        for i, shape in enumerate(CLIP_SHAPES):
            x = rand(shape, F32, seed=i)
            want = clip_ref(x, None if lo is None else np.float32(lo), None if hi is None else np.float32(hi))
            unary_check("Clip", x, want, opset, attrs=attrs)


@pytest.mark.parametrize("since,opset", [r for r in schema_revisions("Clip") if r[0] >= 11])
def test_clip_inputs(since, opset):
    for dtype in clip_types(since):
        lo, hi = np.array(-1, dtype), np.array(2, dtype)
        for i, shape in enumerate(CLIP_SHAPES):
            x = rand(shape, dtype, seed=i)
            # Both bounds as graph inputs (not constant), min only, max only (min missing), none.
            check_node("Clip", [("x", x), ("lo", lo), ("hi", hi)], ["y"], opset, reference=[clip_ref(x, lo, hi)])
            check_node("Clip", [("x", x), ("lo", lo)], ["y"], opset, reference=[clip_ref(x, lo, None)])
            check_node("Clip", [("x", x), ("lo", None), ("hi", hi)], ["y"], opset, reference=[clip_ref(x, None, hi)])
            check_node("Clip", [("x", x)], ["y"], opset, reference=[x])
        x = rand((3, 17), dtype, seed=9)
        # Constant bounds, one-element [1] shaped bounds, min > max (everything becomes max).
        check_node("Clip", [("x", x), ("lo", lo), ("hi", hi)], ["y"], opset, initializers={"lo": lo, "hi": hi},
                   reference=[clip_ref(x, lo, hi)])
        check_node("Clip", [("x", x), ("lo", None), ("hi", hi)], ["y"], opset, initializers={"hi": hi},
                   reference=[clip_ref(x, None, hi)])
        lo1 = np.array([0], dtype)
        check_node("Clip", [("x", x), ("lo", lo1)], ["y"], opset, reference=[clip_ref(x, lo1[0], None)])
        check_node("Clip", [("x", x), ("lo", hi), ("hi", lo)], ["y"], opset, reference=[np.full_like(x, lo)])


def test_clip_nan_passes_through():
    x = np.array([np.nan, -5, 5], F32)
    lo, hi = np.array(-1, F32), np.array(1, F32)
    got = check_node("Clip", [("x", x), ("lo", lo), ("hi", hi)], ["y"], 13, reference=[np.array([np.nan, -1, 1], F32)])
    assert np.isnan(got[0][0])


# ---- Cast ----

CAST_TYPES = [np.float32, np.float64, np.int32, np.int64, np.bool_, np.uint8, np.int8]


def cast_source(dtype, shape, seed=0):
    r = rng(seed)
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return np.asarray(r.random(size=shape) < 0.5)
    if dtype.kind == "f":
        x = np.asarray(r.uniform(-120.0, 120.0, size=shape))
        x[r.random(size=shape) < 0.1] = 0.0  # zeros for ->bool
        return x.astype(dtype)
    if dtype == np.uint8:
        return np.asarray(r.integers(0, 256, size=shape)).astype(dtype)
    if dtype == np.int8:
        return np.asarray(r.integers(-128, 128, size=shape)).astype(dtype)
    return np.asarray(r.integers(-1000, 1000, size=shape)).astype(dtype)


def cast_ref(x, to):
    to = np.dtype(to)
    if to == np.bool_:
        return x != 0
    if x.dtype.kind == "f" and to.kind in "iu":
        return np.trunc(x).astype(np.int64).astype(to)  # truncate, then wrap into narrow types
    return x.astype(to)


def cast_fan_out_model(src_dtype, opset, shape, names):
    """x -> one Cast node per target type."""
    nodes = [helper.make_node("Cast", ["x"], [f"y_{n}"], to=NP_TO_ONNX[np.dtype(t)])
             for n, t in names]
    outputs = [helper.make_tensor_value_info(f"y_{n}", NP_TO_ONNX[np.dtype(t)], None) for n, t in names]
    graph = helper.make_graph(nodes, "cast", [helper.make_tensor_value_info("x", NP_TO_ONNX[np.dtype(src_dtype)],
                                                                              list(shape))], outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8 if opset <= 17 else 10
    return model


@pytest.mark.parametrize("since,opset", schema_revisions("Cast"))
@pytest.mark.parametrize("src", CAST_TYPES, ids=lambda t: np.dtype(t).name)
def test_cast_all_pairs(since, opset, src):
    names = [(np.dtype(t).name, t) for t in CAST_TYPES]
    for shape in [(), (1,), (17,), (2, 3, 33), (100003,), (0, 3)]:
        x = cast_source(src, shape, seed=len(shape))
        sess = session(cast_fan_out_model(src, opset, shape, names))
        got = sess.run(None, {"x": x})
        for (n, t), g in zip(names, got):
            want = cast_ref(x, t)
            assert g.dtype == want.dtype and g.shape == want.shape, (src, t, shape)
            np.testing.assert_array_equal(g, want, err_msg=f"Cast {np.dtype(src).name}->{n} {shape}")


def test_cast_attributes_and_special_values():
    # saturate (revision 19+) is accepted and irrelevant for these types.
    x = np.array([1.7, -1.7, 0.0, 3.0], F32)
    check_node("Cast", [("x", x)], ["y"], 21, attrs={"to": TensorProto.INT32, "saturate": 0},
               output_types=[TensorProto.INT32], reference=[np.array([1, -1, 0, 3], I32)])
    # NaN / inf / huge values: no crash; bool is x != 0 (NaN -> True); finite in-range values exact.
    x = np.array([np.nan, np.inf, -np.inf, 1e30, -1e30, 2.5, -2.5, -0.0], F32)
    for to in CAST_TYPES:
        model = make_node_model("Cast", [("x", x)], ["y"], 13, attrs={"to": NP_TO_ONNX[np.dtype(to)]},
                                output_types=[NP_TO_ONNX[np.dtype(to)]])
        (y,) = session(model).run(None, {"x": x})
        assert y.dtype == np.dtype(to) and y.shape == x.shape
        if np.dtype(to) == np.bool_:
            np.testing.assert_array_equal(y, [True] * 7 + [False])
        elif np.dtype(to).kind in "iu":
            np.testing.assert_array_equal(y[5:], cast_ref(x[5:], to))
    # A constant-initializer input.
    c = np.arange(-3, 4, dtype=I64)
    check_node("Cast", [("x", c)], ["y"], 13, attrs={"to": TensorProto.FLOAT}, initializers={"x": c},
               output_types=[TensorProto.FLOAT], reference=[c.astype(F32)])


def test_whole_graph_runs_on_anvil():
    """A small PaddleOCR-like chain: the session fails to build unless every node is claimed."""
    x = rand((1, 4, 5, 6), F32, seed=3)
    s = rand((4, 1, 1), F32, seed=4)
    nodes = [
        helper.make_node("Mul", ["x", "s"], ["m"]),
        helper.make_node("HardSwish", ["m"], ["h"]),
        helper.make_node("Pow", ["h", "two"], ["p"]),
        helper.make_node("Sqrt", ["p"], ["q"]),
        helper.make_node("Sigmoid", ["q"], ["g"]),
        helper.make_node("Sub", ["g", "half"], ["d"]),
        helper.make_node("Clip", ["d", "", "cmax"], ["c"]),
        helper.make_node("Cast", ["c"], ["y"], to=TensorProto.INT64),
    ]
    inits = [onnx.numpy_helper.from_array(np.array(2.0, F32), "two"),
             onnx.numpy_helper.from_array(np.array(0.5, F32), "half"),
             onnx.numpy_helper.from_array(np.array(0.3, F32), "cmax"),
             onnx.numpy_helper.from_array(s, "s")]
    graph = helper.make_graph(nodes, "chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape))],
                              [helper.make_tensor_value_info("y", TensorProto.INT64, None),
                               helper.make_tensor_value_info("d", TensorProto.FLOAT, None)], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    y, d = session(model).run(None, {"x": x})
    m = (x * s).astype(np.float64)
    h = m * np.clip(m / 6 + 0.5, 0, 1)
    want_d = 1 / (1 + np.exp(-np.abs(h))) - 0.5
    np.testing.assert_allclose(d, want_d.astype(F32), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(y, np.zeros(x.shape, np.int64))
