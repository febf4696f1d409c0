"""Side-by-side timing of single element-wise and small nn nodes (Relu, Clip, Add/Sub/Mul/Div with
same-shape, scalar and per-channel broadcast, Sigmoid, HardSigmoid, HardSwish, GlobalAveragePool,
MaxPool, Softmax) on model-sized tensors: Anvil vs ORT's CPU EP, interleaved in rounds in one
process, medians. A benchmark, not a test. Usage:
    ANVIL_LIB=build/libanvil_ep.so python bench/bench_elementwise.py [--threads N] [--repeats R] [filter]
ratio = anvil / cpu (<1: Anvil faster).
"""
import argparse
import pathlib
import statistics
import sys
import time

ROUND = 10  # timed runs per side and round

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from bench_kernels import make_sessions  # noqa: E402  (one node, Anvil and ORT's CPU EP sessions)

rng = np.random.default_rng(0)
SIZES = [(1, 64, 32, 32), (1, 64, 128, 128), (1, 16, 320, 320)]


def f32(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def cases(shape):
    n, c, h, w = shape
    tag = "x".join(map(str, shape))
    x = f32(*shape)
    one = np.array(0.5, np.float32)
    per_c = (rng.random((1, c, 1, 1)) + 0.5).astype(np.float32)
    out = []

    def add(name, op, inputs, attrs=None, inits=None):
        out.append((f"{name} {tag}", op, inputs, attrs or {}, inits or {}))

    add("Relu", "Relu", [("X", x)])
    add("Clip(0,6)", "Clip", [("X", x), ("lo", np.array(0, np.float32)), ("hi", np.array(6, np.float32))],
        inits={"lo": np.array(0, np.float32), "hi": np.array(6, np.float32)})
    for op in ("Add", "Sub", "Mul", "Div"):
        add(f"{op} same", op, [("A", x), ("B", f32(*shape) + (3 if op == "Div" else 0))])
    for op in ("Add", "Mul", "Div"):
        add(f"{op} scalar", op, [("A", x), ("B", one)], inits={"B": one})
    for op in ("Add", "Mul"):
        add(f"{op} [1,C,1,1]", op, [("A", x), ("B", per_c)], inits={"B": per_c})
    add("Sigmoid", "Sigmoid", [("X", x)])
    add("HardSigmoid", "HardSigmoid", [("X", x)], dict(alpha=1 / 6, beta=0.5))
    add("HardSwish", "HardSwish", [("X", x)])
    add("GlobalAveragePool", "GlobalAveragePool", [("X", x)])
    add("MaxPool 3x3 s2 p1", "MaxPool", [("X", x)], dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]))
    add("MaxPool 2x2 s2", "MaxPool", [("X", x)], dict(kernel_shape=[2, 2], strides=[2, 2]))
    add("Softmax axis=-1", "Softmax", [("X", x)], dict(axis=-1))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("filter", nargs="?", default="")
    args = ap.parse_args()
    print(f"threads={args.threads}, median of {args.repeats} interleaved runs; ratio = anvil / cpu (<1: Anvil faster)")
    print(f"{'case':44s} {'anvil us':>9s} {'cpu us':>9s} {'ratio':>6s}")
    ratios = []
    for shape in SIZES:
        for case in cases(shape):
            if args.filter not in case[0]:
                continue
            anvil, cpu, feeds = make_sessions(case, args.threads)
            ya, yc = anvil.run(None, feeds)[0], cpu.run(None, feeds)[0]  # warm-up and sanity check
            err = float(np.max(np.abs(ya - yc)) / (np.max(np.abs(yc)) + 1e-30))
            ta, tc = [], []
            while len(ta) < args.repeats:
                for sess, t in ((anvil, ta), (cpu, tc)):
                    sess.run(None, feeds)  # untimed: absorbs the other side's spinning threads
                    for _ in range(ROUND):
                        t0 = time.perf_counter()
                        sess.run(None, feeds)
                        t.append(time.perf_counter() - t0)
            ma, mc = statistics.median(ta) * 1e6, statistics.median(tc) * 1e6
            ratios.append(ma / mc)
            flag = "" if err < 1e-4 else f"  MISMATCH rel err {err:.2e}"
            print(f"{case[0]:44s} {ma:9.1f} {mc:9.1f} {ma / mc:6.2f}{flag}", flush=True)
    if ratios:
        print(f"geomean ratio {float(np.exp(np.mean(np.log(ratios)))):.2f}, worst {max(ratios):.2f}")


if __name__ == "__main__":
    main()
