"""What profiling costs: a model's latency with ORT's session profiling off and on, on Anvil and,
for scale, on ORT's CPU EP (whose own profiler does most of the work when profiling is on).

With profiling off, Anvil's only cost is one thread-local load and a branch per kernel call
(src/ep/profiler.h); that cannot be timed against a build without it in one process, so this
prints what can be: off vs on, interleaved in rounds, medians, and the difference per node.

    ANVIL_LIB=build/libanvil_ep.so python bench/bench_profile_overhead.py [--threads N] [--rounds R] [model.onnx ...]

Without a model: the 5-node model of tests/runtime/test_profile.py (Conv, Relu, MatMul, Add,
Sigmoid on 1x3x8x8) and, when fetched, PaddleOCR's direction classifier at 1x3x48x192.

`--baseline OTHER_LIB` (a build without the profiler, e.g. main's) adds the before/after figure for
profiling off: a chain of 200 Relu nodes on 64 floats (dispatch-bound), run by one worker process
per library in alternating rounds, medians.
"""
import argparse
import os
import pathlib
import statistics
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "runtime"))
import anvil_testing as t  # noqa: E402
from test_profile import small_model  # noqa: E402

CLS = pathlib.Path(os.environ.get("ANVIL_CACHE", pathlib.Path.home() / ".cache" / "anvil")) / "models" / "paddleocr" / \
    "ch_ppocr_mobile_v2.0_cls_infer.onnx"
NP_TYPES = {"tensor(float)": np.float32, "tensor(int64)": np.int64, "tensor(int32)": np.int32}


def make(model_bytes, anvil, profile, threads, tmp):
    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.intra_op_num_threads = threads
    if profile:
        so.enable_profiling = True
        so.profile_file_prefix = os.path.join(tmp, f"{'anvil' if anvil else 'cpu'}_bench")
    if anvil:
        so.add_session_config_entry("session.disable_cpu_ep_fallback", "1")
        so.add_provider_for_devices(t.anvil_devices(), {"threads": str(threads)})
        return ort.InferenceSession(model_bytes, so)
    return ort.InferenceSession(model_bytes, so, providers=["CPUExecutionProvider"])


def feeds_for(session, shape_override):
    rng = np.random.default_rng(0)
    feeds = {}
    for i in session.get_inputs():
        shape = shape_override or [d if isinstance(d, int) and d > 0 else 1 for d in i.shape]
        feeds[i.name] = rng.random(shape).astype(NP_TYPES.get(i.type, np.float32))
    return feeds


def bench(label, model_bytes, nodes, threads, rounds, per_round, shape=None):
    with tempfile.TemporaryDirectory() as tmp:
        sides = {(anvil, profile): make(model_bytes, anvil, profile, threads, tmp)
                 for anvil in (True, False) for profile in (False, True)}
        feeds = feeds_for(sides[(True, False)], shape)
        times = {k: [] for k in sides}
        for s in sides.values():
            for _ in range(3):
                s.run(None, feeds)
        for r in range(rounds):
            order = list(sides.items())
            order = order[r % len(order):] + order[:r % len(order)]  # rotate who goes first
            for key, s in order:
                s.run(None, feeds)  # untimed: absorbs what the previous side left behind
                for _ in range(per_round):
                    start = time.perf_counter()
                    s.run(None, feeds)
                    times[key].append((time.perf_counter() - start) * 1e3)
        for key, s in sides.items():
            if key[1]:
                s.end_profiling()
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"{label}: {nodes} nodes, {threads} threads, {rounds} rounds x {per_round} runs per side")
    for anvil in (True, False):
        off, on = med[(anvil, False)], med[(anvil, True)]
        name = "Anvil" if anvil else "ORT CPU EP"
        print(f"  {name:<11} profiling off {off:8.3f} ms   on {on:8.3f} ms   on-off {on - off:+8.3f} ms"
              f" ({(on - off) * 1e3 / max(nodes, 1):+7.2f} us per node, x{on / off:.2f})")


def relu_chain(n=200):
    from onnx import TensorProto, helper
    nodes = [helper.make_node("Relu", [f"t{i}"], [f"t{i + 1}"], name=f"relu{i}") for i in range(n)]
    nodes[0].input[0] = "x"
    nodes[-1].output[0] = "y"
    graph = helper.make_graph(nodes, "relu_chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    return model


def worker(threads, runs):
    """One library (ANVIL_LIB): median ms of the Relu chain, profiling off."""
    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.intra_op_num_threads = threads
    so.add_session_config_entry("session.disable_cpu_ep_fallback", "1")
    so.add_provider_for_devices(t.anvil_devices(), {"threads": str(threads)})
    s = ort.InferenceSession(relu_chain().SerializeToString(), so)
    feeds = {"x": np.random.default_rng(0).random((1, 64)).astype(np.float32)}
    for _ in range(20):
        s.run(None, feeds)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        s.run(None, feeds)
        times.append((time.perf_counter() - start) * 1e3)
    print(statistics.median(times))


def before_after(baseline, threads, rounds, runs):
    import subprocess
    libs = {"this build": t.library_path(), "baseline": os.path.abspath(baseline)}
    med = {k: [] for k in libs}
    for r in range(rounds):
        order = list(libs.items()) if r % 2 == 0 else list(libs.items())[::-1]
        for key, lib in order:
            out = subprocess.run([sys.executable, __file__, "--worker", "--threads", str(threads), "--per-round",
                                  str(runs)], env={**os.environ, "ANVIL_LIB": lib}, capture_output=True, text=True,
                                 check=True).stdout
            med[key].append(float(out.strip().splitlines()[-1]))
    print(f"profiling off, before/after: 200-node Relu chain, {threads} threads, {rounds} rounds x {runs} runs, "
          "one process per library and round")
    # The median over rounds, and the best round (least disturbed by the rest of the machine).
    for what, pick in (("median round", statistics.median), ("best round", min)):
        a, b = pick(med["this build"]), pick(med["baseline"])
        print(f"  {what:<12}  this build {a:8.4f} ms   baseline {b:8.4f} ms   difference {(a - b) * 1e3 / 200:+6.3f} us"
              " per node")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--per-round", type=int, default=10)
    ap.add_argument("--baseline", help="a plugin build without the profiler: before/after with profiling off")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("models", nargs="*")
    a = ap.parse_args()
    if a.worker:
        worker(a.threads, a.per_round * 10)
        return
    jobs = []
    if a.models:
        for m in a.models:
            proto = onnx.load(m)
            jobs.append((pathlib.Path(m).stem, proto.SerializeToString(), len(proto.graph.node), None))
    else:
        proto = small_model()
        jobs.append(("test_profile's 5-node model", proto.SerializeToString(), len(proto.graph.node), None))
        if CLS.exists():
            proto = onnx.load(str(CLS))
            jobs.append(("PaddleOCR cls 1x3x48x192", proto.SerializeToString(), len(proto.graph.node), [1, 3, 48, 192]))
    print(f"ONNX Runtime {ort.__version__}, Anvil {t.library_path()}")
    for label, data, nodes, shape in jobs:
        bench(label, data, nodes, a.threads, a.rounds, a.per_round, shape)
    if a.baseline:
        before_after(a.baseline, a.threads, a.rounds, a.per_round * 10)


if __name__ == "__main__":
    main()
