"""Regression tests for what fuzzing found (scripts/fuzz.sh, tests/fuzz/): each case rebuilds the
reproducer model in Python and runs it on the normal plugin build (ANVIL_LIB) in a subprocess,
with CPU fallback on and off, so that a crash fails the test instead of killing pytest. ORT or
Anvil refusing the model (an exception) is fine; the process must exit cleanly, and where a case
says so, the error must be a clean one naming the problem."""
import pickle
import subprocess
import sys

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

import anvil_testing as at

# The child: builds sessions on Anvil (fallback on, then off), runs once, reports each outcome.
CHILD = r"""
import pickle, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
import anvil_testing as at
model, feeds = pickle.loads(sys.stdin.buffer.read())
for fallback in (True, False):
    try:
        s = at.session(model, fallback=fallback, threads=2)
    except Exception as e:
        print("session:", str(e).splitlines()[0][:300])
        continue
    try:
        outs = s.run(None, feeds)
        print("run: ok", " ".join("shape=%s nan=%d" % (o.shape, np.isnan(o).sum()) for o in outs))
    except Exception as e:
        print("run:", str(e).splitlines()[0][:300])
"""


def run_isolated(model, feeds):
    proc = subprocess.run([sys.executable, "-c", CHILD, str(at.ROOT / "tests")],
                          input=pickle.dumps((model, feeds)), capture_output=True, timeout=120,
                          env={**__import__("os").environ, "ANVIL_LIB": at.library_path()})
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def graph_model(nodes, inputs, outputs, inits=(), opset=17):
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8 if opset <= 17 else 10
    return m


vi = helper.make_tensor_value_info

# name -> () -> (model, feeds, text the child's output must contain or None)
CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


# Reshape whose shape input (a graph input, so known only at run time) multiplies past int64:
# Anvil multiplied the dims unchecked (signed overflow, UBSan). Now a clean error.
@case
def reshape_shape_overflow():
    x = np.zeros((6, 4), np.float32)
    shape = np.array([1 << 62, 8, 3], np.int64)
    m = graph_model([helper.make_node("Reshape", ["x", "s"], ["y"])],
                    [vi("x", TensorProto.FLOAT, [6, 4]), vi("s", TensorProto.INT64, [3])],
                    [vi("y", TensorProto.FLOAT, None)], opset=19)
    return m, {"x": x, "s": shape}, ["more elements than int64 holds"]


# Softmax (and everything on vec_math's Exp) of NaN: Exp cast NaN to int (undefined behaviour,
# UBSan). NaN in, NaN out, the other rows untouched.
@case
def softmax_nan():
    x = np.array([[0.5, np.nan, 1.0], [1.0, 2.0, 3.0]], np.float32)
    m = graph_model([helper.make_node("Softmax", ["x"], ["y"], axis=-1)],
                    [vi("x", TensorProto.FLOAT, [2, 3])], [vi("y", TensorProto.FLOAT, None)], opset=13)
    return m, {"x": x}, ["run: ok shape=(2, 3) nan=3"]


# TopK-1 with a negative k attribute: Anvil took k < 0 to mean "k comes from input 1", which
# TopK-1 does not have, and read K from an absent input (a null load). Now a clean error.
@case
def topk1_negative_k():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    m = graph_model([helper.make_node("TopK", ["x"], ["v", "i"], axis=-1, k=-1)],
                    [vi("x", TensorProto.FLOAT, None)],  # rank unknown: ORT's shape inference skips k
                    [vi("v", TensorProto.FLOAT, None), vi("i", TensorProto.INT64, None)], opset=9)
    return m, {"x": x}, ["k -1 is out of range"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_regression(name):
    model, feeds, expect = CASES[name]()
    rc, out, err = run_isolated(model, feeds)
    assert rc == 0, f"{name}: exit {rc}\n{out}\n{err[-3000:]}"
    for e in expect:
        assert e in out, f"{name}: expected {e!r} in\n{out}"
