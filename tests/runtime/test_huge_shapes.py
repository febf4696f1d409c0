"""Shapes fed from tensors can ask for anything: an element count past 2^63 (which would wrap in
int64 arithmetic) or a byte size no machine has. Anvil must fail the Run cleanly, naming the node
and the shape, and the process must live on: no wrapped count that turns a huge output into an
empty one, no crash, no attempt to fill terabytes.

The shapes come from constant initializers while the data input stays a graph input, so ORT's
constant folding cannot evaluate the node at session creation; ConstantOfShape has only the shape
input, which is therefore a graph input."""
import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

import anvil_testing as t

F = TensorProto.FLOAT
BIG = 2 ** 32


def model_of(op, data, const=None, attrs=None, opset=17):
    """One node `op`; `data`: (name, array) graph inputs; `const`: (name, array) initializers."""
    names = [n for n, _ in data] + [n for n, _ in (const or [])]
    ins = [helper.make_tensor_value_info(n, t.NP_TO_ONNX[v.dtype], list(v.shape)) for n, v in data]
    inits = [numpy_helper.from_array(v, n) for n, v in (const or [])]
    node = helper.make_node(op, names, ["y"], name=f"huge_{op}", **(attrs or {}))
    g = helper.make_graph([node], op, ins, [helper.make_tensor_value_info("y", F, None)], initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def i64(*v):
    return np.array(v, np.int64)


x1 = np.ones((1,), np.float32)
x23 = np.ones((2, 3), np.float32)
empty = np.ones((0,), np.float32)

CASES = {
    # 2^65 elements: wraps to 0 in int64 arithmetic.
    "expand-2^65": ("Expand", [("x", x1)], [("s", i64(BIG, BIG, 2))], "more than 2^63-1 elements"),
    # 2^62 elements of 4 bytes: the count fits, the byte size does not.
    "expand-2^62": ("Expand", [("x", x1)], [("s", i64(2 ** 31, 2 ** 31))], "cannot allocate output 0 of shape"),
    # 2^46 floats (256 TiB): representable, but no allocator has it.
    "expand-256TiB": ("Expand", [("x", x1)], [("s", i64(2 ** 20, 2 ** 20, 2 ** 6))], "cannot allocate output 0 of shape"),
    # 2^124 elements by repetition.
    "tile-2^124": ("Tile", [("x", x23)], [("r", i64(2 ** 62, 2 ** 62))], "too large"),
    # An empty input to a shape whose wrapped count is 0: must not pass as "0 elements". The shape
    # is a graph input here: ONNX shape inference rejects this product when it is a constant.
    "reshape-empty-to-2^64": ("Reshape", [("x", empty), ("s", i64(BIG, BIG))], [], "cannot reshape"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_huge_output_fails_cleanly_naming_the_node(case):
    op, data, const, needle = CASES[case]
    model = model_of(op, data, const)
    sess = t.session(model)
    with pytest.raises(Exception) as err:
        sess.run(None, dict(data))
    msg = str(err.value)
    assert f"huge_{op}" in msg and "Anvil" in msg and needle in msg, msg
    # The process lives on and Anvil still runs.
    ok = t.session(model_of("Relu", [("x", x23)]))
    np.testing.assert_array_equal(ok.run(None, {"x": x23})[0], x23)


@pytest.mark.parametrize("shape,needle", [((BIG, BIG, 2), "more than 2^63-1 elements"),
                                          ((2 ** 31, 2 ** 31), "cannot allocate output 0"),
                                          ((2 ** 20, 2 ** 20, 2 ** 6), "cannot allocate output 0")],
                         ids=["2^65", "2^62", "256TiB"])
def test_constant_of_shape_to_a_huge_shape_fails_cleanly(shape, needle):
    s = i64(*shape)
    model = model_of("ConstantOfShape", [("s", s)], attrs={"value": numpy_helper.from_array(np.ones(1, np.float32))})
    with pytest.raises(Exception) as err:
        t.session(model).run(None, {"s": s})
    msg = str(err.value)
    assert "huge_ConstantOfShape" in msg and "Anvil" in msg and needle in msg, msg
