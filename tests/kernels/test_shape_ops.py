"""Shape and data-movement operators on Anvil, compared with ORT's CPU EP (CPU fallback disabled, so
a node Anvil did not claim fails): Size, ConstantOfShape, Pad, Where, Expand, Range, Split, Tile,
GatherElements, GatherND, ScatterElements, ScatterND, Scatter, DepthToSpace, SpaceToDepth, Trilu,
OneHot, NonZero, TopK, CumSum, EyeLike, Compress, ReverseSequence; and every fixed-size type on the
older data-movement ops."""
import numpy as np
import pytest
from onnx import TensorProto, helper

import anvil_testing
from anvil_testing import check_node, make_node_model, run_anvil, run_cpu, schema_revisions, session

# Types the shared helper does not map yet (additive: other tests are unaffected).
for _dt, _t in [(np.int16, TensorProto.INT16), (np.uint16, TensorProto.UINT16), (np.uint32, TensorProto.UINT32),
                (np.uint64, TensorProto.UINT64), (np.float16, TensorProto.FLOAT16)]:
    anvil_testing.NP_TO_ONNX.setdefault(np.dtype(_dt), _t)

RNG = np.random.default_rng(4321)
ALL = [np.float32, np.float64, np.float16, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
       np.uint64, np.bool_]
INT64 = TensorProto.INT64


def data(shape, dtype=np.float32):
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return np.asarray(RNG.random(shape) > 0.5)
    if dtype.kind == "f":
        return RNG.standard_normal(shape).astype(dtype)
    if dtype.kind == "u":
        return RNG.integers(0, 200, size=shape).astype(dtype)
    return RNG.integers(-100, 100, size=shape).astype(dtype)


def i64(*v):
    return np.array(v, dtype=np.int64)


def revs(op, first=1):
    return schema_revisions(op, first_opset=first)


def onnx_type(dtype):
    return anvil_testing.NP_TO_ONNX[np.dtype(dtype)]


def check(op, inputs, opset, attrs=None, outputs=("y",), consts=(), output_types=None, reference=None):
    inits = {n: v for n, v in inputs if n in consts and v is not None}
    return check_node(op, inputs, list(outputs), opset, attrs=attrs, initializers=inits, output_types=output_types,
                      reference=reference)


def dynamic(model):
    """Graph inputs with symbolic dims, so ORT's shape inference leaves the checks to the kernel."""
    for vi in model.graph.input:
        for k, d in enumerate(vi.type.tensor_type.shape.dim):
            d.Clear()
            d.dim_param = f"{vi.name}_{k}"
    return model


def fails(op, inputs, opset, *needles, attrs=None, outputs=("y",), output_types=None):
    """Anvil claims the node and Compute rejects the inputs with a clear error; the process lives on."""
    model = dynamic(make_node_model(op, inputs, list(outputs), opset, attrs=attrs, output_types=output_types))
    with pytest.raises(Exception) as err:
        run_anvil(model, inputs)
    for n in needles:
        assert n in str(err.value), f"{n!r} not in {err.value}"


def not_claimed(op, inputs, opset, attrs=None, outputs=("y",), output_types=None, consts=()):
    inits = {n: v for n, v in inputs if n in consts and v is not None}
    model = make_node_model(op, inputs, list(outputs), opset, attrs=attrs, initializers=inits,
                            output_types=output_types)
    with pytest.raises(Exception):
        session(model, fallback=False)


# ------------------------------------------------------------------------------------------ Size

@pytest.mark.parametrize("since,opset", revs("Size"))
def test_size(since, opset):
    for dtype in [t for t in ALL if t != np.float16]:
        for shape in [(2, 3, 4), (), (0, 5)]:
            check("Size", [("x", data(shape, dtype))], opset, output_types=[INT64],
                  reference=[np.array(int(np.prod(shape)), np.int64)])


# ------------------------------------------------------------------------------- ConstantOfShape

@pytest.mark.parametrize("since,opset", [r for r in revs("ConstantOfShape") if r[0] >= 9])
def test_constant_of_shape(since, opset):
    for shape in [(2, 3), (0, 4), (), (5,)]:
        s = np.array(shape, np.int64)
        check("ConstantOfShape", [("s", s)], opset, output_types=[TensorProto.FLOAT],
              reference=[np.zeros(shape, np.float32)])
        check("ConstantOfShape", [("s", s)], opset, consts=("s",), output_types=[TensorProto.FLOAT],
              reference=[np.zeros(shape, np.float32)])
    types = [np.float32, np.float64, np.float16, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16,
             np.uint32, np.uint64, np.bool_]
    for dtype in types:
        v = np.array([1 if dtype == np.bool_ else 7], dtype)
        t = onnx_type(dtype)
        value = helper.make_tensor("value", t, [1], v.astype(np.float32 if dtype == np.float16 else dtype).tolist()
                                   if dtype != np.float16 else [7.0])
        check("ConstantOfShape", [("s", i64(3, 2))], opset, attrs={"value": value}, output_types=[t],
              reference=[np.full((3, 2), v[0], dtype)])


def test_constant_of_shape_errors():
    fails("ConstantOfShape", [("s", i64(2, -1))], 20, "negative", output_types=[TensorProto.FLOAT])


# ------------------------------------------------------------------------------------------- Pad

def pad_inputs(x, pads, value=None, axes=None, const=False):
    inputs = [("x", x), ("p", np.array(pads, np.int64)), ("v", value)]
    if axes is not None:
        inputs.append(("a", np.array(axes, np.int64)))
    return inputs


@pytest.mark.parametrize("since,opset", revs("Pad", 2))
def test_pad_modes(since, opset):
    modes = ["constant", "reflect", "edge"] + (["wrap"] if since >= 19 else [])
    x = data((3, 4, 5))
    cases = [[0, 1, 2, 0, 2, 1], [1, 0, 0, 2, 3, 4], [0, 0, 0, 0, 0, 0], [2, 3, 4, 2, 3, 4], [0, -1, 1, 0, 2, -2]]
    for mode in modes:
        for pads in cases:
            if mode == "reflect" and max(pads) > 2:
                continue  # reflect needs pads smaller than the dim
            if since < 11:
                check("Pad", [("x", x)], opset, attrs={"mode": mode, "pads": pads, "value": 1.5})
            else:
                v = np.array(1.5, np.float32) if mode == "constant" else None
                check("Pad", pad_inputs(x, pads, v), opset, attrs={"mode": mode})
                check("Pad", pad_inputs(x, pads, v), opset, attrs={"mode": mode}, consts=("p", "v"))


@pytest.mark.parametrize("since,opset", [r for r in revs("Pad") if r[0] >= 11])
def test_pad_types(since, opset):
    types = [np.float32, np.float64, np.int32, np.int64, np.int8, np.uint8, np.uint32, np.uint64]
    if since >= 13:
        types.append(np.bool_)
    for dtype in types:
        x = data((2, 3), dtype)
        v = np.array(True if dtype == np.bool_ else 3, dtype)
        check("Pad", pad_inputs(x, [1, 0, 0, 2], v), opset)
        check("Pad", pad_inputs(x, [0, 2, 1, 1], None), opset, attrs={"mode": "edge"})


@pytest.mark.parametrize("since,opset", [r for r in revs("Pad") if r[0] >= 18])
def test_pad_axes(since, opset):
    x = data((2, 3, 4, 5))
    for axes, pads in [([1], [1, 2]), ([-1, 0], [2, 0, 1, 1]), ([3, 1], [0, 1, 2, 0])]:
        for mode in ["constant", "edge", "reflect"]:
            check("Pad", pad_inputs(x, pads, None, axes), opset, attrs={"mode": mode})
            check("Pad", pad_inputs(x, pads, None, axes), opset, attrs={"mode": mode}, consts=("p", "a"))
        a32 = [("x", x), ("p", np.array(pads, np.int64)), ("v", None), ("a", np.array(axes, np.int32))]
        check("Pad", a32, opset)


def test_pad_edges():
    # Silero VAD style: a reflect pad of the last axis of a 3-D float tensor.
    x = data((1, 1, 576))
    check("Pad", pad_inputs(x, [0, 0, 0, 0, 0, 64]), 18, attrs={"mode": "reflect"}, consts=("p",))
    z = data((0, 3))
    check("Pad", pad_inputs(z, [1, 1, 0, 0], np.array(2, np.float32)), 13)
    check("Pad", pad_inputs(z, [0, 1, 0, 1]), 13, attrs={"mode": "edge"})
    big = data((3, 40, 700))  # parallel rows
    check("Pad", pad_inputs(big, [0, 3, 5, 0, 2, 7]), 13, attrs={"mode": "reflect"})
    w = data((2, 3))
    # Wrap by more than the dim: numpy's answer (ORT 1.29 reads outside the input there).
    check("Pad", pad_inputs(w, [4, 7, 5, 8]), 19, attrs={"mode": "wrap"},
          reference=[np.pad(w, ((4, 5), (7, 8)), mode="wrap")])
    check("Pad", pad_inputs(w, [1, 2, 1, 2]), 19, attrs={"mode": "wrap"})


def test_pad_errors():
    x = data((2, 3))
    fails("Pad", pad_inputs(x, [0, 0, 0]), 13, "pads has 3 values")
    fails("Pad", pad_inputs(x, [0, -4, 0, 0]), 13, "out of range")
    fails("Pad", pad_inputs(x, [0, -2, 0, -2]), 13, "remove more")
    fails("Pad", pad_inputs(np.array(4.0, np.float32), []), 13, "scalar")  # ORT refuses scalars too
    fails("Pad", pad_inputs(data((0, 3)), [1, 0, 0, 0]), 13, "empty axis", attrs={"mode": "edge"})
    fails("Pad", pad_inputs(x, [0, 0, 0, 0], None, [0, 0]), 18, "repeated")
    fails("Pad", pad_inputs(x, [0, 0], None, [2]), 18, "out of range")
    fails("Pad", pad_inputs(x, [0, 3, 0, 0]), 13, "exceed the largest allowed (2)", attrs={"mode": "reflect"})


# ----------------------------------------------------------------------------------------- Where

@pytest.mark.parametrize("since,opset", revs("Where"))
def test_where(since, opset):
    for dtype in [np.float32, np.float64, np.int32, np.int64, np.uint8]:
        for cs, xs, ys in [((2, 3), (2, 3), (2, 3)), ((3,), (2, 3), (1,)), ((2, 1, 4), (3, 1), (1, 3, 4)),
                           ((), (4,), ()), ((0, 3), (1, 3), (3,)), ((1,), (5, 1, 1), (1, 7))]:
            c = data(cs, np.bool_)
            check("Where", [("c", c), ("a", data(xs, dtype)), ("b", data(ys, dtype))], opset,
                  output_types=[onnx_type(dtype)])


def test_where_large_and_error():
    c, x, y = data((64, 1, 300), np.bool_), data((64, 20, 300)), data((300,))
    check("Where", [("c", c), ("a", x), ("b", y)], 16, output_types=[TensorProto.FLOAT])
    fails("Where", [("c", data((2, 3), np.bool_)), ("a", data((4,))), ("b", data((1,)))], 16, "do not broadcast",
          output_types=[TensorProto.FLOAT])


# ---------------------------------------------------------------------------------------- Expand

@pytest.mark.parametrize("since,opset", revs("Expand"))
def test_expand(since, opset):
    for dtype in [t for t in ALL]:
        x = data((3, 1), dtype)
        for shape in [(2, 3, 4), (3, 1), (1,), (3, 5), (1, 1, 1, 3, 6), (0, 3, 1), (2, 1, 1)]:
            check("Expand", [("x", x), ("s", i64(*shape))], opset)
    x = data((4,))
    check("Expand", [("x", x), ("s", i64(3, 4))], opset, consts=("s",))
    check("Expand", [("x", np.array(2.0, np.float32)), ("s", i64(2, 2))], opset)


def test_expand_errors():
    fails("Expand", [("x", data((3,))), ("s", i64(4))], 13, "cannot be expanded")
    fails("Expand", [("x", data((3,))), ("s", i64(-2, 3))], 13, "negative")


# ----------------------------------------------------------------------------------------- Range

@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16, np.int32, np.int64])
def test_range(dtype):
    for s, l, d in [(0, 10, 1), (10, 0, -3), (1, 2, 0.3), (5, 5, 1), (0, -4, 1), (-7, 9, 4), (2.5, 9.7, 1.1)]:
        if np.dtype(dtype).kind == "i" and (isinstance(s, float) or isinstance(d, float) or isinstance(l, float)):
            continue
        inputs = [("s", np.array(s, dtype)), ("l", np.array(l, dtype)), ("d", np.array(d, dtype))]
        check("Range", inputs, 11)
        check("Range", inputs, 11, consts=("s", "l", "d"))


def test_range_error():
    z = np.array(0, np.int64)
    fails("Range", [("s", z), ("l", np.array(4, np.int64)), ("d", z)], 11, "delta must not be zero")


# ----------------------------------------------------------------------------------------- Split

@pytest.mark.parametrize("since,opset", revs("Split", 2))
def test_split(since, opset):
    for dtype in ALL:
        x = data((6, 4, 3), dtype)
        for axis in [0, 1, 2] + ([-1] if since >= 11 else []):
            outs = ("a", "b") if x.shape[axis] % 2 == 0 else ("a", "b", "c")
            attrs = {"axis": axis} if since < 18 else {"axis": axis, "num_outputs": len(outs)}
            check("Split", [("x", x)], opset, attrs=attrs, outputs=outs)
        parts = [1, 0, 3]
        if since < 13:
            check("Split", [("x", x)], opset, attrs={"axis": 1, "split": parts}, outputs=("a", "b", "c"))
        else:
            check("Split", [("x", x), ("s", i64(*parts))], opset, attrs={"axis": 1}, outputs=("a", "b", "c"))
            check("Split", [("x", x), ("s", i64(*parts))], opset, attrs={"axis": 1}, outputs=("a", "b", "c"),
                  consts=("s",))


@pytest.mark.parametrize("since,opset", [r for r in revs("Split") if r[0] >= 18])
def test_split_num_outputs(since, opset):
    x = data((7, 5))
    for n in [1, 2, 3, 4]:
        outs = tuple(f"o{i}" for i in range(n))
        check("Split", [("x", x)], opset, attrs={"axis": 0, "num_outputs": n}, outputs=outs)
    check("Split", [("x", x)], opset, attrs={"axis": -1, "num_outputs": 2}, outputs=("a", "b"))


def test_split_zero_size_and_errors():
    x = data((0, 4))
    check("Split", [("x", x)], 13, attrs={"axis": 1}, outputs=("a", "b"))
    check("Split", [("x", x), ("s", i64(4, 0))], 13, attrs={"axis": 1}, outputs=("a", "b"))
    fails("Split", [("x", data((3, 4))), ("s", i64(1, 2))], 13, "adds up to 3", attrs={"axis": 1},
          outputs=("a", "b"))
    fails("Split", [("x", data((3, 4)))], 13, "equal parts", attrs={"axis": 0}, outputs=("a", "b"))
    fails("Split", [("x", data((2,)))], 18, "exceeds", attrs={"num_outputs": 3}, outputs=("a", "b", "c"))


# ------------------------------------------------------------------------------------------ Tile

@pytest.mark.parametrize("since,opset", revs("Tile", 6))
def test_tile(since, opset):
    for dtype in [t for t in ALL if t != np.float16]:
        x = data((2, 3), dtype)
        for reps in [(1, 1), (2, 3), (3, 1), (1, 4), (0, 2)]:
            check("Tile", [("x", x), ("r", i64(*reps))], opset)
    x = data((2, 1, 3))
    check("Tile", [("x", x), ("r", i64(2, 5, 1))], opset, consts=("r",))
    check("Tile", [("x", data((0, 2))), ("r", i64(3, 2))], opset)


def test_tile_errors():
    fails("Tile", [("x", data((2, 3))), ("r", i64(2))], 13, "repeats has 1 values")
    fails("Tile", [("x", data((2, 3))), ("r", i64(2, -1))], 13, "negative")
    fails("Tile", [("x", data((2, 3))), ("r", i64(1, 2**62))], 13, "too large")
    fails("Expand", [("x", data((3,))), ("s", i64(2**40, 2**40, 3))], 13)  # ORT refuses the allocation


# -------------------------------------------------------------------------------- GatherElements

@pytest.mark.parametrize("since,opset", revs("GatherElements"))
@pytest.mark.parametrize("tind", [np.int32, np.int64])
def test_gather_elements(since, opset, tind):
    for dtype in [np.float32, np.int64, np.bool_, np.float16, np.uint8, np.float64]:
        x = data((4, 5, 3), dtype)
        for axis in [0, 1, 2, -1]:
            n = x.shape[axis]
            ishape = list(x.shape)
            ishape[axis] = 6
            ishape[0] = min(ishape[0], 3) if axis != 0 else ishape[0]
            idx = RNG.integers(-n, n, size=ishape).astype(tind)
            check("GatherElements", [("x", x), ("i", idx)], opset, attrs={"axis": axis})
    check("GatherElements", [("x", data((3, 2))), ("i", np.zeros((0, 2), tind))], opset)


def test_gather_elements_errors():
    x = data((3, 4))
    fails("GatherElements", [("x", x), ("i", i64(0, 3).reshape(1, 2))], 13, "value 3", "out of range",
          attrs={"axis": 0})
    fails("GatherElements", [("x", x), ("i", np.array([[-5]], np.int64))], 13, "value -5", attrs={"axis": 1})
    fails("GatherElements", [("x", data((3, 0))), ("i", np.zeros((3, 1), np.int32))], 13, "value 0",
          attrs={"axis": 1})  # an empty axis: no index is valid
    big = data((2, 300))
    bad = RNG.integers(0, 300, size=(2, 300)).astype(np.int64)
    bad[1, 123] = 300
    fails("GatherElements", [("x", big), ("i", bad)], 13, "value 300", "position 423", attrs={"axis": 1})


# ------------------------------------------------------------------------------------- GatherND

@pytest.mark.parametrize("since,opset", revs("GatherND"))
def test_gather_nd(since, opset):
    for dtype in [np.float32, np.int64, np.bool_, np.float16, np.int8]:
        x = data((3, 4, 5), dtype)
        for ishape, hi in [((2, 1), 3), ((2, 2), 3), ((4, 3), 3), ((2, 3, 2), 3), ((0, 2), 3)]:
            idx = RNG.integers(-hi, hi, size=ishape).astype(np.int64)
            check("GatherND", [("x", x), ("i", idx)], opset)
    if since >= 12:
        x = data((2, 3, 4, 5))
        for b, ishape in [(1, (2, 2)), (1, (2, 6, 3)), (2, (2, 3, 1)), (2, (2, 3, 7, 2))]:
            idx = RNG.integers(-3, 3, size=ishape).astype(np.int64)
            check("GatherND", [("x", x), ("i", idx)], opset, attrs={"batch_dims": b})


def test_gather_nd_errors():
    x = data((3, 4))
    fails("GatherND", [("x", x), ("i", i64(3, 0).reshape(1, 2))], 13, "index 3", "out of range")
    fails("GatherND", [("x", x), ("i", i64(0, 0, 0).reshape(1, 3))], 13, "last dim of indices")


# ------------------------------------------------------------------------------ ScatterElements

@pytest.mark.parametrize("since,opset", revs("ScatterElements"))
@pytest.mark.parametrize("tind", [np.int32, np.int64])
def test_scatter_elements(since, opset, tind):
    reductions = ["none"] + (["add", "mul"] if since >= 16 else []) + (["max", "min"] if since >= 18 else [])
    for red in reductions:
        dtypes = [np.float32, np.float64, np.int32, np.int64, np.int8, np.uint8]
        if red == "none":
            dtypes += [np.bool_, np.float16, np.uint16]
        for dtype in dtypes:
            x = data((4, 5), dtype)
            for axis in [0, 1, -1]:
                n = x.shape[axis]
                # Unique indices for "none" (ORT's order for duplicates is not specified).
                if red == "none":
                    idx = np.stack([RNG.permutation(n)[:3] for _ in range(2)], axis=1 - (axis % 2)).astype(tind)
                    if axis % 2 == 0:
                        idx = idx.reshape(3, 2)
                    else:
                        idx = idx.reshape(2, 3)
                else:
                    shape = (3, 2) if axis % 2 == 0 else (2, 3)
                    idx = RNG.integers(-n, n, size=shape).astype(tind)
                upd = data(idx.shape, dtype)
                attrs = {"axis": axis} if red == "none" else {"axis": axis, "reduction": red}
                check("ScatterElements", [("x", x), ("i", idx), ("u", upd)], opset, attrs=attrs)


@pytest.mark.parametrize("since,opset", revs("Scatter"))
def test_scatter_deprecated(since, opset):
    if since >= 11:
        pytest.skip("Scatter is deprecated from revision 11")
    x = data((3, 4))
    idx = np.array([[1, 0, 2, 2], [0, 2, 1, 0]], np.int64)
    check("Scatter", [("x", x), ("i", idx), ("u", data((2, 4)))], opset, attrs={"axis": 0})
    check("Scatter", [("x", x), ("i", idx.T.copy().astype(np.int32)[:3, :2]), ("u", data((3, 2)))], opset,
          attrs={"axis": 1})


def test_scatter_elements_duplicates():
    # Repeated indices without a reduction: the later update wins, as in ORT's sequential loop.
    x = data((3, 4))
    idx = np.array([[0, 1, 0, 0], [0, 1, 0, 2]], np.int64)
    upd = data((2, 4))
    want = x.copy()
    for r in range(2):
        for c in range(4):
            want[idx[r, c], c] = upd[r, c]
    check("ScatterElements", [("x", x), ("i", idx), ("u", upd)], 13, reference=[want])


def test_scatter_elements_errors_and_declined():
    x = data((3, 4))
    fails("ScatterElements", [("x", x), ("i", i64(3).reshape(1, 1)), ("u", data((1, 1)))], 13, "value 3")
    fails("ScatterElements", [("x", x), ("i", i64(0, 1).reshape(1, 2)), ("u", data((2, 1)))], 13,
          "must have the shape of indices")
    b = data((3, 4), np.bool_)
    not_claimed("ScatterElements", [("x", b), ("i", i64(0).reshape(1, 1)), ("u", data((1, 1), np.bool_))], 18,
                attrs={"reduction": "add"})


# ---------------------------------------------------------------------------------- ScatterND

@pytest.mark.parametrize("since,opset", revs("ScatterND"))
def test_scatter_nd(since, opset):
    reductions = ["none"] + (["add", "mul"] if since >= 16 else []) + (["max", "min"] if since >= 18 else [])
    for red in reductions:
        for dtype in [np.float32, np.int64, np.int32, np.float64] + ([np.bool_, np.float16] if red == "none" else []):
            x = data((4, 5, 3), dtype)
            attrs = None if red == "none" else {"reduction": red}
            # Slices of rank 2 (k = 1), rows (k = 2), elements (k = 3); unique for "none".
            for k, count in [(1, 3), (2, 4), (3, 5)]:
                flat = RNG.permutation(int(np.prod(x.shape[:k])))[:count] if red == "none" else \
                    RNG.integers(0, int(np.prod(x.shape[:k])), size=count)
                idx = np.stack(np.unravel_index(flat, x.shape[:k]), axis=-1).astype(np.int64)
                idx[0] -= np.array(x.shape[:k])  # a negative tuple
                upd = data((count,) + x.shape[k:], dtype)
                check("ScatterND", [("x", x), ("i", idx), ("u", upd)], opset, attrs=attrs)


def test_scatter_nd_errors():
    x = data((3, 4))
    fails("ScatterND", [("x", x), ("i", i64(3).reshape(1, 1)), ("u", data((1, 4)))], 13, "index 3", "out of range")
    fails("ScatterND", [("x", x), ("i", i64(0).reshape(1, 1)), ("u", data((1, 3)))], 13, "updates")


# ----------------------------------------------------------------------- DepthToSpace, SpaceToDepth

@pytest.mark.parametrize("since,opset", revs("DepthToSpace"))
def test_depth_to_space(since, opset):
    dtypes = [np.float32, np.float64] + ([np.uint8] if since >= 11 else [])
    modes = ["DCR", "CRD"] if since >= 11 else ["DCR"]
    for dtype in dtypes:
        for shape, b in [((1, 8, 2, 3), 2), ((2, 18, 3, 2), 3), ((1, 4, 1, 1), 2), ((0, 4, 2, 2), 2)]:
            for mode in modes:
                attrs = {"blocksize": b} if since < 11 else {"blocksize": b, "mode": mode}
                check("DepthToSpace", [("x", data(shape, dtype))], opset, attrs=attrs)


@pytest.mark.parametrize("since,opset", revs("SpaceToDepth"))
def test_space_to_depth(since, opset):
    for dtype in [np.float32, np.float64]:
        for shape, b in [((1, 2, 4, 6), 2), ((2, 3, 6, 3), 3), ((1, 1, 2, 2), 2), ((0, 2, 4, 4), 2)]:
            check("SpaceToDepth", [("x", data(shape, dtype))], opset, attrs={"blocksize": b})


def test_depth_space_errors():
    fails("DepthToSpace", [("x", data((1, 6, 2, 2)))], 13, "multiple of blocksize", attrs={"blocksize": 2})
    fails("SpaceToDepth", [("x", data((1, 2, 3, 4)))], 13, "multiples of blocksize", attrs={"blocksize": 2})


# ----------------------------------------------------------------------------------------- Trilu

@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.bool_])
def test_trilu(dtype):
    for shape in [(4, 5), (2, 3, 3), (5, 2), (0, 3), (2, 0, 4)]:
        x = data(shape, dtype)
        for upper in [0, 1]:
            check("Trilu", [("x", x)], 14, attrs={"upper": upper})
            for k in [-7, -1, 0, 2, 9, 2**62]:
                check("Trilu", [("x", x), ("k", np.array(k, np.int64))], 14, attrs={"upper": upper})
    x = data((3, 4))
    check("Trilu", [("x", x), ("k", np.array(1, np.int64))], 14, consts=("k",))


# ---------------------------------------------------------------------------------------- OneHot

def np_one_hot(ind, depth, values, axis):
    ind = ind.astype(np.int64)
    ind = np.where(ind < 0, ind + depth, ind)
    hot = (ind[..., None] == np.arange(depth)) & (ind[..., None] >= 0)
    out = np.where(hot, values[1], values[0]).astype(values.dtype)
    return np.moveaxis(out, -1, axis if axis >= 0 else axis + out.ndim)


@pytest.mark.parametrize("since,opset", revs("OneHot"))
def test_one_hot(since, opset):
    # The type combinations ORT's CPU EP has, then two it lacks (numpy's answer).
    combos = [(np.int64, np.int64, np.int64), (np.float32, np.int64, np.int64), (np.int32, np.float32, np.float32),
              (np.float32, np.float32, np.float32), (np.int64, np.int32, np.float32), (np.int64, np.float32, np.int32),
              (np.int64, np.float32, np.int64), (np.int32, np.float32, np.int32)]
    for n, (t1, t2, t3) in enumerate(combos):
        ind = np.array([[1, 9, 2], [-1, 0, -3]], t1)
        depth = np.array(5, t2)
        values = np.array([2, 7], t3)
        for axis in ([-1, 0, 1, 2, -3] if since >= 11 else [-1, 0, 1, 2]):
            ref = None if n < 6 else [np_one_hot(ind, 5, values, axis)]
            check("OneHot", [("i", ind), ("d", depth), ("v", values)], opset, attrs={"axis": axis},
                  output_types=[onnx_type(t3)], reference=ref)
    check("OneHot", [("i", np.zeros((0, 2), np.int64)), ("d", np.array(3, np.int64)), ("v", np.array([0, 1], np.int64))],
          opset, output_types=[INT64])


# --------------------------------------------------------------------------------------- NonZero

@pytest.mark.parametrize("since,opset", revs("NonZero"))
def test_non_zero(since, opset):
    for dtype in [np.float32, np.int32, np.int64, np.uint8, np.bool_]:
        for shape in [(3, 4), (2, 3, 4), (7,), (0, 3)]:
            x = data(shape, dtype)
            if dtype != np.bool_:
                x = (x * (RNG.random(shape) > 0.5)).astype(dtype)
            check("NonZero", [("x", x)], opset, output_types=[INT64])
        check("NonZero", [("x", np.zeros((2, 2), dtype))], opset, output_types=[INT64])
    check("NonZero", [("x", np.array([0.0, -0.0, np.nan, 1.0], np.float32))], opset, output_types=[INT64])
    check("NonZero", [("x", np.array(3, np.int64))], opset, output_types=[INT64])


# ------------------------------------------------------------------------------------------ TopK

@pytest.mark.parametrize("since,opset", revs("TopK"))
def test_topk(since, opset):
    dtypes = [np.float32, np.float64] + ([np.int32, np.int64] if since >= 11 else [])
    for dtype in dtypes:
        x = data((4, 6, 5), dtype)
        x[0, :3, 0] = x[0, 3, 0]  # ties: the lower index first
        for axis in [0, 1, 2, -1]:
            for k in [1, 3, x.shape[axis], 0]:
                out_types = [onnx_type(dtype), INT64]
                if since < 10 and k == 0:
                    continue  # the attribute must be positive
                if since < 10:
                    check("TopK", [("x", x)], opset, attrs={"axis": axis, "k": k}, outputs=("v", "i"),
                          output_types=out_types)
                    continue
                for largest in ([1, 0] if since >= 11 else [1]):
                    attrs = {"axis": axis} if since < 11 else {"axis": axis, "largest": largest}
                    check("TopK", [("x", x), ("k", i64(k))], opset, attrs=attrs, outputs=("v", "i"),
                          output_types=out_types)
                    check("TopK", [("x", x), ("k", i64(k))], opset, attrs=attrs, outputs=("v", "i"),
                          output_types=out_types, consts=("k",))


def test_topk_unsorted_and_errors():
    x = data((3, 50))
    model = make_node_model("TopK", [("x", x), ("k", i64(7))], ["v", "i"], 11, attrs={"sorted": 0},
                            output_types=[TensorProto.FLOAT, INT64])
    got_v, got_i = run_anvil(model, [("x", x), ("k", i64(7))])
    want_v, _ = run_cpu(model, [("x", x), ("k", i64(7))])
    np.testing.assert_array_equal(np.sort(got_v, axis=1), np.sort(want_v, axis=1))
    np.testing.assert_array_equal(np.take_along_axis(x, got_i, 1), got_v)
    fails("TopK", [("x", x), ("k", i64(51))], 11, "out of range", outputs=("v", "i"),
          output_types=[TensorProto.FLOAT, INT64])
    fails("TopK", [("x", x), ("k", i64(-1))], 11, "out of range", outputs=("v", "i"),
          output_types=[TensorProto.FLOAT, INT64])


# ---------------------------------------------------------------------------------------- CumSum

@pytest.mark.parametrize("since,opset", revs("CumSum"))
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64])
def test_cumsum(since, opset, dtype):
    x = data((3, 4, 5), dtype)
    for axis, atype in [(0, np.int64), (1, np.int32), (2, np.int64), (-1, np.int32), (-3, np.int64)]:
        for exclusive in [0, 1]:
            for reverse in [0, 1]:
                check("CumSum", [("x", x), ("a", np.array(axis, atype))], opset,
                      attrs={"exclusive": exclusive, "reverse": reverse})
    check("CumSum", [("x", x), ("a", np.array([1], np.int64))], opset, consts=("a",))
    check("CumSum", [("x", data((0, 3), dtype)), ("a", np.array(1, np.int64))], opset)


def test_cumsum_error():
    fails("CumSum", [("x", data((2, 3))), ("a", np.array(2, np.int64))], 14, "out of range")


# --------------------------------------------------------------------------------------- EyeLike

@pytest.mark.parametrize("since,opset", revs("EyeLike"))
def test_eye_like(since, opset):
    types = [np.float32, np.float64, np.int32, np.int64, np.uint64]
    for t1 in types:
        for shape in [(3, 3), (2, 5), (4, 1), (0, 3)]:
            x = data(shape, t1)
            for k in [0, 1, -1, 4, -5]:
                check("EyeLike", [("x", x)], opset, attrs={"k": k})
        for t2 in types:
            check("EyeLike", [("x", data((3, 4), t1))], opset, attrs={"dtype": onnx_type(t2), "k": 1},
                  output_types=[onnx_type(t2)])


# -------------------------------------------------------------------------------------- Compress

@pytest.mark.parametrize("since,opset", revs("Compress"))
def test_compress(since, opset):
    for dtype in ALL:
        x = data((4, 3, 2), dtype)
        for axis in [None, 0, 1, 2] + ([-1] if since >= 11 else []):
            n = x.size if axis is None else x.shape[axis]
            for length in [n, max(n - 1, 0), 1]:
                cond = data((length,), np.bool_)
                attrs = None if axis is None else {"axis": axis}
                check("Compress", [("x", x), ("c", cond)], opset, attrs=attrs)
        check("Compress", [("x", x), ("c", np.zeros((3,), np.bool_))], opset, attrs={"axis": 1})


def test_compress_long_condition():
    # Condition values beyond the input are ignored (ORT does the same).
    check("Compress", [("x", data((2, 3))), ("c", np.array([1, 0, 1, 1, 0], np.bool_))], 11, attrs={"axis": 1})
    check("Compress", [("x", data((2, 3))), ("c", np.ones((9,), np.bool_))], 11)


# ------------------------------------------------------------------------------- ReverseSequence

def test_reverse_sequence():
    for dtype in ALL:
        for batch_axis, time_axis, shape in [(1, 0, (4, 3, 2)), (0, 1, (3, 4)), (0, 1, (3, 5, 2, 2))]:
            x = data(shape, dtype)
            b = shape[batch_axis]
            lens = RNG.integers(0, shape[time_axis] + 1, size=b).astype(np.int64)
            check("ReverseSequence", [("x", x), ("l", lens)], 10,
                  attrs={"batch_axis": batch_axis, "time_axis": time_axis})
    fails("ReverseSequence", [("x", data((4, 2))), ("l", i64(5, 1))], 10, "out of range")


# ------------------------------------------------------------------- the older data-movement ops

@pytest.mark.parametrize("dtype", ALL, ids=lambda t: np.dtype(t).name)
def test_data_movement_every_type(dtype):
    x = data((2, 3, 4), dtype)
    check("Identity", [("x", x)], 13)
    check("Reshape", [("x", x), ("s", i64(4, -1))], 14)
    check("Flatten", [("x", x)], 13, attrs={"axis": 2})
    if dtype in (np.float32, np.float64, np.float16):
        check("Flatten", [("x", x)], 7, attrs={"axis": 1})  # revision 1 takes floats only
    check("Squeeze", [("x", x[:1]), ("a", i64(0))], 13)
    check("Unsqueeze", [("x", x), ("a", i64(1))], 13)
    check("Concat", [("a", x), ("b", x)], 13, attrs={"axis": 1})
    check("Gather", [("x", x), ("i", i64(2, 0))], 13, attrs={"axis": 2})
    check("Slice", [("x", x), ("s", i64(1)), ("e", i64(-1)), ("a", i64(2))], 13)
    check("Transpose", [("x", x)], 13, attrs={"perm": [2, 0, 1]})
    check("Shape", [("x", x)], 15, output_types=[INT64])


# ------------------------------------------------------------------------------ threaded paths

def test_parallel_paths():
    """Large inputs with 4 threads: each ParallelFor split gives the same bytes as ORT."""
    def run(op, inputs, attrs=None, outputs=("y",), output_types=None):
        model = make_node_model(op, inputs, list(outputs), 13, attrs=attrs, output_types=output_types)
        got = run_anvil(model, inputs, threads=4)
        want = run_cpu(model, inputs)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w, err_msg=op)

    x = data((8, 64, 40, 30))
    run("Pad", [("x", x), ("p", i64(0, 0, 2, 3, 0, 0, 1, 4))], attrs={"mode": "reflect"})
    run("Expand", [("x", x[:, :1].copy()), ("s", i64(8, 64, 40, 30))])
    run("Tile", [("x", x[:2]), ("r", i64(2, 1, 2, 1))])
    run("Where", [("c", data((40, 30), np.bool_)), ("a", x), ("b", data((30,)))], output_types=[TensorProto.FLOAT])
    run("Split", [("x", x), ("s", i64(10, 54))], attrs={"axis": 1}, outputs=("a", "b"))
    idx = RNG.integers(0, 40, size=(8, 64, 20, 30)).astype(np.int64)
    run("GatherElements", [("x", x), ("i", idx)], attrs={"axis": 2})
    run("TopK", [("x", x), ("k", i64(5))], outputs=("v", "i"), output_types=[TensorProto.FLOAT, INT64])
    run("CumSum", [("x", x), ("a", np.array(1, np.int64))])
    run("DepthToSpace", [("x", x)], attrs={"blocksize": 4, "mode": "CRD"})


# ---------------------------------------------------------------------------------------- Unique

UNIQUE_OUTS = ("y", "idx", "inv", "cnt")
UNIQUE_TYPES = [TensorProto.FLOAT, INT64, INT64, INT64]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.int8])
def test_unique(dtype):
    x = RNG.integers(-3, 4, size=(4, 6)).astype(dtype)
    x[2] = x[0]  # a repeated row
    types = [onnx_type(dtype)] + UNIQUE_TYPES[1:]
    for sorted_ in [1, 0]:
        for axis in [None, 0, 1, -1]:
            attrs = {"sorted": sorted_} if axis is None else {"sorted": sorted_, "axis": axis}
            check("Unique", [("x", x)], 11, attrs=attrs, outputs=UNIQUE_OUTS, output_types=types)
            check("Unique", [("x", x)], 11, attrs=attrs, outputs=("y",), output_types=types[:1])
    check("Unique", [("x", x[:0])], 11, outputs=UNIQUE_OUTS, output_types=types)
    # Empty slices along a non-empty axis are all equal. (ORT 1.29's CPU EP aborts the process here.)
    check("Unique", [("x", np.zeros((3, 0, 2), dtype))], 11, attrs={"axis": 0}, outputs=UNIQUE_OUTS,
          output_types=types, reference=[np.zeros((1, 0, 2), dtype), i64(0), i64(0, 0, 0), i64(3)])


def test_unique_optional_outputs():
    x = np.array([2.0, 1.0, 1.0, 3.0, 2.0, -0.0, 0.0], np.float32)
    # Y and counts only (the middle outputs omitted).
    model = make_node_model("Unique", [("x", x)], ["y", "", "", "cnt"], 11,
                            output_types=UNIQUE_TYPES)
    model.graph.output.pop(1)
    model.graph.output.pop(1)
    got = run_anvil(model, [("x", x)])
    want = run_cpu(model, [("x", x)])
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


# ------------------------------------------------------------------------------ zero-sized edges

def test_zero_sized_edges():
    z = data((0, 5))
    # (ORT 1.29's CPU EP dies of a division by zero on this one: numpy's answer.)
    check("TopK", [("x", z), ("k", i64(2))], 11, outputs=("v", "i"), output_types=[TensorProto.FLOAT, INT64],
          reference=[np.zeros((0, 2), np.float32), np.zeros((0, 2), np.int64)])
    check("TopK", [("x", data((3, 0))), ("k", i64(0))], 11, outputs=("v", "i"),
          output_types=[TensorProto.FLOAT, INT64])
    x = data((3, 4))
    check("ScatterElements", [("x", x), ("i", np.zeros((0, 4), np.int64)), ("u", data((0, 4)))], 13)
    check("ScatterND", [("x", x), ("i", np.zeros((0, 1), np.int64)), ("u", data((0, 4)))], 13)
    check("GatherElements", [("x", data((0, 3))), ("i", np.zeros((0, 3), np.int64))], 13)
    check("Compress", [("x", z), ("c", np.zeros((0,), np.bool_))], 11, attrs={"axis": 0})
    check("ReverseSequence", [("x", data((3, 2, 0))), ("l", i64(1, 3))], 10,
          attrs={"batch_axis": 1, "time_axis": 0})
    check("Where", [("c", np.zeros((0,), np.bool_)), ("a", data((2, 1))), ("b", data((1,)))], 16,
          output_types=[TensorProto.FLOAT])
    check("EyeLike", [("x", data((0, 0)))], 9)
    check("Range", [("s", np.array(3, np.int32)), ("l", np.array(3, np.int32)), ("d", np.array(-1, np.int32))], 11)
