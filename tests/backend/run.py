"""The ONNX backend test cases on ORT's CPU EP and on Anvil, each case isolated in a worker process.

    python -m tests.backend.run              # run every case, print the counts, check the list
    python -m tests.backend.run --update     # ... and rewrite tests/backend/declined.txt
    python -m tests.backend.run -k 'node/test_conv' -v   # only ids matching a regex, per case

Each case runs first on ORT's CPU EP against the expected outputs ("ORT fails" cases are not
counted), then on Anvil with CPU fallback disabled: "pass", "declined" (Anvil did not claim every
node: the session cannot be created; the unclaimed ops come from a second session with fallback
allowed), "wrong" (outputs differ), "error" (any other failure), "crash" (the worker died) or
"hang" (no answer within the per-case timeout). A crashed or hung worker is replaced and the run
goes on. The plugin is ANVIL_LIB, else build/libanvil_ep.so."""
from __future__ import annotations

import argparse
import collections
import dataclasses
import os
import pathlib
import pickle
import re
import select
import struct
import subprocess
import sys
import tempfile
import threading
import time

from . import cases as cases_mod

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
WORKER = HERE / "worker.py"
DECLINED = HERE / "declined.txt"
WORKERS = int(os.environ.get("ANVIL_BACKEND_WORKERS", "2"))      # the machine's 2 cores
TIMEOUT = float(os.environ.get("ANVIL_BACKEND_TIMEOUT", "60"))   # seconds per case and side
STARTUP_TIMEOUT = 120.0
STATUSES = ("pass", "declined", "wrong", "ill-conditioned", "error", "crash", "hang")

# Cases whose expected outputs no fp32 implementation but one that rounds exactly like the reference
# can meet: a "wrong" result here is shown as "ill-conditioned" (with the difference, every run) and
# does not fail the run; a case listed here that is no longer wrong does. Keep this list short and
# say why for each; never add a case because a kernel is wrong.
# (light/light_squeezenet was one in NCHW: its constant weights make all 1000 logits equal, and
# Softmax of them is 1/1000 only if every channel rounds identically; with its convolutions
# channels-last, the default, Anvil's do.)
ILL_CONDITIONED = {}
FAILING = ("wrong", "error", "crash", "hang")


def library_path() -> str:
    path = os.environ.get("ANVIL_LIB") or str(ROOT / "build" / "libanvil_ep.so")
    if not os.path.exists(path):
        raise RuntimeError(f"Anvil plugin not found at {path}; build it or set ANVIL_LIB")
    return os.path.abspath(path)


class WorkerGone(Exception):
    pass


class Timeout(Exception):
    pass


class Worker:
    """One worker process; replaced after a crash or a hang."""

    def __init__(self, lib, logdir, slot):
        self.lib, self.logdir, self.slot, self.generation = lib, logdir, slot, 0
        self.proc = None
        self.log = None

    def start(self):
        self.generation += 1
        self.log = open(os.path.join(self.logdir, f"worker{self.slot}.{self.generation}.log"), "w+b")
        self.proc = subprocess.Popen([sys.executable, str(WORKER), self.lib], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.log, cwd=str(ROOT))
        try:
            msg = self.recv(STARTUP_TIMEOUT)
        except (WorkerGone, Timeout) as e:
            self.kill()
            raise RuntimeError(f"a backend worker did not start ({type(e).__name__}): {self.log_tail()}") from None
        assert msg.get("ready"), msg

    def _read(self, n, deadline):
        fd = self.proc.stdout.fileno()
        buf = bytearray()
        while len(buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout()
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                raise Timeout()
            chunk = os.read(fd, min(n - len(buf), 1 << 20))
            if not chunk:
                raise WorkerGone()
            buf += chunk
        return bytes(buf)

    def recv(self, timeout):
        deadline = time.monotonic() + timeout
        (n,) = struct.unpack("<Q", self._read(8, deadline))
        return pickle.loads(self._read(n, deadline))

    def send(self, obj):
        data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            self.proc.stdin.write(struct.pack("<Q", len(data)) + data)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise WorkerGone() from None

    def kill(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def stop(self):
        if self.proc is not None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except Exception:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def log_tail(self, n=600):
        if self.log is None:
            return ""
        self.log.flush()
        self.log.seek(0)
        text = self.log.read().decode(errors="replace").strip().replace("\n", " | ")
        return text[-n:]

    def run(self, payload, timeout):
        """The worker's result for one case; a crash or hang becomes a result of its own. While
        the case is on ORT's CPU EP a crash or hang counts as ORT failing."""
        if self.proc is None:
            self.start()
        stage = "ort"
        try:
            self.send(payload)
            while True:
                msg = self.recv(timeout)
                if "stage" not in msg:
                    return msg
                stage = msg["stage"]
        except Timeout:
            self.kill()
            if stage == "ort":
                return {"status": "ort_fails", "detail": f"ORT's CPU EP hung (no answer in {timeout:g} s)"}
            return {"status": "hang", "detail": f"no answer in {timeout:g} s"}
        except WorkerGone:
            rc = self.proc.wait()
            self.proc = None
            how = f"signal {-rc}" if rc < 0 else f"exit code {rc}"
            tail = self.log_tail()
            if stage == "ort":
                return {"status": "ort_fails", "detail": f"ORT's CPU EP crashed the worker ({how}): {tail}"}
            return {"status": "crash", "detail": f"worker died ({how}): {tail}"}


@dataclasses.dataclass
class Result:
    id: str
    status: str       # ort_fails, na, or one of STATUSES
    detail: object    # text, or the unclaimed op types for "declined"
    seconds: float = 0.0


def run_cases(selected, workers=WORKERS, timeout=TIMEOUT, progress=None):
    """Runs the applicable cases on `workers` worker processes; returns {id: Result}."""
    lib = library_path()
    results = {c.id: Result(c.id, "na", c.na) for c in selected if c.na}
    todo = sorted((c for c in selected if not c.na), key=lambda c: not c.heavy)
    todo.reverse()  # pop() from the end: heavy cases first
    lock = threading.Lock()
    failure = []
    with tempfile.TemporaryDirectory(prefix="anvil-backend-") as logdir:
        def slot_loop(slot):
            w = Worker(lib, logdir, slot)
            try:
                while not failure:
                    with lock:
                        if not todo:
                            return
                        case = todo.pop()
                    t0 = time.monotonic()
                    try:
                        payload = case.payload()
                    except Exception as e:
                        r = {"status": "error", "detail": f"driver: cannot load the case: {e}"}
                    else:
                        r = w.run(payload, timeout)
                    res = Result(case.id, r["status"], r["detail"], time.monotonic() - t0)
                    if res.status == "wrong" and case.id in ILL_CONDITIONED:
                        res.status, res.detail = "ill-conditioned", f"{res.detail} ({ILL_CONDITIONED[case.id]})"
                    with lock:
                        results[case.id] = res
                        if progress:
                            progress(res)
            except Exception as e:
                failure.append(e)
            finally:
                w.stop()

        threads = [threading.Thread(target=slot_loop, args=(i,), daemon=True) for i in range(max(1, workers))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    if failure:
        raise failure[0]
    return results


# ---- the checked-in list of declined cases ---------------------------------------------------

def declined_reason(detail) -> str:
    """"Op(type), Other x2" from the worker's list; "via:Op" entries name a function op whose body
    ORT expanded because Anvil declined the op: "... (function body of Op)"."""
    via = sorted(d[4:] for d in detail if d.startswith("via:"))
    counts = collections.Counter(d for d in detail if not d.startswith("via:"))
    text = ", ".join(op if n == 1 else f"{op} x{n}" for op, n in sorted(counts.items()))
    return text + (f" (function body of {', '.join(via)})" if via else "")


def read_declined(path=DECLINED) -> dict:
    out = {}
    if not path.exists():
        return out
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        case_id, _, reason = line.partition(" ")
        out[case_id] = reason.strip()
    return out


def write_declined(results, path=DECLINED):
    rows = sorted((r.id, declined_reason(r.detail)) for r in results.values() if r.status == "declined")
    import onnx
    head = [
        "# ONNX backend cases (tests/backend) that ORT's CPU EP passes and Anvil declines: Anvil does not",
        "# claim every node, so a session with CPU fallback disabled cannot be created. Each line: the case,",
        "# then the ops Anvil left to ORT's CPU EP, as Op(type of the first input) (domain:Op outside the",
        "# default domain; no type where ORT made the node by expanding a function op Anvil declined,",
        "# which \"(function body of Op)\" then names).",
        f"# onnx {onnx.__version__}, libonnx-testdata {cases_mod.debian_version()}. Regenerate with",
        "#   python -m tests.backend.run --update",
        "# The backend test fails when a case listed here no longer declines (or for other ops) or a case",
        "# not listed declines.",
    ]
    width = max((len(i) for i, _ in rows), default=0)
    path.write_text("\n".join(head + [f"{i.ljust(width)}  {r}" for i, r in rows]) + "\n")
    return len(rows)


# ---- summary and checks -----------------------------------------------------------------------

def counts(results) -> dict:
    c = collections.Counter(r.status for r in results.values())
    out = {"cases": len(results), "ORT passes": sum(c[s] for s in STATUSES)}
    out.update({"Anvil passes": c["pass"], "declined": c["declined"], "wrong": c["wrong"],
                "ill-conditioned": c["ill-conditioned"], "errors": c["error"], "crashes": c["crash"], "hangs": c["hang"],
                "ORT fails": c["ort_fails"], "not applicable": c["na"]})
    return out


def top_unclaimed(results, n=20):
    """(op, number of declined cases that leave it to ORT), most cases first."""
    per_op = collections.Counter()
    for r in results.values():
        if r.status == "declined":
            per_op.update({op.partition("(")[0] for op in r.detail if not op.startswith("via:")})
    return per_op.most_common(n)


def summary_lines(results, seconds=None) -> list[str]:
    c = counts(results)
    lines = ["ONNX backend cases: " + ", ".join(f"{k} {v}" for k, v in c.items())
             + (f" ({seconds:.0f} s)" if seconds is not None else "")]
    na = collections.Counter(r.detail for r in results.values() if r.status == "na")
    if na:
        lines.append("  not applicable: " + ", ".join(f"{k} {v}" for k, v in na.most_common()))
    top = top_unclaimed(results, 15)
    if top:
        lines.append("  most declined for: " + ", ".join(f"{op} ({n})" for op, n in top))
    for r in sorted(results.values(), key=lambda r: r.id):
        if r.status in FAILING or r.status == "ill-conditioned":
            lines.append(f"  {r.status.upper()} {r.id}: {r.detail}")
    return lines


def check_failures(results) -> list[str]:
    """Every wrong result, error, crash and hang; an ILL_CONDITIONED entry that is out of date."""
    problems = [f"{r.status}: {r.id}: {r.detail}" for r in sorted(results.values(), key=lambda r: r.id)
                if r.status in FAILING]
    for case_id in sorted(ILL_CONDITIONED):
        r = results.get(case_id)
        if r is not None and r.status != "ill-conditioned":
            problems.append(f"{case_id} is in ILL_CONDITIONED (tests/backend/run.py) but is now '{r.status}': remove it")
    return problems


def check_floor(results, floor) -> list[str]:
    n = counts(results)["Anvil passes"]
    return [f"Anvil passes {n} cases, fewer than the floor {floor}"] if n < floor else []


def check_declined(results, listed, full=True) -> list[str]:
    """The checked-in list against this run: a declined case not listed, a listed case that no
    longer declines (or, in a full run, no longer exists) or declines for other ops."""
    problems = []
    for r in sorted(results.values(), key=lambda r: r.id):
        if r.status == "declined" and r.id not in listed:
            problems.append(f"declined but not in {DECLINED.name}: {r.id} ({declined_reason(r.detail)})")
    for case_id in sorted(listed):
        r = results.get(case_id)
        if r is None:
            if full:
                problems.append(f"{case_id} is in {DECLINED.name} but is no longer a case")
        elif r.status != "declined":
            what = "passes now" if r.status == "pass" else f"is now '{r.status}'"
            problems.append(f"{case_id} is in {DECLINED.name} but {what}")
        elif declined_reason(r.detail) != listed[case_id]:
            problems.append(f"{case_id} declines for {declined_reason(r.detail)}, {DECLINED.name} says {listed[case_id]}")
    if problems:
        problems.append("if that is the new state: python -m tests.backend.run --update")
    return problems


def check(results, floor=None, listed=None, full=True) -> list[str]:
    """Everything wrong with this run (empty when all is well)."""
    problems = check_failures(results)
    if floor is not None:
        problems += check_floor(results, floor)
    if listed is not None:
        problems += check_declined(results, listed, full)
    return problems


def collect(pattern=None):
    selected = cases_mod.all_cases()
    if pattern:
        rx = re.compile(pattern)
        selected = [c for c in selected if rx.search(c.id)]
    return selected


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--update", action="store_true", help=f"rewrite {DECLINED.name} from this run and print the new floor")
    ap.add_argument("-k", "--filter", help="only case ids matching this regex")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every case's result")
    ap.add_argument("--workers", type=int, default=WORKERS)
    ap.add_argument("--timeout", type=float, default=TIMEOUT, help="seconds per case and side")
    args = ap.parse_args(argv)
    if args.update and args.filter:
        ap.error("--update needs the whole run (no --filter)")

    t0 = time.monotonic()
    selected = collect(args.filter)
    t_collect = time.monotonic() - t0

    def progress(r):
        if args.verbose:
            d = declined_reason(r.detail) if r.status == "declined" else r.detail
            print(f"{r.status:9s} {r.seconds:6.2f}s {r.id}  {d}", flush=True)

    results = run_cases(selected, args.workers, args.timeout, progress)
    if args.verbose:
        for r in results.values():
            if r.status == "na":
                print(f"n/a       {r.id}  {r.detail}")
    seconds = time.monotonic() - t0
    for line in summary_lines(results, seconds):
        print(line)
    slow = sorted(results.values(), key=lambda r: -r.seconds)[:5]
    print(f"  collecting {t_collect:.1f} s; slowest: " + ", ".join(f"{r.id} {r.seconds:.1f} s" for r in slow))

    from .test_backend import PASS_FLOOR
    if args.update:
        n = write_declined(results)
        print(f"wrote {n} declined cases to {DECLINED.relative_to(ROOT)}")
        print(f"new floor: PASS_FLOOR = {counts(results)['Anvil passes']} in tests/backend/test_backend.py (now {PASS_FLOOR})")
        problems = check(results)
    else:
        full = not args.filter
        problems = check(results, PASS_FLOOR if full else None, read_declined(), full)
    for p in problems:
        print("FAIL " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
