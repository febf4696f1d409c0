#!/usr/bin/env python3
"""Runs a set of real models side by side on several execution providers and prints a
markdown table: median latency per side, ratio to ORT's CPU EP, max abs difference of the
outputs from ORT's CPU EP, and per side the geomean of the ratios. A benchmark, not a test.

Sides (--sides, default all but anvil-base; `ort` is always run, it is the reference):
  ort            ORT's CPU EP.
  anvil          Anvil's plugin library ($ANVIL_LIB, default <repo>/build/libanvil_ep.so),
                 provider option threads=N. First created with CPU EP fallback disabled; when
                 that fails it is created again with fallback allowed and marked "(fallback)".
  anvil-base     another build of Anvil (--base-lib), in its own worker: a change measured
                 against the build before it in the same rounds.
  openvino-f32   OpenVINO's plugin EP (PyPI onnxruntime-ep-openvino), OpenVINO's CPU device;
  openvino-bf16  precision and threads set only through its load_config option
                 ({"CPU": {"INFERENCE_PRECISION_HINT": "f32"|"bf16", "INFERENCE_NUM_THREADS": "N"}}).
  ggml           ggml's plugin EP (PyPI onnxruntime-ggml), options device=cpu, threads=N and
                 --ggml-options (default weights=f32, so that every side but openvino-bf16
                 computes in f32; ggml's own default, f16 weights, turns openWakeWord's mel
                 front end into inf); on fallback also partial=1 (claim the supported nodes only).
Every plugin side tries strict placement first and falls back like Anvil; the placement table
says how many nodes each EP got (session.record_ep_graph_assignment_info and
InferenceSession.get_provider_graph_assignment_info, where onnxruntime has them). Every side
gets SessionOptions.intra_op_num_threads = N, the same N (--threads N, or --threads 1,2 for one
table per count).

Method (made for a noisy shared 2-core VM):
  * One worker process per side, each in the Python that has what it needs: ort, anvil and
    openvino run under $ANVIL_CACHE/bench-venv (newest onnxruntime), ggml under
    $ANVIL_CACHE/bench-ggml-venv (onnxruntime < 1.31); scripts/setup_bench.sh makes both. A
    missing venv falls back to this Python; a side whose EP is not installed or shows no device
    is skipped with a note.
  * Every worker creates its sessions once, runs each model once (those outputs are compared
    with ORT's), and keeps the sessions warm.
  * Only one worker runs at a time: all the others are stopped with SIGSTOP (all threads,
    including any ORT pool threads still spinning) and the one whose turn it is gets SIGCONT.
  * A turn = one untimed run, then --repeat timed runs (time.perf_counter around
    session.run). A round = one turn per side for every model; the order of the sides rotates
    from round to round. The result is the median over all --rounds x --repeat timed runs.
  * Inputs are made once, deterministically (bench/models.py: realistic images, speech-like
    audio, streaming states), and every side gets the same arrays.
  * --busy-core: a separate process spins on one CPU (pinned with sched_setaffinity, default
    the last CPU) from just before the first timed round until after the last one.
Ratio = side time / ORT time (below 1: faster than ORT). A side that fails on a model shows the
short reason and is left out of that geomean; the table also gives the geomean over the models
where every side ran. Results count as "ran" when they ran with fallback too.

Usage:
  scripts/setup_bench.sh                            # venvs and models, once
  python3 bench/bench_models.py                     # default set, all sides, 1 thread
  python3 bench/bench_models.py --threads 1,2 --models det,rec --sides ort,anvil
  python3 bench/bench_models.py --busy-core --rounds 4 --repeat 3 --json out.json
  python3 bench/bench_models.py extra.onnx --shape x=1x3x224x224   # own model(s), random inputs
  python3 bench/bench_models.py --list              # the model set and its inputs
Extra .onnx files on the command line run alone unless --models is given too; their dynamic
dims are 1 unless --shape NAME=AxBxC sets the input's whole shape.
"""
import argparse
import gc
import json
import math
import os
import platform
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SCRIPT = os.path.abspath(__file__)
CACHE = os.environ.get("ANVIL_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "anvil")
MAIN_VENV = os.path.join(CACHE, "bench-venv")
GGML_VENV = os.path.join(CACHE, "bench-ggml-venv")
ALL_SIDES = ["ort", "anvil", "anvil-base", "openvino-f32", "openvino-bf16", "ggml"]
ANVIL_EP = "AnvilExecutionProvider"
REPLY_TIMEOUT = 900.0  # seconds a worker may take for one request (a session creation, a turn)


def venv_python(venv):
    p = os.path.join(venv, "bin", "python")
    return p if os.path.exists(p) else None


# =============================== worker ====================================================
# Runs in its own process, possibly another Python; needs numpy and onnxruntime only.

def short_error(e, limit=90):
    s = str(e).strip()
    for p in ("[ONNXRuntimeError] : ",):
        if s.startswith(p):
            s = s[len(p):]
            # "1 : FAIL : message"
            parts = s.split(" : ", 2)
            s = parts[-1] if len(parts) == 3 else s
    s = s.splitlines()[0] if s else type(e).__name__
    return s if len(s) <= limit else s[:limit - 3] + "..."


class Side:
    """One side inside a worker: how to make its sessions."""

    def __init__(self, spec):
        import onnxruntime as ort
        self.ort = ort
        self.spec = spec
        self.kind = spec["side"]
        self.threads = spec["threads"]
        self.devices = None
        self.ep_name = None
        self.options = {}
        self.fallback_options = {}
        self.info = {"onnxruntime": ort.__version__}
        n = str(self.threads)
        if self.kind == "ort":
            return
        if self.kind in ("anvil", "anvil-base"):
            lib = spec["anvil_lib"] if self.kind == "anvil" else spec["base_lib"]
            if not lib:
                raise RuntimeError("the anvil-base side needs --base-lib")
            if not os.path.exists(lib):
                raise RuntimeError(f"no Anvil plugin at {lib} (build it or set ANVIL_LIB)")
            self.ep_name = ANVIL_EP
            self._register("anvil", lib)
            self.options = dict(spec.get("anvil_options", {}), threads=n)
            self.info["library"] = lib
        elif self.kind.startswith("openvino-"):
            try:
                import onnxruntime_ep_openvino as ov
            except ImportError:
                raise RuntimeError("onnxruntime-ep-openvino is not installed (scripts/setup_bench.sh)")
            self.ep_name = ov.get_ep_name()
            self._register("openvino", ov.get_library_path(), lambda d: d.ep_metadata.get("ov_device") == "CPU")
            precision = self.kind.split("-", 1)[1]
            cfg = {"CPU": {"INFERENCE_PRECISION_HINT": precision, "INFERENCE_NUM_THREADS": n}}
            self.options = {"load_config": json.dumps(cfg)}
            self.info["library"] = ov.get_library_path()
            self.info["onnxruntime-ep-openvino"] = _dist_version("onnxruntime-ep-openvino")
        elif self.kind == "ggml":
            try:
                import onnxruntime_ggml as gg
            except ImportError:
                raise RuntimeError("onnxruntime-ggml is not installed (scripts/setup_bench.sh)")
            self.ep_name = gg.EP_NAME
            self._register("ggml", gg.library_path())
            self.options = dict(spec.get("ggml_options", {}), device="cpu", threads=n)
            self.fallback_options = {"partial": "1"}
            self.info["onnxruntime-ggml"] = gg.__version__
        else:
            raise RuntimeError(f"unknown side {self.kind}")

    def _register(self, name, lib, accept=lambda d: True):
        ort = self.ort
        ort.register_execution_provider_library(name, os.path.abspath(lib))
        self.devices = [d for d in ort.get_ep_devices() if d.ep_name == self.ep_name and accept(d)]
        if not self.devices:
            vendors = sorted({d.device.vendor for d in ort.get_ep_devices()})
            why = ""
            if self.kind.startswith("openvino") and "Intel" not in " ".join(vendors):
                why = "; the plugin offers Intel devices only"
            raise RuntimeError(f"{self.ep_name} shows no usable device (hardware vendor here: "
                               f"{', '.join(vendors)}{why})")

    def session(self, path, strict):
        ort = self.ort
        so = ort.SessionOptions()
        so.log_severity_level = 3
        so.intra_op_num_threads = self.threads
        if self.kind == "ort":
            return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        so.add_session_config_entry("session.record_ep_graph_assignment_info", "1")
        so.add_session_config_entry("session.disable_cpu_ep_fallback", "1" if strict else "0")
        opts = dict(self.options)
        if not strict:
            opts.update(self.fallback_options)
        so.add_provider_for_devices(self.devices, opts)
        return ort.InferenceSession(path, so)


def _dist_version(name):
    try:
        from importlib.metadata import version
        return version(name)
    except Exception:  # noqa: BLE001
        return "?"


def placement(sess, ep_name):
    """{ep: node count}, and the op types that went to other EPs, or None if unknown."""
    if not hasattr(sess, "get_provider_graph_assignment_info"):
        return None
    try:
        info = sess.get_provider_graph_assignment_info()
    except Exception:  # noqa: BLE001
        return None
    counts, others = {}, {}
    for sub in info:
        nodes = sub.get_nodes()
        counts[sub.ep_name] = counts.get(sub.ep_name, 0) + len(nodes)
        if sub.ep_name != ep_name:
            for n in nodes:
                others[n.op_type] = others.get(n.op_type, 0) + 1
    if not counts:
        return None
    return {"counts": counts, "on_ep": counts.get(ep_name, 0), "total": sum(counts.values()),
            "other_ops": dict(sorted(others.items(), key=lambda kv: -kv[1]))}


def worker_main(spec_json):
    spec = json.loads(spec_json)
    try:  # die with the coordinator, even while stopped
        import ctypes
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001
        pass
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything a native library prints goes to the log, not into the protocol

    def reply(obj):
        proto.write(json.dumps(obj) + "\n")
        proto.flush()

    try:
        import numpy as np
        side = Side(spec)
    except Exception as e:  # noqa: BLE001
        reply({"ok": False, "error": short_error(e, 200)})
        return
    reply({"ok": True, "info": side.info})
    sessions = {}
    for line in sys.stdin:
        msg = json.loads(line)
        cmd = msg["cmd"]
        if cmd == "quit":
            reply({"ok": True})
            return
        if cmd == "load":
            out = {"ok": False}
            data = np.load(msg["inputs"])
            feeds = {name: data[f"i{k}"] for k, name in enumerate(msg["input_names"])}
            sess, strict_error = None, None
            t0 = time.perf_counter()
            try:
                sess = side.session(msg["path"], strict=True)
            except Exception as e:  # noqa: BLE001
                strict_error = short_error(e)
                if side.kind == "ort":
                    out["error"] = strict_error
                else:
                    try:
                        sess = side.session(msg["path"], strict=False)
                        out["fallback"] = True
                        out["strict_error"] = strict_error
                    except Exception as e2:  # noqa: BLE001
                        out["error"] = short_error(e2)
            if sess is not None:
                out["create_s"] = time.perf_counter() - t0
                if side.ep_name:
                    out["placement"] = placement(sess, side.ep_name)
                try:
                    outs = sess.run(None, feeds)
                    np.savez(msg["outputs"], **{f"o{k}": np.asarray(v) for k, v in enumerate(outs)})
                    out["output_names"] = [o.name for o in sess.get_outputs()]
                    out["ok"] = True
                    sessions[msg["idx"]] = (sess, feeds)
                except Exception as e:  # noqa: BLE001
                    out["error"] = "run: " + short_error(e)
            reply(out)
        elif cmd == "run":
            sess, feeds = sessions[msg["idx"]]
            times = []
            gc.collect()
            gc.disable()
            try:
                sess.run(None, feeds)
                for _ in range(msg["repeat"]):
                    t0 = time.perf_counter()
                    sess.run(None, feeds)
                    times.append((time.perf_counter() - t0) * 1e3)
                reply({"ok": True, "times": times})
            except Exception as e:  # noqa: BLE001
                reply({"ok": False, "error": "run: " + short_error(e)})
            finally:
                gc.enable()


# =============================== coordinator ===============================================

class WorkerDied(Exception):
    pass


def _all_stopped(pid):
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
            if state not in ("T", "t", "Z", "X"):
                return False
    except OSError:
        return True
    return True


class Worker:
    def __init__(self, side, python, spec, logdir, env):
        self.side, self.python = side, python
        self.log_path = os.path.join(logdir, f"{side}-{spec['threads']}.log")
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([python, SCRIPT, "--worker", json.dumps(spec)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.log, env=env)
        self.buf = b""
        self.running = True

    def pause(self):
        if self.running and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGSTOP)
            deadline = time.monotonic() + 1.0
            while not _all_stopped(self.proc.pid) and time.monotonic() < deadline:
                time.sleep(0.0005)
        self.running = False

    def resume(self):
        if not self.running and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)
        self.running = True

    def _readline(self, timeout):
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                raise WorkerDied(f"no answer in {timeout:.0f} s")
            r, _, _ = select.select([fd], [], [], left)
            if r:
                chunk = os.read(fd, 65536)
                if not chunk:
                    rc = self.proc.wait()
                    why = f"killed by signal {-rc}" if rc < 0 else f"exited with {rc}"
                    raise WorkerDied(f"worker {why}{self.log_tail()}")
                self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def request(self, msg=None, timeout=REPLY_TIMEOUT):
        """Resumes the worker, sends msg (None: just wait for its greeting), waits for the reply
        and stops the worker again."""
        self.resume()
        try:
            if msg is not None:
                try:
                    self.proc.stdin.write((json.dumps(msg) + "\n").encode())
                    self.proc.stdin.flush()
                except BrokenPipeError:
                    pass  # the read below reports how the worker ended
            return self._readline(timeout)
        finally:
            self.pause()

    def log_tail(self):
        try:
            self.log.flush()
            with open(self.log_path, "rb") as f:
                lines = [ln for ln in f.read().decode(errors="replace").splitlines() if ln.strip()]
            return f": {lines[-1][-120:]}" if lines else ""
        except OSError:
            return ""

    def close(self):
        if self.proc.poll() is None:
            try:
                self.request({"cmd": "quit"}, timeout=30)
            except (WorkerDied, OSError, ValueError):
                pass
        self.kill()

    def kill(self):
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGKILL)
                os.kill(self.proc.pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
            self.proc.wait()
        self.log.close()


class BusyCore:
    """A process spinning on one CPU."""

    def __init__(self, cpu):
        code = ("import os, signal\n"
                "signal.signal(signal.SIGTERM, lambda *a: os._exit(0))\n"
                f"os.sched_setaffinity(0, {{{cpu}}})\n"
                "x = 0\n"
                "while True:\n    x += 1\n")
        self.proc = subprocess.Popen([sys.executable, "-c", code])
        self.cpu = cpu

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def parse_shape(text):
    name, _, dims = text.partition("=")
    if not name or not dims:
        raise argparse.ArgumentTypeError(f"--shape wants NAME=AxBxC, got {text!r}")
    return name, tuple(int(d) for d in dims.lower().split("x") if d)


def ensure_deps():
    """The coordinator needs numpy and onnxruntime (inputs of chained models, extra models'
    input metadata); without them it re-runs itself under the bench venv."""
    try:
        import numpy  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError as e:
        py = venv_python(MAIN_VENV)
        if py and os.path.realpath(sys.prefix) != os.path.realpath(MAIN_VENV) and not os.environ.get("ANVIL_BENCH_REEXEC"):
            os.environ["ANVIL_BENCH_REEXEC"] = "1"
            os.execv(py, [py, SCRIPT] + sys.argv[1:])
        sys.exit(f"bench_models.py: {e}; run scripts/setup_bench.sh (or use a Python with numpy and onnxruntime)")


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


class Entry:
    """One model of a run."""

    def __init__(self, name, path, about, inputs_desc, feeds):
        self.name, self.path, self.about, self.inputs_desc, self.feeds = name, path, about, inputs_desc, feeds
        self.input_file = None


def build_entries(args, tmp):
    import numpy as np
    import onnxruntime as ort
    sys.path.insert(0, HERE)
    import models as M

    names = []
    if args.models:
        for n in args.models.split(","):
            n = n.strip()
            if n == "all":
                names += [m.name for m in M.MODELS]
            elif n == "default":
                names += M.DEFAULT
            elif n in M.BY_NAME:
                names.append(n)
            elif n:
                sys.exit(f"unknown model {n!r}; known: {', '.join(M.BY_NAME)}")
    elif not args.extra:
        names = list(M.DEFAULT)
    names = list(dict.fromkeys(names))
    folder = args.models_dir or M.models_dir()
    if any(not os.path.exists(os.path.join(folder, M.BY_NAME[n].path)) for n in names) and not args.models_dir:
        print("fetching the model set (scripts/fetch_models.sh)", file=sys.stderr)
        subprocess.run([os.path.join(REPO, "scripts", "fetch_models.sh")], check=False, stdout=subprocess.DEVNULL)
    entries, problems = [], []
    for n in names:
        m = M.BY_NAME[n]
        path = os.path.join(folder, m.path)
        if not os.path.exists(path):
            problems.append(f"{n}: missing {path} (scripts/fetch_models.sh)")
            continue
        entries.append(Entry(n, path, m.about, "; ".join(i.describe() for i in m.inputs), M.make_inputs(m, folder)))
    shapes = dict(args.shape or [])
    used = set()
    for path in args.extra:
        base = os.path.splitext(os.path.basename(path))[0]
        name = base
        k = 2
        while name in used or name in names:
            name = f"{base}_{k}"
            k += 1
        used.add(name)
        try:
            so = ort.SessionOptions()
            so.log_severity_level = 3
            s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
            feeds = M.random_inputs(s.get_inputs(), shapes)
        except Exception as e:  # noqa: BLE001
            problems.append(f"{name}: cannot read {path}: {short_error(e)}")
            continue
        desc = "; ".join(f"{k} {v.dtype}[{'x'.join(map(str, v.shape))}] random" for k, v in feeds.items())
        entries.append(Entry(name, os.path.abspath(path), "extra model", desc, feeds))
    for i, e in enumerate(entries):
        e.input_file = os.path.join(tmp, f"in{i}.npz")
        np.savez(e.input_file, **{f"i{k}": v for k, v in enumerate(e.feeds.values())})
    return entries, problems


def side_python(side, args):
    if side == "ggml":
        return args.ggml_python or venv_python(GGML_VENV) or args.python or venv_python(MAIN_VENV) or sys.executable
    return args.python or venv_python(MAIN_VENV) or sys.executable


def max_abs_diff(a_file, b_file):
    import numpy as np
    a, b = np.load(a_file), np.load(b_file)
    if sorted(a.files) != sorted(b.files):
        return None, "output count differs"
    worst = 0.0
    for k in a.files:
        x, y = a[k], b[k]
        if x.shape != y.shape:
            return None, f"shape {list(x.shape)} vs {list(y.shape)}"
        if x.size == 0:
            continue
        x, y = x.astype(np.float64), y.astype(np.float64)
        same = (x == y) | (np.isnan(x) & np.isnan(y))  # equal infinities and NaNs count as equal
        d = np.where(same, 0.0, np.abs(x - y))
        if np.isnan(d).any():
            return float("nan"), None
        worst = max(worst, float(d.max()))
    return worst, None


def run_one(args, entries, sides, threads, tmp, notes):
    """All models on all sides at one thread count; returns the per-side, per-model results."""
    env = dict(os.environ)
    env.setdefault("ORT_GGML_LOG", "warn")
    spec_base = {"threads": threads, "anvil_lib": args.anvil_lib, "base_lib": args.base_lib,
                 "ggml_options": args.ggml_options,
                 "anvil_options": args.anvil_options}
    workers, info = {}, {}
    results = {e.name: {} for e in entries}
    busy = None
    try:
        for side in sides:  # start one at a time, each stopped once it is ready
            py = side_python(side, args)
            w = Worker(side, py, dict(spec_base, side=side), tmp, env)
            try:
                hello = w.request(None, timeout=300)
            except WorkerDied as e:
                hello = {"ok": False, "error": str(e)}
            if not hello.get("ok"):
                w.kill()
                if side == "ort":
                    sys.exit(f"the ORT side cannot start under {py}: {hello.get('error')}")
                notes.append(f"{side}: skipped: {hello.get('error')}")
                continue
            info[side] = dict(hello["info"], python=py)
            workers[side] = w
        active = [s for s in sides if s in workers]

        def restart(side):
            """A new worker for a side whose worker died, with the sessions that still work."""
            old = workers[side]
            old.kill()
            try:
                workers[side] = Worker(side, old.python, dict(spec_base, side=side), tmp, env)
                workers[side].request(None, timeout=300)
                for e in entries:
                    r = results[e.name].get(side)
                    if r and "error" not in r:
                        workers[side].request(load_msg(e, side, reload=True))
            except WorkerDied as err:
                workers[side].kill()
                dead.add(side)
                for e in entries:
                    r = results[e.name].setdefault(side, {})
                    r.setdefault("error", f"worker lost: {err}")

        dead = set()

        def load_msg(e, side, reload=False):
            idx = entries.index(e)
            out = os.path.join(tmp, f"out{idx}-{side}{'-reload' if reload else ''}.npz")
            return {"cmd": "load", "idx": idx, "path": e.path, "inputs": e.input_file,
                    "input_names": list(e.feeds), "outputs": out}

        # Sessions: created once, one worker at a time; the first run's outputs are kept.
        for e in entries:
            for side in active:
                if side in dead:
                    continue
                msg = load_msg(e, side)
                try:
                    r = workers[side].request(msg)
                except WorkerDied as err:
                    r = {"ok": False, "error": f"crashed: {err}"}
                    restart(side)
                res = {"fallback": bool(r.get("fallback")), "placement": r.get("placement")}
                if r.get("ok"):
                    res["outputs"] = msg["outputs"]
                    res["create_s"] = r.get("create_s")
                else:
                    res["error"] = r.get("error", "failed")
                if r.get("strict_error"):
                    res["strict_error"] = r["strict_error"]
                results[e.name][side] = res
        for e in entries:
            ref = results[e.name].get("ort")
            for side, res in results[e.name].items():
                if side == "ort" or "error" in res or not ref or "error" in ref:
                    continue
                d, why = max_abs_diff(res["outputs"], ref["outputs"])
                res["max_abs_diff"] = d
                if why:
                    res["diff_note"] = why

        # Timed rounds.
        if args.busy_core is not None:
            ncpu = os.cpu_count() or 1
            cpu = args.busy_core if args.busy_core >= 0 else ncpu - 1
            busy = BusyCore(cpu)
            time.sleep(0.2)
        for rnd in range(args.rounds):
            k = rnd % len(active)
            order = active[k:] + active[:k]
            for idx, e in enumerate(entries):
                for side in order:
                    res = results[e.name][side]
                    if "error" in res or side in dead:
                        continue
                    try:
                        r = workers[side].request({"cmd": "run", "idx": idx, "repeat": args.repeat})
                    except WorkerDied as err:
                        res["error"] = f"crashed: {err}"
                        restart(side)
                        continue
                    if r.get("ok"):
                        res.setdefault("times_ms", []).extend(r["times"])
                    else:
                        res["error"] = r.get("error", "failed")
            print(f"threads={threads}: round {rnd + 1}/{args.rounds} done", file=sys.stderr)
    finally:
        if busy:
            busy.stop()
        for w in workers.values():
            w.close()
    for e in entries:
        for side, res in results[e.name].items():
            if "error" not in res and res.get("times_ms"):
                res["median_ms"] = statistics.median(res["times_ms"])
        ref = results[e.name].get("ort", {})
        for side, res in results[e.name].items():
            if "median_ms" in res and "median_ms" in ref:
                res["ratio"] = res["median_ms"] / ref["median_ms"]
    return results, info, [s for s in sides if s in info]


def geomean(xs):
    xs = [x for x in xs if x and x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def summarize(entries, results, sides):
    """Per side: geomean of ratios over the models where it ran; and over the models where
    every side ran."""
    ran = {s: [e.name for e in entries if "ratio" in results[e.name].get(s, {})] for s in sides}
    common = [e.name for e in entries if all("ratio" in results[e.name].get(s, {}) for s in sides)]
    g = {}
    for s in sides:
        g[s] = {"where_ran": geomean([results[n][s]["ratio"] for n in ran[s]]), "models_ran": len(ran[s]),
                "where_all_ran": geomean([results[n][s]["ratio"] for n in common])}
    return g, common


def fmt_ms(x):
    return f"{x:.3f}" if x < 1 else f"{x:.2f}" if x < 100 else f"{x:.1f}"


def fmt_diff(res):
    if res.get("diff_note"):
        return res["diff_note"]
    d = res.get("max_abs_diff")
    if d is None:
        return ""
    if d != d:
        return "NaN"
    return "0" if d == 0 else f"{d:.1e}"


def render(entries, results, sides, threads, args, info, notes):
    g, common = summarize(entries, results, sides)
    others = [s for s in sides if s != "ort"]
    out = []
    out.append(f"### threads={threads}: median ms over {args.rounds} rounds x {args.repeat} runs; "
               f"ratio = side / ort (below 1: faster){'; busy core on' if args.busy_core is not None else ''}")
    out.append("")
    head = ["model", "ort ms"]
    for s in others:
        head += [f"{s} ms", f"{s} ratio", f"{s} max diff"]
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|")
    for e in entries:
        r = results[e.name]
        ref = r.get("ort", {})
        row = [e.name, fmt_ms(ref["median_ms"]) if "median_ms" in ref else f"fail: {ref.get('error', '?')}"]
        for s in others:
            res = r.get(s, {})
            if "error" in res:
                row += [f"fail: {res['error']}", "", ""]
                continue
            ms = fmt_ms(res["median_ms"]) if "median_ms" in res else "?"
            if res.get("fallback"):
                p = res.get("placement")
                ms += " (fallback: all on CPU EP)" if p and p["on_ep"] == 0 else " (fallback)"
            row += [ms, f"{res['ratio']:.2f}" if "ratio" in res else "", fmt_diff(res)]
        out.append("| " + " | ".join(row) + " |")
    row = ["geomean, where each ran", ""]
    for s in others:
        v = g[s]["where_ran"]
        row += ["", f"{v:.2f} ({g[s]['models_ran']})" if v else "", ""]
    out.append("| " + " | ".join(row) + " |")
    row = [f"geomean, all sides ran ({len(common)})", ""]
    for s in others:
        v = g[s]["where_all_ran"]
        row += ["", f"{v:.2f}" if v else "", ""]
    out.append("| " + " | ".join(row) + " |")

    plugin = [s for s in others if any(results[e.name].get(s, {}).get("placement") for e in entries)]
    if plugin:
        out.append("")
        out.append("Nodes on each plugin EP (after ORT's graph optimizations, If/Loop bodies included); "
                   "the ops left to ORT's CPU EP in brackets:")
        out.append("")
        out.append("| model | " + " | ".join(plugin) + " |")
        out.append("|---|" + "|".join(["---"] * len(plugin)) + "|")
        for e in entries:
            cells = []
            for s in plugin:
                res = results[e.name].get(s, {})
                p = res.get("placement")
                if not p:
                    cells.append("fail" if "error" in res else "")
                    continue
                c = f"{p['on_ep']}/{p['total']}"
                if p["other_ops"]:
                    ops = list(p["other_ops"].items())
                    more = f", +{len(ops) - 4} more" if len(ops) > 4 else ""
                    c += " (" + ", ".join(f"{op} x{n}" for op, n in ops[:4]) + more + ")"
                cells.append(c)
            out.append(f"| {e.name} | " + " | ".join(cells) + " |")
    out.append("")
    for s in sides:
        i = info.get(s, {})
        extra = ", ".join(f"{k} {v}" for k, v in i.items() if k not in ("python",))
        out.append(f"- {s}: {extra}; python {i.get('python')}")
    for n in notes:
        out.append(f"- {n}")
    return "\n".join(out), g, common


def list_models():
    sys.path.insert(0, HERE)
    import models as M
    print("| model | default | file | inputs | about |")
    print("|---|---|---|---|---|")
    for m in M.MODELS:
        print(f"| {m.name} | {'yes' if m.default else ''} | {m.path} | "
              f"{'; '.join(i.describe() for i in m.inputs)} | {m.about} |")


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--worker":
        worker_main(sys.argv[2])
        return
    ap = argparse.ArgumentParser(description="Side-by-side model benchmark (see the module docstring).",
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("extra", nargs="*", help="extra .onnx models (random inputs)")
    ap.add_argument("--shape", action="append", type=parse_shape, metavar="NAME=AxBxC",
                    help="shape of an extra model's input (other dynamic dims are 1)")
    ap.add_argument("--models", help="comma-separated names from the model set, 'default' or 'all'")
    ap.add_argument("--sides", default=",".join(s for s in ALL_SIDES if s != "anvil-base"),
                    help=f"comma-separated, from {','.join(ALL_SIDES)} (default: all but anvil-base)")
    ap.add_argument("--threads", default="1", help="intra-op threads for every side: N or N,M,...")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per turn")
    ap.add_argument("--busy-core", type=int, nargs="?", const=-1, default=None, metavar="CPU",
                    help="spin a process on CPU (default: the last one) during the timed rounds")
    ap.add_argument("--json", help="write the results there")
    ap.add_argument("--anvil-lib", default=os.environ.get("ANVIL_LIB") or os.path.join(REPO, "build", "libanvil_ep.so"))
    ap.add_argument("--base-lib", help="the anvil-base side's plugin: another build of Anvil to compare with")
    ap.add_argument("--python", help="Python for the ort, anvil and openvino workers (default: bench-venv's)")
    ap.add_argument("--ggml-python", help="Python for the ggml worker (default: bench-ggml-venv's)")
    ap.add_argument("--anvil-options", default="", metavar="K=V,...",
                    help="Anvil EP options besides threads=N (e.g. tune=0)")
    ap.add_argument("--ggml-options", default="weights=f32", metavar="K=V,...",
                    help="ggml provider options besides device=cpu and threads (default weights=f32: "
                         "ggml's own default keeps weights in f16, which overflows on int16-scale audio)")
    ap.add_argument("--models-dir", help="models folder (default: $ANVIL_CACHE/models)")
    ap.add_argument("--list", action="store_true", help="print the model set and its inputs, then exit")
    args = ap.parse_args()
    ensure_deps()
    if args.list:
        list_models()
        return
    args.anvil_lib = os.path.abspath(args.anvil_lib)
    args.base_lib = os.path.abspath(args.base_lib) if args.base_lib else None
    sides = [s.strip() for s in args.sides.split(",") if s.strip()]
    bad = [s for s in sides if s not in ALL_SIDES]
    if bad:
        sys.exit(f"unknown side(s) {', '.join(bad)}; known: {', '.join(ALL_SIDES)}")
    notes = []
    if "ort" not in sides:
        notes.append("ort added: it is the reference for ratios and differences")
    sides = ["ort"] + [s for s in dict.fromkeys(sides) if s != "ort"]
    thread_counts = [int(t) for t in args.threads.split(",") if t.strip()]
    args.ggml_options = dict(kv.split("=", 1) for kv in args.ggml_options.split(",") if "=" in kv)
    args.anvil_options = dict(kv.split("=", 1) for kv in args.anvil_options.split(",") if "=" in kv)
    if args.rounds < 1 or args.repeat < 1 or not thread_counts:
        sys.exit("--rounds, --repeat and --threads must be positive")

    report = {"cpu": cpu_name(), "cpus": os.cpu_count(), "rounds": args.rounds, "repeat": args.repeat,
              "busy_core": args.busy_core, "runs": []}
    with tempfile.TemporaryDirectory(prefix="anvil-bench-") as tmp:
        entries, problems = build_entries(args, tmp)
        notes += problems
        if not entries:
            sys.exit("no model to run" + ("".join(f"\n  {p}" for p in problems)))
        report["models"] = {e.name: {"path": e.path, "about": e.about, "inputs": e.inputs_desc} for e in entries}
        print(f"CPU: {report['cpu']} ({report['cpus']} CPUs); models: {', '.join(e.name for e in entries)}\n")
        for threads in thread_counts:
            run_notes = list(notes)
            results, info, ran_sides = run_one(args, entries, sides, threads, tmp, run_notes)
            text, g, common = render(entries, results, ran_sides, threads, args, info, run_notes)
            print(text + "\n", flush=True)
            for e in entries:
                for res in results[e.name].values():
                    res.pop("outputs", None)
            report["runs"].append({"threads": threads, "sides": info, "notes": run_notes, "results": results,
                                   "geomean": g, "models_all_sides_ran": common})
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
        print(f"results written to {args.json}", file=sys.stderr)


if __name__ == "__main__":
    main()
