"""If on Anvil: ORT runs the branches, Anvil claims the If node and the nodes of both branches.
CPU fallback is disabled, so each test fails unless every node, If included, ran on Anvil."""
import numpy as np
import pytest
from onnx import TensorProto, helper

import anvil_testing as t


def if_model(opset, nested=False):
    """y = If(cond, then: relu(x) + 1, else: x * 2 [or, nested: If(cond2, x - 1, -x... via Sub)])."""
    one = helper.make_tensor("one", TensorProto.FLOAT, [], [1.0])
    two = helper.make_tensor("two", TensorProto.FLOAT, [], [2.0])
    then_g = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Add", ["r", "one"], ["then_y"])],
        "then", [], [helper.make_tensor_value_info("then_y", TensorProto.FLOAT, None)], initializer=[one])
    if nested:
        inner_then = helper.make_graph([helper.make_node("Sub", ["x", "one_i"], ["it_y"])], "inner_then", [],
                                       [helper.make_tensor_value_info("it_y", TensorProto.FLOAT, None)],
                                       initializer=[helper.make_tensor("one_i", TensorProto.FLOAT, [], [1.0])])
        inner_else = helper.make_graph([helper.make_node("Mul", ["x", "two_i"], ["ie_y"])], "inner_else", [],
                                       [helper.make_tensor_value_info("ie_y", TensorProto.FLOAT, None)],
                                       initializer=[helper.make_tensor("two_i", TensorProto.FLOAT, [], [2.0])])
        else_g = helper.make_graph([helper.make_node("If", ["cond2"], ["else_y"], then_branch=inner_then,
                                                     else_branch=inner_else)],
                                   "else", [], [helper.make_tensor_value_info("else_y", TensorProto.FLOAT, None)])
    else:
        else_g = helper.make_graph([helper.make_node("Mul", ["x", "two"], ["else_y"])], "else", [],
                                   [helper.make_tensor_value_info("else_y", TensorProto.FLOAT, None)],
                                   initializer=[two])
    inputs = [helper.make_tensor_value_info("cond", TensorProto.BOOL, []),
              helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])]
    if nested:
        inputs.append(helper.make_tensor_value_info("cond2", TensorProto.BOOL, []))
    g = helper.make_graph([helper.make_node("If", ["cond"], ["y"], then_branch=then_g, else_branch=else_g)], "if",
                          inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8 if opset <= 17 else 10
    return m


@pytest.mark.parametrize("since,opset", t.schema_revisions("If", first_opset=7))
@pytest.mark.parametrize("cond", [True, False])
def test_if_runs_on_anvil_with_its_branches(since, opset, cond):
    x = np.array([[-1.5, 0.0, 2.0], [3.0, -4.0, 0.5]], np.float32)
    sess = t.session(if_model(opset))  # CPU fallback disabled: creation fails unless all is on Anvil
    (y,) = sess.run(None, {"cond": np.array(cond), "x": x})
    np.testing.assert_allclose(y, np.maximum(x, 0) + 1 if cond else x * 2, rtol=0, atol=0)


@pytest.mark.parametrize("cond,cond2", [(True, False), (False, True), (False, False)])
def test_nested_if(cond, cond2):
    x = np.array([[-1.5, 0.0, 2.0], [3.0, -4.0, 0.5]], np.float32)
    sess = t.session(if_model(17, nested=True))
    (y,) = sess.run(None, {"cond": np.array(cond), "x": x, "cond2": np.array(cond2)})
    want = np.maximum(x, 0) + 1 if cond else (x - 1 if cond2 else x * 2)
    np.testing.assert_allclose(y, want, rtol=0, atol=0)
