"""Channels-last pointwise Conv on Anvil's own kernel (src/compute/nn/pointwise_conv.cc, chosen in
src/kernels/dnnl/conv.cc): 1x1, stride 1, unpadded, ungrouped, output channels 8 mod 16 (24, 40,
..., 120, where oneDNN's 16-lane kernels waste lanes), constant weights, and a fused tail of an Add
of a tensor then a Relu, LeakyRelu or Clip, each optional.

Each case checks that the kernel really ran (the dispatch log names anvil:pointwise_conv, on an
AVX-512 CPU; elsewhere oneDNN runs and only the results are checked) and that the output matches
ORT's CPU EP and Anvil's unfused path. Near misses (other channel counts, a stride, padding, a tail
step the kernel does not apply, NCHW) run on oneDNN and must be right too.

Tolerance: rtol 1e-4, atol 1e-4, as for the other convolutions (tests/kernels/test_dnnl.py): sums
of at most a few hundred float32 products of O(1) values, where any indexing error in the packed
pixel pairs gives O(1) differences."""
import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

import onnxruntime as ort
from anvil_testing import anvil_devices, ensure_registered, run_cpu, session

RTOL = 1e-4
ATOL = 1e-4
rng = np.random.default_rng(11)
AVX512 = "avx512f" in open("/proc/cpuinfo").read()


def f32(*shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def conv_model(c_in, c_out, hw, n=1, tail=(), kernel=1, stride=1, pad=0, residual_shape=None, bias=True):
    """X [n, c_in, h, w] -> Conv (W constant) -> the tail's ops. `tail`: names from
    add, relu, leaky, clip, sigmoid. The residual input R has the Conv output's shape unless
    `residual_shape` says otherwise."""
    h, w = hw if isinstance(hw, tuple) else (hw, hw)
    x = f32(n, c_in, h, w)
    weight = f32(c_out, c_in, kernel, kernel, scale=0.3)
    inits = [numpy_helper.from_array(weight, "W")]
    conv_inputs = ["X", "W"]
    if bias:
        inits.append(numpy_helper.from_array(f32(c_out), "B"))
        conv_inputs.append("B")
    nodes = [helper.make_node("Conv", conv_inputs, ["conv"], pads=[pad] * 4, strides=[stride] * 2)]
    oh, ow = (h + 2 * pad - kernel) // stride + 1, (w + 2 * pad - kernel) // stride + 1
    inputs = [helper.make_tensor_value_info("X", TensorProto.FLOAT, list(x.shape))]
    feeds = {"X": x}
    last = "conv"
    for i, op in enumerate(tail):
        out = f"t{i}"
        if op == "add":
            r = f32(*(residual_shape or (n, c_out, oh, ow)))
            inputs.append(helper.make_tensor_value_info("R", TensorProto.FLOAT, list(r.shape)))
            feeds["R"] = r
            nodes.append(helper.make_node("Add", [last, "R"], [out]))
        elif op == "relu":
            nodes.append(helper.make_node("Relu", [last], [out]))
        elif op == "leaky":
            nodes.append(helper.make_node("LeakyRelu", [last], [out], alpha=0.15))
        elif op == "clip":
            inits += [numpy_helper.from_array(np.float32(-0.5), f"lo{i}"), numpy_helper.from_array(np.float32(0.8), f"hi{i}")]
            nodes.append(helper.make_node("Clip", [last, f"lo{i}", f"hi{i}"], [out]))
        elif op == "sigmoid":
            nodes.append(helper.make_node("Sigmoid", [last], [out]))
        last = out
    graph = helper.make_graph(nodes, "pointwise", inputs, [helper.make_tensor_value_info(last, TensorProto.FLOAT, None)],
                              initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model, feeds


def check(capfd, model, feeds, options=None):
    """Runs on Anvil (twice: the second call reuses the plan), compares with ORT's CPU EP and the
    unfused path, returns the dispatch log."""
    sess = session(model, options={"log": "dispatch", **(options or {})})
    for _ in range(2):
        got = sess.run(None, feeds)[0]
    want = run_cpu(model, feeds.items())[0]
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL, err_msg="Anvil vs ORT's CPU EP")
    unfused = session(model, options={"fuse": "0", **(options or {})}).run(None, feeds)[0]
    np.testing.assert_allclose(got, unfused, rtol=RTOL, atol=ATOL, err_msg="fused vs Anvil unfused")
    return capfd.readouterr().err


@pytest.mark.parametrize("c_in,c_out,hw,n", [
    (24, 24, 13, 1),       # 169 pixels: 10 whole tiles of 16 and a partial one
    (24, 24, 16, 2),       # a batch: pixels run across images
    (96, 24, (5, 7), 1),
    (7, 40, 5, 1),         # 40 channels: periods of 2 pixels in 5 vectors
    (48, 56, 3, 1),
    (16, 120, 4, 1),       # 120: 2 pixels in 15 vectors
    (3, 88, 1, 1),         # one pixel
    (24, 28, 9, 1),        # 28 (4 mod 8): 4 pixels in 7 vectors, pixel boundaries at lanes 12, 8, 4
    (32, 36, 5, 1),        # 36: 4 pixels in 9 vectors
    (16, 20, (3, 5), 1),   # 20: 4 pixels in 5 vectors
])
@pytest.mark.parametrize("tail", [(), ("relu",), ("add", "relu"), ("add",), ("add", "leaky"), ("clip",)],
                         ids=["none", "relu", "add_relu", "add", "add_leaky", "clip"])
def test_pointwise_conv_runs_anvils_kernel(capfd, c_in, c_out, hw, n, tail):
    model, feeds = conv_model(c_in, c_out, hw, n, tail)
    log = check(capfd, model, feeds)
    if AVX512:
        assert "anvil:pointwise_conv" in log, log
        if tail:
            assert f"its tail of {len(tail)} steps in registers" in log, log


def test_pointwise_conv_without_bias_and_with_nan(capfd):
    # NaN in, NaN out through the Relu (as ORT's Relu; a max(v, 0) with the operands the other way
    # round would turn it into 0).
    model, feeds = conv_model(24, 24, 6, tail=("add", "relu"), bias=False)
    feeds["X"][0, 3, 2, 2] = np.nan
    feeds["R"][0, 5, 1, 4] = np.nan
    log = check(capfd, model, feeds)
    got = session(model).run(None, feeds)[0]
    assert np.isnan(got[0, :, 2, 2]).all() and np.isnan(got[0, 5, 1, 4])
    assert not AVX512 or "anvil:pointwise_conv" in log, log


def test_pointwise_conv_broadcast_residual_goes_to_anvils_pass(capfd):
    # A per-channel Add (broadcast) is not the residual the kernel reads in registers: the kernel
    # runs the convolution and Anvil's pass applies the whole tail.
    model, feeds = conv_model(24, 24, 6, tail=("add", "relu"), residual_shape=(1, 24, 1, 1))
    log = check(capfd, model, feeds)
    assert not AVX512 or "anvil:pointwise_conv" in log, log


@pytest.mark.parametrize("case", [
    dict(c_in=24, c_out=48, hw=6),                      # 48 channels: oneDNN wastes nothing
    dict(c_in=24, c_out=30, hw=6),                      # not a multiple of 4
    dict(c_in=24, c_out=44, hw=6),                      # 4 mod 8, a period too wide for the registers
    dict(c_in=24, c_out=24, hw=7, stride=2),            # strided
    dict(c_in=24, c_out=24, hw=6, pad=1),               # padded
    dict(c_in=24, c_out=24, hw=6, kernel=3, pad=1),     # spatial kernel
    dict(c_in=24, c_out=24, hw=6, tail=("sigmoid",)),   # a tail step the kernel does not apply
    dict(c_in=24, c_out=136, hw=3),                     # more channels than the kernel's tiles
], ids=["m48", "m30", "m44", "stride2", "pad1", "k3", "sigmoid", "m136"])
def test_near_misses_run_on_onednn(capfd, case):
    model, feeds = conv_model(n=1, **case)
    log = check(capfd, model, feeds)
    assert "anvil:pointwise_conv" not in log, log
    assert "onednn:" in log, log


def test_channels_first_layout_runs_on_onednn(capfd):
    model, feeds = conv_model(24, 24, 6, tail=("add", "relu"))
    log = check(capfd, model, feeds, options={"layout": "nchw"})
    assert "anvil:pointwise_conv" not in log, log


def anvil_session(model, config):
    ensure_registered()
    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.add_session_config_entry("session.disable_cpu_ep_fallback", "1")
    for k, v in config.items():
        so.add_session_config_entry(k, v)
    so.add_provider_for_devices(anvil_devices(), {})
    return ort.InferenceSession(model.SerializeToString(), so)


def test_packed_weights_shared_and_unpacked(capfd):
    # The packed weight goes through the factory's cache: a second session of the same model gets
    # the same buffers (and tells them from oneDNN's by their header). Without pre-packing the
    # weight is not constant to the kernel, and oneDNN runs it.
    model, feeds = conv_model(24, 40, 9, tail=("add", "relu"))
    want = run_cpu(model, feeds.items())[0]
    first, second = anvil_session(model, {}), anvil_session(model, {})
    for sess in (first, second, first):
        np.testing.assert_allclose(sess.run(None, feeds)[0], want, rtol=RTOL, atol=ATOL)
    unpacked = anvil_session(model, {"session.disable_prepacking": "1"})
    np.testing.assert_allclose(unpacked.run(None, feeds)[0], want, rtol=RTOL, atol=ATOL)


def test_dynamic_spatial_size_reuses_the_packed_weight():
    # The kernel does not depend on the pixel count: one packed weight serves every input size.
    model, _ = conv_model(24, 24, 8, tail=("relu",))
    for d in (2, 3):
        model.graph.input[0].type.tensor_type.shape.dim[d].Clear()
        model.graph.input[0].type.tensor_type.shape.dim[d].dim_param = f"s{d}"
    sess = session(model)
    for h, w in [(8, 8), (3, 17), (1, 1), (31, 9)]:
        x = f32(1, 24, h, w)
        np.testing.assert_allclose(sess.run(None, {"X": x})[0], run_cpu(model, [("X", x)])[0], rtol=RTOL, atol=ATOL)
