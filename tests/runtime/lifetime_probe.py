"""Runs one lifetime scenario in this (fresh) process and prints one JSON line.

    python lifetime_probe.py LIB MODEL SCENARIO N [SIDE [FEEDS.npz]]

SIDE is "anvil" (the default: Anvil, no CPU fallback), "anvil-noshare" (Anvil with
share_weights=0) or "cpu" (sessions on ORT's CPU EP: the
baseline that shows what ORT itself keeps; in "cycles" the library is still registered and
unregistered each time). Scenarios:
  sessions N            create, run once and release N sessions (after 10 for warm-up); reports
                        the RSS growth per session.
  cycles N              N times: register the library, create and run a session, release the
                        session and unregister (every other cycle unregisters first, with the
                        session still alive); after 10 warm-up cycles. Reports growth per cycle.
  peak N                one session created and run N times; reports the process's peak RSS
                        growth (VmHWM) over what it was before the session was created.
  two_sessions N         a session created and run, then a second one of the same model alive
                        beside it; reports each one's RSS and heap growth (logging at verbose,
                        so the caller can read the packed-weight lines Anvil logs on stderr).
  unregister_first N    a session made, run, then the library unregistered in a `finally:` with
                        the session still alive; the session runs N more times after it and is
                        released last. Reports whether outputs stayed equal.
Inputs come from FEEDS.npz if given, else random with the model's declared shapes (dynamic dims:
1, image models 3x48x192)."""
import ctypes
import gc
import json
import os
import sys

import numpy as np
import onnxruntime as ort

REGISTRATION = "anvil_lifetime_probe"
EP_NAME = "AnvilExecutionProvider"


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def status_bytes(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def peak_rss_bytes():
    return status_bytes("VmHWM")


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


_libc = ctypes.CDLL(None)
_libc.mallinfo2.restype = _Mallinfo2


def heap_bytes():
    """Bytes malloc has handed out and not had back (every arena, mmapped blocks included): exact
    where RSS moves by pages and with the arenas' caching."""
    info = _libc.mallinfo2()
    return info.uordblks + info.hblkhd


def feeds_for(session):
    rng = np.random.default_rng(0)
    feeds = {}
    for i in session.get_inputs():
        dims = [d if isinstance(d, int) else 1 for d in i.shape]
        if len(dims) == 4 and not all(isinstance(d, int) for d in i.shape):
            dims[1:] = [3, 48, 192]
        dtype = np.int64 if "int64" in i.type else np.float32
        feeds[i.name] = rng.random(dims).astype(dtype)
    return feeds


class Probe:
    def __init__(self, lib, model, side, feeds=None):
        self.lib, self.model, self.side = lib, model, side
        self.registered = False
        self.feeds = feeds
        self.verbose = False

    def register(self, always=False):
        if always or self.side.startswith("anvil"):
            ort.register_execution_provider_library(REGISTRATION, self.lib)
            self.registered = True

    def unregister(self):
        if self.registered:
            ort.unregister_execution_provider_library(REGISTRATION)
            self.registered = False

    def session(self):
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        if self.verbose:
            so.log_severity_level = 0
        if self.side.startswith("anvil"):
            so.add_session_config_entry("session.disable_cpu_ep_fallback", "1")
            devices = [d for d in ort.get_ep_devices() if d.ep_name == EP_NAME]
            so.add_provider_for_devices(devices, {"share_weights": "0" if self.side == "anvil-noshare" else "1"})
        s = ort.InferenceSession(self.model, so)
        if self.feeds is None:
            self.feeds = feeds_for(s)
        return s

    def run(self, s):
        return s.run(None, self.feeds)


def growth_per_iteration(step, n, warmup=10):
    """RSS growth per iteration (mean over n), and the heap's: the median of the n per-iteration
    deltas (a leak moves every iteration; the median ignores the odd arena or cache growing once)."""
    for _ in range(warmup):
        step()
    gc.collect()
    rss = rss_bytes()
    deltas = []
    for _ in range(n):
        heap = heap_bytes()
        step()
        gc.collect()
        deltas.append(heap_bytes() - heap)
    return (rss_bytes() - rss) / n, float(np.median(deltas))


def main():
    lib, model, scenario, n = os.path.abspath(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
    side = sys.argv[5] if len(sys.argv) > 5 else "anvil"
    feeds = dict(np.load(sys.argv[6])) if len(sys.argv) > 6 else None
    p = Probe(lib, model, side, feeds)
    result = {"scenario": scenario, "side": side, "n": n, "ort": ort.__version__}
    if scenario == "sessions":
        p.register()

        def one_session():
            s = p.session()
            p.run(s)
            del s

        result["rss_per_iteration"], result["heap_per_iteration"] = growth_per_iteration(one_session, n)
        p.unregister()
    elif scenario == "cycles":
        count = [0]

        def one_cycle():
            p.register(always=True)
            s = p.session()
            p.run(s)
            count[0] += 1
            if count[0] % 2:
                p.unregister()  # the session is still alive here
                del s
            else:
                del s
                p.unregister()

        result["rss_per_iteration"], result["heap_per_iteration"] = growth_per_iteration(one_cycle, n)
    elif scenario == "peak":
        p.register()
        gc.collect()
        before, anon, file = peak_rss_bytes(), status_bytes("RssAnon"), status_bytes("RssFile")
        s = p.session()
        for _ in range(n):
            p.run(s)
        result["peak_rss_growth"] = peak_rss_bytes() - before
        result["peak_rss"] = peak_rss_bytes()  # the whole process's (interpreter, ORT and all)
        # Of the RSS held with the session alive: private memory, and code and files paged in.
        result["anon_growth"] = status_bytes("RssAnon") - anon
        result["file_growth"] = status_bytes("RssFile") - file
        del s
        p.unregister()
    elif scenario == "two_sessions":
        p.register()
        p.verbose = True
        alive = []
        for label in ("first", "second"):
            gc.collect()
            rss, heap = rss_bytes(), heap_bytes()
            alive.append(p.session())
            for _ in range(n):
                p.run(alive[-1])
            gc.collect()
            result[f"{label}_rss"], result[f"{label}_heap"] = rss_bytes() - rss, heap_bytes() - heap
        del alive
        p.unregister()
    elif scenario == "unregister_first":
        p.register()
        s = p.session()
        first = p.run(s)
        try:
            pass
        finally:
            p.unregister()
        same = all(all(np.array_equal(a, b) for a, b in zip(first, p.run(s))) for _ in range(n))
        del s
        gc.collect()
        result["outputs_equal"] = bool(same)
    else:
        raise SystemExit(f"unknown scenario {scenario}")
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
