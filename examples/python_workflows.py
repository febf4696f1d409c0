#!/usr/bin/env python3
"""The two ways a Python user runs a model on Anvil, the ONNX Runtime plugin execution provider.

  1. Explicit: register the plugin library, pick Anvil's OrtEpDevice, add it to the session options
     with EP options, (optionally) forbid CPU fallback, run, unregister.
  2. Automatic: register the plugin library and let ONNX Runtime choose the EPs through a device
     selection policy; EP options then travel as "ep.anvilexecutionprovider.<key>" config entries.

Needs: onnxruntime >= 1.29 (any flavour) and onnxruntime-ep-anvil installed. `onnx` is optional: the
Relu model is built with onnx.helper if onnx is importable, else taken from bytes embedded below.
If the PaddleOCR text-direction classifier is in $ANVIL_CACHE/models/paddleocr (scripts/setup.sh
fetches it), it also runs that, with CPU fallback allowed, and tells how many nodes ran where.

Usage: python examples/python_workflows.py [--embedded-model]
"""
import argparse
import collections
import gc
import json
import os
import pathlib
import sys
import tempfile

import numpy as np
import onnxruntime as ort

import onnxruntime_ep_anvil as anvil

REGISTRATION_NAME = "anvil_example"  # any name the application chooses; used again to unregister

# The same model as relu_model_from_onnx() below, serialized (opset 14, IR 8; y = Relu(x), x: [batch, 8]).
RELU_MODEL_BYTES = (
    b'\x08\x08\x12\ranvil-example:N\n\x12\n\x01x\x12\x01y\x1a\x04relu"\x04Relu\x12\x04reluZ\x18\n\x01x'
    b'\x12\x13\n\x11\x08\x01\x12\r\n\x07\x12\x05batch\n\x02\x08\x08b\x18\n\x01y\x12\x13\n\x11\x08\x01\x12\r'
    b'\n\x07\x12\x05batch\n\x02\x08\x08B\x04\n\x00\x10\x0e'
)

POLICIES = ["DEFAULT", "PREFER_CPU", "PREFER_NPU", "PREFER_GPU", "MAX_PERFORMANCE", "MAX_EFFICIENCY",
            "MIN_OVERALL_POWER"]


def say(text=""):
    print(text, flush=True)


def relu_model_from_onnx():
    from onnx import TensorProto, helper
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 8])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="relu")], "relu", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)], producer_name="anvil-example")
    model.ir_version = 8
    return model.SerializeToString()


def relu_model(force_embedded=False):
    if not force_embedded:
        try:
            return relu_model_from_onnx(), "built with onnx.helper"
        except ImportError:
            pass
    return RELU_MODEL_BYTES, "embedded bytes (onnx not used)"


def anvil_device():
    """Anvil's OrtEpDevice among the devices ONNX Runtime knows (one per EP and hardware device)."""
    devices = [d for d in ort.get_ep_devices() if d.ep_name == anvil.get_ep_name()]
    if not devices:
        raise RuntimeError(f"{anvil.get_ep_name()} has no device: is the library registered?")
    return devices[0]


def cpu_reference(model, feeds):
    return ort.InferenceSession(model, providers=["CPUExecutionProvider"]).run(None, feeds)


def explicit_workflow(model):
    say("=== Workflow 1: explicit selection ===")
    say(f"onnxruntime {ort.__version__}, onnxruntime-ep-anvil {anvil.__version__}")
    path = anvil.get_library_path()
    say(f"Registering the plugin library as '{REGISTRATION_NAME}': {path}")
    ort.register_execution_provider_library(REGISTRATION_NAME, path)

    say("EP devices ONNX Runtime now knows (ep_name / vendor / hardware type):")
    for d in ort.get_ep_devices():
        say(f"  {d.ep_name:28s} {d.ep_vendor:10s} {d.device.type}")
    device = anvil_device()
    meta = device.ep_metadata
    say("Anvil's device metadata:")
    for key in ("anvil.cpu_features", "anvil.threads", "version"):
        say(f"  {key} = {meta.get(key)}")

    so = ort.SessionOptions()
    so.add_provider_for_devices([device], {"threads": "2"})  # EP options: see python/README.md
    # Without this entry, nodes Anvil does not claim would silently run on ORT's CPU EP; with it,
    # session creation fails unless every node is on Anvil.
    so.add_session_config_entry("session.disable_cpu_ep_fallback", "1")
    session = ort.InferenceSession(model, so)
    say(f"Session providers: {session.get_providers()}  (threads=2, CPU fallback disabled)")

    x = np.linspace(-2.0, 2.0, 3 * 8, dtype=np.float32).reshape(3, 8)
    (y,) = session.run(None, {"x": x})
    (want,) = cpu_reference(model, {"x": x})
    np.testing.assert_array_equal(y, want)
    say(f"Ran Relu on {x.shape}: matches ORT's CPU EP")
    say(f"  x[1] = {' '.join(f'{v:+.2f}' for v in x[1])}")
    say(f"  y[1] = {' '.join(f'{v:+.2f}' for v in y[1])}")

    say("Releasing the session, then unregistering the library (never unregister while a session uses it).")
    del session
    gc.collect()
    ort.unregister_execution_provider_library(REGISTRATION_NAME)
    left = [d.ep_name for d in ort.get_ep_devices()]
    assert anvil.get_ep_name() not in left
    say(f"EP devices after unregistering: {left}")
    say()


def automatic_workflow(model):
    say("=== Workflow 2: automatic selection by policy ===")
    say("Registering the library again: ONNX Runtime picks EPs itself for sessions with a policy.")
    ort.register_execution_provider_library(REGISTRATION_NAME, anvil.get_library_path())
    x = np.linspace(-1.0, 1.0, 2 * 8, dtype=np.float32).reshape(2, 8)
    (want,) = cpu_reference(model, {"x": x})
    say("ORT's policies rank CPU EPs by vendor match, then name, and keep ORT's own CPU EP last as the")
    say("fallback; with no GPU/NPU EP registered, every policy picks Anvil (options via config entries):")
    for name in POLICIES:
        policy = getattr(ort.OrtExecutionProviderDevicePolicy, name)
        so = ort.SessionOptions()
        so.set_provider_selection_policy(policy)
        # Options for the EP go in session config entries when a policy selects it.
        so.add_session_config_entry("ep.anvilexecutionprovider.threads", "2")
        session = ort.InferenceSession(model, so)
        (y,) = session.run(None, {"x": x})
        np.testing.assert_array_equal(y, want)
        say(f"  {name:18s} -> {session.get_providers()}")
        del session
    gc.collect()
    say()


def paddleocr_classifier():
    cache = pathlib.Path(os.environ.get("ANVIL_CACHE", pathlib.Path.home() / ".cache" / "anvil"))
    path = cache / "models" / "paddleocr" / "ch_ppocr_mobile_v2.0_cls_infer.onnx"
    if not path.exists():
        say(f"(No PaddleOCR classifier at {path}; skipping the real-model run. scripts/setup.sh fetches it.)")
        return
    say("=== A real model: PaddleOCR text-direction classifier, CPU fallback allowed ===")
    so = ort.SessionOptions()
    so.add_provider_for_devices([anvil_device()], {"threads": "2"})
    so.log_severity_level = 3  # hide the "some nodes were not assigned" warning: fallback is wanted here
    profile_dir = tempfile.mkdtemp(prefix="anvil_example_")
    so.enable_profiling = True  # the profile records which EP ran each node
    so.profile_file_prefix = os.path.join(profile_dir, "profile")
    session = ort.InferenceSession(str(path), so)
    x = np.random.default_rng(0).uniform(-1.0, 1.0, size=(1, 3, 48, 192)).astype(np.float32)
    (got,) = session.run(None, {"x": x})
    profile = session.end_profiling()
    (want,) = cpu_reference(str(path), {"x": x})
    diff = float(np.abs(got - want).max())
    say(f"Session providers: {session.get_providers()}")
    say(f"Output {got.shape}: {' '.join(f'{v:.4f}' for v in got.ravel())}; max |anvil - cpu| = {diff:.2g}")
    per_ep = collections.defaultdict(set)
    with open(profile) as f:
        for event in json.load(f):
            args = event.get("args", {})
            if event.get("cat") == "Node" and "provider" in args and event["name"].endswith("_kernel_time"):
                per_ep[args["provider"]].add(args.get("node_index", event["name"]))
    os.remove(profile)
    os.rmdir(profile_dir)
    say("Nodes run per EP (after ORT's graph optimizations): " +
        ", ".join(f"{ep}: {len(nodes)}" for ep, nodes in sorted(per_ep.items())))
    assert diff <= 2e-4, f"PaddleOCR classifier differs from ORT's CPU EP by {diff}"
    del session
    gc.collect()
    say()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedded-model", action="store_true", help="use the embedded Relu model, not onnx")
    args = parser.parse_args()
    model, origin = relu_model(args.embedded_model)
    say(f"Model: one Relu node, {origin}.\n")
    explicit_workflow(model)
    automatic_workflow(model)  # leaves the library registered for the real model
    paddleocr_classifier()
    ort.unregister_execution_provider_library(REGISTRATION_NAME)
    say("Done: both workflows ran on AnvilExecutionProvider.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
