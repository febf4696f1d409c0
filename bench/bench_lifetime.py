"""Memory over a process's life, Anvil against ORT's CPU EP, per model (tests/runtime/
lifetime_probe.py does the measuring, each scenario in a fresh process):

  sessions  create, run once and release a session N times (default 1000): RSS growth per
            session (mean) and heap growth per session (median of per-iteration deltas);
  cycles    register the library, create and run a session, release and unregister it, N times
            (every other cycle unregisters with the session still alive);
  peak      peak RSS growth of one session created and run 3 times (from just after the library
            is registered), and of it the private (anonymous) part and the code and files paged
            in; then the process's own peak RSS (VmHWM: the interpreter, numpy, ORT and the
            session); ratios Anvil / ORT CPU EP.

    scripts/setup_bench.sh                   # venvs and models, once
    python bench/bench_lifetime.py           # cls, rec, face_front, vad5, oww_emb; 1000 iterations
    python bench/bench_lifetime.py --models det,rec --iterations 200 --scenarios peak
    python bench/bench_lifetime.py --scenarios peak --drop-caches   # as root: libraries read from disk
Runs under the bench venv (newest onnxruntime) when it exists, like bench_models.py."""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import models as bench_models  # noqa: E402

PROBE = HERE.parent / "tests" / "runtime" / "lifetime_probe.py"
CACHE = os.environ.get("ANVIL_CACHE", os.path.expanduser("~/.cache/anvil"))
DEFAULT_PY = os.path.join(CACHE, "bench-venv", "bin", "python")


def drop_page_cache():
    """Empties the kernel's page cache (root only), so every probe maps the libraries as read from
    disk. A file just written (a fresh build, a pip install) sits in the page cache in large
    folios, and the kernel then maps several times more of its code per page a process touches:
    the code a process pages in depends on how the file came into the cache."""
    subprocess.run(["sync"], check=True)
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("1\n")


def probe(python, lib, path, scenario, n, side, feeds, drop_caches=False):
    if drop_caches:
        drop_page_cache()
    out = subprocess.run([python, str(PROBE), lib, path, scenario, str(n), side, feeds],
                         capture_output=True, text=True)
    if out.returncode != 0:
        return {"error": f"exit {out.returncode}: {out.stderr.strip().splitlines()[-1] if out.stderr.strip() else ''}"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def kb(v):
    return f"{v / 1024:8.1f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="cls,rec,face_front,vad5,oww_emb")
    ap.add_argument("--iterations", type=int, default=1000)
    ap.add_argument("--scenarios", default="peak,sessions,cycles")
    ap.add_argument("--lib", default=os.environ.get("ANVIL_LIB", str(HERE.parent / "build" / "libanvil_ep.so")))
    ap.add_argument("--python", default=DEFAULT_PY if os.path.exists(DEFAULT_PY) else sys.executable)
    ap.add_argument("--drop-caches", action="store_true",
                    help="empty the page cache before each probe (root only; see drop_page_cache)")
    args = ap.parse_args()
    scenarios = args.scenarios.split(",")
    version = subprocess.run([args.python, "-c", "import onnxruntime as o; print(o.__version__)"],
                             capture_output=True, text=True).stdout.strip()
    print(f"onnxruntime {version}; {args.iterations} iterations; KB unless noted")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models.split(","):
            model = bench_models.BY_NAME[name]
            path = os.path.join(bench_models.models_dir(), model.path)
            feeds = os.path.join(tmp, f"{name}.npz")
            np.savez(feeds, **bench_models.make_inputs(model))
            row = {"model": name}
            for sc in scenarios:
                n = 3 if sc == "peak" else args.iterations
                for side in ("anvil", "cpu"):
                    row[(sc, side)] = probe(args.python, args.lib, path, sc, n, side, feeds, args.drop_caches)
            rows.append(row)
            print_row(row, scenarios)
    return 0


def print_row(row, scenarios):
    parts = [f"{row['model']:<11}"]
    for sc in scenarios:
        a, c = row[(sc, "anvil")], row[(sc, "cpu")]
        if "error" in a or "error" in c:
            parts.append(f"{sc}: {a.get('error') or c.get('error')}")
            continue
        if sc == "peak":
            parts.append(f"peak MB anvil {a['peak_rss_growth'] / 2**20:6.1f} (anon {a['anon_growth'] / 2**20:5.1f},"
                         f" files {a['file_growth'] / 2**20:5.1f})  cpu {c['peak_rss_growth'] / 2**20:6.1f} "
                         f"(anon {c['anon_growth'] / 2**20:5.1f})  ratio {a['peak_rss_growth'] / c['peak_rss_growth']:.2f};"
                         f" process peak MB anvil {a['peak_rss'] / 2**20:6.1f} cpu {c['peak_rss'] / 2**20:6.1f}"
                         f" ratio {a['peak_rss'] / c['peak_rss']:.2f}")
        else:
            parts.append(f"{sc} rss/heap anvil {kb(a['rss_per_iteration'])}/{kb(a['heap_per_iteration'])}"
                         f" cpu {kb(c['rss_per_iteration'])}/{kb(c['heap_per_iteration'])}")
    print("  |  ".join(parts), flush=True)


if __name__ == "__main__":
    sys.exit(main())
