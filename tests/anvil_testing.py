"""Shared helpers for Anvil's Python tests: build one-node models, run them on Anvil with CPU
fallback disabled (so the node really ran on Anvil), and compare with a reference."""
import os
import pathlib

import numpy as np
import pytest
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper

ROOT = pathlib.Path(__file__).resolve().parents[1]
EP_NAME = "AnvilExecutionProvider"


def library_path() -> str:
    path = os.environ.get("ANVIL_LIB") or str(ROOT / "build" / "libanvil_ep.so")
    if not os.path.exists(path):
        raise RuntimeError(f"Anvil plugin not found at {path}; build it or set ANVIL_LIB")
    return os.path.abspath(path)


_registered = False


def ensure_registered() -> None:
    global _registered
    if not _registered:
        ort.register_execution_provider_library("anvil_tests", library_path())
        _registered = True


def anvil_devices():
    ensure_registered()
    return [d for d in ort.get_ep_devices() if d.ep_name == EP_NAME]


NP_TO_ONNX = {
    np.dtype(np.float32): TensorProto.FLOAT,
    np.dtype(np.float64): TensorProto.DOUBLE,
    np.dtype(np.int32): TensorProto.INT32,
    np.dtype(np.int64): TensorProto.INT64,
    np.dtype(np.bool_): TensorProto.BOOL,
    np.dtype(np.uint8): TensorProto.UINT8,
    np.dtype(np.int8): TensorProto.INT8,
}


def make_node_model(op_type, inputs, outputs, opset, attrs=None, initializers=None, output_types=None):
    """One-node model. `inputs`: list of (name, np.ndarray or None for a missing optional input).
    Arrays named in `initializers` become constant initializers instead of graph inputs.
    `outputs`: output names; `output_types` optional onnx element types (default: like input 0)."""
    initializers = initializers or {}
    graph_inputs, inits, names = [], [], []
    for name, value in inputs:
        if value is None:
            names.append("")
            continue
        names.append(name)
        if name in initializers:
            inits.append(onnx.numpy_helper.from_array(np.asarray(initializers[name]), name))
        else:
            graph_inputs.append(helper.make_tensor_value_info(name, NP_TO_ONNX[value.dtype], list(value.shape)))
    first = next(v for _, v in inputs if v is not None)
    out_types = output_types or [NP_TO_ONNX[first.dtype]] * len(outputs)
    graph_outputs = [helper.make_tensor_value_info(o, t, None) for o, t in zip(outputs, out_types)]
    node = helper.make_node(op_type, names, outputs, **(attrs or {}))
    graph = helper.make_graph([node], f"{op_type}_test", graph_inputs, graph_outputs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8 if opset <= 17 else 10
    return model


# Anvil options every session of this module adds (both_layouts sets "layout").
DEFAULT_OPTIONS = {}


@pytest.fixture(params=["nhwc", "nchw"])
def both_layouts(request):
    """Every case in both layouts: channels-last through ORT's layout transformer (the default)
    and the model's own NCHW (layout=nchw, and models of opset below 7). A module runs all its
    tests in both with `from anvil_testing import both_layouts as layout` and
    `pytestmark = pytest.mark.usefixtures("layout")`."""
    DEFAULT_OPTIONS["layout"] = request.param
    yield request.param
    DEFAULT_OPTIONS.pop("layout", None)


def session(model, anvil=True, options=None, fallback=False, threads=None, optimization=None):
    """A session on Anvil (CPU fallback disabled unless `fallback`) or on ORT's CPU EP; `model` is
    a ModelProto or a path; `optimization`: ORT's graph optimization level (default: all)."""
    ensure_registered()
    source = str(model) if isinstance(model, (str, os.PathLike)) else model.SerializeToString()
    so = ort.SessionOptions()
    so.log_severity_level = 3
    if optimization is not None:
        so.graph_optimization_level = optimization
    if anvil:
        if not fallback:
            so.add_session_config_entry("session.disable_cpu_ep_fallback", "1")
        ep_opts = {**DEFAULT_OPTIONS, **(options or {})}
        if threads is not None:
            ep_opts["threads"] = str(threads)
        so.add_provider_for_devices(anvil_devices(), ep_opts)
        return ort.InferenceSession(source, so)
    return ort.InferenceSession(source, so, providers=["CPUExecutionProvider"])


def feeds_of(model, inputs):
    graph_names = {i.name for i in model.graph.input}
    return {n: v for n, v in inputs if v is not None and n in graph_names}


def run_anvil(model, inputs, **kw):
    return session(model, anvil=True, **kw).run(None, feeds_of(model, inputs))


def run_cpu(model, inputs):
    return session(model, anvil=False).run(None, feeds_of(model, inputs))


def check_node(op_type, inputs, outputs, opset, attrs=None, initializers=None, reference=None,
               rtol=1e-5, atol=1e-6, output_types=None):
    """Runs a one-node model on Anvil (no CPU fallback) and compares every output with `reference`
    (a list of arrays) or, if None, with ORT's CPU EP. Returns Anvil's outputs."""
    model = make_node_model(op_type, inputs, outputs, opset, attrs, initializers, output_types)
    got = run_anvil(model, inputs)
    want = reference if reference is not None else run_cpu(model, inputs)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        w = np.asarray(w)
        assert g.shape == w.shape, f"{op_type}: shape {g.shape} != {w.shape}"
        assert g.dtype == w.dtype, f"{op_type}: dtype {g.dtype} != {w.dtype}"
        if g.dtype.kind in "fc":
            np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, err_msg=f"{op_type} opset {opset}")
        else:
            np.testing.assert_array_equal(g, w, err_msg=f"{op_type} opset {opset}")
    return got


def schema_revisions(op_type, first_opset=7, domain=""):
    """Every schema since-version of `op_type` in use from `first_opset` up to the newest opset
    ORT knows, with an opset that selects it. Tests parametrize over these."""
    from onnx import defs
    newest = min(defs.onnx_opset_version(), max_ort_opset())
    out = {}
    for v in range(first_opset, newest + 1):
        try:
            s = defs.get_schema(op_type, v, domain)
        except Exception:
            continue
        out.setdefault(s.since_version, v)
    return sorted(out.items())


def max_ort_opset():
    """The newest ai.onnx opset the running ORT accepts (ORT 1.29: 26)."""
    return int(os.environ.get("ANVIL_MAX_OPSET", "26"))


def run_profiled(model, feeds, fallback=False, optimization=None, options=None, counts=False):
    """Runs `model` (a ModelProto or a path) on Anvil with profiling; returns (outputs,
    {(op type, provider)} of every node that ran, subgraph nodes included; with counts=True a
    Counter of (op type, provider) instead: how many nodes of each ran). ORT's
    session.disable_cpu_ep_fallback covers only the main graph: a subgraph node Anvil does not
    claim runs on ORT's CPU EP silently, and only the profile shows it. `optimization`: an
    ort.GraphOptimizationLevel (default ORT's); `options`: Anvil's EP options."""
    import json
    import tempfile
    ensure_registered()
    so = ort.SessionOptions()
    so.log_severity_level = 3
    if optimization is not None:
        so.graph_optimization_level = optimization
    if not fallback:
        so.add_session_config_entry("session.disable_cpu_ep_fallback", "1")
    so.add_provider_for_devices(anvil_devices(), dict(options or {}))
    with tempfile.TemporaryDirectory() as tmp:
        so.enable_profiling = True
        so.profile_file_prefix = os.path.join(tmp, "anvil")
        source = model if isinstance(model, (str, os.PathLike)) else model.SerializeToString()
        sess = ort.InferenceSession(source if not isinstance(source, os.PathLike) else str(source), so)
        try:
            outs = sess.run(None, feeds)
        finally:
            path = sess.end_profiling()
        with open(path) as f:
            events = json.load(f)
    ran = [(e["args"]["op_name"], e["args"]["provider"]) for e in events
           if e.get("cat") == "Node" and e["name"].endswith("_kernel_time")]
    if counts:
        import collections
        return outs, collections.Counter(ran)
    return outs, set(ran)
