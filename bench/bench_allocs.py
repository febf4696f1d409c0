"""Heap allocations per inference run: Anvil vs ORT's CPU EP, counted by an LD_PRELOAD shim.

To show what Anvil's steady-state Compute path allocates: nothing in Anvil's own code; oneDNN,
linked into the plugin, allocates about 8 small blocks per primitive call inside
dnnl_primitive_execute (its argument map and its parallel loop's std::function), and those count
under "anvil own" here (the shim cannot tell oneDNN's code from Anvil's in the one .so). The shim
(bench/alloc_count/alloc_count.c, built here with `cc`, cached under $ANVIL_CACHE/alloc_count) counts
every malloc / calloc / realloc / memalign-family call in the process, from any thread; this script
re-executes itself with LD_PRELOAD set to it. The Anvil plugin links libstdc++ statically, but its
operator new still calls malloc, so its C++ allocations are counted too.

Per model: one session on ORT's CPU EP, one on Anvil (session.disable_cpu_ep_fallback=1, so every node
is Anvil's), the same preallocated inputs, session.run(output_names, feeds); 10 warm-up runs, then the
calls over --runs runs, divided by the runs. Both columns include ORT's own per-Run framework
allocations (execution frame, output OrtValues, the Python binding's output numpy arrays, ...), so
the CPU EP column is the floor to compare with. "extra/node" = (anvil - cpu) / nodes (the model
file's node count; ORT's graph optimizations may leave fewer) and can be negative; it also holds
what ORT's plugin-EP kernel bridge allocates around each Anvil kernel. "anvil own" separates out the
calls made from code in the plugin's .so and in the libraries it brought into the process (say a
shared oneDNN), judged by the caller's return address (the shim also defines operator new, so that
is the code that said `new`): Anvil's own allocations. What ORT API functions allocate on Anvil's
behalf (an OrtTensorTypeAndShapeInfo, say) counts as ORT's: "ort extra" = anvil - anvil own - cpu is
that, plus the kernel bridge, plus any other difference in what ORT does in the two sessions.

Usage:
    ANVIL_LIB=build/libanvil_ep.so python bench/bench_allocs.py [--threads N] [--runs R]
        [model.onnx ...] [--shape name=1x3x224x224 ...] [--no-builtin]
"""
import argparse
import ctypes
import hashlib
import os
import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]
SHIM_SRC = REPO / "bench" / "alloc_count" / "alloc_count.c"
EP_NAME = "AnvilExecutionProvider"
WARMUP = 10
REEXEC_MARK = "_ANVIL_BENCH_ALLOCS_PRELOADED"


def cache_dir():
    return pathlib.Path(os.environ.get("ANVIL_CACHE", pathlib.Path.home() / ".cache" / "anvil"))


def build_shim():
    """The shim's .so, compiled once per version of its source."""
    src = SHIM_SRC.read_bytes()
    out = cache_dir() / "alloc_count" / f"alloc_count-{hashlib.sha256(src).hexdigest()[:16]}.so"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(f".{os.getpid()}.tmp")
        subprocess.run([os.environ.get("CC", "cc"), "-O2", "-shared", "-fPIC", "-o", str(tmp), str(SHIM_SRC), "-ldl"],
                       check=True)
        os.replace(tmp, out)
    return out


def shim_functions():
    """The preloaded shim's functions, or None if it is not in this process."""
    lib = ctypes.CDLL(None)
    try:
        total, reset = lib.alloc_count_total, lib.alloc_count_reset
        in_ranges, in_range, add_range = lib.alloc_count_in_ranges, lib.alloc_count_in_range, lib.alloc_count_add_range
    except AttributeError:
        return None
    total.restype = in_ranges.restype = in_range.restype = ctypes.c_uint64
    total.argtypes = reset.argtypes = in_ranges.argtypes = []
    in_range.argtypes = [ctypes.c_int]
    reset.restype, add_range.restype = None, ctypes.c_int
    add_range.argtypes = [ctypes.c_size_t, ctypes.c_size_t]
    return total, reset, in_ranges, in_range, add_range


def ensure_preloaded():
    fns = shim_functions()
    if fns is not None:
        return fns
    if os.environ.get(REEXEC_MARK):
        sys.exit("bench_allocs: the alloc_count shim is in LD_PRELOAD but not in the process")
    shim = str(build_shim())
    env = dict(os.environ)
    env["LD_PRELOAD"] = ":".join(p for p in (shim, env.get("LD_PRELOAD", "")) if p)
    env[REEXEC_MARK] = "1"
    argv = getattr(sys, "orig_argv", None) or [sys.executable, *sys.argv]  # keeps interpreter flags
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, *argv[1:]], env)


COUNT_TOTAL, COUNT_RESET, COUNT_IN_RANGES, COUNT_IN_RANGE, ADD_RANGE = ensure_preloaded()

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

rng = np.random.default_rng(0)


def f32(*shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def finish(nodes, inits, x_shape, name):
    graph = helper.make_graph(
        nodes, name, [helper.make_tensor_value_info("X", TensorProto.FLOAT, x_shape)],
        [helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, x_shape)],  # all chains keep it
        [numpy_helper.from_array(v, k) for k, v in inits.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(model)
    return model, {"X": f32(*x_shape)}


def conv_chain(n=20, c=16, hw=32):
    nodes, inits, x = [], {}, "X"
    for i in range(n):
        inits[f"W{i}"], inits[f"B{i}"] = f32(c, c, 3, 3, scale=(1 / (9 * c)) ** 0.5), f32(c, scale=0.1)
        nodes.append(helper.make_node("Conv", [x, f"W{i}", f"B{i}"], [f"y{i}"], kernel_shape=[3, 3],
                                      pads=[1, 1, 1, 1]))
        x = f"y{i}"
    return finish(nodes, inits, [1, c, hw, hw], f"conv_chain_{n}")


def matmul_add_chain(n=20, m=8, k=128):
    nodes, inits, x = [], {}, "X"
    for i in range(n):
        inits[f"W{i}"], inits[f"B{i}"] = f32(k, k, scale=(1 / k) ** 0.5), f32(k, scale=0.1)
        nodes.append(helper.make_node("MatMul", [x, f"W{i}"], [f"m{i}"]))
        nodes.append(helper.make_node("Add", [f"m{i}", f"B{i}"], [f"y{i}"]))
        x = f"y{i}"
    return finish(nodes, inits, [m, k], f"matmul_add_chain_{n}")


def elementwise_chain(n=50, c=64, hw=32):
    nodes, inits, x = [], {}, "X"
    for i in range(n):
        op = ("Add", "Mul", "Relu")[i % 3]
        ins = [x]
        if op != "Relu":
            inits[f"C{i}"] = (f32(1, c, 1, 1, scale=0.1) + (1.0 if op == "Mul" else 0.0)).astype(np.float32)
            ins.append(f"C{i}")
        nodes.append(helper.make_node(op, ins, [f"y{i}"]))
        x = f"y{i}"
    return finish(nodes, inits, [1, c, hw, hw], f"elementwise_chain_{n}")


ORT_TO_NP = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(int64)": np.int64,
             "tensor(int32)": np.int32, "tensor(int8)": np.int8, "tensor(uint8)": np.uint8,
             "tensor(bool)": np.bool_, "tensor(float16)": np.float16}


def make_feeds(sess, shapes):
    """Random inputs for a model file: the --shape overrides, else the model's static dims."""
    feeds = {}
    for inp in sess.get_inputs():
        shape = shapes.get(inp.name)
        if shape is None:
            if not all(isinstance(d, int) and d > 0 for d in inp.shape):
                raise ValueError(f"input '{inp.name}' has shape {inp.shape}; pass --shape {inp.name}=...")
            shape = inp.shape
        dtype = ORT_TO_NP.get(inp.type)
        if dtype is None:
            raise ValueError(f"input '{inp.name}' has type {inp.type}, not supported here")
        if dtype == np.bool_:
            feeds[inp.name] = rng.random(shape) < 0.5
        elif np.issubdtype(dtype, np.integer):
            feeds[inp.name] = rng.integers(0, 2, shape).astype(dtype)  # index-like inputs: keep them small
        else:
            feeds[inp.name] = rng.standard_normal(shape).astype(dtype)
    return feeds


def session_options(threads):
    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.intra_op_num_threads = threads
    return so


def mapped_files():
    """{path: (lo, hi)}: the address span of each file mapped into this process."""
    spans = {}
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split(maxsplit=5)
            if len(fields) == 6 and fields[5].startswith("/"):
                lo, hi = (int(v, 16) for v in fields[0].split("-"))
                path = fields[5].strip()
                old = spans.get(path, (lo, hi))
                spans[path] = (min(lo, old[0]), max(hi, old[1]))
    return spans


def register_anvil():
    """Registers the plugin; marks it, and the libraries it brought into the process, as Anvil's."""
    lib = os.path.abspath(os.environ.get("ANVIL_LIB", REPO / "build" / "libanvil_ep.so"))
    if not os.path.exists(lib):
        raise SystemExit(f"Anvil plugin not found at {lib}; set ANVIL_LIB")
    before = mapped_files()
    ort.register_execution_provider_library("anvil", lib)
    devices = [d for d in ort.get_ep_devices() if d.ep_name == EP_NAME]
    if not devices:
        raise SystemExit(f"no {EP_NAME} device after registering {lib}")
    # Loaded with the plugin, so not used by ORT: e.g. a shared oneDNN, libgomp. Libraries that were
    # already loaded (libstdc++, libc) are not included: ORT allocates through them too.
    new = sorted((p, span) for p, span in mapped_files().items() if p not in before)
    if not any(os.path.realpath(p) == os.path.realpath(lib) for p, _ in new):
        raise SystemExit(f"{lib} did not show up in /proc/self/maps after registration")
    for _, (lo, hi) in new:
        if ADD_RANGE(lo, hi) != 0:
            raise SystemExit("too many libraries for the alloc_count shim's ranges")
    return lib, devices, [os.path.basename(p) for p, _ in new]  # in the shim's range order


def count_per_run(sess, names, feeds, runs, n_libs):
    """Mean allocation calls per Run: all, and from Anvil's libraries (in all and per library, of
    n_libs); and the calls of each Run, sorted."""
    for _ in range(WARMUP):
        sess.run(names, feeds)
    per_run = [0] * runs  # preallocated: a growing list would realloc inside the counted loop
    COUNT_RESET()
    for i in range(runs):
        before = COUNT_TOTAL()
        sess.run(names, feeds)
        per_run[i] = COUNT_TOTAL() - before
    total, own = COUNT_TOTAL(), COUNT_IN_RANGES()
    by_lib = [COUNT_IN_RANGE(i) / runs for i in range(n_libs)]
    return total / runs, own / runs, sorted(per_run), by_lib


def measure(label, model, feeds, shapes, threads, devices, runs, n_libs):
    blob = model.SerializeToString() if isinstance(model, onnx.ModelProto) else model
    nodes = len(model.graph.node) if isinstance(model, onnx.ModelProto) else len(onnx.load(model).graph.node)
    cpu = ort.InferenceSession(blob, session_options(threads), providers=["CPUExecutionProvider"])
    so = session_options(threads)
    so.add_session_config_entry("session.disable_cpu_ep_fallback", "1")
    so.add_provider_for_devices(devices, {})
    anvil = ort.InferenceSession(blob, so)
    if feeds is None:
        feeds = make_feeds(cpu, shapes)
    names = [o.name for o in cpu.get_outputs()]
    yc, ya = cpu.run(names, feeds), anvil.run(names, feeds)
    err = max(float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(c, np.float64))) /
                    (np.max(np.abs(np.asarray(c, np.float64))) + 1e-30)) if np.size(c) else 0.0
              for a, c in zip(ya, yc))
    c_mean, c_own, c_runs, _ = count_per_run(cpu, names, feeds, runs, n_libs)
    a_mean, a_own, a_runs, a_by_lib = count_per_run(anvil, names, feeds, runs, n_libs)
    return dict(label=label, nodes=nodes, cpu=c_mean, cpu_runs=c_runs, anvil=a_mean, anvil_runs=a_runs,
                own=a_own, own_by_lib=a_by_lib, cpu_own=c_own, err=err)


def parse_shape(text):
    name, _, dims = text.partition("=")
    if not name or not dims:
        raise argparse.ArgumentTypeError(f"expected name=1x3x224x224, got '{text}'")
    try:
        return name, tuple(int(d) for d in dims.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected name=1x3x224x224, got '{text}'") from None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=1, help="intra_op_num_threads for both sessions (default 1)")
    ap.add_argument("--runs", type=int, default=100, help="counted runs per session (default 100)")
    ap.add_argument("--shape", type=parse_shape, action="append", default=[], metavar="NAME=DxDxD",
                    help="input shape for the model files given (repeatable)")
    ap.add_argument("--no-builtin", action="store_true", help="only the model files given")
    ap.add_argument("models", nargs="*", help="extra .onnx files")
    args = ap.parse_args()
    if args.runs < 1:
        ap.error("--runs must be at least 1")

    lib, devices, anvil_libs = register_anvil()
    cases = []  # (label, model proto or path, feeds or None, shapes)
    if not args.no_builtin:
        cls = cache_dir() / "models" / "paddleocr" / "ch_ppocr_mobile_v2.0_cls_infer.onnx"
        if cls.exists():
            cases.append(("paddleocr cls 1x3x48x192", str(cls), None, {"x": (1, 3, 48, 192)}))
        else:
            print(f"(skipping the PaddleOCR cls model: {cls} not found)")
        for label, build in (("conv chain 16ch 32x32", conv_chain), ("matmul+add chain 8x128", matmul_add_chain),
                             ("elementwise chain 64ch 32x32", elementwise_chain)):
            model, feeds = build()
            cases.append((label, model, feeds, {}))
    shapes = dict(args.shape)
    for path in args.models:
        cases.append((os.path.basename(path), path, None, shapes))
    if not cases:
        ap.error("no models")

    print(f"plugin {lib}; ORT {ort.__version__}; threads={args.threads}; "
          f"heap allocation calls per Run, mean of {args.runs} runs after {WARMUP} warm-up runs")
    print("  cpu / anvil: all calls in the process during Run (ORT's framework included on both sides)")
    print("  extra/node: (anvil - cpu) / nodes;  ort extra: anvil - anvil own - cpu (ORT's code, Anvil's session)")
    print(f"  anvil own: calls made from code in the libraries registering the plugin loaded ({', '.join(anvil_libs)})")
    w = max(30, *(len(c[0]) for c in cases))
    head = (f"{'model':{w}s} {'nodes':>5s} {'cpu EP':>9s} {'anvil':>9s} {'extra/node':>10s} {'anvil own':>9s} "
            f"{'ort extra':>9s}")
    print(head)
    print("-" * len(head))
    notes = []
    for label, model, feeds, case_shapes in cases:
        try:
            r = measure(label, model, feeds, case_shapes, args.threads, devices, args.runs, len(anvil_libs))
        except Exception as e:  # noqa: BLE001 - one model failing should not hide the others
            print(f"{label:{w}s} failed: {str(e).splitlines()[0] if str(e) else type(e).__name__}")
            continue
        extra, ort_extra = (r["anvil"] - r["cpu"]) / r["nodes"], r["anvil"] - r["own"] - r["cpu"]
        print(f"{label:{w}s} {r['nodes']:5d} {r['cpu']:9.2f} {r['anvil']:9.2f} {extra:+10.3f} {r['own']:9.2f} "
              f"{ort_extra:+9.2f}")
        for side in ("cpu", "anvil"):
            per_run = r[f"{side}_runs"]
            if per_run[0] != per_run[-1]:
                notes.append(f"{label}: {side} Runs vary from {per_run[0]} to {per_run[-1]} calls, "
                             f"median {per_run[len(per_run) // 2]}")
        if r["own"]:
            parts = ", ".join(f"{name} {n:.2f}" for name, n in zip(anvil_libs, r["own_by_lib"]) if n)
            notes.append(f"{label}: anvil own per Run: {parts}")
        if r["cpu_own"]:
            notes.append(f"{label}: {r['cpu_own']:.2f} calls/Run from Anvil's libraries during CPU EP runs")
        if r["err"] > 1e-3:
            notes.append(f"{label}: outputs differ, max relative error {r['err']:.2e}")
    for note in notes:
        print("note: " + note)


if __name__ == "__main__":
    main()
