"""Anvil has one thread pool, ORT's: the plugin links no OpenMP, carries its oneDNN inside with
the symbols hidden, and starts no threads of its own; a session's intra_op_num_threads is the
whole story of how many threads run."""
import os
import subprocess
import sys
import textwrap

import pytest

import anvil_testing as t

# What the plugin may need at run time: the C runtime only (libstdc++ and libgcc are linked in).
ALLOWED_NEEDED = {"libc.so.6", "libm.so.6", "libstdc++.so.6", "libgcc_s.so.1", "libpthread.so.0", "libdl.so.2",
                  "ld-linux-x86-64.so.2"}


def _dynamic_symbols(defined):
    flag = "--defined-only" if defined else "--undefined-only"
    out = subprocess.run(["nm", "-D", flag, t.library_path()], capture_output=True, text=True, check=True).stdout
    return [line.split()[-1] for line in out.splitlines() if line.strip()]


def test_needs_only_the_c_runtime():
    out = subprocess.run(["readelf", "-d", t.library_path()], capture_output=True, text=True, check=True).stdout
    needed = {line.split("[")[1].rstrip("]") for line in out.splitlines() if "(NEEDED)" in line}
    assert needed, "readelf found no NEEDED entries at all?"
    assert needed <= ALLOWED_NEEDED, f"unexpected run-time dependencies: {sorted(needed - ALLOWED_NEEDED)}"


@pytest.mark.parametrize("prefix", ["GOMP_", "omp_", "__kmpc", "kmp_", "dnnl_", "tbb"])
def test_uses_no_openmp_and_exposes_no_onednn(prefix):
    undefined = [s for s in _dynamic_symbols(defined=False) if s.startswith(prefix)]
    defined = [s for s in _dynamic_symbols(defined=True) if s.startswith(prefix)]
    assert not undefined, f"the plugin imports {undefined[:5]}"
    assert not defined, f"the plugin exports {defined[:5]}"


# Runs in a fresh process: builds a model with work large enough that Anvil splits it (a 3x3 conv
# and a matmul), runs it on Anvil (no CPU fallback) or on ORT's CPU EP with the given intra-op
# thread count, and prints how many threads the process has afterwards.
_CHILD = textwrap.dedent("""
    import os, sys
    import numpy as np
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper
    anvil, threads = sys.argv[1] == "anvil", int(sys.argv[2])
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((64, 32, 3, 3)).astype(np.float32), "W")
    nodes = [helper.make_node("Conv", ["X", "W"], ["C"], pads=[1, 1, 1, 1]),
             helper.make_node("Reshape", ["C", "S"], ["R"]),
             helper.make_node("MatMul", ["R", "M"], ["Y"])]
    s = numpy_helper.from_array(np.array([1, 64 * 56 * 56], np.int64), "S")
    m = numpy_helper.from_array(rng.standard_normal((64 * 56 * 56, 16)).astype(np.float32), "M")
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 32, 56, 56])],
                          [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)], initializer=[w, s, m])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.log_severity_level = 3
    if anvil:
        ort.register_execution_provider_library("anvil", os.environ["ANVIL_LIB"])
        so.add_session_config_entry("session.disable_cpu_ep_fallback", "1")
        so.add_provider_for_devices([d for d in ort.get_ep_devices() if d.ep_name == "AnvilExecutionProvider"], {})
        sess = ort.InferenceSession(model.SerializeToString(), so)
    else:
        sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    x = rng.standard_normal((1, 32, 56, 56)).astype(np.float32)
    for _ in range(5):
        sess.run(None, {"X": x})
    print(len(os.listdir("/proc/self/task")))
""")


def _threads_after_runs(side, intra_op_threads):
    env = dict(os.environ, ANVIL_LIB=t.library_path())
    p = subprocess.run([sys.executable, "-c", _CHILD, side, str(intra_op_threads)], capture_output=True, text=True,
                       env=env, timeout=300)
    assert p.returncode == 0, p.stderr
    return int(p.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("intra_op_threads", [1, 2, 3])
def test_starts_no_threads_beyond_orts_pool(intra_op_threads):
    # The same process with ORT's CPU EP alone has exactly ORT's threads: Anvil must add none.
    assert _threads_after_runs("anvil", intra_op_threads) == _threads_after_runs("cpu", intra_op_threads)
