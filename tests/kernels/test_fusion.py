"""Fused groups (src/fusion/patterns.inc): a head (an anchor: Conv, ConvTranspose, MatMul, Gemm;
an element-wise Add, Sub, Mul, Div; a function: the decomposed LayerNorm) and the element-wise
chain after it run as one node through OrtEp::Compile.

Every pattern is built after a convolution (and the matmul patterns after MatMul and Gemm) and
checked three ways: the group really ran as one
fused node (ORT's profile shows a single Anvil node, the fused one, and none of the pattern's ops);
its output matches ORT's CPU EP; and it matches Anvil's unfused path (option fuse=0). Near misses
(an inner value used elsewhere, a bound that is not a constant, a broadcast that widens the
output) must not fuse, and must still be right.

Tolerance: rtol 1e-4, atol 1e-4, as for the convolutions alone (tests/kernels/test_dnnl.py):
oneDNN's post-ops compute sigmoid, tanh, erf and exp with their own approximations (a few ulp),
far below that, while a wrong step, order or operand gives O(1) errors."""
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import onnxruntime as ort
from anvil_testing import run_cpu, run_profiled, session

RTOL = 1e-4
ATOL = 1e-4
rng = np.random.default_rng(7)


def f32(*shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def const(name, value):
    return numpy_helper.from_array(np.asarray(value, dtype=np.float32), name)


class Graph:
    """A small graph builder: a Conv anchor on input x, then whatever a case adds."""

    def __init__(self, c_in=4, c_out=8, hw=10, kernel=3, group=1, transpose=False, opset=17):
        self.nodes, self.inits, self.inputs, self.feeds = [], [], [], {}
        self.opset = opset
        self.add_input("x", f32(1, c_in, hw, hw))
        w_shape = (c_in, c_out // group, kernel, kernel) if transpose else (c_out, c_in // group, kernel, kernel)
        self.inits += [const("W", f32(*w_shape, scale=0.3)), const("B", f32(c_out))]
        if transpose:
            self.node("ConvTranspose", ["x", "W", "B"], "conv", strides=[2, 2] if kernel == 2 else [1, 1], group=group)
        else:
            self.node("Conv", ["x", "W", "B"], "conv", pads=[kernel // 2] * 4, group=group)
        self.c_out = c_out
        self.counter = 0

    def add_input(self, name, value):
        self.inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(value.shape)))
        self.feeds[name] = value

    def constant(self, value):
        self.counter += 1
        name = f"k{self.counter}"
        self.inits.append(const(name, value))
        return name

    def node(self, op, inputs, output, **attrs):
        self.nodes.append(helper.make_node(op, inputs, [output], **attrs))
        return output

    def model(self, outputs):
        graph = helper.make_graph(self.nodes, "fusion", self.inputs,
                                  [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs],
                                  initializer=self.inits)
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)])
        m.ir_version = 8
        return m


def run_three_ways(model, feeds, optimization=None, layout=None):
    """(fused outputs, ops that ran as their own node, number of fused nodes that ran). The
    Transposes ORT puts around the channels-last convolutions (layout=nhwc) are not counted."""
    outs, ran = run_profiled(model, feeds, optimization=optimization, options={"layout": layout} if layout else None)
    singles = {op for op, provider in ran if not op.startswith("AnvilExecutionProvider_") and op != "Transpose"}
    fused = sum(1 for op, _ in ran if op.startswith("AnvilExecutionProvider_"))
    assert all(provider == "AnvilExecutionProvider" for _, provider in ran), ran
    want = run_cpu(model, feeds.items())
    unfused = session(model, options={"fuse": "0"}).run(None, feeds)
    for got, w, u in zip(outs, want, unfused):
        np.testing.assert_allclose(got, w, rtol=RTOL, atol=ATOL, err_msg="fused vs ORT's CPU EP")
        np.testing.assert_allclose(got, u, rtol=RTOL, atol=ATOL, err_msg="fused vs Anvil unfused")
    return outs, singles, fused


# ---- the patterns: each adds its nodes after value `x` and returns its output ----

def hardswish_div(g, x):
    a = g.node("Add", [x, g.constant(3.0)], "hs_a")
    c = g.node("Clip", [a, g.constant(0.0), g.constant(6.0)], "hs_c")
    m = g.node("Mul", [x, c], "hs_m")
    return g.node("Div", [m, g.constant(6.0)], "hs")


def hardswish_div_first(g, x):
    a = g.node("Add", [g.constant(3.0), x], "hs_a")  # constant first: Add matches either order
    c = g.node("Clip", [a, g.constant(0.0), g.constant(6.0)], "hs_c")
    d = g.node("Div", [c, g.constant(6.0)], "hs_d")
    return g.node("Mul", [d, x], "hs")


def hardswish_mul_sixth(g, x):
    a = g.node("Add", [x, g.constant(3.0)], "hs_a")
    c = g.node("Clip", [a, g.constant(0.0), g.constant(6.0)], "hs_c")
    m = g.node("Mul", [x, c], "hs_m")
    return g.node("Mul", [m, g.constant(1.0 / 6.0)], "hs")


def hardswish_hardsigmoid(g, x):
    h = g.node("HardSigmoid", [x], "hs_h", alpha=0.25, beta=0.45)
    return g.node("Mul", [x, h], "hs")


def silu(g, x):
    s = g.node("Sigmoid", [x], "si_s")
    return g.node("Mul", [s, x], "si")


def gelu_erf(g, x):
    d = g.node("Div", [x, g.constant(1.4142135381698608)], "ge_d")
    e = g.node("Erf", [d], "ge_e")
    a = g.node("Add", [e, g.constant(1.0)], "ge_a")
    m = g.node("Mul", [x, a], "ge_m")
    return g.node("Mul", [m, g.constant(0.5)], "ge")


def unary(op, **attrs):
    def build(g, x):
        return g.node(op, [x], f"u_{op}", **attrs)
    build.__name__ = op
    return build


def clip(g, x):
    return g.node("Clip", [x, g.constant(-0.5), g.constant(0.7)], "clip")


def clip_max_only(g, x):
    return g.node("Clip", [x, "", g.constant(0.7)], "clip")


def affine(g, x):  # PaddleOCR's learnable affine blocks: Mul and Add by scalars (merged into one step)
    m = g.node("Mul", [g.constant([1.9]), x], "af_m")
    a = g.node("Add", [m, g.constant([0.8])], "af_a")
    s = g.node("Sub", [a, g.constant(0.25)], "af_s")
    r = g.node("Sub", [g.constant(2.0), s], "af_r")
    return g.node("Div", [r, g.constant(1.5)], "af")


def residual(g, x):
    g.add_input("r", f32(1, g.c_out, 10, 10))
    return g.node("Add", [x, "r"], "res")


def residual_relu(g, x):
    return unary("Relu")(g, residual(g, x))


def residual_first(g, x):  # the operand first: Add matches either order
    g.add_input("r", f32(1, g.c_out, 10, 10))
    return g.node("Add", ["r", x], "res")


def channel_mul_const(g, x):
    return g.node("Mul", [x, g.constant(f32(g.c_out, 1, 1))], "cm")


def channel_mul_input(g, x):  # squeeze-and-excitation: a per-channel scale from elsewhere
    g.add_input("s", f32(1, g.c_out, 1, 1))
    return g.node("Mul", [x, "s"], "cm")


def sub_div_tensor(g, x):
    g.add_input("t", f32(1, g.c_out, 10, 10))
    g.add_input("d", (np.abs(f32(1, 1, 10, 10)) + 0.5).astype(np.float32))
    s = g.node("Sub", [x, "t"], "st")
    return g.node("Div", [s, "d"], "dt")


def leaky_max_const(g, x):  # openWakeWord's embedding model: LeakyRelu, then Maximum by a [1,1,1,1] constant
    y = unary("LeakyRelu", alpha=0.2)(g, x)
    return g.node("Max", [y, g.constant(np.full((1, 1, 1, 1), -0.3))], "mx")


def min_const_first(g, x):  # Min(c, x): a one-sided Clip too, either operand order
    return g.node("Min", [g.constant(0.25), x], "mn")


def max_min_tensor(g, x):
    g.add_input("t", f32(1, g.c_out, 10, 10))
    m = g.node("Max", [x, "t"], "mx")
    return g.node("Min", [g.constant(0.5), m], "mn")  # a scalar constant operand: a binary step too


def det_block(g, x):  # PaddleOCR det: affine, exported HardSwish, affine
    m = g.node("Mul", [g.constant([1.9]), x], "d_m")
    a = g.node("Add", [m, g.constant([0.8])], "d_a")
    h = hardswish_div(g, a)
    m2 = g.node("Mul", [g.constant([0.6]), h], "d_m2")
    return g.node("Add", [m2, g.constant([-0.5])], "d_out")


PATTERNS = [
    (hardswish_div, {"Add", "Clip", "Mul", "Div"}),
    (hardswish_div_first, {"Add", "Clip", "Mul", "Div"}),
    (hardswish_mul_sixth, {"Add", "Clip", "Mul"}),
    (hardswish_hardsigmoid, {"HardSigmoid", "Mul"}),
    (silu, {"Sigmoid", "Mul"}),
    (gelu_erf, {"Div", "Erf", "Add", "Mul"}),
    (unary("Relu"), {"Relu"}),
    (unary("LeakyRelu", alpha=0.2), {"LeakyRelu"}),
    (clip, {"Clip"}),
    (clip_max_only, {"Clip"}),
    (unary("Sigmoid"), {"Sigmoid"}),
    (unary("Tanh"), {"Tanh"}),
    (unary("HardSigmoid", alpha=0.3, beta=0.4), {"HardSigmoid"}),
    (unary("HardSwish"), {"HardSwish"}),
    (unary("Elu", alpha=0.7), {"Elu"}),
    (unary("Abs"), {"Abs"}),
    (affine, {"Mul", "Add", "Sub", "Div"}),
    (residual, {"Add"}),
    (residual_relu, {"Add", "Relu"}),
    (residual_first, {"Add"}),
    (channel_mul_const, {"Mul"}),
    (channel_mul_input, {"Mul"}),
    (sub_div_tensor, {"Sub", "Div"}),
    (max_min_tensor, {"Max", "Min"}),
    (leaky_max_const, {"LeakyRelu", "Max"}),
    (min_const_first, {"Min"}),
    (det_block, {"Mul", "Add", "Clip", "Div"}),
]

# Anchors and the oneDNN implementation families they reach on this CPU: a 3x3 convolution
# (jit, the tail as oneDNN post-ops), a 1x1 one (oneDNN's GEMM convolution, the tail in Anvil's
# pass), a depthwise one, a ConvTranspose run as one matrix product (kernel 2, stride 2) and a
# general one.
ANCHORS = {
    "conv3x3": dict(c_in=8, c_out=16, kernel=3),
    "conv1x1": dict(c_in=8, c_out=16, kernel=1),
    "depthwise": dict(c_in=16, c_out=16, kernel=3, group=16),
    "convtranspose_patches": dict(c_in=8, c_out=16, kernel=2, transpose=True, hw=5),
    "convtranspose": dict(c_in=8, c_out=16, kernel=3, transpose=True, hw=8),
}


# ORT's transpose optimizer does not move its layout Transposes through these ops, so with
# layout=nhwc a Transpose sits between the Conv and them and there is nothing to fuse.
NOT_THROUGH_TRANSPOSES = {"Elu"}


@pytest.mark.parametrize("layout", ["nhwc", "nchw"])
@pytest.mark.parametrize("pattern,ops", PATTERNS, ids=[p.__name__ for p, _ in PATTERNS])
@pytest.mark.parametrize("anchor", ["conv3x3", "conv1x1"])
def test_pattern_fuses(pattern, ops, anchor, layout):
    g = Graph(**ANCHORS[anchor])
    y = pattern(g, "conv")
    # ORT's basic optimizations fold a constant per-channel Mul into the Conv's weights before
    # Anvil sees the graph; without them the group holds the constant operand itself.
    level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL if pattern is channel_mul_const else None
    _, singles, fused = run_three_ways(g.model([y]), g.feeds, level, layout)
    if layout == "nhwc" and ops & NOT_THROUGH_TRANSPOSES:
        assert fused == 0 and singles == {"Conv"} | ops, singles  # still right (checked above)
        return
    assert fused == 1 and not singles, f"expected one fused node, ran {singles} and {fused} fused"


@pytest.mark.parametrize("layout", ["nhwc", "nchw"])
@pytest.mark.parametrize("anchor", list(ANCHORS))
@pytest.mark.parametrize("pattern", [residual_relu, hardswish_div, silu, channel_mul_input, affine],
                         ids=lambda p: p.__name__)
def test_anchor_paths(anchor, pattern, layout):
    kw = ANCHORS[anchor]
    g = Graph(**kw)
    if pattern in (residual_relu, channel_mul_input):
        # operands sized to the anchor's output
        out_hw = {"convtranspose_patches": 10, "convtranspose": 10}.get(anchor, kw.get("hw", 10))
        name = "r" if pattern is residual_relu else "s"
        shape = (1, kw["c_out"], out_hw, out_hw) if pattern is residual_relu else (1, kw["c_out"], 1, 1)
        g.add_input(name, f32(*shape))
        y = g.node("Add" if pattern is residual_relu else "Mul", ["conv", name], "t")
        if pattern is residual_relu:
            y = g.node("Relu", [y], "t2")
    else:
        y = pattern(g, "conv")
    _, singles, fused = run_three_ways(g.model([y]), g.feeds, layout=layout)
    assert fused == 1 and not singles, f"ran {singles} and {fused} fused"


def test_chain_of_patterns_and_two_groups():
    # Conv -> affine -> HardSwish -> residual Add -> Relu, then a second Conv group on top.
    g = Graph(c_in=8, c_out=8, kernel=3)
    h = det_block(g, "conv")
    g.add_input("r", f32(1, 8, 10, 10))
    y = unary("Relu")(g, g.node("Add", [h, "r"], "res"))
    g.inits += [const("W2", f32(8, 8, 1, 1, scale=0.3))]
    g.node("Conv", [y, "W2"], "conv2")
    z = silu(g, "conv2")
    _, singles, fused = run_three_ways(g.model([z]), g.feeds)
    assert fused == 2 and not singles, f"ran {singles} and {fused} fused"


# ---- near misses: must not fuse (or fuse less), must stay right ----

def test_anchor_output_used_elsewhere_is_not_fused():
    g = Graph()
    y = unary("Relu")(g, "conv")
    _, singles, fused = run_three_ways(g.model([y, "conv"]), g.feeds)  # conv is also a graph output
    assert fused == 0 and singles == {"Conv", "Relu"}, singles


def test_inner_value_with_an_extra_consumer_stops_the_pattern():
    # The HardSwish's Clip output also feeds a second output: the exported HardSwish cannot fuse,
    # and the Conv's output has two consumers, so the Conv runs alone; the rest runs as two
    # element-wise chains, (x + 3, Clip) and (Mul, Div), split at the Clip's output.
    g = Graph()
    x = "conv"
    a = g.node("Add", [x, g.constant(3.0)], "hs_a")
    c = g.node("Clip", [a, g.constant(0.0), g.constant(6.0)], "hs_c")
    m = g.node("Mul", [x, c], "hs_m")
    y = g.node("Div", [m, g.constant(6.0)], "hs")
    extra = g.node("Neg", [c], "extra")
    _, singles, fused = run_three_ways(g.model([y, extra]), g.feeds)
    assert singles == {"Conv", "Neg"} and fused == 2, f"ran {singles} and {fused} fused"


def test_bound_that_is_not_a_constant_is_not_a_hardswish():
    g = Graph()
    g.add_input("lo", np.array(0.0, dtype=np.float32))
    a = g.node("Add", ["conv", g.constant(3.0)], "hs_a")
    c = g.node("Clip", [a, "lo", g.constant(6.0)], "hs_c")
    m = g.node("Mul", ["conv", c], "hs_m")
    y = g.node("Div", [m, g.constant(6.0)], "hs")
    _, singles, fused = run_three_ways(g.model([y]), g.feeds)
    assert "Clip" in singles, singles


def test_operand_that_widens_the_output_is_not_fused():
    # Conv output [1,8,1,1] (a 10x10 kernel, no padding) plus a [1,8,4,4] tensor: the Add's output
    # is larger than the anchor's, so it cannot be the anchor's tail.
    g = Graph(kernel=1)
    g.nodes, g.inits = [], []
    g.inits += [const("W", f32(8, 4, 10, 10, scale=0.1))]
    g.node("Conv", ["x", "W"], "conv")
    g.add_input("t", f32(1, 8, 4, 4))
    y = g.node("Add", ["conv", "t"], "wide")
    _, singles, fused = run_three_ways(g.model([y]), g.feeds)
    assert fused == 0 and singles == {"Conv", "Add"}, singles


NAN_PATTERNS = [unary("Relu"), clip, unary("HardSigmoid", alpha=0.3, beta=0.4), residual_relu, max_min_tensor,
                hardswish_div, silu, unary("LeakyRelu", alpha=0.2)]
# The tensor operands above have a convolution's output shape; the matmul anchors take the rest.
NAN_CASES = [(a, p) for a in ("conv3x3", "conv1x1") for p in NAN_PATTERNS] + [
    (a, p) for a in ("matmul", "gemm") for p in NAN_PATTERNS if p not in (residual_relu, max_min_tensor)]


@pytest.mark.parametrize("anchor,pattern", NAN_CASES, ids=[f"{a}-{p.__name__}" for a, p in NAN_CASES])
def test_nan_and_inf_propagate_as_in_ort(anchor, pattern):
    # ORT's kernels (and Anvil's) keep NaN through Relu, Clip, HardSigmoid, Max and Min. oneDNN's
    # Max and Min post-ops turn it into the other operand, so those run in Anvil's pass; its Relu,
    # Clip and HardSigmoid keep it with Anvil's patch (scripts/onednn_patches) and run inside the
    # kernel. Inf must come out the same too.
    g = Graph(**ANCHORS[anchor]) if anchor in ANCHORS else MatmulGraph(anchor)
    y = pattern(g, "conv")
    model = g.model([y])
    x = g.feeds["x"].copy()
    x.flat[::13] = np.nan
    x.flat[5::17] = np.inf
    x.flat[7::19] = -np.inf
    feeds = dict(g.feeds, x=x)
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    want = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    got = session(model).run(None, feeds)[0]
    assert np.isnan(want).any()
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(np.isinf(got), np.isinf(want))
    finite = np.isfinite(want)
    np.testing.assert_allclose(got[finite], want[finite], rtol=RTOL, atol=ATOL)


IN_KERNEL = [(unary("Relu"), "Relu"), (clip, "Clip"), (residual_relu, "Add a tensor + Relu"),
             (unary("HardSigmoid", alpha=0.3, beta=0.4), "HardSigmoid")]
IN_KERNEL_CASES = [(a, p, n) for a in ("conv3x3", "conv1x1", "matmul") for p, n in IN_KERNEL
                   if a != "matmul" or p is not residual_relu]


@pytest.mark.parametrize("anchor,pattern,name", IN_KERNEL_CASES,
                         ids=[f"{a}-{n.replace(' ', '_')}" for a, _, n in IN_KERNEL_CASES])
def test_activations_run_inside_the_onednn_kernel(capfd, anchor, pattern, name):
    # With Anvil's oneDNN patch these keep NaN inside oneDNN's kernels (test above), so the whole
    # tail is oneDNN post-ops: no second pass over the output.
    g = Graph(**ANCHORS[anchor]) if anchor in ANCHORS else MatmulGraph(anchor)
    y = pattern(g, "conv")
    session(g.model([y]), options={"log": "dispatch"}, optimization=ort.GraphOptimizationLevel.ORT_DISABLE_ALL).run(
        None, g.feeds)
    err = capfd.readouterr().err
    assert f" + {name}" in err, err
    steps = 2 if "Add" in name else 1
    assert f"fused tail of {steps} steps: {steps} as oneDNN post-ops" in err, err


def test_max_with_a_nan_constant_is_nan_everywhere():
    # Anvil's Max and Min propagate NaN from either side (numpy's way): fused as a one-sided Clip,
    # a NaN constant must still give NaN, as the unfused node does.
    g = Graph()
    y = g.node("Max", ["conv", g.constant(float("nan"))], "mx")
    got = session(g.model([y])).run(None, g.feeds)[0]
    unfused = session(g.model([y]), options={"fuse": "0"}).run(None, g.feeds)[0]
    assert np.isnan(unfused).all() and np.isnan(got).all()


def test_fuse_option_off_runs_every_node():
    g = Graph()
    y = residual_relu(g, "conv")
    model = g.model([y])
    got, ran = run_profiled(model, g.feeds, options={"fuse": "0"})
    assert {op for op, _ in ran} - {"Transpose"} == {"Conv", "Add", "Relu"}, ran
    np.testing.assert_allclose(got[0], run_cpu(model, g.feeds.items())[0], rtol=RTOL, atol=ATOL)


def test_dynamic_shapes_fuse_by_symbol():
    # H and W symbolic: the Add's operand has the same symbols, so the group still forms; a new
    # spatial size per run builds a new plan.
    g = Graph()
    g.inputs[0] = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, "h", "w"])
    g.inputs.append(helper.make_tensor_value_info("r", TensorProto.FLOAT, [1, 8, "h", "w"]))
    y = unary("Relu")(g, g.node("Add", ["conv", "r"], "res"))
    model = g.model([y])
    for hw in (6, 13):
        feeds = {"x": f32(1, 4, hw, hw), "r": f32(1, 8, hw, hw)}
        _, singles, fused = run_three_ways(model, feeds)
        assert fused == 1 and not singles


def test_operand_of_the_wrong_shape_at_run_time_is_a_clean_error():
    # Symbolic dims that the model then contradicts: the fused group must fail cleanly, as ORT does.
    g = Graph()
    g.inputs[0] = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, "h", "w"])
    g.inputs.append(helper.make_tensor_value_info("r", TensorProto.FLOAT, [1, 8, "h", "w"]))
    y = g.node("Add", ["conv", "r"], "res")
    sess = session(g.model([y]))
    with pytest.raises(Exception) as err:
        sess.run(None, {"x": f32(1, 4, 6, 6), "r": f32(1, 8, 5, 5)})
    assert "broadcast" in str(err.value) or "shape" in str(err.value)


# ---- MatMul and Gemm anchors: the tail as oneDNN matmul post-ops, or Anvil's pass ----

class MatmulGraph(Graph):
    """A MatMul (A [2, 5, 16] x constant B [16, 24], or two run-time inputs) or a Gemm (A [6, 16],
    constant B, transB) anchor on input x."""

    def __init__(self, kind="matmul", opset=17, **gemm_attrs):
        self.nodes, self.inits, self.inputs, self.feeds = [], [], [], {}
        self.opset, self.counter = opset, 0
        if kind == "matmul":
            self.add_input("x", f32(2, 5, 16))
            self.inits.append(const("W", f32(16, 24, scale=0.3)))
            self.node("MatMul", ["x", "W"], "conv")
            self.out = (2, 5, 24)
        elif kind == "batched":  # both operands at run time, batch dims not folded
            self.add_input("x", f32(2, 3, 4, 8))
            self.add_input("b", f32(2, 3, 8, 6))
            self.node("MatMul", ["x", "b"], "conv")
            self.out = (2, 3, 4, 6)
        else:
            self.add_input("x", f32(6, 16))
            self.inits += [const("W", f32(24, 16, scale=0.3)), const("B", f32(24))]
            self.node("Gemm", ["x", "W", "B"], "conv", transB=1, **gemm_attrs)
            self.out = (6, 24)
        self.c_out = self.out[-1]

    def operand(self, name, shape):
        self.add_input(name, f32(*shape))
        return name


def mm_bias_gelu(g, x):  # a transformer's feed-forward: bias row, then Gelu
    return gelu_erf(g, g.node("Add", [x, g.constant(f32(g.out[-1]))], "bias"))


def mm_residual(g, x):
    return g.node("Add", [x, g.operand("r", g.out)], "res")


def mm_column_scale(g, x):  # one value per row of the last matrix: neither a row nor the whole
    return g.node("Mul", [x, g.operand("s", g.out[-2:-1] + (1,))], "cs")


MATMUL_PATTERNS = [
    (unary("Relu"), {"Relu"}),
    (unary("Sigmoid"), {"Sigmoid"}),
    (unary("Tanh"), {"Tanh"}),
    (silu, {"Sigmoid", "Mul"}),
    (hardswish_div, {"Add", "Clip", "Mul", "Div"}),
    (affine, {"Mul", "Add", "Sub", "Div"}),
    (mm_bias_gelu, {"Add", "Div", "Erf", "Mul"}),
    (mm_residual, {"Add"}),
    (mm_column_scale, {"Mul"}),
]


@pytest.mark.parametrize("pattern,ops", MATMUL_PATTERNS, ids=[p.__name__ for p, _ in MATMUL_PATTERNS])
@pytest.mark.parametrize("kind", ["matmul", "batched", "gemm"])
def test_matmul_anchor_fuses(kind, pattern, ops):
    g = MatmulGraph(kind)
    y = pattern(g, "conv")
    # ORT's basic optimizations rewrite a MatMul + Add of a row as Reshape, Gemm, Reshape (its
    # MatMulAddFusion); without them the MatMul anchor keeps the whole chain.
    level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL if kind != "gemm" else None
    _, singles, fused = run_three_ways(g.model([y]), g.feeds, level)
    assert fused == 1 and not singles, f"expected one fused node, ran {singles} and {fused} fused"


@pytest.mark.parametrize("attrs", [dict(alpha=0.5), dict(beta=0.0), dict(alpha=2.0, beta=0.5)],
                         ids=lambda a: ",".join(f"{k}={v}" for k, v in a.items()))
def test_gemm_alpha_beta_with_a_tail(attrs):
    # alpha and beta go into the primitive as a scale and a sum; the tail then runs in Anvil's pass.
    g = MatmulGraph("gemm", **attrs)
    y = silu(g, g.node("Relu", ["conv"], "r"))
    _, singles, fused = run_three_ways(g.model([y]), g.feeds)
    assert fused == 1 and not singles, f"ran {singles} and {fused} fused"


def test_gemm_with_a_full_c_and_a_tail():
    g = MatmulGraph("gemm")
    g.inits = [i for i in g.inits if i.name != "B"] + [const("B", f32(6, 24))]
    y = unary("Sigmoid")(g, "conv")
    _, singles, fused = run_three_ways(g.model([y]), g.feeds)
    assert fused == 1 and not singles, f"ran {singles} and {fused} fused"


def test_matmul_tail_is_in_the_dispatch_log(capfd):
    g = MatmulGraph("matmul")
    y = mm_bias_gelu(g, "conv")
    session(g.model([y]), options={"log": "dispatch"}, optimization=ort.GraphOptimizationLevel.ORT_DISABLE_ALL).run(
        None, g.feeds)
    err = capfd.readouterr().err
    assert "fused group of 7 nodes: MatMul + Add a tensor + Gelu" in err, err
    assert "MatMul: onednn:brg_matmul" in err and "fused tail of 2 steps: 2 as oneDNN post-ops" in err, err


# ---- functions: several nodes that compute one op (LayerNormalization) ----

def layer_norm_graph(opset=13, shape=(2, 5, 16), bias=True, square="Pow", axes=(-1,), scale_shape=None,
                     eps_input=False, unknown_shape=False):
    """x -> decomposed LayerNorm (as exporters write it before opset 17) -> 'ln'."""
    g = Graph.__new__(Graph)
    g.nodes, g.inits, g.inputs, g.feeds, g.opset, g.counter = [], [], [], {}, opset, 0
    g.add_input("x", f32(*shape) * 3 + 1)
    if unknown_shape:  # as after a Reshape to a computed shape (PaddleOCR rec)
        g.inputs[0] = helper.make_tensor_value_info("x", TensorProto.FLOAT, None)
    c = shape[-1]

    def mean(src, out):
        if opset >= 18:
            g.inits.append(numpy_helper.from_array(np.array(axes, np.int64), out + "_axes"))
            return g.node("ReduceMean", [src, out + "_axes"], out)
        return g.node("ReduceMean", [src], out, axes=list(axes))

    m = mean("x", "ln_mean")
    d = g.node("Sub", ["x", m], "ln_d")
    sq = g.node("Pow", [d, g.constant(2.0)], "ln_sq") if square == "Pow" else g.node("Mul", [d, d], "ln_sq")
    v = mean(sq, "ln_var")
    if eps_input:
        g.add_input("eps", np.array(1e-5, np.float32))
        e = "eps"
    else:
        e = g.constant(1e-5)
    a = g.node("Add", [v, e], "ln_ve")
    s = g.node("Sqrt", [a], "ln_std")
    n = g.node("Div", [d, s], "ln_n")
    y = g.node("Mul", [n, g.constant(f32(*(scale_shape or (c,))))], "ln_scaled")
    if bias:
        y = g.node("Add", [g.constant(f32(c)), y], "ln")  # bias first: Add in either order
    return g, y


LN_OPS = {"ReduceMean", "Sub", "Pow", "Mul", "Add", "Sqrt", "Div"}


@pytest.mark.parametrize("variant", [dict(), dict(opset=18), dict(bias=False), dict(square="Mul"),
                                     dict(shape=(7, 32)), dict(axes=(2,)), dict(unknown_shape=True)],
                         ids=["opset13", "opset18", "no_bias", "mul_square", "rank2", "axis_by_index", "unknown_shape"])
def test_layer_norm_fuses(variant):
    g, y = layer_norm_graph(**variant)
    # From opset 17 ORT's basic optimizations make the nodes one LayerNormalization themselves
    # (Anvil then runs that op); without them Anvil's matcher sees ReduceMean-18's axes input.
    level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL if variant.get("opset", 13) >= 17 else None
    _, singles, fused = run_three_ways(g.model([y]), g.feeds, level)
    assert fused == 1 and not singles, f"expected one fused node, ran {singles} and {fused} fused"


@pytest.mark.parametrize("unknown_shape", [False, True], ids=["known", "unknown_shape"])
@pytest.mark.parametrize("tail", ["relu", "residual_relu", "sigmoid"])
def test_layer_norm_with_a_tail(tail, unknown_shape):
    # The LayerNormalization kernel takes no tail itself: the group applies it after the kernel.
    # With x's shape unknown, a tensor operand cannot be shown to fit: that Add stays a node.
    g, y = layer_norm_graph(unknown_shape=unknown_shape)
    if tail == "residual_relu":
        g.add_input("r", f32(2, 5, 16))
        y = g.node("Add", [y, "r"], "res")
    y = g.node("Sigmoid" if tail == "sigmoid" else "Relu", [y], "out")
    _, singles, fused = run_three_ways(g.model([y]), g.feeds)
    if unknown_shape and tail == "residual_relu":
        assert fused == 1 and singles == {"Add", "Relu"}, f"ran {singles} and {fused} fused"
        return
    assert fused == 1 and not singles, f"ran {singles} and {fused} fused"


def test_layer_norm_of_the_wrong_width_at_run_time_is_a_clean_error():
    # x's shape unknown in the graph, then of another last dim than the scale's: a clean error.
    g, y = layer_norm_graph(unknown_shape=True)
    sess = session(g.model([y]))
    with pytest.raises(Exception) as err:
        sess.run(None, {"x": f32(2, 5, 8)})
    assert "Scale" in str(err.value) or "broadcast" in str(err.value), err.value


def test_gemm_layer_norm_relu_gemm_is_two_groups():
    # openWakeWord's heads: Gemm -> LayerNorm -> Relu -> Gemm -> Sigmoid, two nodes.
    g, _ = layer_norm_graph(shape=(1, 16))
    g.nodes, g.inputs, g.feeds = [], [], {}
    g.add_input("a", f32(1, 24))
    g.inits += [const("W1", f32(16, 24, scale=0.3)), const("B1", f32(16)), const("W2", f32(1, 16, scale=0.3))]
    g.node("Gemm", ["a", "W1", "B1"], "x", transB=1)
    g2, y = layer_norm_graph(shape=(1, 16))
    g.nodes += g2.nodes
    g.inits += g2.inits
    r = g.node("Relu", [y], "r")
    z = g.node("Sigmoid", [g.node("Gemm", [r, "W2"], "z0", transB=1)], "z")
    _, singles, fused = run_three_ways(g.model([z]), g.feeds)
    # Gemm + LayerNorm + Relu (the LayerNorm in the Gemm's tail), then Gemm + Sigmoid
    assert fused == 2 and not singles, f"ran {singles} and {fused} fused"


@pytest.mark.parametrize("miss", ["not_last_axis", "eps_not_constant", "inner_value_used", "scale_widens"])
def test_layer_norm_near_misses_do_not_fuse(miss):
    if miss == "not_last_axis":
        g, y = layer_norm_graph(axes=(1,))
        outputs = [y]
    elif miss == "eps_not_constant":
        g, y = layer_norm_graph(eps_input=True)
        outputs = [y]
    elif miss == "inner_value_used":
        g, y = layer_norm_graph()
        outputs = [y, "ln_d"]  # x - mean is also a graph output
    else:
        g, y = layer_norm_graph(shape=(1, 5, 16), scale_shape=(3, 1, 16))  # the Mul widens the output
        outputs = [y]
    _, singles, fused = run_three_ways(g.model(outputs), g.feeds)
    assert "ReduceMean" in singles and "Sqrt" in singles, f"ran {singles} and {fused} fused"


# ---- a decomposed LayerNorm in a matrix product's tail (kLayerNorm, fusion/matcher.cc) ----

def layer_norm_after(g, x, bias=True, square="Pow"):
    """x -> the LayerNorm exporters write (ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add)."""
    c = g.c_out
    m = g.node("ReduceMean", [x], "lnm", axes=[-1])
    d = g.node("Sub", [x, m], "lnd")
    sq = g.node("Pow", [d, g.constant(2.0)], "lnsq") if square == "Pow" else g.node("Mul", [d, d], "lnsq")
    v = g.node("ReduceMean", [sq], "lnv", axes=[-1])
    s = g.node("Sqrt", [g.node("Add", [v, g.constant(1e-5)], "lnve")], "lnstd")
    y = g.node("Mul", [g.node("Div", [d, s], "lnn"), g.constant(f32(c) + 1.0)], "lns")
    return g.node("Add", [y, g.constant(f32(c))], "ln") if bias else y


@pytest.mark.parametrize("kind", ["matmul", "gemm", "gemm_row"])
@pytest.mark.parametrize("case", ["ln", "ln_relu", "ln_no_bias", "bias_ln_mul_square"])
def test_layer_norm_in_a_matmul_tail(kind, case):
    # The wake-word heads: Gemm -> LayerNorm -> Relu, one node; a one-row Gemm runs the GEMV.
    if kind == "gemm_row":
        g = MatmulGraph("gemm")
        g.inputs, g.feeds = [], {}
        g.add_input("x", f32(1, 16))
    else:
        g = MatmulGraph(kind)
    x = "conv"
    if case == "bias_ln_mul_square":  # an Add of a row first, then the LayerNorm (Mul(d, d) form)
        x = g.node("Add", [x, g.constant(f32(g.c_out))], "mm_bias")
        y = layer_norm_after(g, x, square="Mul")
    else:
        y = layer_norm_after(g, x, bias=case != "ln_no_bias")
    if case == "ln_relu":
        y = unary("Relu")(g, y)
    level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL if kind == "matmul" else None
    _, singles, fused = run_three_ways(g.model([y]), g.feeds, level)
    assert fused == 1 and not singles, f"expected one fused node, ran {singles} and {fused} fused"


def test_layer_norm_not_in_a_tail_when_the_product_is_used_elsewhere():
    # The Gemm's output also feeds a second output: the LayerNorm runs as its own function group.
    g = MatmulGraph("gemm")
    y = layer_norm_after(g, "conv")
    extra = unary("Relu")(g, "conv")
    outs, singles, fused = run_three_ways(g.model([y, extra]), g.feeds)
    assert "Gemm" in singles or fused >= 2, f"ran {singles} and {fused} fused"
    assert "ReduceMean" not in singles, f"the LayerNorm should still run as one node: {singles}"


def test_layer_norm_after_a_conv_is_not_in_its_tail():
    # A convolution's last axis is not its channels: Conv keeps its own group, the LayerNorm its own.
    g = Graph(c_in=4, c_out=8, hw=10, kernel=3)
    g.c_out = 10  # the LayerNorm runs over W
    y = layer_norm_after(g, "conv")
    _, singles, fused = run_three_ways(g.model([y]), g.feeds)
    assert "Conv" in singles and "ReduceMean" not in singles, f"ran {singles} and {fused} fused"


# ---- an Add of a tensor zero-padded in channels: Add(conv, Concat(t, zeros)) (BlazeFace) ----

def padded_residual(g, x, t_channels=None, relu=True, zeros_value=0.0, zeros_first=False, axis=1):
    """Adds Concat(t, zeros) along `axis` to x (the Conv's [1, c_out, hw, hw] output, or a
    MatMul's) and a Relu. t is the Conv's own input, as in BlazeFace's blocks (with layout=nhwc
    ORT's transpose optimizer then moves the Concat into the channels-last region), or a graph
    input of t_channels along the axis."""
    out = list(g.out) if hasattr(g, "out") else [1, g.c_out, g.hw, g.hw]
    if t_channels is None:
        # x made by a Conv before the anchor: the Concat's input is channels-last already (with
        # layout=nhwc), as in BlazeFace, and ORT's transpose optimizer moves the Concat there.
        c_in = g.feeds["x"].shape[1]
        g.inputs[0] = helper.make_tensor_value_info("x0", TensorProto.FLOAT, list(g.feeds["x"].shape))
        g.feeds = {"x0": g.feeds.pop("x"), **g.feeds}
        g.inits.append(const("W0", f32(c_in, c_in, 1, 1, scale=0.3)))
        g.nodes.insert(0, helper.make_node("Conv", ["x0", "W0"], ["x"]))
        t = "x"
        t_channels = c_in
    else:
        t = "t"
        ts = list(out)
        ts[axis] = t_channels
        g.add_input("t", f32(*ts))
    zs = list(out)
    zs[axis] = out[axis] - t_channels
    z = np.full(zs, zeros_value, np.float32)
    if zeros_value != 0.0:
        z.flat[0] = 0.0  # zeros except the last element
        z.flat[-1] = zeros_value
    zname = g.constant(z)
    g.node("Concat", [zname, t] if zeros_first else [t, zname], "padded", axis=axis)
    y = g.node("Add", [x, "padded"], "res")
    y = g.node("Relu", [y], "res_relu") if relu else y
    if hasattr(g, "out"):
        return y
    # and a Conv after it: with layout=nhwc the block then sits inside the channels-last region
    # (ORT's transpose optimizer leaves the Concat channels-first before a graph output)
    g.inits.append(const("W_after", f32(8, g.c_out, 1, 1, scale=0.3)))
    return g.node("Conv", [y, "W_after"], "after")


# The anchors: Anvil's pointwise kernel (24 -> 28 and 16 -> 24, 1x1 channels-last; the residual
# added in registers, 9x9 pixels leave a partial tile), oneDNN's 1x1 (16 -> 32) and 3x3 (8 -> 24)
# convolutions (the padded Add in Anvil's pass after the primitive).
PADDED_ANCHORS = {
    "pointwise_24_28": dict(c_in=24, c_out=28, kernel=1, hw=9),
    "pointwise_16_24": dict(c_in=16, c_out=24, kernel=1, hw=9),
    "onednn_1x1_16_32": dict(c_in=16, c_out=32, kernel=1, hw=9),
    "onednn_3x3_8_24": dict(c_in=8, c_out=24, kernel=3, hw=7),
}


@pytest.mark.parametrize("layout", ["nhwc", "nchw"])
@pytest.mark.parametrize("relu", [True, False], ids=["relu", "no_relu"])
@pytest.mark.parametrize("anchor", list(PADDED_ANCHORS))
def test_channel_padded_residual_fuses(anchor, relu, layout):
    kw = PADDED_ANCHORS[anchor]
    g = Graph(**kw)
    g.hw = kw["hw"]
    y = padded_residual(g, "conv", relu=relu)
    _, singles, fused = run_three_ways(g.model([y]), g.feeds, layout=layout)
    # (the Convs before and after it run alone: the one before has two consumers)
    assert fused == 1 and singles == {"Conv"}, f"expected one fused node (Concat and Add in it), ran {singles} and {fused} fused"


def test_channel_padded_residual_in_the_dispatch_log(capfd):
    g = Graph(c_in=24, c_out=28, kernel=1, hw=9)
    g.hw = 9
    y = padded_residual(g, "conv")
    session(g.model([y]), options={"log": "dispatch"}).run(None, g.feeds)
    err = capfd.readouterr().err
    assert "Conv + Add a zero-padded tensor (Concat with zeros) + Relu" in err, err
    assert "anvil:pointwise_conv" in err and "its tail of 2 steps in registers" in err, err


def test_channel_padded_residual_after_a_matmul_fuses():
    g = MatmulGraph("matmul")  # [2, 5, 24], padded along the last axis from 10
    y = padded_residual(g, "conv", 10, axis=2)
    _, singles, fused = run_three_ways(g.model([y]), g.feeds, ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
    assert fused == 1 and not singles, f"ran {singles} and {fused} fused"


@pytest.mark.parametrize("miss", ["not_zeros", "zeros_first", "padded_used_elsewhere", "zeros_at_run_time"])
def test_channel_padded_residual_near_misses_do_not_fuse_it(miss):
    g = Graph(c_in=24, c_out=28, kernel=1, hw=9)
    g.hw = 9
    outputs = []
    if miss == "zeros_at_run_time":  # the padding is a graph input, not a constant
        g.add_input("z", np.zeros((1, 4, 9, 9), np.float32))
        g.node("Concat", ["x", "z"], "padded", axis=1)
        y = g.node("Relu", [g.node("Add", ["conv", "padded"], "res")], "res_relu")
    else:
        y = padded_residual(g, "conv", zeros_value=0.5 if miss == "not_zeros" else 0.0,
                            zeros_first=miss == "zeros_first")
        if miss == "padded_used_elsewhere":
            outputs.append("padded")
    _, singles, fused = run_three_ways(g.model([y] + outputs), g.feeds)
    # The Concat runs on its own; the Conv still fuses the Add (of the whole padded tensor) and Relu.
    assert "Concat" in singles and fused == 1, f"ran {singles} and {fused} fused"


# ---- element-wise heads (ANVIL_HEAD): a chain of element-wise nodes as one node ----

def elementwise_graph(op, a_shape, b_shape):
    g = Graph.__new__(Graph)
    g.nodes, g.inits, g.inputs, g.feeds, g.opset, g.counter = [], [], [], {}, 17, 0
    g.add_input("a", f32(*a_shape))
    g.add_input("b", (np.abs(f32(*b_shape)) + 0.5).astype(np.float32) if op == "Div" else f32(*b_shape))
    g.c_out = a_shape[1] if len(a_shape) > 1 else a_shape[0]
    return g, g.node(op, ["a", "b"], "h")


@pytest.mark.parametrize("case", ["add_relu", "se_scale_residual", "sub_div_sigmoid", "broadcast_head_relu",
                                  "div_hardswish"])
def test_elementwise_chain_fuses(case):
    if case == "add_relu":
        g, h = elementwise_graph("Add", (2, 8, 6, 6), (2, 8, 6, 6))
        y = unary("Relu")(g, h)
    elif case == "se_scale_residual":  # squeeze-and-excitation scale, then the block's residual
        g, h = elementwise_graph("Mul", (1, 8, 6, 6), (1, 8, 1, 1))
        g.add_input("r", f32(1, 8, 6, 6))
        y = g.node("Add", ["r", h], "res")
    elif case == "sub_div_sigmoid":
        g, h = elementwise_graph("Sub", (3, 7), (3, 7))
        y = unary("Sigmoid")(g, g.node("Div", [h, g.constant(1.5)], "d"))
    elif case == "broadcast_head_relu":  # the head broadcasts: its output is wider than either input
        g, h = elementwise_graph("Add", (1, 8, 1, 1), (1, 1, 6, 6))
        y = unary("Relu")(g, h)
    else:
        g, h = elementwise_graph("Div", (2, 8, 5, 5), (1, 8, 1, 1))
        y = hardswish_div(g, h)
    _, singles, fused = run_three_ways(g.model([y]), g.feeds)
    assert fused == 1 and not singles, f"expected one fused node, ran {singles} and {fused} fused"


def test_elementwise_head_with_two_consumers_runs_alone():
    g, h = elementwise_graph("Add", (2, 8, 6, 6), (2, 8, 6, 6))
    y = unary("Relu")(g, h)
    _, singles, fused = run_three_ways(g.model([y, h]), g.feeds)  # the Add's output is also a graph output
    assert fused == 0 and singles == {"Add", "Relu"}, f"ran {singles} and {fused} fused"


def batch_norm_graph(x_shape=(1, 6, 9, 9)):
    g = Graph.__new__(Graph)
    g.nodes, g.inits, g.inputs, g.feeds, g.opset, g.counter = [], [], [], {}, 17, 0
    c = x_shape[1]
    g.add_input("a", f32(*x_shape))
    g.inits += [const("s", f32(c)), const("t", f32(c)), const("mu", f32(c)),
                const("var", np.abs(f32(c)) + 0.1)]
    g.c_out = c
    return g


@pytest.mark.parametrize("case", ["bn_relu", "bn_clip_affine", "conv_transpose_add_bn_relu"])
def test_batch_norm_head_fuses(case):
    # An inference BatchNormalization heads an element-wise chain (PaddleOCR det's
    # ConvTranspose -> Add -> BatchNormalization -> Relu: two groups).
    if case == "conv_transpose_add_bn_relu":
        g = Graph(c_in=8, c_out=6, hw=5, kernel=2, transpose=True)
        g.inits += [const("s", f32(6)), const("t", f32(6)), const("mu", f32(6)), const("var", np.abs(f32(6)) + 0.1)]
        g.inits.append(const("bias", f32(1, 6, 1, 1)))
        src = g.node("Add", ["conv", "bias"], "ct_add")
        want_fused = 2
    else:
        g = batch_norm_graph()
        src = "a"
        want_fused = 1
    b = g.node("BatchNormalization", [src, "s", "t", "mu", "var"], "bn", epsilon=1e-3)
    y = unary("Relu")(g, b) if case != "bn_clip_affine" else affine(g, clip(g, b))
    _, singles, fused = run_three_ways(g.model([y]), g.feeds)
    assert fused == want_fused and not singles, f"ran {singles} and {fused} fused"


def test_batch_norm_head_with_two_consumers_runs_alone():
    g = batch_norm_graph()
    b = g.node("BatchNormalization", ["a", "s", "t", "mu", "var"], "bn")
    y = unary("Relu")(g, b)
    _, singles, fused = run_three_ways(g.model([y, b]), g.feeds)  # the BN's output is a graph output too
    assert fused == 0 and singles == {"BatchNormalization", "Relu"}, f"ran {singles} and {fused} fused"


def test_elementwise_chain_keeps_nan_as_ort():
    g, h = elementwise_graph("Mul", (2, 8, 6, 6), (1, 8, 1, 1))
    y = unary("Relu")(g, g.node("Add", [h, g.constant(0.25)], "s"))
    model = g.model([y])
    a = g.feeds["a"].copy()
    a.flat[::7] = np.nan
    feeds = dict(g.feeds, a=a)
    want = run_cpu(model, feeds.items())[0]
    got = session(model).run(None, feeds)[0]
    assert np.isnan(want).any()
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got[~np.isnan(want)], want[~np.isnan(want)], rtol=RTOL, atol=ATOL)
