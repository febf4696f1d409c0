"""The backend driver's own machinery (run.py, worker.py): a worker that crashes or hangs is
reported for its case and replaced, the rest of the cases still run; a crash or hang on ORT's side
counts as ORT failing; the comparison follows ONNX's rules; the declined-list checks."""
import dataclasses

import numpy as np
import onnx
from onnx import TensorProto, helper

from . import run, worker


def tiny_model(op="Add"):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])
    node = helper.make_node(op, ["x", "x"] if op == "Add" else ["x"], ["y"])
    m = helper.make_model(helper.make_graph([node], "g", [x], [y]), opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    return m


@dataclasses.dataclass
class FakeCase:
    id: str
    simulate: str = ""
    op: str = "Add"
    expected_scale: float = 2.0
    na: str = None
    heavy: bool = False

    def payload(self):
        x = np.array([1.0, -3.0], np.float32)
        want = x * self.expected_scale if self.op == "Add" else np.abs(x)
        return {"id": self.id, "model": tiny_model(self.op).SerializeToString(),
                "sets": [({"x": x}, [want.astype(np.float32)])], "rtol": 1e-3, "atol": 1e-7,
                "simulate": self.simulate}


def test_crash_and_hang_are_reported_and_the_run_goes_on():
    cases = [FakeCase("a_pass"), FakeCase("b_abort", "abort@anvil"), FakeCase("c_pass"),
             FakeCase("d_hang", "hang@anvil"), FakeCase("e_exit", "exit@anvil"),
             FakeCase("f_ort_abort", "abort@ort"), FakeCase("g_ort_hang", "hang@ort"),
             FakeCase("h_wrong", expected_scale=3.0), FakeCase("i_pass"), FakeCase("j_na", na="string")]
    results = run.run_cases(cases, workers=1, timeout=3)
    status = {k: r.status for k, r in results.items()}
    assert status == {"a_pass": "pass", "b_abort": "crash", "c_pass": "pass", "d_hang": "hang",
                      "e_exit": "crash", "f_ort_abort": "ort_fails", "g_ort_hang": "ort_fails",
                      "h_wrong": "ort_fails", "i_pass": "pass", "j_na": "na"}, status
    assert "signal 6" in results["b_abort"].detail
    assert "exit code 3" in results["e_exit"].detail
    problems = run.check_failures(results)
    assert len(problems) == 3 and all(p.startswith(("crash:", "hang:")) for p in problems), problems
    c = run.counts(results)
    assert (c["ORT passes"], c["Anvil passes"], c["crashes"], c["hangs"], c["ORT fails"], c["not applicable"]) == (6, 3, 2, 1, 3, 1)


def test_two_workers_share_the_cases():
    cases = [FakeCase(f"case{i}") for i in range(6)] + [FakeCase("crash", "abort@anvil")]
    results = run.run_cases(cases, workers=2, timeout=30)
    assert sorted(r.status for r in results.values()) == ["crash"] + ["pass"] * 6


def test_compare_follows_onnx_rules():
    f = np.array([1.0, np.nan, np.inf], np.float32)
    assert worker.compare([f], [f.copy()], 1e-3, 1e-7) is None                     # NaN == NaN
    assert worker.compare([f * (1 + 5e-4)], [f], 1e-3, 1e-7) is None               # within rtol
    assert "differ" in worker.compare([f * (1 + 2e-3)], [f], 1e-3, 1e-7)
    assert "dtype" in worker.compare([f.astype(np.float64)], [f], 1e-3, 1e-7)
    assert "shape" in worker.compare([f[:2]], [f], 1e-3, 1e-7)
    assert "outputs" in worker.compare([f, f], [f], 1e-3, 1e-7)
    i = np.array([1, 2, 3], np.int64)
    assert "differ" in worker.compare([i + np.array([0, 0, 1])], [i], 1e-3, 1e-7)  # integers exact
    b = np.array([True, False])
    assert "differ" in worker.compare([~b], [b], 1e-3, 1e-7)
    assert worker.compare([np.float32(2.0)], [np.float32(2.0)], 1e-3, 1e-7) is None  # scalars


def test_declined_checks():
    R = run.Result
    results = {"x": R("x", "declined", ["Tan(float32)"]), "y": R("y", "pass", ""), "z": R("z", "declined", ["Foo", "Foo"])}
    listed = {"x": "Tan(float32)", "y": "Bar(float32)", "gone": "Baz", "z2": "Sin(float32)"}
    results["z2"] = R("z2", "declined", ["Cos(float32)"])
    problems = run.check_declined(results, listed)
    text = "\n".join(problems)
    assert "declined but not in declined.txt: z (Foo x2)" in text
    assert "y is in declined.txt but passes now" in text
    assert "gone is in declined.txt but is no longer a case" in text
    assert "z2 declines for Cos(float32), declined.txt says Sin(float32)" in text
    assert "x" not in [p.split(":")[-1].strip() for p in problems]
    assert not [p for p in run.check_declined(results, listed, full=False) if "gone" in p]
    assert run.check_floor(results, 2) and not run.check_floor(results, 1)


def test_not_applicable():
    from . import cases
    assert cases.not_applicable(tiny_model()) is None
    m = tiny_model()
    m.opset_import.append(helper.make_opsetid("ai.onnx.ml", 3))
    assert cases.not_applicable(m) == "ai.onnx.ml"
    m = tiny_model()
    m.graph.output[0].type.tensor_type.elem_type = TensorProto.STRING
    assert cases.not_applicable(m) == "string"
