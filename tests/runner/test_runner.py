"""Tests of anvil_run, the command-line runner (tools/). They drive the binary with subprocess:
ANVIL_RUNNER names it (default build/anvil_run); the plugin is found next to it or through ANVIL_LIB."""
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from anvil_testing import make_node_model  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
RUNNER = os.environ.get("ANVIL_RUNNER", str(ROOT / "build" / "anvil_run"))
EP = "AnvilExecutionProvider"
ERROR_PREFIX = "anvil_run: error: "
POLICIES = ["default", "prefer_cpu", "prefer_npu", "prefer_gpu", "max_performance", "max_efficiency",
            "min_overall_power"]
PADDLE_DIR = pathlib.Path(os.environ.get("ANVIL_CACHE", pathlib.Path.home() / ".cache" / "anvil")) / "models" / "paddleocr"

pytestmark = pytest.mark.skipif(not os.path.exists(RUNNER), reason=f"anvil_run not built at {RUNNER}")


def run(*args, timeout=300, runner=RUNNER, env=None):
    p = subprocess.run([str(runner), *map(str, args)], capture_output=True, text=True, timeout=timeout, env=env)
    assert p.returncode >= 0, f"anvil_run died of signal {-p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    return p


def ok(*args, **kw):
    p = run(*args, **kw)
    assert p.returncode == 0, f"rc={p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    return p


def error(expected_rc, *args, mentions=()):
    """Runs anvil_run expecting failure: exactly one stderr line, 'anvil_run: error: ...', naming the problem."""
    p = run(*args)
    assert p.returncode == expected_rc, f"rc={p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    lines = p.stderr.splitlines()
    assert len(lines) == 1, f"want one stderr line, got:\n{p.stderr}"
    assert lines[0].startswith(ERROR_PREFIX), lines[0]
    for word in mentions:
        assert word in lines[0], f"{word!r} not in {lines[0]!r}"
    return lines[0]


# ---- models and inputs --------------------------------------------------------------------------

@pytest.fixture
def relu(tmp_path):
    """A one-node Relu model with a fixed input shape [2,3,4], and an input for it."""
    x = np.random.default_rng(1).standard_normal((2, 3, 4)).astype(np.float32)
    model = tmp_path / "relu.onnx"
    onnx.save(make_node_model("Relu", [("x", x)], ["y"], 14), model)
    np.save(tmp_path / "x.npy", x)
    return model, x


@pytest.fixture
def relu_dynamic(tmp_path):
    """Relu with input x [N, 3, H] (symbolic N and H)."""
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "relu_dyn",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, "H"])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    path = tmp_path / "relu_dyn.onnx"
    onnx.save(model, path)
    return path


def two_input_model(tmp_path):
    """Relu(a) and Relu(b): two inputs, two outputs."""
    graph = helper.make_graph([helper.make_node("Relu", ["a"], ["ra"]), helper.make_node("Relu", ["b"], ["rb"])],
                              "two", [helper.make_tensor_value_info("a", TensorProto.FLOAT, [2, 2]),
                                      helper.make_tensor_value_info("b", TensorProto.FLOAT, ["B", 5])],
                              [helper.make_tensor_value_info("ra", TensorProto.FLOAT, None),
                               helper.make_tensor_value_info("rb", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    path = tmp_path / "two.onnx"
    onnx.save(model, path)
    return path


def unsupported_model(tmp_path):
    """Relu -> Det of float16: Anvil's Det takes float only, so this one needs the CPU EP."""
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["r"], name="the_relu"),
                               helper.make_node("Cast", ["r"], ["h"], name="the_cast", to=TensorProto.FLOAT16),
                               helper.make_node("Det", ["h"], ["dh"], name="the_det"),
                               helper.make_node("Cast", ["dh"], ["d"], name="the_cast_back", to=TensorProto.FLOAT)],
                              "det",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 3])],
                              [helper.make_tensor_value_info("d", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    path = tmp_path / "det.onnx"
    onnx.save(model, path)
    return path


# ---- outputs ------------------------------------------------------------------------------------

def test_npy_input_output_written_and_equal_to_numpy(relu, tmp_path):
    model, x = relu
    out = tmp_path / "out"
    p = ok(model, "--input", f"x={tmp_path / 'x.npy'}", "--output-dir", out)
    y = np.load(out / "y.npy")
    assert y.dtype == np.float32 and y.shape == x.shape
    np.testing.assert_array_equal(y, np.maximum(x, 0))
    assert "EP devices:" in p.stdout and EP in p.stdout  # brief device list on every run


def test_pb_input(relu, tmp_path):
    model, x = relu
    pb = tmp_path / "x.pb"
    pb.write_bytes(numpy_helper.from_array(x, "x").SerializeToString())
    out = tmp_path / "out"
    ok(model, "--input", pb, "--output-dir", out)  # the TensorProto names its input
    np.testing.assert_array_equal(np.load(out / "y.npy"), np.maximum(x, 0))


def test_pb_input_float_data_field(relu, tmp_path):
    """A TensorProto with float_data instead of raw_data."""
    model, x = relu
    t = helper.make_tensor("x", TensorProto.FLOAT, list(x.shape), x.flatten().tolist(), raw=False)
    pb = tmp_path / "x_fd.pb"
    pb.write_bytes(t.SerializeToString())
    out = tmp_path / "out"
    ok(model, "--input", f"x={pb}", "--output-dir", out)
    np.testing.assert_array_equal(np.load(out / "y.npy"), np.maximum(x, 0))


def test_generated_inputs_dims_and_seed(relu_dynamic, tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    p = ok(relu_dynamic, "--dim", "H=7", "--batch", "2", "--seed", "5", "--output-dir", a)
    assert re.search(r"'x'\s+float32\s+\[2,3,7\]\s+generated \(seed 5\)", p.stdout), p.stdout
    assert "H=7 (--dim)" in p.stdout and "N=2 (batch)" in p.stdout
    ok(relu_dynamic, "--dim", "H=7", "--batch", "2", "--seed", "5", "--output-dir", b)
    ok(relu_dynamic, "--dim", "H=7", "--batch", "2", "--seed", "6", "--output-dir", c)
    ya, yb, yc = (np.load(d / "y.npy") for d in (a, b, c))
    assert ya.shape == (2, 3, 7) and (ya >= 0).all() and (ya < 1).all()  # uniform [0,1) through Relu
    np.testing.assert_array_equal(ya, yb)
    assert not np.array_equal(ya, yc)


def test_unknown_dims_get_defaults_that_are_printed(relu_dynamic, tmp_path):
    p = ok(relu_dynamic, "--output-dir", tmp_path)
    assert "N=1 (batch)" in p.stdout and "H=64 (default)" in p.stdout
    assert np.load(tmp_path / "y.npy").shape == (1, 3, 64)


def test_shape_flag_and_two_inputs(tmp_path):
    model = two_input_model(tmp_path)
    a = np.array([[-1, 2], [3, -4]], np.float32)
    np.save(tmp_path / "a.npy", a)
    out = tmp_path / "out"
    ok(model, "--input", f"a={tmp_path / 'a.npy'}", "--shape", "b=3x5", "--output-dir", out)
    np.testing.assert_array_equal(np.load(out / "ra.npy"), np.maximum(a, 0))
    assert np.load(out / "rb.npy").shape == (3, 5)


def test_int64_output_written(tmp_path):
    """Shape's int64 output, a 1-D .npy."""
    x = np.zeros((2, 3, 4), np.float32)
    model = tmp_path / "shape.onnx"
    onnx.save(make_node_model("Shape", [("x", x)], ["s"], 13, output_types=[TensorProto.INT64]), model)
    out = tmp_path / "out"
    ok(model, "--allow-fallback", "--output-dir", out)
    s = np.load(out / "s.npy")
    assert s.dtype == np.int64
    np.testing.assert_array_equal(s, [2, 3, 4])


def test_several_models_summary(relu, relu_dynamic, tmp_path):
    model, _ = relu
    out = tmp_path / "out"
    p = ok(model, relu_dynamic, "--compare", "--output-dir", out)
    assert (out / "relu" / "y.npy").exists() and (out / "relu_dyn" / "y.npy").exists()
    assert "summary:" in p.stdout
    assert re.search(r"^relu\s+1/1\s+\S+\s+\S+\s+PASS", p.stdout, re.M), p.stdout
    assert re.search(r"^relu_dyn\s+1/1\s+\S+\s+\S+\s+PASS", p.stdout, re.M), p.stdout


# ---- compare, placement, bench, devices ---------------------------------------------------------

def test_compare_format(relu, tmp_path):
    model, _ = relu
    p = ok(model, "--input", f"x={tmp_path / 'x.npy'}", "--compare")
    assert re.search(r"compare with ORT's CPU EP \(pass: max abs diff <= atol \S+ \+ rtol \S+ \* max \|reference\|\)",
                     p.stdout), p.stdout
    m = re.search(r"'y'\s+max abs diff (\S+), max rel diff (\S+) \(relative to max \|reference\| (\S+)\)\s+PASS",
                  p.stdout)
    assert m, p.stdout
    assert float(m.group(1)) == 0.0 and float(m.group(2)) == 0.0  # Relu is exact
    assert "compare: PASS (1 of 1 outputs within tolerance)" in p.stdout


def test_compare_tolerances_are_flags(relu, tmp_path):
    model, _ = relu
    p = ok(model, "--compare", "--atol", "0", "--rtol", "0")
    assert "atol 0 + rtol 0" in p.stdout and "compare: PASS" in p.stdout


def test_placement_shows_anvil(relu):
    model, _ = relu
    p = ok(model, "--placement")
    assert f"placement: 1 of 1 nodes on {EP}" in p.stdout
    assert re.search(rf"{EP}\s+1 nodes: Relu 1", p.stdout), p.stdout


def test_fallback_disabled_by_default_and_allowed_on_request(tmp_path):
    model = unsupported_model(tmp_path)
    line = error(1, model, mentions=("Det", "--allow-fallback"))
    assert "1 of 4 nodes" in line
    p = ok(model, "--allow-fallback", "--placement", "--compare")
    assert f"placement: 3 of 4 nodes on {EP}" in p.stdout
    assert re.search(r"CPUExecutionProvider\s+1 nodes: Det 1", p.stdout), p.stdout
    assert "'the_det' (Det on CPUExecutionProvider)" in p.stdout
    assert "compare: PASS" in p.stdout


def test_bench_format(relu):
    model, _ = relu
    p = ok(model, "--bench", "--warmup", "1", "--repeat", "3", "--threads", "1")
    assert "bench (1 threads each, warmup 1, repeat 3, interleaved Anvil/ORT in rounds of 5):" in p.stdout
    assert re.search(r"^\s+Anvil\s+median\s+[\d.]+ ms\s+p90\s+[\d.]+ ms$", p.stdout, re.M), p.stdout
    assert re.search(r"^\s+ORT CPU EP\s+median\s+[\d.]+ ms\s+p90\s+[\d.]+ ms$", p.stdout, re.M), p.stdout
    assert re.search(r"ratio ORT/Anvil [\d.e+-]+ \(>1: Anvil is faster\)", p.stdout), p.stdout


def conv_model(tmp_path, name="convnet"):
    """Conv -> Relu -> MatMul -> Add(m, m) on x [1,3,8,8]: oneDNN and Anvil kernels (the Add of the
    MatMul's output to itself is no tail of the MatMul: it stays a node of its own)."""
    rng = np.random.default_rng(3)
    inits = [numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "W"),
             numpy_helper.from_array(rng.standard_normal((8, 5)).astype(np.float32), "M")]
    nodes = [helper.make_node("Conv", ["x", "W"], ["c"], name="conv", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"], name="relu"),
             helper.make_node("MatMul", ["r", "M"], ["m"], name="matmul"),
             helper.make_node("Add", ["m", "m"], ["y"], name="add")]
    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / f"{name}.onnx"
    onnx.save(model, str(path))
    return path


PROFILE_ROW = r"^\s+{op}\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)%\s+([\d.]+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(.*)$"


def test_profile_table(tmp_path):
    p = ok(conv_model(tmp_path), "--profile", "--warmup", "1", "--repeat", "2", "--threads", "1")
    assert "profile (2 profiled runs per side after 1 warmup, interleaved;" in p.stdout, p.stdout
    assert "Anvil ms: inside Anvil's kernels (its own events)" in p.stdout, p.stdout
    assert re.search(r"^\s+op type\s+Anvil n\s+Anvil ms\s+mean ms\s+share\s+node ms\s+ORT n\s+ORT ms\s+mean ms\s+share"
                     r"\s+ORT/Anvil\s+Anvil impl$", p.stdout, re.M), p.stdout
    # Anvil fuses Conv + Relu: one row for the group (its pattern), with ORT's node time of the
    # fused node, and no Relu row of its own
    group = re.search(PROFILE_ROW.format(op=re.escape("Conv + Relu")), p.stdout, re.M)
    assert group, p.stdout
    assert group.group(1) == "1" and group.group(11).startswith("onednn:") and group.group(11) != "onednn:none"
    assert float(group.group(3)) == pytest.approx(float(group.group(2)), abs=2e-3)  # mean of one call
    assert not re.search(PROFILE_ROW.format(op="Relu"), p.stdout, re.M), p.stdout
    matmul = re.search(PROFILE_ROW.format(op="MatMul"), p.stdout, re.M)
    assert matmul and matmul.group(1) == "1" and matmul.group(6) == "1", p.stdout  # both sides
    add = re.search(PROFILE_ROW.format(op="Add"), p.stdout, re.M)
    assert add and add.group(11) == "anvil:Add", p.stdout
    assert re.search(r"^\s+\(all nodes\)\s+[\d.]+\s+[\d.]+%\s+[\d.]+\s+[\d.]+\s+[\d.]+%", p.stdout, re.M), p.stdout
    assert re.search(r"^\s+\(run\)\s+[\d.]+\s+[\d.]+\s+[\d.]+$", p.stdout, re.M), p.stdout
    # the slowest nodes, with their shapes and implementation (the group's X channels-last)
    assert "Anvil's slowest nodes:" in p.stdout
    assert re.search(r"^\s+node\s+op type\s+ms per run\s+share\s+input shapes\s+impl$", p.stdout, re.M), p.stdout
    assert re.search(r"^\s+\S+\s+Conv \+ Relu\s+[\d.]+\s+[\d.]+%\s+\[\[1,8,8,3\],\[4,3,3,3\]\]\s+onednn:\S+$",
                     p.stdout, re.M), p.stdout
    assert re.search(r"^\s+add\s+Add\s+[\d.]+\s+[\d.]+%\s+\[\[1,4,8,5\],\[1,4,8,5\]\]\s+anvil:Add$", p.stdout, re.M), \
        p.stdout


def test_profile_table_per_node(tmp_path):
    # Without fusion and in the model's layout every node has its row (ORT fuses Conv+Relu).
    p = ok(conv_model(tmp_path), "--profile", "--repeat", "2", "--threads", "1", "--ep-option", "fuse=0",
           "--ep-option", "layout=nchw")
    conv = re.search(PROFILE_ROW.format(op="Conv"), p.stdout, re.M)
    assert conv and conv.group(1) == "1" and conv.group(11).startswith("onednn:"), p.stdout
    relu = re.search(PROFILE_ROW.format(op="Relu"), p.stdout, re.M)
    assert relu and relu.group(1) == "1" and relu.group(11) == "anvil:Relu", p.stdout
    assert relu.group(6) == "-", p.stdout  # ORT's CPU EP has no Relu of its own
    assert re.search(r"^\s+conv\s+Conv\s+[\d.]+\s+[\d.]+%\s+\[\[1,3,8,8\],\[4,3,3,3\]\]\s+onednn:\S+$", p.stdout, re.M), \
        p.stdout


def test_profile_json_keeps_anvils_profile_of_the_profiled_runs(tmp_path):
    raw = tmp_path / "anvil_profile.json"
    p = ok(conv_model(tmp_path), "--profile-json", raw, "--repeat", "3")
    assert f"wrote  {raw} (Anvil's profile of the 3 profiled runs)" in p.stdout, p.stdout
    assert "Anvil n" in p.stdout  # --profile-json implies --profile
    events = json.loads(raw.read_text())
    runs = sorted((e for e in events if e["name"] == "model_run"), key=lambda e: e["ts"])
    assert len(runs) == 3
    for a, b in zip(runs, runs[1:]):
        assert a["ts"] + a["dur"] < b["ts"]  # runs laid out one after the other
    ours = [e for e in events if e["cat"] == "Kernel" and e["args"].get("provider") == EP]
    nodes = [e for e in events if e["cat"] == "Node" and e["name"].endswith("_kernel_time")]
    assert len(ours) == len(nodes) and len(ours) % 3 == 0 and ours, [e["name"] for e in events]
    for e in ours:
        assert sum(r["ts"] - 2 <= e["ts"] and e["ts"] + e["dur"] <= r["ts"] + r["dur"] + 2 for r in runs) == 1, e
        assert e["args"]["impl"] and e["args"]["layout"] in ("NCHW", "NHWC") and int(e["args"]["threads"]) >= 1
    # the fused Conv + Relu runs channels-last; MatMul and Add in the model's layout
    layouts = {e["args"]["op_name"]: e["args"]["layout"] for e in ours}
    assert layouts.get("Conv + Relu") == "NHWC" and layouts.get("MatMul") == "NCHW", layouts


def test_profile_json_with_several_models_names_each(tmp_path):
    a, b = conv_model(tmp_path, "net_a"), conv_model(tmp_path, "net_b")
    raw = tmp_path / "prof.json"
    ok(a, b, "--profile-json", raw, "--repeat", "1")
    for label in ("net_a", "net_b"):
        events = json.loads((tmp_path / f"prof_{label}.json").read_text())
        assert [e for e in events if e["cat"] == "Kernel"], label
    assert not raw.exists()


def test_profile_json_errors(tmp_path):
    model = conv_model(tmp_path)
    error(2, model, "--profile-json", mentions=("--profile-json",))
    error(1, model, "--profile-json", tmp_path / "no" / "such" / "dir" / "p.json", mentions=("p.json",))


def test_list_devices():
    p = ok("--list-devices")
    assert re.search(rf"\[\d+\] {EP} \(EP vendor Anvil\)", p.stdout), p.stdout
    assert "anvil.cpu_features=" in p.stdout and "anvil.threads=" in p.stdout
    assert "CPUExecutionProvider" in p.stdout
    assert "== " not in p.stdout  # listing alone runs no model


def test_help():
    p = ok("--help")
    assert p.stdout.startswith("usage: anvil_run")
    for flag in ("--lib", "--select", "--ep-option", "--input", "--dim", "--compare", "--placement", "--bench",
                 "--allow-fallback", "policy:NAME"):
        assert flag in p.stdout


def test_lib_flag_and_env(relu, tmp_path):
    """--lib names the plugin; without it, a runner with no plugin next to it uses $ANVIL_LIB."""
    model, _ = relu
    lib = (pathlib.Path(RUNNER).parent / "libanvil_ep.so").resolve()
    p = ok(model, "--lib", lib)
    assert f"Anvil plugin {lib}" in p.stdout
    alone = tmp_path / "bin" / "anvil_run"
    alone.parent.mkdir()
    alone.write_bytes(pathlib.Path(RUNNER).read_bytes())
    alone.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "ANVIL_LIB"}
    p = run(model, runner=alone, env=env)
    assert p.returncode == 1 and p.stderr.startswith(ERROR_PREFIX) and "ANVIL_LIB" in p.stderr, p.stderr
    p = run(model, "--placement", runner=alone, env={**env, "ANVIL_LIB": str(lib)})
    assert p.returncode == 0, p.stderr
    assert f"Anvil plugin {lib}" in p.stdout and f"1 of 1 nodes on {EP}" in p.stdout


# ---- selection ----------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", [f"policy:{name}" for name in POLICIES] + ["delegate", "explicit"])
def test_selection(relu, mode):
    model, _ = relu
    p = ok(model, "--select", mode, "--placement", "--compare", "--ep-option", "threads=1")
    assert f"placement: 1 of 1 nodes on {EP}" in p.stdout
    assert "compare: PASS" in p.stdout


@pytest.mark.parametrize("mode", ["policy:prefer_cpu", "delegate"])
def test_ep_options_reach_the_ep_with_policies(relu, mode):
    model, _ = relu
    error(2, model, "--select", mode, "--ep-option", "bogus=1", mentions=("bogus",))


# ---- errors -------------------------------------------------------------------------------------

def test_missing_model(tmp_path):
    error(1, tmp_path / "nope.onnx", mentions=("model file not found", "nope.onnx"))


def test_corrupt_model(tmp_path):
    bad = tmp_path / "corrupt.onnx"
    bad.write_bytes(bytes(range(256)) * 3)
    error(1, bad, mentions=("corrupt.onnx",))
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    line = error(1, empty, mentions=("empty.onnx", "graph"))
    assert "onnxruntime_src" not in line  # ORT's source locations are trimmed


def test_model_path_is_a_directory(tmp_path):
    error(1, tmp_path, mentions=("not a file",))


def test_wrong_input_shape(relu, tmp_path):
    model, _ = relu
    np.save(tmp_path / "bad.npy", np.zeros((2, 3, 5), np.float32))
    error(1, model, "--input", f"x={tmp_path / 'bad.npy'}", mentions=("shape [2,3,5]", "expects [2,3,4]"))


def test_wrong_input_dtype(relu, tmp_path):
    model, _ = relu
    np.save(tmp_path / "bad.npy", np.zeros((2, 3, 4), np.int64))
    error(1, model, "--input", f"x={tmp_path / 'bad.npy'}", mentions=("int64", "expects float32"))


def test_unknown_input_name(relu, tmp_path):
    model, _ = relu
    error(1, model, "--input", f"nosuch={tmp_path / 'x.npy'}", mentions=("'nosuch' is not an input", "x"))


def test_unreadable_input_files(relu, tmp_path):
    model, _ = relu
    error(1, model, "--input", f"x={tmp_path / 'missing.npy'}", mentions=("missing.npy",))
    (tmp_path / "trunc.npy").write_bytes((tmp_path / "x.npy").read_bytes()[:-8])
    error(1, model, "--input", f"x={tmp_path / 'trunc.npy'}", mentions=("trunc.npy", "truncated"))
    (tmp_path / "junk.pb").write_bytes(b"\xff" * 64)
    error(1, model, "--input", f"x={tmp_path / 'junk.pb'}", mentions=("junk.pb",))


def test_unknown_runner_flag(relu):
    model, _ = relu
    error(2, model, "--frobnicate", mentions=("--frobnicate",))


@pytest.mark.parametrize("args,mentions", [
    (["--select", "policy:fastest"], ("fastest",)),
    (["--select", "gpu"], ("--select",)),
    (["--threads", "abc"], ("--threads",)),
    (["--ep-option", "novalue"], ("--ep-option",)),
    (["--repeat", "3"], ("--bench",)),
])
def test_bad_runner_flag_values(relu, args, mentions):
    model, _ = relu
    error(2, model, *args, mentions=mentions)


def test_unknown_ep_option(relu):
    model, _ = relu
    error(2, model, "--ep-option", "bogus=1", mentions=("unknown option", "bogus"))


def test_bad_ep_option_value(relu):
    model, _ = relu
    error(2, model, "--ep-option", "threads=abc", mentions=("threads", "abc"))


def test_unknown_dim_name(relu_dynamic):
    error(1, relu_dynamic, "--dim", "Q=3", mentions=("Q",))


def test_missing_plugin_library(relu, tmp_path):
    model, _ = relu
    error(1, model, "--lib", tmp_path / "libnothere.so", mentions=("plugin library not found", "libnothere.so"))


def test_plugin_library_not_a_library(relu, tmp_path):
    model, _ = relu
    fake = tmp_path / "libfake.so"
    fake.write_bytes(b"not an ELF file")
    error(1, model, "--lib", fake, mentions=("libfake.so",))


FAKE_ORT = r"""
#include <stdio.h>
typedef struct OrtApi OrtApi;
typedef struct { const OrtApi* (*GetApi)(unsigned); const char* (*GetVersionString)(void); } OrtApiBase;
static const OrtApi* GetApi(unsigned v) { fprintf(stderr, "old ORT: API %u not available\n", v); return NULL; }
static const char* Version(void) { return "1.20.0"; }
static const OrtApiBase base = {GetApi, Version};
const OrtApiBase* OrtGetApiBase(void) { return &base; }
"""


@pytest.mark.skipif(not shutil.which("cc"), reason="no C compiler")
def test_ort_too_old(relu, tmp_path):
    """An ONNX Runtime that lacks the API version anvil_run needs (simulated by a stand-in library):
    one error line naming both versions, exit code 1, no crash."""
    model, _ = relu
    src, lib = tmp_path / "fake.c", tmp_path / "libonnxruntime.so.1"
    src.write_text(FAKE_ORT)
    version = re.search(r"VERS_[\d.]+", subprocess.run(["readelf", "-V", RUNNER], capture_output=True,
                                                        text=True).stdout)
    if version is None:
        pytest.skip("cannot read anvil_run's ORT symbol version")
    (tmp_path / "fake.map").write_text(f"{version.group(0)} {{ global: OrtGetApiBase; local: *; }};\n")
    subprocess.run(["cc", "-shared", "-fPIC", "-o", lib, src, f"-Wl,--version-script={tmp_path / 'fake.map'}",
                    "-Wl,-soname,libonnxruntime.so.1"], check=True)
    env = {**os.environ, "LD_LIBRARY_PATH": str(tmp_path)}
    p = run(model, env=env)
    assert p.returncode == 1, p.stderr
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(ERROR_PREFIX), p.stderr
    assert "1.20.0" in lines[0] and "too old" in lines[0] and "1.29" in lines[0]


# ---- a real model -------------------------------------------------------------------------------

CLS = PADDLE_DIR / "ch_ppocr_mobile_v2.0_cls_infer.onnx"


@pytest.mark.skipif(not CLS.exists(), reason=f"{CLS} missing (scripts/fetch_models.sh)")
def test_paddleocr_cls(tmp_path):
    p = ok(CLS, "--shape", "x=1x3x48x192", "--allow-fallback", "--placement", "--compare", "--output-dir", tmp_path)
    assert re.search(rf"placement: \d+ of \d+ nodes on {EP}", p.stdout), p.stdout
    assert "compare: PASS" in p.stdout
    out = list(tmp_path.glob("*.npy"))
    assert len(out) == 1 and np.load(out[0]).shape == (1, 2)


def test_fill_page_gives_a_normalised_document_image(tmp_path):
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "img",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 64, 96])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    path = tmp_path / "img.onnx"
    onnx.save(model, str(path))
    out = tmp_path / "out"
    p = ok(path, "--fill", "page", "--output-dir", out)
    assert "synthetic page" in p.stdout
    y = np.load(out / "y.npy")
    # Background (235/255 normalised) is about +1.9 in every channel; ink (10..60) is negative and
    # so 0 after Relu: both must be present.
    assert (y > 1.5).mean() > 0.3 and (y == 0).mean() > 0.02, (y > 1.5).mean()


def test_fill_rejects_unknown_kinds(relu):
    model, _ = relu
    error(2, model, "--fill", "stripes", mentions=("--fill", "stripes"))


def test_explain_prints_the_dispatch_log(tmp_path):
    # Conv + Relu fuses into one group; the Conv runs channels-last ([N,H,W,C] in the plan line).
    rng = np.random.default_rng(3)
    w = numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "W")
    nodes = [helper.make_node("Conv", ["x", "W"], ["c"], pads=[1, 1, 1, 1]), helper.make_node("Relu", ["c"], ["y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8, 8])], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / "conv_relu.onnx"
    onnx.save(model, path)
    p = ok(path, "--explain")
    assert "anvil dispatch: fused group of 2 nodes: Conv + Relu" in p.stderr, p.stderr
    # the plan line: the oneDNN implementation and where the tail runs
    assert re.search(r"anvil dispatch: fused Conv \+ Relu .*X \[1,8,8,3\].*: \S+:\S+; .*fused tail of 1 steps", p.stderr), p.stderr
    quiet = ok(path)
    assert "anvil dispatch" not in quiet.stderr
