"""Side-by-side timing of PaddleOCR-sized Conv / ConvTranspose / MatMul / Gemm nodes: Anvil vs
ORT's CPU EP, interleaved in one process (so both see the same machine state), median of repeats.
A benchmark, not a test. Usage:
    ANVIL_LIB=build/libanvil_ep.so python bench/bench_kernels.py [--threads N] [--repeats R] [filter]
"""
import argparse
import pathlib
import statistics
import sys
import time

ROUND = 5  # timed runs per side and round

import numpy as np
import onnxruntime as ort

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))
from anvil_testing import anvil_devices, make_node_model  # noqa: E402

rng = np.random.default_rng(0)


def f32(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def conv(name, n, c, h, w, m, k, stride=(1, 1), group=1, pads=None):
    kh, kw = k
    pads = pads if pads is not None else [kh // 2, kw // 2, kh // 2, kw // 2]
    x, wt, b = f32(n, c, h, w), f32(m, c // group, kh, kw), f32(m)
    attrs = dict(kernel_shape=[kh, kw], strides=list(stride), pads=pads, group=group)
    return name, "Conv", [("X", x), ("W", wt), ("B", b)], attrs, {"W": wt, "B": b}


def conv1d(name, n, c, w, m, k, stride=1):
    x, wt, b = f32(n, c, w), f32(m, c, k), f32(m)
    return name, "Conv", [("X", x), ("W", wt), ("B", b)], dict(kernel_shape=[k], strides=[stride]), {"W": wt, "B": b}


def convt(name, n, c, h, w, m, k, stride):
    x, wt, b = f32(n, c, h, w), f32(c, m, k, k), f32(m)
    return name, "ConvTranspose", [("X", x), ("W", wt), ("B", b)], dict(strides=[stride, stride]), {"W": wt, "B": b}


def matmul(name, a_shape, b_shape, const_b):
    a, b = f32(*a_shape), f32(*b_shape)
    return name, "MatMul", [("A", a), ("B", b)], {}, ({"B": b} if const_b else {})


def gemm(name, m, k, n):
    a, b, c = f32(m, k), f32(n, k), f32(n)
    return name, "Gemm", [("A", a), ("B", b), ("C", c)], dict(transB=1), {"B": b, "C": c}


CASES = [
    conv("det stem 3x3 s2 3->16 @320", 1, 3, 320, 320, 16, (3, 3), (2, 2)),
    conv("dw 3x3 C=24 @128 (BlazeFace)", 1, 24, 128, 128, 24, (3, 3), group=24, pads=[1, 1, 1, 1]),
    conv("dw 3x3 C=64 @80", 1, 64, 80, 80, 64, (3, 3), group=64),
    conv("pw 1x1 64->128 @80", 1, 64, 80, 80, 128, (1, 1)),
    conv("dw 5x5 s2 C=240 @40", 1, 240, 40, 40, 240, (5, 5), (2, 2), group=240),
    conv("pw 1x1 480->120 @20", 1, 480, 20, 20, 120, (1, 1)),
    conv("dw 3x3 C=480 @20", 1, 480, 20, 20, 480, (3, 3), group=480),
    conv("3x3 96->96 @40", 1, 96, 40, 40, 96, (3, 3)),
    conv("rec 3x3 s(2,1) 32->64 @24x160", 1, 32, 24, 160, 64, (3, 3), (2, 1)),
    conv("rec 1x3 64->64 pads(0,1,0,1)", 1, 64, 12, 160, 64, (1, 3), pads=[0, 1, 0, 1]),
    conv1d("vad stft 1-D k256 s128 1->258 @640", 1, 1, 640, 258, 256, 128),
    conv1d("1-D k3 129->128 @4", 1, 129, 4, 128, 3),
    convt("convT 2x2 s2 96->24 @80", 1, 96, 80, 80, 24, 2, 2),
    matmul("matmul [1,80,120]x[120,6625] const", (1, 80, 120), (120, 6625), True),
    matmul("matmul [1,40,256]x[256,768] const", (1, 40, 256), (256, 768), True),
    matmul("matmul [1,8,80,32]x[1,8,32,80]", (1, 8, 80, 32), (1, 8, 32, 80), False),
    gemm("gemm [1,1280]x[1280,2]^T", 1, 1280, 2),
    gemm("gemm [1,1536]x[1536,128]^T (wake-word head)", 1, 1536, 128),
    gemm("gemm [1,128]x[128,128]^T", 1, 128, 128),
    gemm("gemm [64,512]x[512,512]^T", 64, 512, 512),
]


def make_sessions(case, threads):
    name, op, inputs, attrs, inits = case
    model = make_node_model(op, inputs, ["Y"], 17, attrs, inits)
    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.intra_op_num_threads = threads
    so.add_session_config_entry("session.disable_cpu_ep_fallback", "1")
    so.add_provider_for_devices(anvil_devices(), {"threads": str(threads)})
    anvil = ort.InferenceSession(model.SerializeToString(), so)
    so_cpu = ort.SessionOptions()
    so_cpu.log_severity_level = 3
    so_cpu.intra_op_num_threads = threads  # ORT's defaults otherwise: the rounds absorb its spinning
    cpu = ort.InferenceSession(model.SerializeToString(), so_cpu, providers=["CPUExecutionProvider"])
    feeds = {n: v for n, v in inputs if n not in inits}
    return anvil, cpu, feeds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("filter", nargs="?", default="")
    args = ap.parse_args()
    print(f"threads={args.threads}, median of {args.repeats} interleaved runs; ratio = CPU EP / Anvil (>1: Anvil faster)")
    print(f"{'case':42s} {'anvil ms':>9s} {'cpu ms':>9s} {'ratio':>6s}")
    for case in CASES:
        if args.filter not in case[0]:
            continue
        anvil, cpu, feeds = make_sessions(case, args.threads)
        ya, yc = anvil.run(None, feeds)[0], cpu.run(None, feeds)[0]  # warm-up (and a sanity check)
        err = float(np.max(np.abs(ya - yc)) / (np.max(np.abs(yc)) + 1e-30))
        ta, tc = [], []
        # Interleaved in rounds, as anvil_run --bench does: each side runs once untimed (absorbing
        # the other side's still-spinning worker threads and slow-to-wake idle cores), then ROUND
        # timed runs.
        while len(ta) < args.repeats:
            for sess, out in ((anvil, ta), (cpu, tc)):
                sess.run(None, feeds)
                for _ in range(ROUND):
                    t0 = time.perf_counter()
                    sess.run(None, feeds)
                    out.append(time.perf_counter() - t0)
        ma, mc = statistics.median(ta) * 1e3, statistics.median(tc) * 1e3
        flag = "" if err < 1e-4 else f"  MISMATCH rel err {err:.2e}"
        print(f"{case[0]:42s} {ma:9.3f} {mc:9.3f} {mc / ma:6.2f}{flag}")


if __name__ == "__main__":
    main()
