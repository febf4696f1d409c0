"""Writes the small models the C++ EP tests load into the folder given as argv[1]."""
import pathlib
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def save(model, path):
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def main(out):
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    f = TensorProto.FLOAT
    # y = Relu(x): the one-op model.
    g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "relu",
                          [helper.make_tensor_value_info("x", f, ["N", 3])],
                          [helper.make_tensor_value_info("y", f, ["N", 3])])
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), out / "relu.onnx")
    # y = Relu(x @ W), W constant [16, 8] = arange / 100: a weight Anvil pre-packs.
    w = (np.arange(16 * 8, dtype=np.float32).reshape(16, 8) - 64) / 100
    g = helper.make_graph([helper.make_node("MatMul", ["x", "W"], ["m"]), helper.make_node("Relu", ["m"], ["y"])],
                          "matmul_relu", [helper.make_tensor_value_info("x", f, ["N", 16])],
                          [helper.make_tensor_value_info("y", f, ["N", 8])], initializer=[numpy_helper.from_array(w, "W")])
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), out / "matmul_relu.onnx")
    # y = Einsum("...i->...i", Relu(x)) = Relu(x): Anvil does not claim Einsum equations with an
    # ellipsis, so that node needs ORT's CPU EP.
    g = helper.make_graph([helper.make_node("Relu", ["x"], ["r"]),
                           helper.make_node("Einsum", ["r"], ["y"], equation="...i->...i")], "relu_unclaimed",
                          [helper.make_tensor_value_info("x", f, ["N", 3])],
                          [helper.make_tensor_value_info("y", f, ["N", 3])])
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), out / "relu_unclaimed.onnx")
    # x [N, 4, 12, 12] -> Conv 3x3 (8 ch) -> Relu -> MaxPool 2x2 -> Reshape [N, 288] -> MatMul
    # [288, 10] -> Add -> Softmax, concatenated with Transpose(x) reshaped [N, 576]: several of
    # Anvil's own kernels in one session, for the concurrency test (the same graph as the small
    # model of tests/runtime/test_concurrency.py).
    rng = np.random.default_rng(7)
    inits = [
        numpy_helper.from_array(rng.standard_normal((8, 4, 3, 3)).astype(np.float32) * 0.3, "W"),
        numpy_helper.from_array(rng.standard_normal(8).astype(np.float32) * 0.1, "B"),
        numpy_helper.from_array(np.array([0, 288], np.int64), "S"),
        numpy_helper.from_array(np.array([0, 576], np.int64), "S2"),
        numpy_helper.from_array(rng.standard_normal((288, 10)).astype(np.float32) * 0.1, "M"),
        numpy_helper.from_array(rng.standard_normal(10).astype(np.float32), "C"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "W", "B"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Reshape", ["p", "S"], ["f"]),
        helper.make_node("MatMul", ["f", "M"], ["m"]),
        helper.make_node("Add", ["m", "C"], ["a"]),
        helper.make_node("Softmax", ["a"], ["s"], axis=-1),
        helper.make_node("Transpose", ["x"], ["tx"], perm=[0, 2, 3, 1]),
        helper.make_node("Reshape", ["tx", "S2"], ["ft"]),
        helper.make_node("Concat", ["s", "ft"], ["y"], axis=1),
    ]
    g = helper.make_graph(nodes, "small", [helper.make_tensor_value_info("x", f, ["N", 4, 12, 12])],
                          [helper.make_tensor_value_info("y", f, ["N", 586])], initializer=inits)
    save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), out / "small_cnn.onnx")


if __name__ == "__main__":
    main(sys.argv[1])
