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
        s.run(None, feeds)
        print("run: ok")
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


@pytest.mark.parametrize("name", sorted(CASES))
def test_regression(name):
    model, feeds, expect = CASES[name]()
    rc, out, err = run_isolated(model, feeds)
    assert rc == 0, f"{name}: exit {rc}\n{out}\n{err[-3000:]}"
    if expect:
        assert expect in out, f"{name}: expected {expect!r} in\n{out}"
