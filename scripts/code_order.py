"""Writes src/ep/code_order.txt: the code sections of libanvil_ep.so that sessions of the public
models run, for gold's --section-ordering-file (CMakeLists.txt). Placed together, they page in a
few megabytes of the plugin's code instead of the 64 KB around each of thousands of functions
scattered over oneDNN (the kernel maps a library's code in blocks around each touched page).

It runs each public model (bench/models.py) at 1 and 2 threads under valgrind's callgrind, which
records every function executed, and lists the sections of those in the plugin:
  1. each executed function's own section (`.text.<mangled name>`), in name order;
  2. the same functions' instances for other instruction sets (oneDNN templates a kernel on its
     ISA: `...cpu_isa_tE<n>E...`), as glob patterns: on an AVX-512 or AMX machine the session runs
     those instead, and they then sit together too, after the first group.
  3. with --perf, also the functions a `perf record` sampling of the same sessions saw on this
     machine: valgrind runs oneDNN's AVX2 paths only (it emulates no AVX-512), so on an AVX-512
     machine this adds the kernels and generators the sessions really run there (a sampling:
     functions too short to be sampled stay out).
A constructor or destructor is listed under its base-object name too (`C2`/`D2`): GCC puts the
body in that section and makes the complete-object name (`C1`/`D1`, which callgrind reports) an
alias of it. The list is a layout hint only: a function missing from it still links, just elsewhere.

    apt-get install valgrind                       # once
    scripts/setup_bench.sh                         # the models and the bench venv, once
    python3 scripts/code_order.py [--models a,b]   # about 20 minutes; then rebuild
    python3 scripts/code_order.py --keep --perf    # add this machine's sampled functions to the list
Regenerate it when the kernels or oneDNN change much (bench/bench_lifetime.py --scenarios peak
shows the code paged in: its `files` column)."""
import argparse
import os
import pathlib
import re
import subprocess
import sys
import tempfile

TOP = pathlib.Path(__file__).resolve().parents[1]
CACHE = os.environ.get("ANVIL_CACHE", os.path.expanduser("~/.cache/anvil"))
DRIVER = r'''
import os, sys
sys.path.insert(0, sys.argv[3])
import onnxruntime as ort
import models as bm
ort.register_execution_provider_library("anvil", sys.argv[1])
devices = [d for d in ort.get_ep_devices() if d.ep_name == "AnvilExecutionProvider"]
for threads in (1, 2):
    for name in sys.argv[2].split(","):
        m = bm.BY_NAME[name]
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.add_session_config_entry("session.disable_cpu_ep_fallback", "1")
        so.add_provider_for_devices(devices, {})
        s = ort.InferenceSession(os.path.join(bm.models_dir(), m.path), so)
        feeds = bm.make_inputs(m)
        for _ in range(2):
            s.run(None, feeds)
        del s
'''
ISA = re.compile(r"(cpu_isa_tE)(\d+)(E)")
CTOR_DTOR = re.compile(r"([CD])1(E|I)")


def section_names(function):
    """The function's section names: its own, and for a complete-object constructor or destructor
    the base-object one that holds the body."""
    names = [function]
    if CTOR_DTOR.search(function):
        names.append(CTOR_DTOR.sub(r"\g<1>2\2", function, count=1))
    return names


def sampled_functions(python, driver, lib, models):
    """Functions of `lib` that perf's cpu-clock sampling (20 kHz) saw while the driver ran."""
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "perf.data")
        subprocess.run(["perf", "record", "-q", "-o", data, "-e", "cpu-clock", "-F", "20000", python, driver, lib,
                        models, str(TOP / "bench")], check=True)
        report = subprocess.run(["perf", "report", "-i", data, "--dsos", os.path.basename(lib), "--sort", "symbol",
                                 "-F", "sym", "--no-demangle", "--stdio"], check=True, capture_output=True, text=True)
    found = set()
    for line in report.stdout.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0] == "[.]" and fields[1].startswith("_Z"):
            found.add(fields[1])
    return found


def executed_functions(callgrind_out, library):
    """Mangled names of the functions callgrind saw executed in `library`."""
    names, objects, functions = {}, {}, set()
    current = None

    def resolve(table, value):
        m = re.match(r"\((\d+)\)(?: (.*))?", value)
        if not m:
            return value
        if m.group(2):
            table[m.group(1)] = m.group(2)
        return table.get(m.group(1))

    for line in open(callgrind_out, errors="replace"):
        if line.startswith("ob="):
            current = resolve(objects, line[3:].strip())
        elif line.startswith("cob="):
            resolve(objects, line[4:].strip())
        elif line.startswith("fn="):
            f = resolve(names, line[3:].strip())
            if current and os.path.basename(current) == library and f:
                functions.add(f)
        elif line.startswith("cfn="):
            resolve(names, line[4:].strip())
    return functions


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="cls,rec,det,face_front,face_back,vad5,vad6,oww_mel,oww_emb,oww_jarvis,oww_timer")
    ap.add_argument("--lib", default=str(TOP / "build" / "libanvil_ep.so"))
    ap.add_argument("--python", default=os.path.join(CACHE, "bench-venv", "bin", "python"))
    ap.add_argument("--out", default=str(TOP / "src" / "ep" / "code_order.txt"))
    ap.add_argument("--callgrind-out", help="reuse this callgrind output instead of running the models")
    ap.add_argument("--keep", action="store_true", help="start from the functions already in --out (no callgrind run)")
    ap.add_argument("--perf", action="store_true", help="add the functions perf samples in the sessions on this machine")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        driver = os.path.join(tmp, "driver.py")
        pathlib.Path(driver).write_text(DRIVER)
        out = args.callgrind_out
        if args.keep:
            functions = {line.strip()[len(".text."):] for line in open(args.out)
                         if line.startswith(".text._Z") and "*" not in line}
        elif not out:
            out = os.path.join(tmp, "callgrind.out")
            subprocess.run(["valgrind", "--tool=callgrind", "--demangle=no", "--smc-check=all",
                            f"--callgrind-out-file={out}", args.python, driver, os.path.abspath(args.lib),
                            args.models, str(TOP / "bench")], check=True)
        if not args.keep:
            functions = {f for f in executed_functions(out, os.path.basename(args.lib)) if f.startswith("_Z")}
        if args.perf:
            functions |= sampled_functions(args.python, driver, os.path.abspath(args.lib), args.models)
    functions = sorted({n for f in functions for n in section_names(f)})
    if not functions:
        sys.exit("code_order: callgrind saw no function of the plugin run")
    other_isas = sorted({ISA.sub(r"\1*\3", f) for f in functions if ISA.search(f)})
    header = [f"# {line}" if line else "#" for line in
              ("Code sections placed first, together, in libanvil_ep.so (gold --section-ordering-file).",
               f"Made by scripts/code_order.py from the public models' sessions ({len(functions)} functions,",
               f"{len(other_isas)} ISA-templated patterns); a layout hint only, regenerate it with that script.")]
    with open(args.out, "w") as f:
        # What loading the library runs first: the static initializers (GNU ld's default script
        # groups them; gold keeps them in input order, one per translation unit) and the
        # resolvers of the multiversioned kernels (ANVIL_MULTIVERSION: the loader calls each
        # one to pick a clone, and each sits beside its clones).
        startup = [".text.startup", ".text.startup.*", ".text.*.resolver"]
        f.write("\n".join(header + startup + [f".text.{n}" for n in functions] + [f".text.{p}" for p in other_isas]) + "\n")
    print(f"code_order: {args.out}: {len(functions)} functions, {len(other_isas)} ISA patterns")


if __name__ == "__main__":
    main()
