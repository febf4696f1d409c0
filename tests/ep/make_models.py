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


if __name__ == "__main__":
    main(sys.argv[1])
