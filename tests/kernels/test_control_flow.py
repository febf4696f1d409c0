"""If, Loop and Scan on Anvil: ORT runs the subgraphs, Anvil claims the control-flow node and the
nodes of its subgraphs. CPU fallback is disabled, but ORT's check of that covers only the main
graph (a subgraph node Anvil does not claim silently runs on ORT's CPU EP), so every run here is
profiled and each test fails unless every node that ran, subgraph nodes included, ran on Anvil."""
import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

import anvil_testing as t


run_profiled = t.run_profiled


def run_on_anvil(model, feeds):
    """Outputs of `model` on Anvil; fails unless every node that ran (subgraphs too) ran on Anvil."""
    outs, ran = run_profiled(model, feeds)
    elsewhere = sorted(r for r in ran if r[1] != t.EP_NAME)
    assert not elsewhere, f"nodes that did not run on Anvil: {elsewhere}"
    assert ran, "profiling recorded no node"
    return outs


def if_model(opset, nested=False):
    """y = If(cond, then: relu(x) + 1, else: x * 2 [or, nested: If(cond2, x - 1, -x... via Sub)])."""
    one = helper.make_tensor("one", TensorProto.FLOAT, [], [1.0])
    two = helper.make_tensor("two", TensorProto.FLOAT, [], [2.0])
    then_g = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Add", ["r", "one"], ["then_y"])],
        "then", [], [helper.make_tensor_value_info("then_y", TensorProto.FLOAT, None)], initializer=[one])
    if nested:
        inner_then = helper.make_graph([helper.make_node("Sub", ["x", "one_i"], ["it_y"])], "inner_then", [],
                                       [helper.make_tensor_value_info("it_y", TensorProto.FLOAT, None)],
                                       initializer=[helper.make_tensor("one_i", TensorProto.FLOAT, [], [1.0])])
        inner_else = helper.make_graph([helper.make_node("Mul", ["x", "two_i"], ["ie_y"])], "inner_else", [],
                                       [helper.make_tensor_value_info("ie_y", TensorProto.FLOAT, None)],
                                       initializer=[helper.make_tensor("two_i", TensorProto.FLOAT, [], [2.0])])
        else_g = helper.make_graph([helper.make_node("If", ["cond2"], ["else_y"], then_branch=inner_then,
                                                     else_branch=inner_else)],
                                   "else", [], [helper.make_tensor_value_info("else_y", TensorProto.FLOAT, None)])
    else:
        else_g = helper.make_graph([helper.make_node("Mul", ["x", "two"], ["else_y"])], "else", [],
                                   [helper.make_tensor_value_info("else_y", TensorProto.FLOAT, None)],
                                   initializer=[two])
    inputs = [helper.make_tensor_value_info("cond", TensorProto.BOOL, []),
              helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])]
    if nested:
        inputs.append(helper.make_tensor_value_info("cond2", TensorProto.BOOL, []))
    g = helper.make_graph([helper.make_node("If", ["cond"], ["y"], then_branch=then_g, else_branch=else_g)], "if",
                          inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8 if opset <= 17 else 10
    return m


@pytest.mark.parametrize("since,opset", t.schema_revisions("If", first_opset=7))
@pytest.mark.parametrize("cond", [True, False])
def test_if_runs_on_anvil_with_its_branches(since, opset, cond):
    x = np.array([[-1.5, 0.0, 2.0], [3.0, -4.0, 0.5]], np.float32)
    (y,) = run_on_anvil(if_model(opset), {"cond": np.array(cond), "x": x})
    np.testing.assert_allclose(y, np.maximum(x, 0) + 1 if cond else x * 2, rtol=0, atol=0)


@pytest.mark.parametrize("cond,cond2", [(True, False), (False, True), (False, False)])
def test_nested_if(cond, cond2):
    x = np.array([[-1.5, 0.0, 2.0], [3.0, -4.0, 0.5]], np.float32)
    (y,) = run_on_anvil(if_model(17, nested=True), {"cond": np.array(cond), "x": x, "cond2": np.array(cond2)})
    want = np.maximum(x, 0) + 1 if cond else (x - 1 if cond2 else x * 2)
    np.testing.assert_allclose(y, want, rtol=0, atol=0)


# ---- Loop -------------------------------------------------------------------------------------
# Body ops Anvil claims for each element type: Add for float/int32/int64, Identity/Concat for the rest.
ARITH = [np.float32, np.int32, np.int64]
MOVABLE = [np.float32, np.int32, np.int64, np.uint8, np.int8, np.float64, np.bool_]
V = helper.make_tensor_value_info


def onnx_type(dt):
    return t.NP_TO_ONNX[np.dtype(dt)]


def finish(graph, opset):
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8 if opset <= 17 else 10
    return m


def loop_body(dtype, limit=None, scan_outputs=2, extra_nodes=()):
    """Body of a Loop carrying v (dtype, [2, 3]): v' = v + x (or, for non-arithmetic types,
    Concat(v, x)[:, :3] via Identity/Concat), scan outputs v' and the iteration number as float.
    cond' = cond (limit None) or i < limit."""
    ot = onnx_type(dtype)
    nodes = []
    if dtype in ARITH:
        nodes.append(helper.make_node("Add", ["v", "x"], ["v_out"]))
    else:
        # v' = x where the data is permuted by a Concat and Slice: still only Anvil ops.
        nodes += [helper.make_node("Concat", ["x", "v"], ["xv"], axis=1),
                  helper.make_node("Slice", ["xv", "starts", "ends", "axes"], ["v_out"])]
    if limit is None:
        nodes.append(helper.make_node("Identity", ["cond"], ["cond_out"]))
    else:
        nodes.append(helper.make_node("Less", ["i", "limit"], ["cond_out"]))
    nodes += [helper.make_node("Identity", ["v_out"], ["scan_v"]),
              helper.make_node("Cast", ["i"], ["scan_i"], to=TensorProto.FLOAT)]
    nodes += list(extra_nodes)
    inits = [helper.make_tensor("limit", TensorProto.INT64, [], [limit if limit is not None else 0]),
             helper.make_tensor("starts", TensorProto.INT64, [1], [1]),
             helper.make_tensor("ends", TensorProto.INT64, [1], [4]),
             helper.make_tensor("axes", TensorProto.INT64, [1], [1])]
    outs = [V("cond_out", TensorProto.BOOL, []), V("v_out", ot, [2, 3])]
    outs += [V("scan_v", ot, [2, 3]), V("scan_i", TensorProto.FLOAT, [])][:scan_outputs]
    return helper.make_graph(nodes, "body", [V("i", TensorProto.INT64, []), V("cond", TensorProto.BOOL, []),
                                             V("v", ot, [2, 3])], outs, initializer=inits)


def loop_model(opset, dtype, m=True, cond=True, limit=None, scan_outputs=2):
    ot = onnx_type(dtype)
    names = ["M" if m else "", "cond" if cond else "", "v0"]
    outs = ["v_final", "scan_v", "scan_i"][:1 + scan_outputs]
    node = helper.make_node("Loop", names, outs, body=loop_body(dtype, limit, scan_outputs))
    inputs = ([V("M", TensorProto.INT64, [])] if m else []) + ([V("cond", TensorProto.BOOL, [])] if cond else [])
    inputs += [V("v0", ot, [2, 3]), V("x", ot, [2, 3])]
    graph_outs = [V("v_final", ot, None), V("scan_v", ot, None), V("scan_i", TensorProto.FLOAT, None)]
    return finish(helper.make_graph([node], "loop", inputs, graph_outs[:1 + scan_outputs]), opset)


def sample(dtype, shape, rng):
    if dtype == np.bool_:
        return rng.random(shape) < 0.5
    if np.dtype(dtype).kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    return rng.integers(-20 if np.dtype(dtype).kind == "i" else 0, 20, shape).astype(dtype)


def compare(model, feeds):
    got = run_on_anvil(model, feeds)
    want = t.session(model, anvil=False).run(None, feeds)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape, f"{g.dtype}{g.shape} vs {w.dtype}{w.shape}"
        np.testing.assert_array_equal(g, w)
    return got


@pytest.mark.parametrize("since,opset", t.schema_revisions("Loop", first_opset=7))
def test_loop_every_revision(since, opset):
    rng = np.random.default_rng(since)
    v0, x = sample(np.float32, [2, 3], rng), sample(np.float32, [2, 3], rng)
    got = compare(loop_model(opset, np.float32), {"M": np.array(4, np.int64), "cond": np.array(True), "v0": v0, "x": x})
    np.testing.assert_allclose(got[0], v0 + x + x + x + x, rtol=1e-6)
    assert got[1].shape == (4, 2, 3) and got[2].tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize("dtype", MOVABLE, ids=lambda d: np.dtype(d).name)
def test_loop_state_and_scan_outputs_per_type(dtype):
    rng = np.random.default_rng(7)
    v0, x = sample(dtype, [2, 3], rng), sample(dtype, [2, 3], rng)
    got = compare(loop_model(17, dtype), {"M": np.array(3, np.int64), "cond": np.array(True), "v0": v0, "x": x})
    if dtype in ARITH:
        want = [v0 + x, v0 + x + x, v0 + x + x + x]
    else:
        want = []
        v = v0
        for _ in range(3):
            v = np.concatenate([x, v], axis=1)[:, 1:4]
            want.append(v)
    np.testing.assert_array_equal(got[1], np.stack(want))
    np.testing.assert_array_equal(got[0], want[-1])


@pytest.mark.parametrize("m,cond", [(0, True), (5, False), (0, False)])
def test_loop_zero_iterations(m, cond):
    rng = np.random.default_rng(1)
    v0, x = sample(np.float32, [2, 3], rng), sample(np.float32, [2, 3], rng)
    got = compare(loop_model(17, np.float32), {"M": np.array(m, np.int64), "cond": np.array(cond), "v0": v0, "x": x})
    np.testing.assert_array_equal(got[0], v0)
    assert got[1].size == 0 and got[2].size == 0


@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.uint8], ids=lambda d: np.dtype(d).name)
def test_loop_terminated_by_cond(dtype):
    # No M: the body's cond (i < 4) stops the loop after 5 iterations (i = 0..4).
    rng = np.random.default_rng(2)
    v0, x = sample(dtype, [2, 3], rng), sample(dtype, [2, 3], rng)
    got = compare(loop_model(16, dtype, m=False, limit=4), {"cond": np.array(True), "v0": v0, "x": x})
    assert got[1].shape == (5, 2, 3) and got[2].tolist() == [0, 1, 2, 3, 4]
    # Both M and cond: whichever stops first.
    got = compare(loop_model(16, dtype, limit=4), {"M": np.array(2, np.int64), "cond": np.array(True), "v0": v0, "x": x})
    assert got[1].shape == (2, 2, 3)
    got = compare(loop_model(16, dtype, limit=1), {"M": np.array(9, np.int64), "cond": np.array(True), "v0": v0, "x": x})
    assert got[1].shape == (2, 2, 3)


def test_loop_without_scan_outputs_and_without_cond_input():
    rng = np.random.default_rng(3)
    v0, x = sample(np.int32, [2, 3], rng), sample(np.int32, [2, 3], rng)
    got = compare(loop_model(13, np.int32, cond=False, scan_outputs=0), {"M": np.array(6, np.int64), "v0": v0, "x": x})
    np.testing.assert_array_equal(got[0], v0 + 6 * x)


def test_loop_many_iterations():
    rng = np.random.default_rng(4)
    v0, x = sample(np.float64, [2, 3], rng), sample(np.float64, [2, 3], rng)
    got = compare(loop_model(21, np.float64), {"M": np.array(300, np.int64), "cond": np.array(True), "v0": v0, "x": x})
    assert got[1].shape == (300, 2, 3)


def if_with_loop_model(opset=17):
    """y = If(c, then: Loop(M, v0 + x each time).v_final, else: v0 * x)."""
    loop = helper.make_node("Loop", ["M", "", "v0"], ["then_y", "then_scan"], body=loop_body(np.float32, None, 1))
    # The Loop has no cond input: the body's cond input is still there and stays True.
    then_g = helper.make_graph([loop], "then", [], [V("then_y", TensorProto.FLOAT, None),
                                                   V("then_scan", TensorProto.FLOAT, None)])
    else_g = helper.make_graph([helper.make_node("Mul", ["v0", "x"], ["else_y"]),
                                helper.make_node("Concat", ["else_y", "x"], ["else_scan"], axis=0)],
                               "else", [], [V("else_y", TensorProto.FLOAT, None), V("else_scan", TensorProto.FLOAT, None)])
    g = helper.make_graph([helper.make_node("If", ["c"], ["y", "s"], then_branch=then_g, else_branch=else_g)], "g",
                          [V("c", TensorProto.BOOL, []), V("M", TensorProto.INT64, []),
                           V("v0", TensorProto.FLOAT, [2, 3]), V("x", TensorProto.FLOAT, [2, 3])],
                          [V("y", TensorProto.FLOAT, None), V("s", TensorProto.FLOAT, None)])
    return finish(g, opset)


@pytest.mark.parametrize("c", [True, False])
def test_loop_nested_in_if(c):
    rng = np.random.default_rng(5)
    v0, x = sample(np.float32, [2, 3], rng), sample(np.float32, [2, 3], rng)
    got = compare(if_with_loop_model(), {"c": np.array(c), "M": np.array(3, np.int64), "v0": v0, "x": x})
    np.testing.assert_allclose(got[0], v0 + 3 * x if c else v0 * x, rtol=1e-6)


def loop_with_if_model(opset=19):
    """Each iteration: v' = If(i < 2, v + x, v * x); scan output v'."""
    then_g = helper.make_graph([helper.make_node("Add", ["v", "x"], ["t"])], "then", [], [V("t", TensorProto.FLOAT, None)])
    else_g = helper.make_graph([helper.make_node("Mul", ["v", "x"], ["e"])], "else", [], [V("e", TensorProto.FLOAT, None)])
    body = helper.make_graph(
        [helper.make_node("Less", ["i", "two"], ["small"]),
         helper.make_node("If", ["small"], ["v_out"], then_branch=then_g, else_branch=else_g),
         helper.make_node("Identity", ["cond"], ["cond_out"]),
         helper.make_node("Identity", ["v_out"], ["scan"])],
        "body", [V("i", TensorProto.INT64, []), V("cond", TensorProto.BOOL, []), V("v", TensorProto.FLOAT, [2, 3])],
        [V("cond_out", TensorProto.BOOL, []), V("v_out", TensorProto.FLOAT, [2, 3]), V("scan", TensorProto.FLOAT, [2, 3])],
        initializer=[helper.make_tensor("two", TensorProto.INT64, [], [2])])
    g = helper.make_graph([helper.make_node("Loop", ["M", "", "v0"], ["v_final", "scan"], body=body)], "g",
                          [V("M", TensorProto.INT64, []), V("v0", TensorProto.FLOAT, [2, 3]),
                           V("x", TensorProto.FLOAT, [2, 3])],
                          [V("v_final", TensorProto.FLOAT, None), V("scan", TensorProto.FLOAT, None)])
    return finish(g, opset)


def test_if_nested_in_loop():
    rng = np.random.default_rng(6)
    v0, x = sample(np.float32, [2, 3], rng), sample(np.float32, [2, 3], rng)
    got = compare(loop_with_if_model(), {"M": np.array(4, np.int64), "v0": v0, "x": x})
    want = ((v0 + x + x) * x) * x
    np.testing.assert_allclose(got[0], want, rtol=1e-5)
    assert got[1].shape == (4, 2, 3)


def test_loop_body_op_anvil_lacks_is_caught():
    # A body with an op Anvil does not claim (Det of float16; Anvil's Det is float only): ORT up to
    # 1.31 creates the session even with CPU fallback disabled and runs Det on its CPU EP, and
    # run_on_anvil must catch that; ORT 1.32 refuses the session itself.
    F16 = TensorProto.FLOAT16
    body = helper.make_graph(
        [helper.make_node("Det", ["v"], ["d"]), helper.make_node("Mul", ["v", "d"], ["v_out"]),
         helper.make_node("Identity", ["cond"], ["cond_out"])],
        "body", [V("i", TensorProto.INT64, []), V("cond", TensorProto.BOOL, []), V("v", F16, [2, 2])],
        [V("cond_out", TensorProto.BOOL, []), V("v_out", F16, [2, 2])])
    g = helper.make_graph([helper.make_node("Loop", ["M", "", "v0"], ["v_final"], body=body)], "g",
                          [V("M", TensorProto.INT64, []), V("v0", F16, [2, 2])],
                          [V("v_final", F16, None)])
    feeds = {"M": np.array(2, np.int64), "v0": np.array([[1.0, 0.5], [0.25, 2.0]], np.float16)}
    try:
        (y,), ran = run_profiled(finish(g, 17), feeds)
    except Exception as e:  # ORT 1.32 and later: the subgraph's CPU node fails the session
        assert "fallback to CPU EP has been explicitly disabled" in str(e), e
        return
    want = feeds["v0"].astype(np.float64)
    for _ in range(2):
        want = want * np.linalg.det(want)
    np.testing.assert_allclose(y.astype(np.float64), want, rtol=3e-3)
    assert ("Det", "CPUExecutionProvider") in ran and ("Loop", t.EP_NAME) in ran
    with pytest.raises(AssertionError, match="Det"):
        run_on_anvil(finish(g, 17), feeds)


def test_loop_scan_output_changing_shape_is_a_clean_error():
    # The scan output's shape depends on the iteration (Slice to i+1 elements): ORT or Anvil's
    # concatenation must report an error, not crash.
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond"], ["cond_out"]),
         helper.make_node("Identity", ["v"], ["v_out"]),
         helper.make_node("Add", ["i", "one"], ["end"]),
         helper.make_node("Unsqueeze", ["end", "zero"], ["ends"]),
         helper.make_node("Slice", ["v", "zeros", "ends"], ["scan"])],
        "body", [V("i", TensorProto.INT64, []), V("cond", TensorProto.BOOL, []), V("v", TensorProto.FLOAT, [4])],
        [V("cond_out", TensorProto.BOOL, []), V("v_out", TensorProto.FLOAT, [4]), V("scan", TensorProto.FLOAT, None)],
        initializer=[helper.make_tensor("one", TensorProto.INT64, [], [1]),
                     helper.make_tensor("zero", TensorProto.INT64, [1], [0]),
                     helper.make_tensor("zeros", TensorProto.INT64, [1], [0])])
    g = helper.make_graph([helper.make_node("Loop", ["M", "", "v0"], ["v_final", "scan"], body=body)], "g",
                          [V("M", TensorProto.INT64, []), V("v0", TensorProto.FLOAT, [4])],
                          [V("v_final", TensorProto.FLOAT, None), V("scan", TensorProto.FLOAT, None)])
    with pytest.raises(Exception, match="must not change across iterations"):
        run_on_anvil(finish(g, 17), {"M": np.array(3, np.int64), "v0": np.arange(4, dtype=np.float32)})
    (v, s) = run_on_anvil(finish(g, 17), {"M": np.array(1, np.int64), "v0": np.arange(4, dtype=np.float32)})
    assert s.shape == (1, 1)


# ---- Scan -------------------------------------------------------------------------------------
def scan_model(opset, dtype, x_shapes, in_axes=None, in_dirs=None, out_axes=None, out_dirs=None, state=True):
    """Scan over two inputs x1, x2 (shapes `x_shapes`, scanned along `in_axes`) with per-iteration
    slices of one shape P. Arithmetic types: state s' = s + x1_t, scan outputs y1 = x1_t * x2_t and
    y2 = s'. Other types: s' = x1_t, y1 = Concat(x1_t, x2_t), y2 = s. Without `state`: only y1."""
    ot = onnx_type(dtype)
    axes = in_axes or [0, 0]
    rank = len(x_shapes[0])
    p = [d for k, d in enumerate(x_shapes[0]) if k != axes[0] % rank]
    arith = dtype in ARITH
    nodes = [helper.make_node("Mul", ["x1_t", "x2_t"], ["y1"]) if arith else
             helper.make_node("Concat", ["x1_t", "x2_t"], ["y1"], axis=0)]
    b_in, b_out = [V("x1_t", ot, p), V("x2_t", ot, p)], [V("y1", ot, None)]
    if state:
        nodes += [helper.make_node("Add", ["s", "x1_t"], ["s_out"]) if arith else
                  helper.make_node("Identity", ["x1_t"], ["s_out"]),
                  helper.make_node("Identity", ["s_out" if arith else "s"], ["y2"])]
        b_in = [V("s", ot, p)] + b_in
        b_out = [V("s_out", ot, p)] + b_out + [V("y2", ot, p)]
    body = helper.make_graph(nodes, "body", b_in, b_out)
    attrs = {"body": body, "num_scan_inputs": 2}
    for name, value in [("scan_input_axes", in_axes), ("scan_input_directions", in_dirs),
                        ("scan_output_axes", out_axes), ("scan_output_directions", out_dirs)]:
        if value is not None:
            attrs[name] = value
    ins = (["s0"] if state else []) + ["x1", "x2"]
    outs = (["s_final"] if state else []) + ["y1"] + (["y2"] if state else [])
    g_in = ([V("s0", ot, p)] if state else []) + [V("x1", ot, x_shapes[0]), V("x2", ot, x_shapes[1])]
    g = helper.make_graph([helper.make_node("Scan", ins, outs, **attrs)], "scan", g_in, [V(o, ot, None) for o in outs])
    return finish(g, opset), p


def scan_feeds(dtype, x_shapes, p, state=True, seed=0):
    rng = np.random.default_rng(seed)
    feeds = {"x1": sample(dtype, x_shapes[0], rng), "x2": sample(dtype, x_shapes[1], rng)}
    if state:
        feeds["s0"] = sample(dtype, p, rng)
    return feeds


@pytest.mark.parametrize("since,opset", [r for r in t.schema_revisions("Scan", first_opset=9)])
def test_scan_every_revision(since, opset):
    shapes = [[4, 2, 3], [2, 4, 3]]
    model, p = scan_model(opset, np.float32, shapes, in_axes=[0, 1], out_axes=[0, 2])
    feeds = scan_feeds(np.float32, shapes, p, seed=since)
    s, y1, y2 = compare(model, feeds)
    x1, x2 = feeds["x1"], feeds["x2"].transpose(1, 0, 2)
    np.testing.assert_allclose(y1, x1 * x2, rtol=1e-6)
    want_s = feeds["s0"]
    states = []
    for k in range(4):
        want_s = want_s + x1[k]
        states.append(want_s)
    np.testing.assert_allclose(s, want_s, rtol=1e-6)
    np.testing.assert_allclose(y2, np.stack(states, axis=2), rtol=1e-6)


@pytest.mark.parametrize("dtype", MOVABLE, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("in_axes,in_dirs,out_axes,out_dirs", [
    (None, None, None, None),
    ([0, 0], [1, 0], [0, 0], [0, 1]),          # reverse directions only: no transposes
    ([2, -1], [0, 1], [1, -1], [1, 0]),        # non-zero and negative axes on both sides
    ([-3, 1], [1, 1], [-3, 2], [1, 1]),
])
def test_scan_axes_and_directions(dtype, in_axes, in_dirs, out_axes, out_dirs):
    # x1 has the scan axis (length 5) where in_axes[0] says, x2 where in_axes[1] says; slices [2, 3].
    def place(axis):
        shape = [2, 3]
        axis = 0 if axis is None else axis % 3
        return shape[:axis] + [5] + shape[axis:]
    shapes = [place(in_axes and in_axes[0]), place(in_axes and in_axes[1])]
    model, p = scan_model(19, dtype, shapes, in_axes, in_dirs, out_axes, out_dirs)
    compare(model, scan_feeds(dtype, shapes, p, seed=3))


@pytest.mark.parametrize("perm_case", range(6))
def test_scan_rank4_every_axis_placement(perm_case):
    # Rank-4 scan inputs with the scan axis at each position, outputs at others: the transposes
    # are general permutations (not just a swap of two axes).
    in_axes = [[1, 2], [3, -2], [2, -1], [-3, 0], [3, 3], [-1, 1]][perm_case]
    out_axes = [[3, 1], [2, -1], [-4, 2], [1, 3], [2, 2], [-2, -3]][perm_case]
    base = [2, 3, 4]

    def place(axis):
        axis %= 4
        return base[:axis] + [3] + base[axis:]
    shapes = [place(a) for a in in_axes]
    model, p = scan_model(21, np.float32, shapes, in_axes, [0, 1], out_axes, [1, 0])
    feeds = scan_feeds(np.float32, shapes, p, seed=perm_case)
    s, y1, y2 = compare(model, feeds)
    # numpy reference for y1: slices along the input axes (x2 reversed), product, stacked at the
    # output axis in reverse order.
    x1 = np.moveaxis(feeds["x1"], in_axes[0], 0)
    x2 = np.moveaxis(feeds["x2"], in_axes[1], 0)[::-1]
    want = np.moveaxis((x1 * x2)[::-1], 0, out_axes[0] % 4)
    np.testing.assert_allclose(y1, want, rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.int8, np.float64], ids=lambda d: np.dtype(d).name)
def test_scan_without_state_and_zero_sized(dtype):
    shapes = [[2, 4, 3], [2, 4, 3]]
    model, p = scan_model(16, dtype, shapes, [1, 1], None, [2], None, state=False)
    compare(model, scan_feeds(dtype, shapes, p, state=False))
    # A zero-sized slice dim: empty transposes.
    zshapes = [[0, 4, 3], [0, 4, 3]]
    model, p = scan_model(16, dtype, zshapes, [1, 1], None, [2], None, state=False)
    (y,) = compare(model, scan_feeds(dtype, zshapes, p, state=False))
    assert y.shape == (0, 3, 4)


@pytest.mark.parametrize("axes", [[0, 0], [1, 1]])
def test_scan_zero_iterations_is_a_clean_error(axes):
    # ORT's Scan refuses a zero-length scan axis (its slicer needs one slice). Not compared with
    # ORT's CPU EP: with a non-zero scan axis ORT 1.29's CPU EP dies of SIGFPE on it.
    zshapes = [[2, 0, 3], [2, 0, 3]] if axes[0] == 1 else [[0, 2, 3], [0, 2, 3]]
    model, p = scan_model(16, np.float32, zshapes, axes, None, [2], None, state=False)
    with pytest.raises(Exception, match="dim0_offset|Dimension 0 is 0"):
        run_on_anvil(model, scan_feeds(np.float32, zshapes, p, state=False))


def test_scan_inside_loop_and_if_inside_scan():
    # Loop body: Scan over x (axis 1) summing rows into the state; the Scan's body holds an If.
    then_g = helper.make_graph([helper.make_node("Add", ["s", "r"], ["t"])], "then", [], [V("t", TensorProto.FLOAT, None)])
    else_g = helper.make_graph([helper.make_node("Mul", ["s", "r"], ["e"])], "else", [], [V("e", TensorProto.FLOAT, None)])
    scan_body = helper.make_graph(
        [helper.make_node("If", ["flag"], ["s_out"], then_branch=then_g, else_branch=else_g),
         helper.make_node("Identity", ["s_out"], ["y"])],
        "scan_body", [V("s", TensorProto.FLOAT, [3]), V("r", TensorProto.FLOAT, [3])],
        [V("s_out", TensorProto.FLOAT, [3]), V("y", TensorProto.FLOAT, [3])])
    loop_body = helper.make_graph(
        [helper.make_node("Scan", ["v", "x"], ["v_out", "ys"], body=scan_body, num_scan_inputs=1,
                          scan_input_axes=[1], scan_output_axes=[-1]),
         helper.make_node("Identity", ["cond"], ["cond_out"])],
        "loop_body", [V("i", TensorProto.INT64, []), V("cond", TensorProto.BOOL, []), V("v", TensorProto.FLOAT, [3])],
        [V("cond_out", TensorProto.BOOL, []), V("v_out", TensorProto.FLOAT, [3]), V("ys", TensorProto.FLOAT, [3, 4])])
    g = helper.make_graph([helper.make_node("Loop", ["M", "", "v0"], ["v_final", "all_ys"], body=loop_body)], "g",
                          [V("M", TensorProto.INT64, []), V("v0", TensorProto.FLOAT, [3]),
                           V("x", TensorProto.FLOAT, [3, 4]), V("flag", TensorProto.BOOL, [])],
                          [V("v_final", TensorProto.FLOAT, None), V("all_ys", TensorProto.FLOAT, None)])
    rng = np.random.default_rng(9)
    for flag in (True, False):
        feeds = {"M": np.array(2, np.int64), "v0": sample(np.float32, [3], rng), "x": sample(np.float32, [3, 4], rng),
                 "flag": np.array(flag)}
        v, ys = compare(finish(g, 17), feeds)
        assert ys.shape == (2, 3, 4)


def test_scan_8_is_left_to_ort():
    # Scan 8 (batch axis, sequence_lens) cannot be made for a plugin EP by ORT 1.29: Anvil must not
    # claim it, so with fallback disabled the session fails and with fallback ORT's CPU EP runs it.
    body = helper.make_graph([helper.make_node("Add", ["s", "x_t"], ["s_out"]),
                              helper.make_node("Identity", ["s_out"], ["y"])], "body",
                             [V("s", TensorProto.FLOAT, [2]), V("x_t", TensorProto.FLOAT, [2])],
                             [V("s_out", TensorProto.FLOAT, [2]), V("y", TensorProto.FLOAT, [2])])
    g = helper.make_graph([helper.make_node("Scan", ["", "s0", "x"], ["s", "y"], body=body, num_scan_inputs=1)], "g",
                          [V("s0", TensorProto.FLOAT, [1, 2]), V("x", TensorProto.FLOAT, [1, 3, 2])],
                          [V("s", TensorProto.FLOAT, None), V("y", TensorProto.FLOAT, None)])
    model = finish(g, 8)
    with pytest.raises(Exception):
        t.session(model)
    feeds = {"s0": np.zeros([1, 2], np.float32), "x": np.ones([1, 3, 2], np.float32)}
    (s, y), ran = run_profiled(model, feeds, fallback=True)
    assert ("Scan", "CPUExecutionProvider") in ran
    np.testing.assert_array_equal(s, [[3, 3]])


# Types no body op of Anvil's handles: the Loop / Scan node runs on Anvil (its helpers copy and
# transpose these element sizes), the body's Identity nodes on ORT's CPU EP (fallback allowed).
PASS_TYPES = [(np.float16, TensorProto.FLOAT16), (np.uint16, TensorProto.UINT16), (np.uint32, TensorProto.UINT32),
              (np.uint64, TensorProto.UINT64), (np.int16, TensorProto.INT16), (np.float32, TensorProto.FLOAT)]


def compare_control_flow_on_anvil(model, feeds, op):
    got, ran = run_profiled(model, feeds, fallback=True)
    assert (op, t.EP_NAME) in ran and (op, "CPUExecutionProvider") not in ran, ran
    want = t.session(model, anvil=False).run(None, feeds)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_array_equal(g, w)
    return got


@pytest.mark.parametrize("np_type,ot", PASS_TYPES, ids=lambda v: str(v))
def test_loop_other_types(np_type, ot):
    body = helper.make_graph([helper.make_node("Identity", ["cond"], ["cond_out"]),
                              helper.make_node("Identity", ["x"], ["v_out"]),
                              helper.make_node("Identity", ["v"], ["scan"])],
                             "body", [V("i", TensorProto.INT64, []), V("cond", TensorProto.BOOL, []),
                                      V("v", ot, [3, 1])],
                             [V("cond_out", TensorProto.BOOL, []), V("v_out", ot, [3, 1]), V("scan", ot, [3, 1])])
    g = helper.make_graph([helper.make_node("Loop", ["M", "", "v0"], ["v_final", "scans"], body=body)], "g",
                          [V("M", TensorProto.INT64, []), V("v0", ot, [3, 1]), V("x", ot, [3, 1])],
                          [V("v_final", ot, None), V("scans", ot, None)])
    rng = np.random.default_rng(11)
    x = (rng.random([3, 1]) * 100).astype(np_type)
    v0 = (rng.random([3, 1]) * 100).astype(np_type)
    v, scans = compare_control_flow_on_anvil(finish(g, 17), {"M": np.array(3, np.int64), "v0": v0, "x": x}, "Loop")
    np.testing.assert_array_equal(scans, np.stack([v0, x, x]))


@pytest.mark.parametrize("np_type,ot", PASS_TYPES, ids=lambda v: str(v))
def test_scan_other_types(np_type, ot):
    body = helper.make_graph([helper.make_node("Identity", ["s"], ["s_out"]), helper.make_node("Identity", ["x_t"], ["y"])],
                             "body", [V("s", ot, [2, 4]), V("x_t", ot, [2, 4])],
                             [V("s_out", ot, [2, 4]), V("y", ot, [2, 4])])
    g = helper.make_graph([helper.make_node("Scan", ["s0", "x"], ["s", "y"], body=body, num_scan_inputs=1,
                                            scan_input_axes=[2], scan_output_axes=[-2])], "g",
                          [V("s0", ot, [2, 4]), V("x", ot, [2, 4, 3])], [V("s", ot, None), V("y", ot, None)])
    rng = np.random.default_rng(12)
    x = (rng.random([2, 4, 3]) * 100).astype(np_type)
    s, y = compare_control_flow_on_anvil(finish(g, 17), {"s0": x[:, :, 0].copy(), "x": x}, "Scan")
    np.testing.assert_array_equal(y, np.moveaxis(x, 2, 1))
