"""Anvil's RNN, GRU and LSTM kernels (src/kernels/recurrent/) against ORT's CPU EP, every schema
revision, with CPU fallback disabled so each node provably ran on Anvil.

ORT's CPU EP has no layout=1 (batch-major) and no working double GRU/LSTM (registered, but they
fail at run time): those cases are checked against ORT's layout-0 float results on the same
values (inputs transposed / rounded to float). Silero VAD v5/v6, whose LSTMs sit in If branches,
must place every LSTM node on Anvil and match ORT's CPU EP."""
import itertools
import os
import pathlib

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import anvil_testing as t
from anvil_testing import schema_revisions

RNG = np.random.default_rng(int(os.environ.get("ANVIL_TEST_SEED", "2024")))
GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}
INPUT_NAMES = {
    "RNN": ["X", "W", "R", "B", "sequence_lens", "initial_h"],
    "GRU": ["X", "W", "R", "B", "sequence_lens", "initial_h"],
    "LSTM": ["X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P"],
}
OUTPUT_NAMES = {"RNN": ["Y", "Y_h"], "GRU": ["Y", "Y_h"], "LSTM": ["Y", "Y_h", "Y_c"]}
ONNX_TYPE = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float64): TensorProto.DOUBLE,
             np.dtype(np.int32): TensorProto.INT32}
REVS = {op: schema_revisions(op) for op in GATES}


def rand(*shape, scale=1.0):
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def make_inputs(op, S=3, B=2, I=4, H=5, dirs=1, bias=True, lens=None, h0=False, c0=False, peep=False,
                layout=0, scale=0.6):
    """The node's inputs in schema order, None for absent ones. `lens`: list of sequence lengths."""
    g = GATES[op]
    x = rand(*((S, B, I) if layout == 0 else (B, S, I)), scale=1.0)
    state = (dirs, B, H) if layout == 0 else (B, dirs, H)
    v = {
        "X": x,
        "W": rand(dirs, g * H, I, scale=scale),
        "R": rand(dirs, g * H, H, scale=scale),
        "B": rand(dirs, 2 * g * H, scale=scale) if bias else None,
        "sequence_lens": np.array(lens, np.int32) if lens is not None else None,
        "initial_h": rand(*state) if h0 else None,
        "initial_c": rand(*state) if c0 and op == "LSTM" else None,
        "P": rand(dirs, 3 * H, scale=scale) if peep and op == "LSTM" else None,
    }
    return [(n, v[n]) for n in INPUT_NAMES[op]]


def build(op, opset, inputs, attrs, outputs, constant_weights=True):
    """One-node model. `outputs`: names per output slot, "" for an absent optional output."""
    names, graph_inputs, inits = [], [], []
    for name, value in inputs:
        if value is None:
            names.append("")
            continue
        names.append(name)
        if constant_weights and name in ("W", "R", "B", "P"):
            inits.append(onnx.numpy_helper.from_array(value, name))
        else:
            graph_inputs.append(helper.make_tensor_value_info(name, ONNX_TYPE[value.dtype], list(value.shape)))
    while names and names[-1] == "":
        names.pop()
    elem = ONNX_TYPE[inputs[0][1].dtype]
    graph_outputs = [helper.make_tensor_value_info(o, elem, None) for o in outputs if o]
    node = helper.make_node(op, names, outputs, **attrs)
    graph = helper.make_graph([node], f"{op}_test", graph_inputs, graph_outputs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8 if opset <= 17 else 10
    return model


def feeds(model, inputs):
    graph_names = {i.name for i in model.graph.input}
    return {n: v for n, v in inputs if v is not None and n in graph_names}


def compare(got, want, rtol=1e-4, atol=2e-5, what=""):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape, f"{what}: shape {g.shape} != {w.shape}"
        np.testing.assert_allclose(g.astype(np.float64), w.astype(np.float64), rtol=rtol, atol=atol, err_msg=what)


def check(op, opset, inputs, attrs, outputs=None, constant_weights=True, rtol=1e-4, atol=2e-5, threads=None):
    """Anvil (no fallback) against ORT's CPU EP on the same one-node model."""
    outputs = outputs if outputs is not None else OUTPUT_NAMES[op]
    attrs = {"hidden_size": next(v for n, v in inputs if n == "R").shape[2], **attrs}
    model = build(op, opset, inputs, attrs, outputs, constant_weights)
    got = t.session(model, anvil=True, threads=threads).run(None, feeds(model, inputs))
    want = t.session(model, anvil=False).run(None, feeds(model, inputs))
    compare(got, want, rtol, atol, f"{op} opset {opset} {attrs}")
    return got


def test_revisions_listed():
    for op in GATES:
        assert [s for s, _ in REVS[op]] == [7, 14, 22]


ALL = [(op, since, opset) for op in GATES for since, opset in REVS[op]]
ALL_IDS = [f"{op}-{since}" for op, since, _ in ALL]


@pytest.mark.parametrize("op,since,opset", ALL, ids=ALL_IDS)
@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
@pytest.mark.parametrize("constant_weights", [True, False], ids=["packed", "plain"])
def test_directions(op, since, opset, direction, constant_weights):
    dirs = 2 if direction == "bidirectional" else 1
    inputs = make_inputs(op, S=4, B=3, I=5, H=6, dirs=dirs, h0=True, c0=True)
    check(op, opset, inputs, {"direction": direction}, constant_weights=constant_weights)


@pytest.mark.parametrize("op,since,opset", ALL, ids=ALL_IDS)
@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
@pytest.mark.parametrize("lens", [[4, 2, 0, 3], [0, 0, 0, 0], [1, 4, 4, 1]], ids=["mixed", "empty", "ends"])
def test_sequence_lens(op, since, opset, direction, lens):
    dirs = 2 if direction == "bidirectional" else 1
    inputs = make_inputs(op, S=4, B=4, I=3, H=5, dirs=dirs, lens=lens, h0=True, c0=True, peep=True)
    check(op, opset, inputs, {"direction": direction})


@pytest.mark.parametrize("op", list(GATES))
@pytest.mark.parametrize("bias,h0,c0", [(False, False, False), (True, False, True), (False, True, False)])
def test_optional_inputs(op, bias, h0, c0):
    inputs = make_inputs(op, S=3, B=2, I=4, H=7, bias=bias, h0=h0, c0=c0)
    check(op, 14, inputs, {})


MASKS = [(op, mask) for op in GATES for mask in itertools.product([0, 1], repeat=len(OUTPUT_NAMES[op])) if any(mask)]


@pytest.mark.parametrize("op,mask", MASKS, ids=[f"{op}-{''.join(map(str, m))}" for op, m in MASKS])
def test_missing_outputs(op, mask):
    outputs = [n if m else "" for n, m in zip(OUTPUT_NAMES[op], mask)]
    while outputs[-1] == "":
        outputs.pop()
    inputs = make_inputs(op, S=3, B=2, I=3, H=4, dirs=2, lens=[3, 1], h0=True, c0=True)
    check(op, 14, inputs, {"direction": "bidirectional"}, outputs=outputs)


@pytest.mark.parametrize("direction", ["forward", "bidirectional"])
@pytest.mark.parametrize("input_forget", [0, 1])
def test_lstm_peepholes_input_forget(direction, input_forget):
    dirs = 2 if direction == "bidirectional" else 1
    inputs = make_inputs("LSTM", S=5, B=3, I=4, H=6, dirs=dirs, h0=True, c0=True, peep=True)
    check("LSTM", 14, inputs, {"direction": direction, "input_forget": input_forget})


@pytest.mark.parametrize("since,opset", REVS["GRU"])
@pytest.mark.parametrize("lbr", [0, 1])
@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
def test_gru_linear_before_reset(since, opset, lbr, direction):
    dirs = 2 if direction == "bidirectional" else 1
    inputs = make_inputs("GRU", S=4, B=3, I=5, H=9, dirs=dirs, h0=True, lens=[4, 2, 3])
    check("GRU", opset, inputs, {"linear_before_reset": lbr, "direction": direction})


@pytest.mark.parametrize("op", list(GATES))
@pytest.mark.parametrize("clip", [0.3, 2.0])
def test_clip(op, clip):
    inputs = make_inputs(op, S=4, B=2, I=4, H=5, h0=True, c0=True, peep=True, scale=2.0)
    check(op, 14, inputs, {"clip": clip})


@pytest.mark.parametrize("clip", [-1.0, 0.0])
def test_rnn_clip_edges(clip):
    # ORT's RNN: a negative clip means none, 0 clamps every pre-activation to 0.
    inputs = make_inputs("RNN", S=3, B=2, I=4, H=5, h0=True, scale=2.0)
    got = check("RNN", 14, inputs, {"clip": clip, "activations": ["Affine"], "activation_alpha": [1.0],
                                    "activation_beta": [0.25]})
    assert (np.abs(got[0] - 0.25) < 1e-6).all() == (clip == 0.0)


ACTS = [("Relu", None, None), ("Tanh", None, None), ("Sigmoid", None, None), ("Affine", 0.7, 0.2),
        ("LeakyRelu", 0.3, None), ("ThresholdedRelu", 0.2, None), ("ScaledTanh", 1.5, 0.8),
        ("HardSigmoid", 0.3, 0.4), ("Elu", 0.9, None), ("Softsign", None, None), ("Softplus", None, None)]


@pytest.mark.parametrize("op", list(GATES))
@pytest.mark.parametrize("name,alpha,beta", ACTS, ids=[a[0] for a in ACTS])
@pytest.mark.parametrize("defaults", [False, True], ids=["given", "default"])
def test_activations(op, name, alpha, beta, defaults):
    """Each activation in each slot of the cell, with alpha/beta given or left to ORT's defaults."""
    per_dir = {"RNN": 1, "GRU": 2, "LSTM": 3}[op]
    base = {"RNN": ["Tanh"], "GRU": ["Sigmoid", "Tanh"], "LSTM": ["Sigmoid", "Tanh", "Tanh"]}[op]
    for slot in range(per_dir):
        acts = list(base)
        acts[slot] = name
        attrs = {"activations": acts * 2, "direction": "bidirectional"}
        if not defaults and (alpha is not None or beta is not None):
            if op == "RNN":  # alpha/beta per direction
                if alpha is not None:
                    attrs["activation_alpha"] = [alpha, alpha * 0.5]
                if beta is not None:
                    attrs["activation_beta"] = [beta, beta * 0.5]
            else:  # consumed in order by the activations that take them
                if alpha is not None:
                    attrs["activation_alpha"] = [alpha, alpha * 0.5]
                if beta is not None:
                    attrs["activation_beta"] = [beta, beta * 0.5]
        # Gates outside [0, 1] (GRU's z, LSTM's f with ScaledTanh, Elu, Softplus, ...) make the
        # recurrence expand (with large weights it overflows within a few steps, on both sides):
        # smaller weights there, and rounding differences (ORT's GRU uses its own tanh/sigmoid
        # approximations, 6e-7 off) still grow several times per step.
        loose = op != "RNN" and slot == 0
        inputs = make_inputs(op, S=3, B=2, I=3, H=5, dirs=2, h0=True, c0=True, scale=0.4 if loose else 1.2)
        check(op, 14, inputs, attrs, rtol=1e-3 if loose else 1e-4, atol=2e-4 if loose else 2e-5)


@pytest.mark.parametrize("op", list(GATES))
def test_alpha_beta_consumed_in_order(op):
    """ORT hands alpha/beta values to the activations that take them, in order, and falls back to
    its defaults when the lists run out (RNN included)."""
    per_dir = {"RNN": ["Tanh"], "GRU": ["Sigmoid", "Tanh"], "LSTM": ["Sigmoid", "Tanh", "Tanh"]}[op]
    acts = per_dir[:-1] + ["LeakyRelu"] + per_dir[:-1] + ["HardSigmoid"]
    for alphas, betas in [([0.5], []), ([0.5, 0.1], [0.9]), ([], [0.2])]:
        attrs = {"activations": acts, "direction": "bidirectional"}
        if alphas:
            attrs["activation_alpha"] = alphas
        if betas:
            attrs["activation_beta"] = betas
        inputs = make_inputs(op, S=3, B=2, I=3, H=5, dirs=2, h0=True, scale=1.5)
        check(op, 14, inputs, attrs)


def test_activation_names_case():
    # GRU and LSTM accept any case (as ORT does).
    inputs = make_inputs("LSTM", S=2, B=1, I=3, H=4)
    check("LSTM", 14, inputs, {"activations": ["sigmoid", "TANH", "Relu"]})
    inputs = make_inputs("GRU", S=2, B=1, I=3, H=4)
    check("GRU", 14, inputs, {"activations": ["HARDSIGMOID", "softsign"]})


@pytest.mark.parametrize("op", list(GATES))
@pytest.mark.parametrize("B,H,I,S", [(1, 128, 128, 1), (1, 33, 17, 7), (5, 20, 3, 6), (8, 40, 64, 9), (17, 3, 1, 2)])
def test_sizes(op, B, H, I, S):
    inputs = make_inputs(op, S=S, B=B, I=I, H=H, h0=True, c0=True, scale=1.0 / np.sqrt(max(H, I)))
    check(op, 14, inputs, {}, rtol=2e-4, atol=5e-5)


@pytest.mark.parametrize("op", list(GATES))
@pytest.mark.parametrize("layout", [0, 1])
def test_zero_batch(op, layout):
    # Empty outputs. Not compared with ORT's CPU EP: its GRU aborts the process on batch 0.
    inputs = make_inputs(op, S=3, B=0, I=3, H=4, h0=True, layout=layout)
    got = run_anvil(op, 14, inputs, {"layout": layout}, OUTPUT_NAMES[op])
    assert got[0].shape == ((3, 1, 0, 4) if layout == 0 else (0, 3, 1, 4))
    for g in got[1:]:
        assert g.shape == ((1, 0, 4) if layout == 0 else (0, 1, 4))


@pytest.mark.parametrize("op", list(GATES))
def test_zero_sequence(op):
    # seq_length 0: Y is empty and the final states are zeros, as for a zero sequence_lens. ORT's
    # RNN agrees; its LSTM returns uninitialised memory for Y_h/Y_c and its GRU aborts the process.
    inputs = make_inputs(op, S=0, B=2, I=3, H=4, h0=True, c0=True)
    if op == "RNN":
        check(op, 14, inputs, {})
        return
    got = run_anvil(op, 14, inputs, {}, OUTPUT_NAMES[op])
    zeros = np.zeros((1, 2, 4), np.float32)
    compare(got, [np.zeros((0, 1, 2, 4), np.float32)] + [zeros] * (len(OUTPUT_NAMES[op]) - 1))


@pytest.mark.parametrize("op", list(GATES))
def test_zero_input_size(op):
    # input_size 0: the gates see only the recurrence and the biases. ORT's GRU aborts the
    # process here, so GRU is checked against an LSTM-free formula: X * W^T is zero.
    inputs = make_inputs(op, S=3, B=2, I=0, H=4, h0=True)
    if op != "GRU":
        check(op, 14, inputs, {})
        return
    got = run_anvil(op, 14, inputs, {}, OUTPUT_NAMES[op])
    v = dict(inputs)
    H = 4
    wb, rb, r, h = v["B"][0, :3 * H], v["B"][0, 3 * H:], v["R"][0], v["initial_h"][0].astype(np.float64)
    sig = lambda a: 1 / (1 + np.exp(-a))
    ys = []
    for _ in range(3):
        z = sig(h @ r[:H].T + wb[:H] + rb[:H])
        rr = sig(h @ r[H:2 * H].T + wb[H:2 * H] + rb[H:2 * H])
        hh = np.tanh((rr * h) @ r[2 * H:].T + wb[2 * H:] + rb[2 * H:])
        h = (1 - z) * hh + z * h
        ys.append(h)
    compare(got, [np.stack(ys)[:, None], h[None]])


# ---------------------------------------------------------------------------------------------
# layout = 1 and double: ORT's CPU EP has neither; compare with its layout-0 float results.

def run_anvil(op, opset, inputs, attrs, outputs, constant_weights=True):
    attrs = {"hidden_size": next(v for n, v in inputs if n == "R").shape[2], **attrs}
    model = build(op, opset, inputs, attrs, outputs, constant_weights)
    return t.session(model, anvil=True).run(None, feeds(model, inputs))


def run_cpu(op, opset, inputs, attrs, outputs):
    attrs = {"hidden_size": next(v for n, v in inputs if n == "R").shape[2], **attrs}
    model = build(op, opset, inputs, attrs, outputs)
    return t.session(model, anvil=False).run(None, feeds(model, inputs))


@pytest.mark.parametrize("op", list(GATES))
@pytest.mark.parametrize("since,opset", REVS["LSTM"][1:])
@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
def test_layout_batch_major(op, since, opset, direction):
    dirs = 2 if direction == "bidirectional" else 1
    inputs = make_inputs(op, S=4, B=3, I=3, H=5, dirs=dirs, lens=[4, 1, 3], h0=True, c0=True, peep=True, layout=1)
    outputs = OUTPUT_NAMES[op]
    got = run_anvil(op, opset, inputs, {"direction": direction, "layout": 1}, outputs)
    seq_major = [(n, (v.transpose(1, 0, 2) if n in ("X", "initial_h", "initial_c") and v is not None else v))
                 for n, v in inputs]
    want = run_cpu(op, opset, seq_major, {"direction": direction}, outputs)
    want = [want[0].transpose(2, 0, 1, 3)] + [w.transpose(1, 0, 2) for w in want[1:]]
    compare(got, want, what=f"{op} layout 1")


@pytest.mark.parametrize("op", ["GRU", "LSTM"])
@pytest.mark.parametrize("since,opset", REVS["LSTM"])
@pytest.mark.parametrize("direction", ["forward", "bidirectional"])
def test_double(op, since, opset, direction):
    dirs = 2 if direction == "bidirectional" else 1
    inputs = make_inputs(op, S=4, B=3, I=3, H=5, dirs=dirs, lens=[4, 0, 2], h0=True, c0=True, peep=True)
    outputs = OUTPUT_NAMES[op]
    as_double = [(n, v.astype(np.float64) if v is not None and v.dtype == np.float32 else v) for n, v in inputs]
    got = run_anvil(op, opset, as_double, {"direction": direction}, outputs)
    assert all(g.dtype == np.float64 for g in got)
    want = run_cpu(op, opset, inputs, {"direction": direction}, outputs)
    compare(got, want, what=f"{op} double")


# ---------------------------------------------------------------------------------------------
# Nodes Anvil must not claim, and bad inputs at run time.

def claim_fails(op, inputs, attrs, outputs=None):
    model = build(op, 14, inputs, attrs, outputs or OUTPUT_NAMES[op])
    with pytest.raises(Exception):
        t.session(model, anvil=True).run(None, feeds(model, inputs))


def test_not_claimed():
    lstm = make_inputs("LSTM", S=2, B=1, I=3, H=4)
    claim_fails("LSTM", lstm, {"hidden_size": 5})  # W and R say 4
    claim_fails("LSTM", lstm, {"hidden_size": 4, "activations": ["Sigmoid", "Tanh", "Gelu"]})
    claim_fails("LSTM", lstm, {"hidden_size": 4, "activations": ["Sigmoid", "Tanh"]})
    claim_fails("LSTM", lstm, {"hidden_size": 4, "clip": 0.0})
    claim_fails("LSTM", lstm, {"hidden_size": 4, "direction": "Forward"})
    claim_fails("LSTM", lstm, {"hidden_size": 4, "layout": 2})
    claim_fails("LSTM", lstm, {})  # no hidden_size
    rnn = make_inputs("RNN", S=2, B=1, I=3, H=4)
    claim_fails("RNN", rnn, {"hidden_size": 4, "activations": ["relu"]})  # RNN names are case-sensitive in ORT
    claim_fails("RNN", rnn, {"hidden_size": 4, "activations": ["Tanh", "Tanh", "Tanh"]})
    gru = make_inputs("GRU", S=2, B=1, I=3, H=4, dirs=2)
    claim_fails("GRU", gru, {"hidden_size": 4})  # W has 2 directions, the node 1
    # RNN has no double kernel in ORT's CPU EP; Anvil does not claim one either.
    rnn64 = [(n, v.astype(np.float64) if v is not None else v) for n, v in rnn]
    claim_fails("RNN", rnn64, {"hidden_size": 4})


@pytest.mark.parametrize("op", list(GATES))
def test_unclaimed_node_goes_to_cpu(op):
    """hidden_size disagreeing with W and R: ORT's CPU EP accepts the node at session creation
    (and fails when it runs); Anvil must leave it to ORT's CPU EP."""
    inputs = make_inputs(op, S=2, B=1, I=3, H=4)
    model = build(op, 14, inputs, {"hidden_size": 3}, OUTPUT_NAMES[op])
    sess = anvil_session_with_fallback(model)
    placed = {sub.ep_name for sub in sess.get_provider_graph_assignment_info() for _ in sub.get_nodes()}
    assert placed == {"CPUExecutionProvider"}, placed
    with pytest.raises(Exception, match="must have shape"):
        sess.run(None, feeds(model, inputs))


@pytest.mark.parametrize("op", list(GATES))
def test_bad_sequence_lens_is_a_clean_error(op):
    inputs = make_inputs(op, S=3, B=2, I=3, H=4, lens=[4, 1])
    model = build(op, 14, inputs, {"hidden_size": 4}, OUTPUT_NAMES[op])
    sess = t.session(model, anvil=True)
    with pytest.raises(Exception, match="sequence_lens"):
        sess.run(None, feeds(model, inputs))
    bad = [(n, np.array([1, -1], np.int32) if n == "sequence_lens" else v) for n, v in inputs]
    with pytest.raises(Exception, match="sequence_lens"):
        sess.run(None, feeds(model, bad))
    # The session still works afterwards.
    good = [(n, np.array([3, 1], np.int32) if n == "sequence_lens" else v) for n, v in inputs]
    compare(sess.run(None, feeds(model, good)), t.session(model, anvil=False).run(None, feeds(model, good)))


def test_bad_shape_at_run_time_is_a_clean_error():
    # X's input size unknown at claim time; W says 3, X brings 5.
    inputs = make_inputs("LSTM", S=2, B=1, I=3, H=4)
    model = build("LSTM", 14, inputs, {"hidden_size": 4}, ["Y"])
    model.graph.input[0].type.tensor_type.shape.dim[2].dim_param = "I"
    sess = t.session(model, anvil=True)
    x = rand(2, 1, 5)
    with pytest.raises(Exception, match="W must have shape"):
        sess.run(None, {"X": x})


# ---------------------------------------------------------------------------------------------
# Silero VAD v5 / v6: LSTM nodes inside If branches.

MODELS = pathlib.Path(os.environ.get("ANVIL_CACHE", pathlib.Path.home() / ".cache/anvil")) / "models/silero_vad"


def count_lstm(graph):
    n = 0
    for node in graph.node:
        n += node.op_type == "LSTM"
        for a in node.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                n += count_lstm(a.g)
    return n


def anvil_session_with_fallback(model):
    t.ensure_registered()
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.add_session_config_entry("session.record_ep_graph_assignment_info", "1")
    so.add_provider_for_devices(t.anvil_devices(), {})
    return ort.InferenceSession(model.SerializeToString(), so)


@pytest.mark.parametrize("version", ["v5", "v6"])
@pytest.mark.parametrize("sr,chunk", [(16000, 512), (8000, 256)])
def test_silero_vad(version, sr, chunk):
    path = MODELS / f"silero_vad_{version}.onnx"
    if not path.exists():
        pytest.skip(f"{path} missing: run scripts/fetch_models.sh vad")
    model = onnx.load(str(path))
    assert count_lstm(model.graph) == 4
    anvil = anvil_session_with_fallback(model)
    # Both If branches hold two LSTMs; the profile of a run (one branch) shows where they ran.
    # (ORT's assignment record misses nodes of graphs its layout transformer rewrote, and both
    # branches hold convolutions.)
    feeds0 = {"input": np.zeros((1, 512 if sr == 16000 else 256), np.float32),
              "state": np.zeros((2, 1, 128), np.float32), "sr": np.array(sr, np.int64)}
    _, ran = t.run_profiled(model, feeds0, fallback=True)
    lstm_on = {provider for op, provider in ran if op == "LSTM"}
    assert lstm_on == {t.EP_NAME}, ran
    cpu = t.session(model, anvil=False)
    names = [i.name for i in model.graph.input]
    rng = np.random.default_rng(7)
    state = np.zeros((2, 1, 128), np.float32)
    state_cpu = state.copy()
    for step in range(6):
        audio = (rng.standard_normal((1, chunk)) * (0.05 + 0.2 * step)).astype(np.float32)
        feed = {"input": audio, "sr": np.array(sr, np.int64)}
        assert set(names) == {"input", "state", "sr"}
        got = anvil.run(None, {**feed, "state": state})
        want = cpu.run(None, {**feed, "state": state_cpu})
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)
        state, state_cpu = got[1], want[1]
