"""Element-wise kernels: Add, Sub, Mul, Div, Pow, Sqrt, Sigmoid, HardSigmoid, HardSwish, Relu,
LeakyRelu, Exp, Log, Neg, Abs, Clip, Cast, Max, Min, Equal, Greater, GreaterOrEqual, Less,
LessOrEqual, Not, And, Or, and the math family (Reciprocal, Tanh, Erf, Floor, Ceil, Round, the
trigonometric and hyperbolic functions, Softplus, Softsign, Elu, Selu, Celu, ThresholdedRelu, Gelu,
Mish, Sign, Shrink, IsNaN, IsInf, Bitwise*, BitShift, Xor, Mod, PRelu, Sum, Mean). Every schema
revision and registered type, against numpy references computed here or ORT's CPU EP.
Every model runs with CPU fallback disabled, so session creation fails unless Anvil claimed the
node."""
import functools

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


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16, np.uint16], ids=lambda t: np.dtype(t).name)
def test_narrow_int_mul_wraps(dtype):
    # 8- and 16-bit operands are promoted to int in C++: uint16 61925 * 34957 overflows int, which
    # UBSan reported (scripts/test_sanitizers.sh) until WrapMul multiplied in unsigned int.
    info = np.iinfo(dtype)
    a = np.array([info.max, info.min, info.max, info.min, 61925 % (int(info.max) + 1), -1 if info.min else 1], dtype)
    b = np.array([info.max, info.min, info.min, 3, 34957 % (int(info.max) + 1), info.max], dtype)
    with np.errstate(over="ignore"):
        want = (a.astype(np.int64) * b.astype(np.int64)).astype(dtype)
    for since, opset in schema_revisions("Mul", 14):
        check_node("Mul", [("a", a), ("b", b)], ["y"], opset, reference=[want])
    check_node("Mul", [("a", a), ("b", b[4:5])], ["y"], 14, reference=[(a.astype(np.int64) * int(b[4])).astype(dtype)])


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



# ---- Cast with float16 / bfloat16 and the wider integer types (compared with ORT's CPU EP) ----

def _onnx_type(dtype):
    return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


def _cast_pair(src, to_type, x, opset):
    """One Cast node, x of numpy type `src`, to onnx type `to_type`: Anvil vs ORT's CPU EP, bit-exact."""
    node = helper.make_node("Cast", ["x"], ["y"], to=to_type)
    graph = helper.make_graph([node], "cast", [helper.make_tensor_value_info("x", _onnx_type(src), list(x.shape))],
                              [helper.make_tensor_value_info("y", to_type, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8 if opset <= 17 else 10
    got = session(model).run(None, {"x": x})[0]
    want = session(model, anvil=False).run(None, {"x": x})[0]
    assert got.dtype == want.dtype and got.shape == want.shape
    if got.dtype.kind == "f":
        gb = got.view(np.uint16 if got.itemsize == 2 else (np.uint32 if got.itemsize == 4 else np.uint64))
        wb = want.view(gb.dtype)
        nan = np.isnan(want)
        np.testing.assert_array_equal(np.isnan(got), nan)
        np.testing.assert_array_equal(gb[~nan], wb[~nan], err_msg=f"Cast {np.dtype(src).name}->{to_type}")
    else:
        np.testing.assert_array_equal(got, want, err_msg=f"Cast {np.dtype(src).name}->{to_type}")


HALF_EDGES = np.array([0.0, -0.0, 1.0, -1.0, 65504.0, 65519.0, 65520.0, -65520.0, 1e6, 6.1035156e-05, 6.0e-05,
                       5.96e-08, 2.98e-08, 2.99e-08, 1e-9, 1.0009765625, 1.00048828125, 1.00146484375, 2049.0,
                       2051.0, np.inf, -np.inf, np.nan, 3.14159265, -2.71828, 1e-3, 0.5, 123.456], F32)

WIDE_INTS = [np.int16, np.uint16, np.uint32, np.uint64]


@pytest.mark.parametrize("since,opset", schema_revisions("Cast"))
def test_cast_float16_rounding_and_specials(since, opset):
    r = rng(since)
    x = np.concatenate([HALF_EDGES, r.uniform(-70000, 70000, 2000).astype(F32),
                        (r.standard_normal(2000) * 1e-5).astype(F32)])
    _cast_pair(F32, TensorProto.FLOAT16, x, opset)  # ties to even, overflow -> inf, subnormals, NaN
    _cast_pair(np.float64, TensorProto.FLOAT16, x.astype(np.float64), opset)
    h = np.arange(0, 65536, dtype=np.uint16).view(np.float16)  # every float16 value
    for to in [TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.INT32, TensorProto.INT64, TensorProto.INT8,
               TensorProto.UINT8, TensorProto.BOOL, TensorProto.FLOAT16]:
        finite = h[np.isfinite(h)] if to not in (TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.BOOL,
                                                  TensorProto.FLOAT16) else h
        if to in (TensorProto.INT8, TensorProto.UINT8):
            finite = finite[np.abs(finite.astype(F32)) < 128]  # out-of-range narrowing is implementation-defined
        _cast_pair(np.float16, to, finite, opset)
    for src in [np.int32, np.int64, np.int8, np.uint8, np.bool_]:
        v = (r.integers(0, 2, 50) if src == np.bool_ else r.integers(-100, 100, 50)).astype(src)
        _cast_pair(src, TensorProto.FLOAT16, v, opset)
    _cast_pair(np.float16, TensorProto.FLOAT16, np.zeros((0, 3), np.float16), opset)


@pytest.mark.parametrize("since,opset", [r for r in schema_revisions("Cast") if r[0] >= 13])
def test_cast_bfloat16(since, opset):
    """bfloat16 cannot leave a session through numpy: chains x -> bfloat16 -> target on both sides."""
    r = rng(7)
    x = np.concatenate([HALF_EDGES, np.array([3.4e38, -3.4e38, 1e-40], F32), r.uniform(-1e5, 1e5, 1000).astype(F32)])
    bits = np.arange(0, 65536, 7, dtype=np.uint16)  # every 7th bfloat16 bit pattern (BitCast, revision 26)
    sources = [(x, TensorProto.FLOAT, "Cast"), (x.astype(np.float64), TensorProto.DOUBLE, "Cast"),
               (np.arange(-50, 50, dtype=I32), TensorProto.INT32, "Cast"),
               (np.clip(x, -6e4, 6e4).astype(np.float16), TensorProto.FLOAT16, "Cast")]
    if opset >= 26:
        sources.append((bits, TensorProto.UINT16, "BitCast"))
    for xin, src_t, first in sources:
        for to in [TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.INT32, TensorProto.BOOL, TensorProto.FLOAT16]:
            nodes = [helper.make_node(first, ["x"], ["b"], to=TensorProto.BFLOAT16),
                     helper.make_node("Cast", ["b"], ["y"], to=to)]
            graph = helper.make_graph(nodes, "bf", [helper.make_tensor_value_info("x", src_t, list(xin.shape))],
                                      [helper.make_tensor_value_info("y", to, None)])
            model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
            model.ir_version = 10
            got = session(model).run(None, {"x": xin})[0]
            want = session(model, anvil=False).run(None, {"x": xin})[0]
            if to == TensorProto.INT32:  # out-of-range float -> int is implementation-defined
                ref = session(model, anvil=False).run(None, {"x": xin})[0]
                f = np.asarray(xin, np.float64) if src_t != TensorProto.UINT16 else None
                keep = np.ones(want.shape, bool) if f is None else (np.abs(f) < 2**31)
                if f is None:
                    keep = (bits.astype(np.uint32) << 16).view(F32)
                    keep = np.isfinite(keep) & (np.abs(keep) < 2**31)
                np.testing.assert_array_equal(got[keep], ref[keep])
            else:
                np.testing.assert_array_equal(got, want, err_msg=f"{src_t} -> bfloat16 -> {to}")


@pytest.mark.parametrize("src", WIDE_INTS + [F32, np.float64, I32, I64], ids=lambda t: np.dtype(t).name)
def test_cast_wide_integer_types(src):
    r = rng(3)
    if np.dtype(src).kind == "f":
        x = r.uniform(0, 60000, 300).astype(src)
    else:
        x = r.integers(0, np.iinfo(src).max if np.dtype(src).itemsize <= 2 else 2**31, 300).astype(src)
    for to in WIDE_INTS + [F32, np.float64, I32, I64, np.float16]:
        _cast_pair(src, _onnx_type(to), x, 21)


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


# ---- LeakyRelu, Exp, Log, Neg, Abs ----

@pytest.mark.parametrize("since,opset", schema_revisions("LeakyRelu"))
def test_leaky_relu(since, opset):
    for attrs, alpha in [(None, 0.01), ({"alpha": 0.2}, 0.2), ({"alpha": -1.5}, -1.5), ({"alpha": 0.0}, 0.0)]:
        for i, shape in enumerate(UNARY_SHAPES):
            x = rand(shape, F32, seed=i)
            want = np.where(x < 0, np.float32(alpha) * x, x).astype(F32)
            unary_check("LeakyRelu", x, want, opset, attrs=attrs)
    x = np.array([np.nan, -np.inf, np.inf, -0.0, 0.0, -1e-30], F32)
    got = check_node("LeakyRelu", [("x", x)], ["y"], opset, reference=[np.where(x < 0, np.float32(0.01) * x, x)],
                     atol=0)
    assert np.isnan(got[0][0])


def exp_ref(x):
    with np.errstate(over="ignore", under="ignore"):
        return np.exp(x.astype(np.float64)).astype(F32)


def log_ref(x):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(x.astype(np.float64)).astype(F32)


# About an ulp against the correctly rounded result; denormal results within one denormal step.
EXP_LOG_TOL = dict(rtol=4e-7, atol=3e-45)


@pytest.mark.parametrize("since,opset", schema_revisions("Exp"))
def test_exp(since, opset):
    for i, shape in enumerate(UNARY_SHAPES):
        x = rand(shape, F32, seed=i, lo=-20.0, hi=20.0)
        unary_check("Exp", x, exp_ref(x), opset, **EXP_LOG_TOL)
    # The whole range: underflow to denormals and 0, results up to FLT_MAX, overflow to inf.
    x = np.concatenate([np.linspace(-110, 90, 200003, dtype=F32),
                        np.array([-np.inf, np.inf, 0.0, -0.0, 88.72, 88.7228, 88.7229, -87.34, -103.97, -1e-7,
                                  1e-7, 1e30, -1e30], F32)])
    got = check_node("Exp", [("x", x)], ["y"], opset, reference=[exp_ref(x)], **EXP_LOG_TOL)
    assert got[0][-13] == 0 and got[0][-12] == np.inf and got[0][-11] == 1 and got[0][-10] == 1
    assert np.isfinite(got[0][-9]) and np.isfinite(got[0][-8])
    # NaN in vector lanes and in the tail.
    x = rand((11,), F32, seed=3)
    x[[1, 6, 10]] = np.nan
    (y,) = session(make_node_model("Exp", [("x", x)], ["y"], opset)).run(None, {"x": x})
    assert np.isnan(y[[1, 6, 10]]).all() and not np.isnan(np.delete(y, [1, 6, 10])).any()


@pytest.mark.parametrize("since,opset", schema_revisions("Log"))
def test_log(since, opset):
    for i, shape in enumerate(UNARY_SHAPES):
        x = rand(shape, F32, seed=i, lo=1e-3, hi=100.0)
        unary_check("Log", x, log_ref(x), opset, **EXP_LOG_TOL)
    # Every positive finite float magnitude (denormals included), and values around 1.
    bits = rng(7).integers(1, 0x7F800000, size=200003, dtype=np.int64).astype(np.uint32)
    x = np.concatenate([bits.view(F32), np.linspace(0.5, 2.0, 100001, dtype=F32),
                        np.array([1.0, np.nextafter(F32(1), F32(2)), np.nextafter(F32(1), F32(0)), 1e-45,
                                  1.1754942e-38, np.finfo(F32).max], F32)])
    unary_check("Log", x, log_ref(x), opset, rtol=4e-7, atol=0)
    x = np.array([0.0, -0.0, -1.0, -np.inf, np.inf, np.nan, 1.0], F32)
    (y,) = session(make_node_model("Log", [("x", x)], ["y"], opset)).run(None, {"x": x})
    np.testing.assert_array_equal(y, np.array([-np.inf, -np.inf, np.nan, np.nan, np.inf, np.nan, 0.0], F32))


@pytest.mark.parametrize("since,opset", schema_revisions("Neg"))
def test_neg(since, opset):
    for dtype in FLOAT_INTS:
        for i, shape in enumerate(UNARY_SHAPES):
            x = rand(shape, dtype, seed=i)
            unary_check("Neg", x, np.negative(x), opset, atol=0)
    for dtype in [I32, I64]:
        info = np.iinfo(dtype)
        x = np.array([info.min, info.max, 0, -1, 1], dtype)
        with np.errstate(over="ignore"):
            unary_check("Neg", x, np.negative(x), opset)  # -INT_MIN wraps to INT_MIN
    x = np.array([0.0, -0.0, np.inf, -np.inf], F32)
    got = check_node("Neg", [("x", x)], ["y"], opset, reference=[-x])
    assert np.array_equal(np.signbit(got[0]), [True, False, True, False])


@pytest.mark.parametrize("since,opset", schema_revisions("Abs"))
def test_abs(since, opset):
    for dtype in FLOAT_INTS:
        for i, shape in enumerate(UNARY_SHAPES):
            x = rand(shape, dtype, seed=i)
            unary_check("Abs", x, np.abs(x), opset, atol=0)
    for dtype in [I32, I64]:
        info = np.iinfo(dtype)
        x = np.array([info.min, info.max, 0, -1, 1, info.min + 1], dtype)
        unary_check("Abs", x, np.abs(x), opset)  # |INT_MIN| wraps to INT_MIN, as numpy's
    x = np.array([-0.0, -np.inf, np.nan, -np.nan], F32)
    (y,) = session(make_node_model("Abs", [("x", x)], ["y"], opset)).run(None, {"x": x})
    assert not np.signbit(y).any() and y[1] == np.inf and np.isnan(y[2:]).all()


# ---- Max, Min ----

MINMAX = {"Max": np.maximum, "Min": np.minimum}

# Three-input shapes: all the same; a broadcast pair first; no pair spanning the output (the first
# input is broadcast-copied in); scalars; large (several threads); zero-sized outputs.
MINMAX3_CASES = [
    ((2, 3, 4), (2, 3, 4), (2, 3, 4)),
    ((17,), (17,), ()),
    ((), (7,), (3, 1)),
    ((3, 1), (3, 4), (1, 4)),
    ((1, 4), (3, 1), (2, 1, 1)),
    ((3, 1, 1), (1, 4, 1), (1, 1, 5)),
    ((2, 3, 4, 5), (1, 3, 1, 1), (5,)),
    ((1, 1, 1), (1,), ()),
    ((2, 16, 61, 67), (16, 1, 1), (67,)),
    ((67,), (61, 1), (2, 16, 61, 67)),
    ((0,), (), (1,)),
    ((1,), (0, 1), (1, 3)),
    ((2, 0, 4), (2, 1, 4), (4,)),
]


def minmax_types(since):
    return [F32] if since < 12 else FLOAT_INTS


def minmax_ref(op, arrays):
    return np.asarray(functools.reduce(MINMAX[op], arrays), dtype=arrays[0].dtype)


def minmax_check(op, arrays, opset):
    inputs = [(f"x{i}", a) for i, a in enumerate(arrays)]
    check_node(op, inputs, ["y"], opset, reference=[minmax_ref(op, arrays)], rtol=0, atol=0)


@pytest.mark.parametrize("op", ["Max", "Min"])
def test_minmax_revisions_types_and_broadcasting(op):
    revisions = schema_revisions(op)
    for since, opset in revisions:
        newest = since == revisions[-1][0]
        for dtype in minmax_types(since):
            # One input: a copy.
            for i, shape in enumerate(UNARY_SHAPES):
                if newest or i in (0, 6, 7, 8):
                    minmax_check(op, [rand(shape, dtype, seed=i)], opset)
            # Two inputs: every broadcast case.
            for i, (sa, sb) in enumerate(BROADCAST_CASES):
                if newest or i in OLD_REVISION_CASES:
                    minmax_check(op, [rand(sa, dtype, seed=i), rand(sb, dtype, seed=50 + i)], opset)
            # Three inputs.
            for i, shapes in enumerate(MINMAX3_CASES):
                if newest or i in (0, 4, 5, 11):
                    minmax_check(op, [rand(s, dtype, seed=10 * i + k) for k, s in enumerate(shapes)], opset)


@pytest.mark.parametrize("op", ["Max", "Min"])
def test_minmax_many_inputs_nan_and_extremes(op):
    # More inputs than the kernel keeps views of (8), with broadcasting.
    shapes = [(3, 1, 5), (4, 1), (), (1, 5), (3, 4, 5), (5,), (1,), (3, 1, 1), (4, 5), (1, 1, 1), (3, 4, 1)]
    for n in (4, 9, 11):
        for dtype in FLOAT_INTS:
            minmax_check(op, [rand(s, dtype, seed=k) for k, s in enumerate(shapes[:n])], 13)
    # NaN propagates from any input, in any position; infinities compare as usual.
    a = np.array([np.nan, 1, 2, np.inf, -np.inf, 5, np.nan, 0, 1, 2, 3], F32)
    b = np.array([1, np.nan, 2, 3, 4, -np.inf, np.nan, 0, 7, -7, 3], F32)
    c = np.array([0, 0, np.nan, 0, 0, 0, 0, 0, 0, 0, np.nan], F32)
    for arrays in ([a, b], [a, b, c], [c, a], [a, np.array(np.nan, F32)], [np.array([np.nan], F32), a, b]):
        with np.errstate(invalid="ignore"):
            minmax_check(op, arrays, 13)
    for dtype in [I32, I64]:
        info = np.iinfo(dtype)
        a = np.array([info.min, info.max, 0, -1], dtype)
        b = np.array([info.max, info.min, -1, 0], dtype)
        minmax_check(op, [a, b], 13)
        minmax_check(op, [a, b, np.array(info.min, dtype)], 13)


@pytest.mark.parametrize("op", ["Max", "Min"])
def test_minmax_symbolic_shapes_and_threads(op):
    x0 = rand((1,), F32)
    sess = session(symbolic_model(op, [("a", x0), ("b", x0), ("c", x0)], 13), threads=3)
    for i, shapes in enumerate(MINMAX3_CASES):
        arrays = [rand(s, F32, seed=20 + i + k) for k, s in enumerate(shapes)]
        (y,) = sess.run(None, dict(zip("abc", arrays)))
        want = minmax_ref(op, arrays)
        assert y.shape == want.shape, shapes
        np.testing.assert_array_equal(y, want, err_msg=f"{op} {shapes}")
    with pytest.raises(Exception, match=r"\[4\].*\[2,3\]"):
        sess.run(None, {"a": rand((2, 3), F32), "b": rand((1,), F32), "c": rand((4,), F32)})


def test_minmax_concurrent_runs_share_one_session():
    import concurrent.futures
    x0 = rand((1,), F32)
    sess = session(symbolic_model("Max", [("a", x0), ("b", x0), ("c", x0)], 13), threads=2)
    cases = [(rand((2, 16, 61, 67), F32, seed=i), rand((16, 1, 1), F32, seed=40 + i), rand((67,), F32, seed=80 + i))
             for i in range(6)]

    def run(case):
        (y,) = sess.run(None, dict(zip("abc", case)))
        return np.array_equal(y, minmax_ref("Max", list(case)))

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        assert all(pool.map(run, cases * 3))


# ---- Comparisons, Not, And, Or ----

COMPARE = {
    "Equal": np.equal,
    "Greater": np.greater,
    "GreaterOrEqual": np.greater_equal,
    "Less": np.less,
    "LessOrEqual": np.less_equal,
}
BOOL = np.bool_


def compare_types(op, since):
    if op == "Equal":
        return [BOOL, I32, I64] + ([F32] if since >= 11 else [])
    if op in ("Greater", "Less") and since < 9:
        return [F32]
    return FLOAT_INTS


def small_values(shape, dtype, seed=0):
    """Few distinct values, so that ties (equal elements) are common."""
    r = rng(seed)
    if np.dtype(dtype) == BOOL:
        return np.asarray(r.random(size=shape) < 0.5)
    return np.asarray(r.integers(-2, 3, size=shape)).astype(dtype)


def bool_check(op, a, b, opset, want):
    inputs = [("a", a)] if b is None else [("a", a), ("b", b)]
    check_node(op, inputs, ["y"], opset, output_types=[TensorProto.BOOL], reference=[np.asarray(want, BOOL)])


@pytest.mark.parametrize("op", sorted(COMPARE))
def test_compare_revisions_types_and_broadcasting(op):
    revisions = schema_revisions(op)
    for since, opset in revisions:
        newest = since == revisions[-1][0]
        for dtype in compare_types(op, since):
            for i, (sa, sb) in enumerate(BROADCAST_CASES):
                if not newest and i not in OLD_REVISION_CASES:
                    continue
                a, b = small_values(sa, dtype, seed=i), small_values(sb, dtype, seed=60 + i)
                bool_check(op, a, b, opset, COMPARE[op](a, b))


@pytest.mark.parametrize("op", sorted(COMPARE))
def test_compare_nan_inf_and_int_extremes(op):
    a = np.array([np.nan, 1, np.nan, np.inf, -np.inf, np.inf, 0.0, -0.0, 1, 2, 3, 4, 5, 6, 7, 8, 9], F32)
    b = np.array([1, np.nan, np.nan, np.inf, np.inf, 1e38, -0.0, 0.0, 1, 3, 2, 4, 6, 5, 7, 9, 8], F32)
    bool_check(op, a, b, 16, COMPARE[op](a, b))
    for dtype in [I32, I64]:
        info = np.iinfo(dtype)
        a = np.array([info.min, info.max, info.min, 0, -1], dtype)
        b = np.array([info.max, info.min, info.min, -1, 0], dtype)
        bool_check(op, a, b, 16, COMPARE[op](a, b))


def test_compare_symbolic_shapes_threads_and_constants():
    x0 = rand((1,), F32)
    sess = session(symbolic_model("Greater", [("a", x0), ("b", x0)], 13, out_type=TensorProto.BOOL), threads=3)
    for i, (sa, sb) in enumerate(BROADCAST_CASES):
        a, b = rand(sa, F32, seed=i), rand(sb, F32, seed=30 + i)
        (y,) = sess.run(None, {"a": a, "b": b})
        want = np.greater(a, b)
        assert y.dtype == BOOL and y.shape == want.shape, (sa, sb)
        np.testing.assert_array_equal(y, want, err_msg=f"Greater {sa} {sb}")
    a = rand((2, 3, 5, 7), I64, seed=4)
    c = np.array([0], I64)
    for op in sorted(COMPARE):
        check_node(op, [("a", a), ("c", c)], ["y"], 16, initializers={"c": c},
                   output_types=[TensorProto.BOOL], reference=[COMPARE[op](a, c)])


@pytest.mark.parametrize("since,opset", schema_revisions("Not"))
def test_not(since, opset):
    for i, shape in enumerate(UNARY_SHAPES):
        x = small_values(shape, BOOL, seed=i)
        bool_check("Not", x, None, opset, np.logical_not(x))


@pytest.mark.parametrize("op", ["And", "Or"])
def test_and_or(op):
    ref = {"And": np.logical_and, "Or": np.logical_or}[op]
    for since, opset in schema_revisions(op):
        for i, (sa, sb) in enumerate(BROADCAST_CASES):
            a, b = small_values(sa, BOOL, seed=i), small_values(sb, BOOL, seed=70 + i)
            bool_check(op, a, b, opset, ref(a, b))


def test_unsupported_types_are_not_claimed():
    """Types Anvil does not compute stay with the CPU EP: with fallback disabled the session cannot
    be built, with fallback enabled it runs on the CPU EP."""
    NP_TO_ONNX.setdefault(np.dtype(np.float16), TensorProto.FLOAT16)
    d = np.array([1.0, -2.0], np.float16)
    for op, inputs, out in [("Abs", [("x", d)], None), ("Sqrt", [("x", d)], None),
                            ("Less", [("a", d), ("b", d)], [TensorProto.BOOL])]:
        model = make_node_model(op, inputs, ["y"], 13, output_types=out)
        with pytest.raises(Exception):
            session(model)
        (y,) = session(model, fallback=True).run(None, dict(inputs))
        assert y.shape == (2,)


# ---- Explicit-vector float paths (AVX2/SSE rows): every length around the vector widths, so the
# vector bodies, the unrolled bodies and the scalar tails are all hit, bit-exact vs numpy.

VEC_LENGTHS = [1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 40, 63, 64, 65, 100]


@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div"])
def test_float_arith_rows_exact(op):
    fn = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide}[op]
    for n in VEC_LENGTHS:
        a = rand((n,), np.float32, seed=n)
        b = nonzero((n,), np.float32, seed=n + 1)
        s = np.array(1.7, np.float32)
        c = nonzero((2, 3, 1, 1), np.float32, seed=n + 2)
        x4 = rand((2, 3, 1, n), np.float32, seed=n + 3)
        with np.errstate(divide="ignore", invalid="ignore"):
            cases = [(a, b), (a, s), (s, b), (x4, c), (c, x4), (x4, b)]
            for u, v in cases:
                check_node(op, [("a", u), ("b", v)], ["y"], 14, reference=[fn(u, v)], rtol=0, atol=0)


def test_relu_clip_rows_nan_and_signed_zero():
    for n in VEC_LENGTHS:
        x = rand((n,), np.float32, seed=n, lo=-8, hi=8)
        x[1::7] = -0.0
        x[::5] = np.nan
        (y,) = session(make_node_model("Relu", [("x", x)], ["y"], 14)).run(None, {"x": x})
        want = np.where(x < 0, np.float32(0), x)
        np.testing.assert_array_equal(y, want)
        assert np.array_equal(np.signbit(y), np.signbit(want))
        lo, hi = np.array(-1.5, np.float32), np.array(2.5, np.float32)
        got = check_node("Clip", [("x", x), ("lo", lo), ("hi", hi)], ["y"], 13,
                         reference=[np.where(x > hi, hi, np.where(x < lo, lo, x))], rtol=0, atol=0)
        assert np.isnan(got[0][::5]).all()
        # min > max: every element becomes max (NaN still passes).
        got = check_node("Clip", [("x", x), ("lo", hi), ("hi", lo)], ["y"], 13,
                         reference=[np.where(np.isnan(x), x, lo)], rtol=0, atol=0)


# ---------------------------------------------------------------------------------------------
# Element-wise math (math.cc, math_binary.cc): one-input math and activations, Sign, Shrink,
# IsNaN, IsInf, Bitwise*, PRelu, Mod, BitShift, Xor, Sum, Mean. Compared with ORT's CPU EP at
# ONNX's backend-test tolerance (rtol 1e-3, atol 1e-7) or tighter.

for _dt, _pt in [(np.int16, TensorProto.INT16), (np.uint16, TensorProto.UINT16),
                 (np.uint32, TensorProto.UINT32), (np.uint64, TensorProto.UINT64)]:
    NP_TO_ONNX.setdefault(np.dtype(_dt), _pt)

F64 = np.float64
ALL_INTS = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]
NUMERIC = [F32, F64] + ALL_INTS
TINY = [0.0, -0.0, 1e-30, -1e-30, 1e-12, -1e-12, 1e-8, -1e-8, 1e-7, -3e-7, 1e-4, -1e-4]


def math_input(domain, dtype, shape=(3, 37), seed=0):
    """Random values in the op's domain plus tiny ones (where atol 1e-7 bites)."""
    lo, hi = domain
    x = rand(shape, dtype, seed=seed, lo=lo, hi=hi).ravel()
    tiny = [t for t in TINY if lo <= t <= hi][: x.size]
    x[: len(tiny)] = tiny
    return x.reshape(shape).astype(dtype)


# op: (domain, attribute sets, types)
UNARY_MATH = {
    "Reciprocal": ((0.1, 5.0), [{}], [F32, F64]),
    "Tanh": ((-10.0, 10.0), [{}], [F32, F64]),
    "Erf": ((-4.0, 4.0), [{}], [F32]),
    "Floor": ((-5.0, 5.0), [{}], [F32, F64]),
    "Ceil": ((-5.0, 5.0), [{}], [F32, F64]),
    "Sin": ((-7.0, 7.0), [{}], [F32, F64]),
    "Cos": ((-7.0, 7.0), [{}], [F32, F64]),
    "Tan": ((-1.4, 1.4), [{}], [F32]),
    "Asin": ((-0.99, 0.99), [{}], [F32]),
    "Acos": ((-0.99, 0.99), [{}], [F32]),
    "Atan": ((-10.0, 10.0), [{}], [F32]),
    "Sinh": ((-5.0, 5.0), [{}], [F32]),
    "Cosh": ((-5.0, 5.0), [{}], [F32]),
    "Asinh": ((-10.0, 10.0), [{}], [F32]),
    "Acosh": ((1.0, 10.0), [{}], [F32]),
    "Atanh": ((-0.99, 0.99), [{}], [F32]),
    "Softplus": ((-30.0, 30.0), [{}], [F32]),
    "Softsign": ((-10.0, 10.0), [{}], [F32]),
    "Elu": ((-5.0, 5.0), [{}, {"alpha": 0.5}], [F32]),
    "Selu": ((-5.0, 5.0), [{}, {"alpha": 1.5, "gamma": 2.0}], [F32]),
    "Celu": ((-5.0, 5.0), [{}, {"alpha": 2.0}], [F32]),
    "ThresholdedRelu": ((-3.0, 3.0), [{}, {"alpha": 0.5}, {"alpha": -1.0}], [F32]),
    "Gelu": ((-3.0, 6.0), [{}, {"approximate": "none"}, {"approximate": "tanh"}], [F32]),
    "Mish": ((-20.0, 20.0), [{}], [F32, F64]),
}


@pytest.mark.parametrize("op", sorted(UNARY_MATH))
def test_unary_math(op):
    domain, attr_sets, types = UNARY_MATH[op]
    for since, opset in schema_revisions(op):
        for dtype in types:
            if op == "Mish" and dtype == F64 and since >= 22:
                continue  # ORT registers double for Mish-18 only
            for shape in [(3, 37), (), (0, 4), (1,)]:
                x = math_input(domain, dtype, shape) if shape != () else np.array(domain[1] / 3, dtype)
                for attrs in attr_sets:
                    check_node(op, [("x", x)], ["y"], opset, attrs=attrs, rtol=1e-4, atol=1e-7)


def test_round_halves_to_even():
    x = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999997, 2.4, -2.6, 1e20, np.inf, -np.inf, np.nan], F32)
    for since, opset in schema_revisions("Round"):
        for dtype in (F32, F64):
            got = check_node("Round", [("x", x.astype(dtype))], ["y"], opset)
            np.testing.assert_array_equal(got[0], np.round(x.astype(dtype)))


def test_math_special_values():
    """inf, -inf and NaN go through as the C library and ORT say."""
    x = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 88.0, -88.0, 100.0, -100.0], F32)
    for op in ["Tanh", "Erf", "Floor", "Ceil", "Softplus", "Softsign", "Elu", "Selu", "Celu", "Gelu", "Mish",
               "Atan", "Asinh", "ThresholdedRelu"]:
        check_node(op, [("x", x)], ["y"], 20, rtol=1e-4, atol=1e-7)


def test_math_large_and_threads():
    x = rand((5, 100003), F32, lo=-4, hi=4)
    model = make_node_model("Tanh", [("x", x)], ["y"], 13)
    (y,) = session(model, threads=3).run(None, {"x": x})
    np.testing.assert_allclose(y, np.tanh(x), rtol=1e-5, atol=1e-7)


def test_gelu_accurate_below_zero():
    """Far below 0 Gelu is a tiny negative number: Anvil computes it without cancellation (within
    rtol 1e-5 of a double-precision reference), ORT's CPU EP in float (its tanh form is off by up to
    2e-7 absolute there, so the comparison with ORT uses atol 3e-7)."""
    import math
    x = np.concatenate([np.linspace(-9, -3, 61), np.linspace(-3, 3, 61), [-1e-30, 1e-8, 50.0]]).astype(F32)
    xd = x.astype(np.float64)
    exact = {
        "none": np.array([0.5 * v * math.erfc(-v / math.sqrt(2)) for v in xd]),
        "tanh": 0.5 * xd * (1 + np.tanh(math.sqrt(2 / math.pi) * (xd + 0.044715 * xd**3))),
    }
    # tanh form in double loses accuracy too once 1 + tanh(z) cancels: use the sigmoid form.
    z = math.sqrt(2 / math.pi) * (xd + 0.044715 * xd**3)
    exact["tanh"] = xd / (1 + np.exp(-2 * z))
    for approx, want in exact.items():
        check_node("Gelu", [("x", x)], ["y"], 20, attrs={"approximate": approx},
                   reference=[want.astype(F32)], rtol=1e-5, atol=1e-30)
        check_node("Gelu", [("x", x)], ["y"], 20, attrs={"approximate": approx}, rtol=1e-4, atol=3e-7)


def test_gelu_bad_approximate_is_not_claimed():
    x = rand((4,), F32)
    with pytest.raises(Exception):
        check_node("Gelu", [("x", x)], ["y"], 20, attrs={"approximate": "erf"})


@pytest.mark.parametrize("dtype", NUMERIC, ids=lambda t: np.dtype(t).name)
def test_sign(dtype):
    x = rand((4, 9), dtype, lo=-3, hi=3)
    if np.dtype(dtype).kind == "f":
        x.ravel()[:3] = [0.0, -0.0, 1e-30]
    for since, opset in schema_revisions("Sign"):
        check_node("Sign", [("x", x)], ["y"], opset, reference=[np.sign(x)])


@pytest.mark.parametrize("dtype", NUMERIC, ids=lambda t: np.dtype(t).name)
def test_shrink(dtype):
    if np.dtype(dtype).kind == "u":
        x = np.arange(0, 40, dtype=dtype).reshape(5, 8)
    else:
        x = np.arange(-20, 20, dtype=dtype).reshape(5, 8)
        if np.dtype(dtype).kind == "f":
            x = x / 4
    for attrs in [{}, {"lambd": 1.5}, {"lambd": 2.0, "bias": 1.0}, {"lambd": 0.0, "bias": 0.5}]:
        check_node("Shrink", [("x", x)], ["y"], 9, attrs=attrs)


def test_isnan_isinf():
    x = np.array([[np.nan, np.inf, -np.inf, 0.0, -1.5, 3e38, -np.nan, 1e-45]], F32)
    for dtype in (F32, F64):
        xv = x.astype(dtype)
        for since, opset in schema_revisions("IsNaN"):
            check_node("IsNaN", [("x", xv)], ["y"], opset, output_types=[TensorProto.BOOL], reference=[np.isnan(xv)])
        for since, opset in schema_revisions("IsInf", 10):
            for neg in (0, 1):
                for pos in (0, 1):
                    want = (np.isneginf(xv) & bool(neg)) | (np.isposinf(xv) & bool(pos))
                    check_node("IsInf", [("x", xv)], ["y"], opset, output_types=[TensorProto.BOOL],
                               attrs={"detect_negative": neg, "detect_positive": pos}, reference=[want])
    e = np.zeros((0, 2), F32)
    check_node("IsNaN", [("x", e)], ["y"], 20, output_types=[TensorProto.BOOL], reference=[np.zeros((0, 2), bool)])


@pytest.mark.parametrize("dtype", ALL_INTS, ids=lambda t: np.dtype(t).name)
def test_bitwise(dtype):
    info = np.iinfo(dtype)
    r = rng(3)
    a = r.integers(info.min, info.max, size=(3, 4, 5), endpoint=True, dtype=dtype)
    b = r.integers(info.min, info.max, size=(4, 1), endpoint=True, dtype=dtype)
    for op, f in [("BitwiseAnd", np.bitwise_and), ("BitwiseOr", np.bitwise_or), ("BitwiseXor", np.bitwise_xor)]:
        check_node(op, [("a", a), ("b", b)], ["y"], 18, reference=[f(a, b)])
    check_node("BitwiseNot", [("a", a)], ["y"], 18, reference=[np.invert(a)])


def test_bitshift():
    for dtype in (np.uint8, np.uint32, np.uint64):
        bits = np.dtype(dtype).itemsize * 8
        x = np.array([[1, 2, 3, 255, 16, 0]], dtype)
        s = np.array([[0, 1, 3, 2, 4, bits - 1]], dtype)
        for since, opset in schema_revisions("BitShift"):
            check_node("BitShift", [("x", x), ("s", s)], ["y"], opset, attrs={"direction": "LEFT"},
                       reference=[np.left_shift(x, s)])
            check_node("BitShift", [("x", x), ("s", s)], ["y"], opset, attrs={"direction": "RIGHT"},
                       reference=[np.right_shift(x, s)])
            check_node("BitShift", [("x", x), ("s", np.array(2, dtype))], ["y"], opset, attrs={"direction": "LEFT"},
                       reference=[np.left_shift(x, np.array(2, dtype))])
    with pytest.raises(Exception):
        x = np.array([1], np.int32)
        check_node("BitShift", [("x", x), ("s", x)], ["y"], 11, attrs={"direction": "LEFT"})


def test_xor():
    a = rng(1).random((3, 4)) < 0.5
    b = rng(2).random((4,)) < 0.5
    check_node("Xor", [("a", a), ("b", b)], ["y"], 7, reference=[np.logical_xor(a, b)])


@pytest.mark.parametrize("dtype", NUMERIC, ids=lambda t: np.dtype(t).name)
def test_mod(dtype):
    kind = np.dtype(dtype).kind
    if kind == "u":
        a = np.arange(0, 24, dtype=dtype).reshape(2, 3, 4) * 7
        b = np.array([1, 2, 5, 9], dtype)
    else:
        a = (np.arange(-12, 12, dtype=np.int64).reshape(2, 3, 4) * 7).astype(dtype)
        b = np.array([1, -2, 5, -9], dtype)
        if kind == "f":
            a = a / 3
            b = b * 1.25
    for since, opset in schema_revisions("Mod", 10):
        if kind == "f":
            check_node("Mod", [("a", a), ("b", b)], ["y"], opset, attrs={"fmod": 1}, reference=[np.fmod(a, b)])
            with pytest.raises(Exception):  # fmod=0 is invalid for floats: not claimed
                check_node("Mod", [("a", a), ("b", b)], ["y"], opset, attrs={"fmod": 0})
        else:
            check_node("Mod", [("a", a), ("b", b)], ["y"], opset, reference=[np.mod(a, b)])
            check_node("Mod", [("a", a), ("b", b)], ["y"], opset, attrs={"fmod": 1}, reference=[np.fmod(a, b)])
            check_node("Mod", [("a", a), ("b", b)], ["y"], opset)  # and as ORT does it


def test_mod_int_extremes_and_zero_divisor():
    for dtype in (np.int32, np.int64):
        info = np.iinfo(dtype)
        a = np.array([info.min, info.min, info.max, -7, 7], dtype)
        b = np.array([-1, 3, -2, 3, -3], dtype)
        check_node("Mod", [("a", a), ("b", b)], ["y"], 13, reference=[np.array([0, 1, -1, 2, -2], dtype)])
        bz = np.array([1, 0, 2, 1, 1], dtype)
        sess = session(make_node_model("Mod", [("a", a), ("b", bz)], ["y"], 13))
        with pytest.raises(Exception, match="division by zero"):
            sess.run(None, {"a": a, "b": bz})
        e = np.zeros((0, 5), dtype)
        check_node("Mod", [("a", e), ("b", bz)], ["y"], 13, reference=[e])  # empty output: no division


@pytest.mark.parametrize("dtype", [F32, F64, I32, I64], ids=lambda t: np.dtype(t).name)
def test_prelu(dtype):
    x = rand((2, 3, 4, 5), dtype)
    for since, opset in schema_revisions("PRelu"):
        if since < 16 and dtype != F32:
            continue
        for slope_shape in [(3, 1, 1), (5,), (), (1,), (2, 3, 4, 5), (4, 1)]:
            s = rand(slope_shape, dtype, seed=5) if np.dtype(dtype).kind == "f" else rand(slope_shape, dtype, seed=5)
            check_node("PRelu", [("x", x), ("s", s)], ["y"], opset, reference=[np.where(x < 0, x * s, x).astype(dtype)])
    e = np.zeros((0, 3), F32)
    check_node("PRelu", [("x", e), ("s", np.ones(3, F32))], ["y"], 16, reference=[e])


@pytest.mark.parametrize("dtype", [I32, I64], ids=lambda t: np.dtype(t).name)
def test_prelu_int_wraps(dtype):
    # slope * x past the type's range wraps (two's complement), as ORT's CPU EP computes it; it was
    # a signed overflow (undefined behaviour) that fuzz_kernel found under UBSan.
    info = np.iinfo(dtype)
    x = np.array([-2, info.min, -3, -1, 5], dtype)
    s = np.array([info.max // 3 * 2, -1, info.max, info.min, info.max], dtype)
    with np.errstate(over="ignore"):
        want = np.where(x < 0, x * s, x).astype(dtype)
    check_node("PRelu", [("x", x), ("s", s)], ["y"], 16, reference=[want])
    check_node("PRelu", [("x", x), ("s", s)], ["y"], 16)


def test_prelu_slope_must_broadcast_to_input():
    x = rand((3,), F32)
    s = rand((2, 3), F32)
    sess = session(symbolic_model("PRelu", [("x", x), ("s", s)], 16))
    with pytest.raises(Exception):
        sess.run(None, {"x": x, "s": s})


@pytest.mark.parametrize("op", ["Sum", "Mean"])
def test_sum_mean(op):
    types = [F32, F64] if op == "Sum" else [F32]
    for since, opset in schema_revisions(op):
        for dtype in types:
            shapes_list = [[(3, 4)], [(3, 4), (3, 4)], [(3, 4), (3, 4), (3, 4), (3, 4)]]
            if since >= 8:
                shapes_list += [[(3, 1), (1, 4)], [(4,), (2, 3, 4), ()], [(1,), (2, 1, 5), (3, 1), (5,)],
                                [(0, 4), (4,)], [(2, 3, 4, 5)] * 9]
            for shapes in shapes_list:
                xs = [rand(s, dtype, seed=i) for i, s in enumerate(shapes)]
                inputs = [(f"x{i}", v) for i, v in enumerate(xs)]
                want = functools.reduce(np.add, xs)
                if op == "Mean":
                    want = want / len(xs)
                check_node(op, inputs, ["y"], opset, reference=[np.asarray(want, dtype)], rtol=1e-6)
                check_node(op, inputs, ["y"], opset)


def test_sum_incompatible_shapes_error():
    a, b = rand((4,), F32), rand((2, 3), F32)
    sess = session(symbolic_model("Sum", [("a", a), ("b", b)], 13))
    with pytest.raises(Exception, match=r"\[2,3\]"):
        sess.run(None, {"a": a, "b": b})


# The double and extra integer types of the existing one-input kernels (as ORT registers them).
EXTRA_TYPES = {
    "Exp": ([F64], (-20.0, 20.0)),
    "Log": ([F64], (0.001, 20.0)),
    "Sqrt": ([F64], (0.0, 20.0)),
    "Sigmoid": ([F64], (-40.0, 40.0)),
    "Relu": ([F64, np.int8], (-5.0, 5.0)),
    "LeakyRelu": ([F64], (-5.0, 5.0)),
    "Neg": ([F64, np.int8, np.int16], (-5.0, 5.0)),
    "Abs": ([F64] + ALL_INTS, (-5.0, 5.0)),
}


@pytest.mark.parametrize("op", sorted(EXTRA_TYPES))
def test_existing_unary_ops_extra_types(op):
    types, domain = EXTRA_TYPES[op]
    for since, opset in schema_revisions(op):
        for dtype in types:
            if op == "Relu" and dtype == np.int8 and since < 14:
                continue
            if op == "LeakyRelu" and since < 16:
                continue
            for shape in [(3, 37), (0,), ()]:
                if np.dtype(dtype).kind == "f":
                    x = math_input(domain, dtype, shape) if shape != () else np.array(domain[1] / 3, dtype)
                else:
                    x = rand(shape, dtype)
                check_node(op, [("x", x)], ["y"], opset, attrs={"alpha": 0.3} if op == "LeakyRelu" else None,
                           rtol=1e-10, atol=1e-14)  # ORT's double Sigmoid loses ~1e-16 far below 0
    if op in ("Neg", "Abs"):
        for dtype in (np.int8, np.int16):
            info = np.iinfo(dtype)
            x = np.array([info.min, info.max, 0, -1, 1], dtype)
            with np.errstate(over="ignore"):
                check_node(op, [("x", x)], ["y"], 13, reference=[np.negative(x) if op == "Neg" else np.abs(x)])


# The types ORT's CPU EP registers for the binary, variadic, comparison and Clip kernels.
ARITH_TYPES_7 = [F64, np.uint32, np.uint64]
ARITH_TYPES_14 = [np.int8, np.uint8, np.int16, np.uint16]


def typed_operands(dtype, shape_a=(3, 4, 5), shape_b=(4, 1), divisor=False):
    if np.dtype(dtype).kind == "f":
        a = rand(shape_a, dtype)
        b = nonzero(shape_b, dtype) if divisor else rand(shape_b, dtype, seed=4)
    else:
        info = np.iinfo(dtype)
        r = rng(7)
        a = r.integers(info.min, info.max, size=shape_a, endpoint=True, dtype=dtype)
        b = r.integers(info.min, info.max, size=shape_b, endpoint=True, dtype=dtype)
        if divisor:
            b[b == 0] = 1
    return a, b


@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div"])
def test_arith_extra_types(op):
    for since, opset in schema_revisions(op):
        for dtype in ARITH_TYPES_7 + (ARITH_TYPES_14 if since >= 14 else []):
            for sa, sb in [((3, 4, 5), (4, 1)), ((7,), ()), ((0, 3), (3,))]:
                a, b = typed_operands(dtype, sa, sb, divisor=op == "Div")
                check_node(op, [("a", a), ("b", b)], ["y"], opset, rtol=1e-12, atol=0)
    for dtype in (np.int8, np.int16):
        info = np.iinfo(dtype)
        a = np.array([info.min, info.max, -7, 7], dtype)
        b = np.array([-1, -1, 2, -2], dtype)
        check_node(op, [("a", a), ("b", b)], ["y"], 14)  # wraps like ORT
    zero = np.array([1, 0], np.uint32)
    if op == "Div":
        sess = session(make_node_model("Div", [("a", zero), ("b", zero)], ["y"], 14))
        with pytest.raises(Exception, match="division by zero"):
            sess.run(None, {"a": zero, "b": zero})


def test_pow_double():
    for since, opset in schema_revisions("Pow"):
        a = rand((3, 4), F64, lo=0.1, hi=3.0)
        b = rand((4,), F64, seed=2)
        check_node("Pow", [("a", a), ("b", b)], ["y"], opset, rtol=1e-12, atol=0)
        if since >= 12:
            for et in (F32, I32, I64):
                e = rand((4,), et, seed=3, lo=-2, hi=3) if et == F32 else np.array([0, 1, 2, 3], et)
                check_node("Pow", [("a", a), ("b", e)], ["y"], opset, rtol=1e-6, atol=0)
            check_node("Pow", [("a", np.array([2, 3, -4], I32)), ("b", np.array([2.0, 0.5, 3.0]))], ["y"], opset)


@pytest.mark.parametrize("op", ["Max", "Min"])
def test_minmax_extra_types(op):
    for since, opset in schema_revisions(op):
        types = ([F64] if since >= 8 else []) + ([np.int8, np.uint8, np.uint32, np.uint64] if since >= 12 else [])
        for dtype in types:
            a, b = typed_operands(dtype)
            c, _ = typed_operands(dtype, (5,), ())
            check_node(op, [("a", a), ("b", b), ("c", c)] if since >= 8 else [("a", a), ("b", a)], ["y"], opset)


@pytest.mark.parametrize("op", ["Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual"])
def test_compare_extra_types(op):
    for since, opset in schema_revisions(op):
        if op == "Equal" and since < 11:
            continue
        types = [F64] + (ALL_INTS if since >= 9 else [])
        for dtype in types:
            a, b = typed_operands(dtype)
            b = np.concatenate([b, a[0, :1, :1]], axis=0)[:4]  # some equal values
            check_node(op, [("a", a), ("b", b)], ["y"], opset, output_types=[TensorProto.BOOL])


def test_clip_extra_types():
    for since, opset in schema_revisions("Clip"):
        if since < 12:
            continue
        types = [F64, np.int8, np.uint8, np.uint32, np.uint64]
        for dtype in types:
            x, _ = typed_operands(dtype, (4, 6), ())
            lo, hi = np.sort(typed_operands(dtype, (2,), ())[0])
            for inputs in ([("x", x), ("lo", np.array(lo, dtype)), ("hi", np.array(hi, dtype))],
                           [("x", x), ("lo", np.array(lo, dtype))], [("x", x)],
                           [("x", x), ("lo", None), ("hi", np.array(hi, dtype))]):
                check_node("Clip", inputs, ["y"], opset)


def test_tanh_float_accuracy_whole_range():
    """The vectorised float Tanh: within 4e-7 relative of double-precision tanh everywhere,
    tiny inputs (tanh x = x) and signed zeros included; inf, -inf, NaN as the C library."""
    x = np.concatenate([np.linspace(-12, 12, 400001), np.geomspace(1e-38, 1, 4000), -np.geomspace(1e-38, 1, 4000),
                        [0.0, -0.0, np.inf, -np.inf, np.nan, 0.2499999, 0.25, 0.2500001, 9.0, -9.0, 30.0]]
                       ).astype(F32)
    want = np.tanh(x.astype(np.float64)).astype(F32)
    got = check_node("Tanh", [("x", x)], ["y"], 13, reference=[want], rtol=4e-7, atol=0)
    assert np.signbit(got[0][-11:-9]).tolist() == [False, True]
    check_node("Tanh", [("x", x)], ["y"], 13, rtol=1e-4, atol=1e-7)  # and ORT


def test_erf_gelu_float_accuracy_whole_range():
    """The vectorised float Erf (Taylor below 0.75, exp(-x^2) times a fitted polynomial above) and
    Gelu (0.5 x erfc(-x / sqrt 2)): within 5e-7 relative of double precision everywhere the result
    is a normal float, tiny inputs included; inf, -inf, NaN as the C library."""
    import math
    x = np.concatenate([np.linspace(-16, 16, 320001), np.geomspace(1e-38, 1, 4000), -np.geomspace(1e-38, 1, 4000),
                        [0.0, -0.0, 0.7499999, 0.75, 3.9, 10.0, -10.0]]).astype(F32)
    xd = x.astype(np.float64)
    want = np.array([math.erf(v) for v in xd])
    check_node("Erf", [("x", x)], ["y"], 13, reference=[want.astype(F32)], rtol=5e-7, atol=0)
    gelu = np.array([0.5 * v * math.erfc(-v / math.sqrt(2)) for v in xd])
    normal = np.abs(gelu) > 1e-36
    got = check_node("Gelu", [("x", x[normal])], ["y"], 20, reference=[gelu[normal].astype(F32)], rtol=5e-7, atol=0)
    special = np.array([np.inf, -np.inf, np.nan, -0.0], F32)
    got = check_node("Erf", [("x", special)], ["y"], 13, reference=[np.array([1, -1, np.nan, -0.0], F32)])
    assert np.signbit(got[0][3])
    check_node("Gelu", [("x", special)], ["y"], 20, rtol=1e-6, atol=0)  # as ORT (-inf gives NaN there too)


def test_mish_float_accuracy_whole_range():
    """The vectorised float Mish, x n / (n + 2) with n = e^x (e^x + 2): within 4e-7 relative of
    double precision wherever the result is above 1e-30 in magnitude; inf, NaN as ORT."""
    x = np.concatenate([np.linspace(-80, 90, 170001), np.geomspace(1e-38, 1, 4000), -np.geomspace(1e-38, 1, 4000),
                        [0.0, -0.0, 20.0, 20.0001, -20.0]]).astype(F32)
    xd = x.astype(np.float64)
    want = xd * np.tanh(np.logaddexp(0, xd))
    keep = (np.abs(want) > 1e-30) | (x == 0)
    for since, opset in schema_revisions("Mish"):
        check_node("Mish", [("x", x[keep])], ["y"], opset, reference=[want[keep].astype(F32)], rtol=4e-7, atol=0)
        check_node("Mish", [("x", np.array([np.inf, -np.inf, np.nan, -100.0], F32))], ["y"], opset, rtol=1e-6,
                   atol=1e-30)


def test_elu_family_float_accuracy_whole_range():
    """The vectorised float Elu / Selu / Celu (e^x - 1 by its Taylor series above -0.5, Exp(x) - 1
    below): within 3e-7 relative of double precision; tiny negative inputs keep full accuracy."""
    x = np.concatenate([np.linspace(-100, 20, 120001), np.geomspace(1e-38, 1, 4000), -np.geomspace(1e-38, 1, 4000),
                        [0.0, -0.0, -0.5, -0.49999997, -0.50000006]]).astype(F32)
    xd = x.astype(np.float64)
    a_selu, g_selu = 1.67326319217681884765625, 1.05070102214813232421875
    cases = [("Elu", {"alpha": 0.7}, np.where(xd < 0, 0.7 * np.expm1(xd), xd)),
             ("Selu", {}, np.where(xd > 0, g_selu * xd, g_selu * a_selu * np.expm1(np.minimum(xd, 0)))),
             ("Celu", {"alpha": 2.0}, np.where(xd < 0, 2 * np.expm1(np.minimum(xd, 0) / 2), xd))]
    for op, attrs, want in cases:
        keep = (np.abs(want) > 1e-37) | (x == 0)
        check_node(op, [("x", x[keep])], ["y"], 12 if op == "Celu" else 13, attrs=attrs,
                   reference=[want[keep].astype(F32)], rtol=3e-7, atol=0)


def test_softplus_float_accuracy_whole_range():
    """The vectorised float Softplus, max(x, 0) + 2 atanh(e / (2 + e)) with e = exp(-|x|): within
    3e-7 relative of double precision (no overflow for large x, e^x for very negative x)."""
    x = np.concatenate([np.linspace(-80, 100, 180001), np.geomspace(1e-38, 1, 4000), -np.geomspace(1e-38, 1, 4000),
                        [0.0, -0.0, 88.0, 89.0, 1e30]]).astype(F32)
    want = np.logaddexp(0, x.astype(np.float64))
    for since, opset in schema_revisions("Softplus"):
        check_node("Softplus", [("x", x)], ["y"], opset, reference=[want.astype(F32)], rtol=3e-7, atol=0)
        check_node("Softplus", [("x", np.array([np.inf, -np.inf, np.nan], F32))], ["y"], opset)


# ---- float16 paths (computed in float, rounded to nearest even), against ORT's CPU EP ----

def _half_case(op, inputs, opset, out_type=TensorProto.FLOAT16, attrs=None):
    node = helper.make_node(op, [n for n, _ in inputs], ["y"], **(attrs or {}))
    graph = helper.make_graph([node], op, [helper.make_tensor_value_info(n, _onnx_type(v.dtype), list(v.shape))
                                           for n, v in inputs], [helper.make_tensor_value_info("y", out_type, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8 if opset <= 17 else 10
    feeds = dict(inputs)
    got = session(model).run(None, feeds)[0]
    want = session(model, anvil=False).run(None, feeds)[0]
    assert got.shape == want.shape and got.dtype == want.dtype, (op, got.shape, want.shape)
    if got.dtype == np.float16:
        np.testing.assert_allclose(got.astype(F32), want.astype(F32), rtol=1e-3, atol=1e-4, err_msg=f"{op} {opset}")
    else:
        np.testing.assert_array_equal(got, want, err_msg=f"{op} {opset}")
    return got


H = np.float16


@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div"])
def test_float16_arith(op):
    for since, opset in schema_revisions(op):
        a = rand((2, 3, 4), H, seed=1)
        for b in [rand((2, 3, 4), H, seed=2), rand((4,), H, seed=3), rand((3, 1), H, seed=4), np.array(1.5, H)]:
            if op == "Div":
                b = np.where(np.abs(b) < 0.1, H(0.5), b).astype(H)
            _half_case(op, [("a", a), ("b", b)], opset)
        _half_case(op, [("a", np.zeros((0, 4), H)), ("b", rand((4,), H))], opset)
    big = np.array([60000, -60000, 1e-4, np.inf, np.nan], H)
    _half_case(op, [("a", big), ("b", np.array([2, 2, 1e-4, 1, 1], H))], 14)  # overflow to inf, NaN


@pytest.mark.parametrize("op", ["Max", "Min"])
def test_float16_max_min(op):
    for since, opset in schema_revisions(op, first_opset=12):
        a = np.array([1, -2, np.nan, 3, 0.5, -0.0], H)
        b = np.array([0.5, np.nan, 1, 3, 0.25, 0.0], H)
        _half_case(op, [("a", a), ("b", b)], opset)
        _half_case(op, [("a", rand((3, 4), H, 1)), ("b", rand((4,), H, 2)), ("c", rand((3, 1), H, 3))], opset)
        _half_case(op, [("a", rand((5,), H, 1))], opset)


def test_float16_mod_isnan_isinf_elu():
    a = np.array([5.5, -5.5, 7, -7, 0.25, 3], H)
    b = np.array([2, 2, -3, -3, 0.1, 1.5], H)
    for _, opset in schema_revisions("Mod", first_opset=10):
        _half_case("Mod", [("a", a), ("b", b)], opset, attrs={"fmod": 1})
    x = np.array([np.nan, np.inf, -np.inf, 0, -1, 65504, 6e-8], H)
    for _, opset in schema_revisions("IsNaN"):
        _half_case("IsNaN", [("x", x)], opset, out_type=TensorProto.BOOL)
    for _, opset in schema_revisions("IsInf", first_opset=20):
        for neg, pos in [(1, 1), (0, 1), (1, 0)]:
            _half_case("IsInf", [("x", x)], opset, out_type=TensorProto.BOOL,
                       attrs={"detect_negative": neg, "detect_positive": pos})
    for _, opset in schema_revisions("Elu"):
        _half_case("Elu", [("x", rand((3, 40), H, 5))], opset, attrs={"alpha": 0.7})


def test_float16_not_claimed_where_orts_types_stop():
    # Max/Min take float16 from revision 12 only (ORT's CPU EP registers float and double before).
    x = np.ones(3, H)
    for op, opset in [("Max", 11), ("Min", 8)]:
        node = helper.make_node(op, ["x"], ["y"])
        out_t = TensorProto.BOOL if op == "IsInf" else TensorProto.FLOAT16
        graph = helper.make_graph([node], op, [helper.make_tensor_value_info("x", TensorProto.FLOAT16, [3])],
                                  [helper.make_tensor_value_info("y", out_t, None)])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        model.ir_version = 8
        with pytest.raises(Exception):
            session(model)


def test_float16_equal():
    a = np.array([1, -0.0, np.nan, 3, 0.5, 65504, 1.0009765625], H)
    b = np.array([1, 0.0, np.nan, 2, 0.5, np.inf, 1.0], H)
    for _, opset in schema_revisions("Equal", first_opset=13):
        _half_case("Equal", [("a", a), ("b", b)], opset, out_type=TensorProto.BOOL)
        _half_case("Equal", [("a", rand((3, 4), H, 1).round()), ("b", rand((4,), H, 2).round())], opset,
                   out_type=TensorProto.BOOL)
