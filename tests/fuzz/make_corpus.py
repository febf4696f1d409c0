"""Writes the fuzz targets' seed corpora (never committed: the public models are not ours to ship).

    make_corpus.py <anvil top> <out dir> [--max-model-bytes N]

<out>/fuzz_model/: one seed per model, the first byte 0 (the mutated-model mode):
  - the public models in $ANVIL_CACHE/models (PaddleOCR, BlazeFace, Silero VAD, openWakeWord);
  - the ONNX backend node test models (Debian's libonnx-testdata in the cache) of ops in Anvil's
    kernel list: small graphs with the attributes and shapes ONNX tests, If/Loop/Scan with bodies;
  - a few small multi-node graphs made here (conv stacks, attention-like matmuls, shape chains).
<out>/fuzz_kernel/ (and structured seeds in fuzz_model/): per row of kernels.inc, bytes that make
  the structured decoder pick that row, so every kernel is reached from the start.
"""
import argparse
import hashlib
import os
import pathlib
import random
import re

import onnx
from onnx import TensorProto, helper, numpy_helper
import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("top")
ap.add_argument("out")
ap.add_argument("--max-model-bytes", type=int, default=1 << 30)
args = ap.parse_args()
top = pathlib.Path(args.top)
out = pathlib.Path(args.out)
cache = pathlib.Path(os.environ.get("ANVIL_CACHE", pathlib.Path.home() / ".cache/anvil"))
(out / "fuzz_model").mkdir(parents=True, exist_ok=True)
(out / "fuzz_kernel").mkdir(parents=True, exist_ok=True)

inc = re.sub(r"//[^\n]*", "", (top / "src/kernels/kernels.inc").read_text())
rows = re.findall(r'ANVIL_KERNEL\(\s*"([^"]*)"\s*,\s*"([^"]*)"', inc)
anvil_ops = {op for _, op in rows}


def put(target, data, prefix=b"\x00"):
    blob = prefix + data
    name = hashlib.sha1(blob).hexdigest()
    (out / target / name).write_bytes(blob)


count = {"public": 0, "backend": 0, "made": 0}
for path in sorted((cache / "models").rglob("*.onnx")):
    if path.stat().st_size <= args.max_model_bytes:
        put("fuzz_model", path.read_bytes())
        count["public"] += 1

# The node cases of Debian's libonnx-testdata (scripts/fetch_backend_data.sh unpacks it in the cache).
for model_path in sorted((cache / "backend-data").glob("*/usr/share/libonnx-testdata/data/node/*/model.onnx")):
    try:
        model = onnx.load(str(model_path))
    except Exception:
        continue
    ops = {n.op_type for n in model.graph.node}
    if ops and ops <= anvil_ops | {"Constant"} and ops & anvil_ops:
        put("fuzz_model", model_path.read_bytes())
        count["backend"] += 1


def made(nodes, inputs, outputs, inits=(), opset=17):
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)
    put("fuzz_model", m.SerializeToString())
    count["made"] += 1


rng = np.random.default_rng(0)
f32 = lambda *s: rng.standard_normal(s).astype(np.float32)
vi = helper.make_tensor_value_info
# conv -> batchnorm -> relu -> maxpool -> global pool -> flatten -> gemm -> softmax
made([helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1], strides=[1, 1]),
      helper.make_node("BatchNormalization", ["c", "s", "bb", "m", "v"], ["n"]),
      helper.make_node("Relu", ["n"], ["r"]),
      helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
      helper.make_node("GlobalAveragePool", ["p"], ["g"]),
      helper.make_node("Flatten", ["g"], ["f"]),
      helper.make_node("Gemm", ["f", "gw", "gb"], ["l"], transB=1),
      helper.make_node("Softmax", ["l"], ["y"], axis=-1)],
     [vi("x", TensorProto.FLOAT, ["N", 3, 8, 8])], [vi("y", TensorProto.FLOAT, None)],
     [numpy_helper.from_array(f32(4, 3, 3, 3), "w"), numpy_helper.from_array(f32(4), "b"),
      numpy_helper.from_array(np.abs(f32(4)) + 0.5, "s"), numpy_helper.from_array(f32(4), "bb"),
      numpy_helper.from_array(f32(4), "m"), numpy_helper.from_array(np.abs(f32(4)) + 1, "v"),
      numpy_helper.from_array(f32(5, 4), "gw"), numpy_helper.from_array(f32(5), "gb")])
# attention-like: matmuls, transpose, reshape, scaling, softmax
made([helper.make_node("MatMul", ["x", "wq"], ["q"]),
      helper.make_node("MatMul", ["x", "wk"], ["k"]),
      helper.make_node("Transpose", ["k"], ["kt"], perm=[0, 2, 1]),
      helper.make_node("MatMul", ["q", "kt"], ["s"]),
      helper.make_node("Div", ["s", "scale"], ["ss"]),
      helper.make_node("Softmax", ["ss"], ["a"], axis=-1),
      helper.make_node("MatMul", ["a", "x"], ["o"]),
      helper.make_node("Reshape", ["o", "shape"], ["y"])],
     [vi("x", TensorProto.FLOAT, ["B", "T", 8])], [vi("y", TensorProto.FLOAT, None)],
     [numpy_helper.from_array(f32(8, 8), "wq"), numpy_helper.from_array(f32(8, 8), "wk"),
      numpy_helper.from_array(np.array(2.8, np.float32), "scale"),
      numpy_helper.from_array(np.array([0, -1], np.int64), "shape")])
# shape chain: Shape, Gather, Unsqueeze, Concat, Expand, Slice, Where, Cast
made([helper.make_node("Shape", ["x"], ["sh"]),
      helper.make_node("Gather", ["sh", "i0"], ["d0"], axis=0),
      helper.make_node("Unsqueeze", ["d0", "ax0"], ["d0u"]),
      helper.make_node("Concat", ["d0u", "four"], ["newshape"], axis=0),
      helper.make_node("Expand", ["x", "newshape"], ["e"]),
      helper.make_node("Slice", ["e", "st", "en", "ax1"], ["sl"]),
      helper.make_node("Greater", ["sl", "zero"], ["mask"]),
      helper.make_node("Where", ["mask", "sl", "zero"], ["w"]),
      helper.make_node("Cast", ["w"], ["y"], to=TensorProto.INT64)],
     [vi("x", TensorProto.FLOAT, ["N", 1])], [vi("y", TensorProto.INT64, None)],
     [numpy_helper.from_array(np.array(0, np.int64), "i0"), numpy_helper.from_array(np.array([0], np.int64), "ax0"),
      numpy_helper.from_array(np.array([4], np.int64), "four"), numpy_helper.from_array(np.array([1], np.int64), "st"),
      numpy_helper.from_array(np.array([3], np.int64), "en"), numpy_helper.from_array(np.array([1], np.int64), "ax1"),
      numpy_helper.from_array(np.array(0, np.float32), "zero")])
# LSTM + ReduceMean, quantize round trip
made([helper.make_node("LSTM", ["x", "w", "r"], ["h", "hl"], hidden_size=3),
      helper.make_node("ReduceMean", ["h"], ["y"], axes=[0], keepdims=0)],
     [vi("x", TensorProto.FLOAT, ["T", 1, 4])], [vi("y", TensorProto.FLOAT, None)],
     [numpy_helper.from_array(f32(1, 12, 4), "w"), numpy_helper.from_array(f32(1, 12, 3), "r")], opset=17)
made([helper.make_node("QuantizeLinear", ["x", "sc", "zp"], ["q"]),
      helper.make_node("DequantizeLinear", ["q", "sc", "zp"], ["y"])],
     [vi("x", TensorProto.FLOAT, [2, 5])], [vi("y", TensorProto.FLOAT, None)],
     [numpy_helper.from_array(np.array(0.1, np.float32), "sc"), numpy_helper.from_array(np.array(3, np.uint8), "zp")])

# Structured seeds: the decoder takes its row index from the end of the bytes (FuzzedDataProvider
# reads integers from the end, most significant byte last).
random.seed(0)
n = len(rows)
for i in range(n):
    for k in range(2):
        middle = bytes(random.randrange(256) for _ in range(96))
        tail = bytes([i & 0xFF, i >> 8]) if n > 256 else bytes([i])
        put("fuzz_kernel", middle + tail, prefix=b"\x01")
        if k == 0:
            put("fuzz_model", middle + tail, prefix=b"\x01")
print("corpus: %d public models, %d backend node models, %d made graphs, %d structured seeds"
      % (count["public"], count["backend"], count["made"], 2 * n))
