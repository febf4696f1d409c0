"""Tests of the installed Python package onnxruntime-ep-anvil, as a user sees it: the helper
functions, the explicit and the automatic (policy) workflows, option errors, registration cycles,
the example script, and the refusal of an ONNX Runtime that is too old.

Run in a venv where the package was pip-installed next to onnxruntime >= 1.29 (scripts/test_python.sh
does this for the pinned and the newest onnxruntime). The too-old check runs the interpreter of a
second venv with onnxruntime 1.28.0 (ANVIL_PY_TOO_OLD_PYTHON, default the venv that script makes)
and is skipped when that venv does not exist."""
import gc
import importlib.metadata
import os
import pathlib
import re
import subprocess
import sys
import textwrap

import numpy as np
import onnxruntime as ort
import pytest

import onnxruntime_ep_anvil as anvil

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "python_workflows.py"
EP = "AnvilExecutionProvider"
PREFIX = "ep.anvilexecutionprovider."
REGISTRATION = "anvil_pytest"
POLICIES = ["DEFAULT", "PREFER_CPU", "PREFER_NPU", "PREFER_GPU", "MAX_PERFORMANCE", "MAX_EFFICIENCY",
            "MIN_OVERALL_POWER"]


def _versions_sh():
    text = (ROOT / "scripts" / "versions.sh").read_text()
    return dict(re.findall(r"^(ANVIL_\w+)=([^\s#]+)", text, re.MULTILINE))


def relu_model() -> bytes:
    from onnx import TensorProto, helper
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 5])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 5])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "relu", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    return model.SerializeToString()


MODEL = relu_model()
X = np.linspace(-3, 3, 4 * 5, dtype=np.float32).reshape(4, 5)


def run_python(code, python=sys.executable, timeout=300):
    return subprocess.run([python, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def registered():
    """The plugin registered once for this module's in-process tests; sessions are released by the
    time the module ends, then it is unregistered."""
    ort.register_execution_provider_library(REGISTRATION, anvil.get_library_path())
    yield
    gc.collect()
    ort.unregister_execution_provider_library(REGISTRATION)


def anvil_devices():
    return [d for d in ort.get_ep_devices() if d.ep_name == EP]


def explicit_options(options, disable_cpu_fallback=True):
    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.add_provider_for_devices(anvil_devices(), options)
    if disable_cpu_fallback:
        so.add_session_config_entry("session.disable_cpu_ep_fallback", "1")
    return so


# ---- the package itself ----------------------------------------------------------------------

def test_library_path_is_absolute_and_is_the_plugin():
    path = anvil.get_library_path()
    assert os.path.isabs(path)
    assert os.path.isfile(path)
    assert os.path.basename(path) == "libanvil_ep.so"
    assert pathlib.Path(path).parent == pathlib.Path(anvil.__file__).resolve().parent
    with open(path, "rb") as f:
        assert f.read(4) == b"\x7fELF"


def test_names_and_version():
    assert anvil.get_ep_name() == EP
    assert anvil.get_ep_names() == [EP]
    header = (ROOT / "include" / "anvil" / "anvil.h").read_text()
    want = re.search(r'#define\s+ANVIL_VERSION\s+"([^"]+)"', header).group(1)
    assert anvil.__version__ == want
    assert importlib.metadata.version("onnxruntime-ep-anvil") == want


def test_package_requires_nothing():
    # Not even as an extra: the user brings the onnxruntime flavour (and numpy comes with it).
    requires = importlib.metadata.requires("onnxruntime-ep-anvil") or []
    assert requires == [], f"the package must not depend on anything: {requires}"


def test_imports_without_onnxruntime_or_numpy():
    # A None entry in sys.modules makes `import onnxruntime` raise ImportError, as if not installed.
    result = run_python("""
        import sys
        for name in ("onnxruntime", "onnxruntime.capi", "numpy", "onnx"):
            sys.modules[name] = None
        import onnxruntime_ep_anvil as a
        assert a.get_library_path().endswith("/libanvil_ep.so")
        assert a.get_ep_names() == ["AnvilExecutionProvider"]
        print("imported", a.__version__)
    """)
    assert result.returncode == 0, result.stderr
    assert "imported " + anvil.__version__ in result.stdout


# ---- explicit selection ----------------------------------------------------------------------

def test_device_metadata(registered):
    devices = anvil_devices()
    assert len(devices) == 1
    d = devices[0]
    assert d.ep_vendor == "Anvil"
    assert d.device.type == ort.OrtHardwareDeviceType.CPU
    meta = d.ep_metadata
    assert meta["version"] == anvil.__version__
    assert int(meta["anvil.threads"]) >= 1
    assert "anvil.cpu_features" in meta


def test_explicit_selection_without_fallback_runs_on_anvil(registered):
    session = ort.InferenceSession(MODEL, explicit_options({"threads": "2"}))
    assert session.get_providers()[0] == EP
    (y,) = session.run(None, {"x": X})
    np.testing.assert_array_equal(y, np.maximum(X, 0))
    del session


@pytest.mark.parametrize("threads", ["0", "1", "2"])
def test_threads_option_values(registered, threads):
    session = ort.InferenceSession(MODEL, explicit_options({"threads": threads}))
    (y,) = session.run(None, {"x": X})
    np.testing.assert_array_equal(y, np.maximum(X, 0))


# ---- automatic selection ---------------------------------------------------------------------

@pytest.mark.parametrize("policy", POLICIES)
def test_every_policy_selects_anvil_first(registered, policy):
    so = ort.SessionOptions()
    so.set_provider_selection_policy(getattr(ort.OrtExecutionProviderDevicePolicy, policy))
    so.add_session_config_entry(PREFIX + "threads", "2")
    session = ort.InferenceSession(MODEL, so)
    providers = session.get_providers()
    assert providers[0] == EP, f"{policy}: {providers}"
    (y,) = session.run(None, {"x": X})
    np.testing.assert_array_equal(y, np.maximum(X, 0))


def test_policy_passes_options_through_session_config(registered):
    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.set_provider_selection_policy(ort.OrtExecutionProviderDevicePolicy.PREFER_CPU)
    so.add_session_config_entry(PREFIX + "threads", "abc")
    with pytest.raises(Exception, match=re.escape(PREFIX + "threads")):
        ort.InferenceSession(MODEL, so, enable_fallback=0)


# ---- option errors, as a user sees them ------------------------------------------------------
# The EP rejects the options when ORT creates it. Python's InferenceSession then, by default, prints
# "EP Error ..." and retries with the CPU EP only; InferenceSession(..., enable_fallback=0) raises the
# EP's error instead. With session.disable_cpu_ep_fallback=1 the retry itself fails, and the EP's
# error is the raised exception's __cause__.

def chain(exc):
    text = []
    while exc is not None:
        text.append(str(exc))
        exc = exc.__cause__ or exc.__context__
    return "\n".join(text)


def test_unknown_option_fails_naming_it(registered):
    with pytest.raises(Exception) as info:
        ort.InferenceSession(MODEL, explicit_options({"bogus": "1"}), enable_fallback=0)
    assert PREFIX + "bogus" in str(info.value)
    assert "threads" in str(info.value)  # the known options are listed


RETRY_WARNING = "ignore:Specified 'providers'"  # printed by ORT's Python retry, not by Anvil


@pytest.mark.filterwarnings(RETRY_WARNING)
def test_unknown_option_with_cpu_fallback_disabled(registered):
    with pytest.raises(Exception) as info:
        ort.InferenceSession(MODEL, explicit_options({"bogus": "1"}, disable_cpu_fallback=True))
    assert PREFIX + "bogus" in chain(info.value)


@pytest.mark.filterwarnings(RETRY_WARNING)
def test_unknown_option_with_python_retry_reports_and_runs_on_cpu(registered, capfd):
    # Up to 1.31 ORT's Python layer retries a failed session creation on the CPU EP alone (and
    # prints why); 1.32 raises the error. Either way the user sees the option Anvil rejected.
    if tuple(int(p) for p in ort.__version__.split(".")[:2]) >= (1, 32):
        with pytest.raises(Exception) as info:
            ort.InferenceSession(MODEL, explicit_options({"bogus": "1"}, disable_cpu_fallback=False))
        assert PREFIX + "bogus" in chain(info.value)
        return
    session = ort.InferenceSession(MODEL, explicit_options({"bogus": "1"}, disable_cpu_fallback=False))
    out, err = capfd.readouterr()
    assert PREFIX + "bogus" in out + err
    assert session.get_providers() == ["CPUExecutionProvider"]


def test_bad_value_fails_naming_accepted_values(registered):
    with pytest.raises(Exception) as info:
        ort.InferenceSession(MODEL, explicit_options({"threads": "abc"}), enable_fallback=0)
    msg = str(info.value)
    assert PREFIX + "threads" in msg and "'abc'" in msg
    assert "accepted: an integer from 0 to 1024" in msg


# ---- registration, the example, versions ------------------------------------------------------

def test_register_unregister_register_again():
    # In a fresh process, so the module fixture's registration does not interfere.
    result = run_python(f"""
        import gc, numpy as np, onnxruntime as ort, onnxruntime_ep_anvil as anvil
        model = {MODEL!r}
        x = np.array([[-1.0, 2.0]], dtype=np.float32)
        def run_once():
            devs = [d for d in ort.get_ep_devices() if d.ep_name == anvil.get_ep_name()]
            assert len(devs) == 1, devs
            so = ort.SessionOptions()
            so.add_provider_for_devices(devs, {{}})
            so.add_session_config_entry("session.disable_cpu_ep_fallback", "1")
            s = ort.InferenceSession(model, so)
            assert s.get_providers()[0] == "AnvilExecutionProvider"
            assert s.run(None, {{"x": np.resize(x, (1, 5))}})[0].min() >= 0
            del s
            gc.collect()
        for cycle in range(3):
            ort.register_execution_provider_library("anvil", anvil.get_library_path())
            run_once()
            ort.unregister_execution_provider_library("anvil")
            assert all(d.ep_name != "AnvilExecutionProvider" for d in ort.get_ep_devices())
        print("cycles ok")
    """)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "cycles ok" in result.stdout


@pytest.mark.parametrize("args", [[], ["--embedded-model"]], ids=["onnx-model", "embedded-model"])
def test_example_script_runs(args):
    result = subprocess.run([sys.executable, str(EXAMPLE), *args], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "Done: both workflows ran on AnvilExecutionProvider." in out
    for policy in POLICIES:
        assert re.search(rf"{policy}\s+-> \['AnvilExecutionProvider'", out), policy
    assert "anvil.cpu_features = " in out


def too_old_python():
    versions = _versions_sh()
    old = versions.get("ANVIL_PY_ORT_TOO_OLD", "1.28.0")
    cache = pathlib.Path(os.environ.get("ANVIL_CACHE", pathlib.Path.home() / ".cache" / "anvil"))
    default = cache / f"venv-py-ort-{old}" / "bin" / "python"
    return pathlib.Path(os.environ.get("ANVIL_PY_TOO_OLD_PYTHON", default)), old


def test_too_old_onnxruntime_is_refused_naming_both_versions():
    python, old = too_old_python()
    if not python.exists():
        pytest.skip(f"no venv with onnxruntime {old} at {python} (scripts/test_python.sh makes it)")
    result = run_python("""
        import onnxruntime as ort, onnxruntime_ep_anvil as anvil
        print("runtime", ort.__version__)
        try:
            ort.register_execution_provider_library("anvil", anvil.get_library_path())
        except Exception as e:
            print("REFUSED:", e)
        else:
            print("REGISTERED")
    """, python=str(python))
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert f"runtime {old}" in out
    assert "REFUSED:" in out, out
    refusal = out.split("REFUSED:", 1)[1]
    assert "1.29.0 or newer" in refusal, refusal
    assert old in refusal, refusal
