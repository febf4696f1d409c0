"""Anvil's events in ONNX Runtime's profile (OrtEp::CreateProfiler, src/ep/profiler.h): with
session profiling on, every Anvil kernel call adds one KERNEL event named after its node, inside
ORT's own event for that node and run, with the op type, input shapes, layout, implementation and
thread count; concurrent runs of one profiled session each get theirs; a session that is not
profiled adds nothing. Run-level profiling (RunOptions, not exposed by the Python API of ORT 1.29)
is tested through the runner (tests/runner: --profile) and tests/ep/test_ep.cc."""
import json
import os
import pathlib
import sys
import threading

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from anvil_testing import EP_NAME, anvil_devices  # noqa: E402

THREADS = 2
RNG = np.random.default_rng(7)


def small_model(prefix=""):
    """Conv -> Relu -> MatMul -> Add -> Sigmoid on x [1,3,8,8], node names prefixed by `prefix`."""
    w = numpy_helper.from_array(RNG.standard_normal((4, 3, 3, 3)).astype(np.float32), "W")
    m = numpy_helper.from_array(RNG.standard_normal((8, 5)).astype(np.float32), "M")
    b = numpy_helper.from_array(RNG.standard_normal((5,)).astype(np.float32), "B")
    nodes = [helper.make_node("Conv", ["x", "W"], ["c"], name=prefix + "conv", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"], name=prefix + "relu"),
             helper.make_node("MatMul", ["r", "M"], ["mm"], name=prefix + "matmul"),
             helper.make_node("Add", ["mm", "B"], ["a"], name=prefix + "add"),
             helper.make_node("Sigmoid", ["a"], ["y"], name=prefix + "sigmoid")]
    graph = helper.make_graph(nodes, "profile_test", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=[w, m, b])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


# node name (without prefix) -> (op type, input shapes, how impl starts)
EXPECTED = {
    "conv": ("Conv", [[1, 3, 8, 8], [4, 3, 3, 3]], "onednn:"),
    "relu": ("Relu", [[1, 4, 8, 8]], "anvil:Relu"),
    "matmul": ("MatMul", [[1, 4, 8, 8], [8, 5]], "onednn:"),
    "add": ("Add", [[1, 4, 8, 5], [5]], "anvil:Add"),
    "sigmoid": ("Sigmoid", [[1, 4, 8, 5]], "anvil:Sigmoid"),
}


PER_NODE = {"layout": "nchw", "fuse": "0"}


def make_session(model, tmp_path, profile=True, tag="p", options=None):
    so = ort.SessionOptions()
    so.log_severity_level = 3
    # The graph as built: one node each, no ORT fusions (MatMul+Add would become Gemm).
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.add_session_config_entry("session.disable_cpu_ep_fallback", "1")
    if profile:
        so.enable_profiling = True
        so.profile_file_prefix = str(tmp_path / tag)
    # One Anvil kernel per node: no fused groups, the model's layout (no Transposes).
    so.add_provider_for_devices(anvil_devices(), {"threads": str(THREADS), **(PER_NODE if options is None else options)})
    return ort.InferenceSession(model.SerializeToString(), so)


def feed():
    return {"x": RNG.standard_normal((1, 3, 8, 8)).astype(np.float32)}


def load(path):
    with open(path) as f:
        return json.load(f)


def anvil_events(events):
    return [e for e in events if e.get("cat") == "Kernel" and e.get("args", {}).get("provider") == EP_NAME]


def runs_of(events):
    return [e for e in events if e.get("cat") == "Session" and e.get("name") == "model_run"]


def node_events(events):
    return {e["name"][: -len("_kernel_time")]: e for e in events
            if e.get("cat") == "Node" and e.get("name", "").endswith("_kernel_time")}


def inside(inner, outer, slack_us=8):
    """inner's span within outer's (microsecond timestamps). The slack covers rounding and the
    offset ORT hands StartProfiling: ORT reads its clock for it some microseconds before Anvil
    reads its own, so Anvil's events can start up to ~5 us before ORT's on a slow machine."""
    return (inner["ts"] >= outer["ts"] - slack_us
            and inner["ts"] + inner["dur"] <= outer["ts"] + outer["dur"] + slack_us)


def check_fields(e, prefix=""):
    name = e["name"][len(prefix):]
    assert e["name"].startswith(prefix) and name in EXPECTED, e["name"]
    op, shapes, impl = EXPECTED[name]
    args = e["args"]
    assert args["op_name"] == op
    assert args["input_shapes"] == shapes, (e["name"], args["input_shapes"])
    assert args["layout"] == "NCHW"
    assert args["impl"].startswith(impl) and len(args["impl"]) > len("onednn:"), args["impl"]
    assert args["impl"] != "onednn:none"
    assert 1 <= int(args["threads"]) <= THREADS
    assert e["ph"] == "X" and e["dur"] >= 0 and e["ts"] >= 0


def test_one_event_per_node_with_its_fields_inside_ORTs_events(tmp_path):
    session = make_session(small_model(), tmp_path)
    session.run(None, feed())
    events = load(session.end_profiling())
    ours = anvil_events(events)
    assert sorted(e["name"] for e in ours) == sorted(EXPECTED), [e["name"] for e in ours]
    (run,) = runs_of(events)
    nodes = node_events(events)
    for e in ours:
        check_fields(e)
        assert inside(e, run), (e, run)
        # ORT's own event for the node wraps Anvil's (same thread, same node)
        assert nodes[e["name"]]["args"]["provider"] == EP_NAME
        assert inside(e, nodes[e["name"]]), (e, nodes[e["name"]])
        assert e["tid"] == run["tid"] and e["pid"] == run["pid"] == os.getpid()
    assert len({e["args"]["ort_event"] for e in ours}) == len(ours)


def test_every_run_gets_its_events(tmp_path):
    session = make_session(small_model(), tmp_path)
    for _ in range(3):
        session.run(None, feed())
    events = load(session.end_profiling())
    runs = runs_of(events)
    assert len(runs) == 3
    ours = anvil_events(events)
    assert len(ours) == 3 * len(EXPECTED)
    for run in runs:
        in_run = [e for e in ours if inside(e, run)]
        assert sorted(e["name"] for e in in_run) == sorted(EXPECTED)
    for e in ours:
        check_fields(e)


def test_two_threads_running_one_profiled_session(tmp_path):
    session = make_session(small_model(), tmp_path)
    per_thread = 8
    errors = []

    def worker():
        try:
            for _ in range(per_thread):
                session.run(None, feed())
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    events = load(session.end_profiling())
    runs = runs_of(events)
    assert len(runs) == 2 * per_thread
    ours = anvil_events(events)
    assert len(ours) == 2 * per_thread * len(EXPECTED)
    for e in ours:
        check_fields(e)
        # within a run of the thread that ran it
        assert any(inside(e, r) and r["tid"] == e["tid"] for r in runs), e
    assert len({e["tid"] for e in ours}) == 2
    for run in runs:
        mine = [e for e in ours if e["tid"] == run["tid"] and inside(e, run)]
        assert sorted(e["name"] for e in mine) == sorted(EXPECTED)
    # ORT's correlation ids are its clock in microseconds: two threads can start an event in the
    # same microsecond, one thread cannot.
    assert len({(e["tid"], e["args"]["ort_event"]) for e in ours}) == len(ours)


def test_a_session_that_is_not_profiled_adds_no_events(tmp_path):
    profiled = make_session(small_model("on_"), tmp_path)
    quiet = make_session(small_model("off_"), tmp_path, profile=False)
    stop = threading.Event()

    def background():  # the unprofiled session runs on another thread meanwhile
        while not stop.is_set():
            quiet.run(None, feed())

    t = threading.Thread(target=background)
    t.start()
    try:
        for _ in range(4):
            quiet.run(None, feed())  # and on this thread, between the profiled runs
            profiled.run(None, feed())
    finally:
        stop.set()
        t.join()
    events = load(profiled.end_profiling())
    ours = anvil_events(events)
    assert len(ours) == 4 * len(EXPECTED)
    for e in ours:
        check_fields(e, "on_")
    assert not [e for e in events if "off_" in e.get("name", "")]


def test_runs_after_end_profiling_add_nothing(tmp_path):
    session = make_session(small_model(), tmp_path)
    session.run(None, feed())
    first = session.end_profiling()
    session.run(None, feed())  # ORT no longer profiles (and may have released the profiler)
    session.run(None, feed())
    assert len(anvil_events(load(first))) == len(EXPECTED)
    assert session.end_profiling() == ""  # nothing more to hand over


def test_fused_matmul_add_is_one_gemm_event(tmp_path):
    """With ORT's optimizations on, MatMul+Add becomes one Gemm node; Anvil's events follow the
    graph ORT runs: one per node ORT assigned to Anvil, each inside that node's event."""
    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.add_session_config_entry("session.disable_cpu_ep_fallback", "1")
    so.enable_profiling = True
    so.profile_file_prefix = str(tmp_path / "fused")
    so.add_provider_for_devices(anvil_devices(), {"threads": str(THREADS), **PER_NODE})
    session = ort.InferenceSession(small_model().SerializeToString(), so)
    session.run(None, feed())
    events = load(session.end_profiling())
    nodes = {n: e for n, e in node_events(events).items() if e["args"].get("provider") == EP_NAME}
    ours = anvil_events(events)
    assert sorted(e["name"] for e in ours) == sorted(nodes)
    assert "Gemm" in {e["args"]["op_name"] for e in ours}
    for e in ours:
        assert e["args"]["op_name"] == nodes[e["name"]]["args"]["op_name"]
        assert inside(e, nodes[e["name"]])
        assert e["args"]["impl"]


def test_a_fused_group_is_one_event_with_its_pattern(tmp_path):
    """With Anvil's defaults (fused groups, channels-last convolutions) Conv + Relu is one event:
    its pattern as the op, the anchor's name, NHWC, the oneDNN primitive; the Transposes ORT puts
    around the channels-last convolution get their own events."""
    session = make_session(small_model(), tmp_path, tag="group", options={})
    session.run(None, feed())
    events = load(session.end_profiling())
    ours = anvil_events(events)
    group = [e for e in ours if e["args"]["op_name"] == "Conv + Relu"]
    assert len(group) == 1, [e["args"]["op_name"] for e in ours]
    g = group[0]
    # named after the fused node, as ORT's own event for it
    fused = {n for n, e in node_events(events).items() if e["args"].get("provider") == EP_NAME
             and n.startswith("AnvilExecutionProvider_")}
    assert g["name"] in fused and g["args"]["layout"] == "NHWC", (g, fused)
    assert g["args"]["impl"].startswith("onednn:") and g["args"]["impl"] != "onednn:none", g
    assert g["args"]["input_shapes"][0] == [1, 8, 8, 3], g  # X channels-last
    assert "Relu" not in {e["args"]["op_name"] for e in ours}
    assert inside(g, node_events(events)[g["name"]])


def test_if_branch_nodes_get_events_and_the_if_itself_none(tmp_path):
    """If is ORT's own kernel (Anvil registers ORT's implementation for plugins): it has no Anvil
    event; the nodes of the branch that ran do, inside the If node's event."""
    def branch(op, name):
        return helper.make_graph([helper.make_node(op, ["x"], ["b"], name=name)], name, [],
                                 [helper.make_tensor_value_info("b", TensorProto.FLOAT, [2, 3])])
    node = helper.make_node("If", ["cond"], ["y"], name="the_if", then_branch=branch("Relu", "then_relu"),
                            else_branch=branch("Neg", "else_neg"))
    graph = helper.make_graph([node], "if_test", [helper.make_tensor_value_info("cond", TensorProto.BOOL, []),
                                                  helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    session = make_session(model, tmp_path)
    x = RNG.standard_normal((2, 3)).astype(np.float32)
    session.run(None, {"cond": np.array(True), "x": x})
    session.run(None, {"cond": np.array(False), "x": x})
    events = load(session.end_profiling())
    ours = anvil_events(events)
    assert sorted(e["name"] for e in ours) == ["else_neg", "then_relu"], [e["name"] for e in ours]
    ifs = [e for e in events if e.get("cat") == "Node" and e["name"] == "the_if_kernel_time"]
    assert len(ifs) == 2 and all(e["args"]["provider"] == EP_NAME for e in ifs)
    for e in ours:
        assert e["args"]["input_shapes"] == [[2, 3]] and e["args"]["impl"] == "anvil:" + e["args"]["op_name"]
        assert sum(inside(e, i) for i in ifs) == 1


def dead_session_scenario(tmp_path):
    """Session creation fails (fallback disabled, a node Anvil does not claim) with profiling on:
    ORT leaves its session-initialization event open on that thread and releases the profiler.
    The same thread then runs other sessions: they must not follow that frame to the released
    profiler, and a later profiled session gets exactly its own events."""
    def unclaimed():
        g = helper.make_graph([helper.make_node("Relu", ["x"], ["r"], name="dead_relu"),
                               helper.make_node("Einsum", ["r"], ["y"], name="dead_einsum", equation="...i->...i")],
                              "unclaimed", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
        m.ir_version = 8
        return m
    for _ in range(20):  # more than the 16 frames a thread keeps
        try:
            make_session(unclaimed(), tmp_path, tag="dead")
        except Exception:  # noqa: BLE001
            pass
        else:
            raise AssertionError("a session with an unclaimed node and fallback disabled was created")
    quiet = make_session(small_model("off_"), tmp_path, profile=False)
    for _ in range(3):
        quiet.run(None, feed())
    profiled = make_session(small_model("on_"), tmp_path, tag="alive")
    profiled.run(None, feed())
    quiet.run(None, feed())
    events = load(profiled.end_profiling())
    ours = anvil_events(events)
    assert sorted(e["name"] for e in ours) == sorted("on_" + n for n in EXPECTED), [e["name"] for e in ours]
    for e in ours:
        check_fields(e, "on_")
    print("scenario passed")


def test_a_profiled_session_that_fails_to_initialize_leaves_nothing_behind(tmp_path):
    # In a child process: following the stale frame used to hang (a mutex in freed memory).
    import subprocess
    p = subprocess.run([sys.executable, __file__, "dead-session-scenario", str(tmp_path)], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0 and "scenario passed" in p.stdout, f"rc={p.returncode}\n{p.stdout}\n{p.stderr}"


if __name__ == "__main__" and sys.argv[1:2] == ["dead-session-scenario"]:
    dead_session_scenario(pathlib.Path(sys.argv[2]))
