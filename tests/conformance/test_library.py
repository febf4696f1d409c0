"""The plugin library itself: exactly two exported symbols, and no link to ONNX Runtime (it gets
ORT's API table when it is loaded)."""
import subprocess

import anvil_testing as t


def test_exports_only_the_two_entry_points():
    out = subprocess.run(["nm", "-D", "--defined-only", t.library_path()], capture_output=True, text=True,
                         check=True).stdout
    exported = sorted(line.split()[-1] for line in out.splitlines() if line.split()[1:2] and line.split()[1] in "TWDBRV")
    assert exported == ["CreateEpFactories", "ReleaseEpFactory"], exported


def test_links_nothing_of_onnxruntime():
    out = subprocess.run(["readelf", "-d", t.library_path()], capture_output=True, text=True, check=True).stdout
    needed = [line.split("[")[1].rstrip("]") for line in out.splitlines() if "(NEEDED)" in line]
    assert needed, "readelf found no NEEDED entries at all?"
    assert not [n for n in needed if "onnxruntime" in n], needed


def test_the_code_sessions_run_is_laid_out_together():
    # CMakeLists.txt links with gold and src/ep/code_order.txt, which lists the functions the public
    # models' sessions run: placed together they page in a few MB of code per process, where
    # scattered over oneDNN's 35 MB (the kernel maps 64 KB around every page touched) they paged in
    # 10 or more (bench/bench_lifetime.py --scenarios peak). Most of the listed functions present in
    # the library must then sit in a span not much larger than their own size.
    order = t.ROOT / "src" / "ep" / "code_order.txt"
    listed = {line.strip()[len(".text."):] for line in order.read_text().splitlines()
              if line.startswith(".text._Z") and "*" not in line}
    out = subprocess.run(["nm", "-S", "--defined-only", t.library_path()], capture_output=True, text=True,
                         check=True).stdout
    found = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2] in "tTwW" and parts[3] in listed:
            found.setdefault(parts[3], (int(parts[0], 16), int(parts[1], 16)))
    assert len(found) > len(listed) // 2, f"only {len(found)} of {len(listed)} listed functions in the library"
    addresses = sorted(a for a, _ in found.values())
    total = sum(s for _, s in found.values())
    lo, hi = addresses[len(addresses) // 10], addresses[len(addresses) * 9 // 10]
    assert hi - lo <= 2 * total + (1 << 20), (
        f"90% of the {len(found)} listed functions ({total >> 10} KB) span {(hi - lo) >> 20} MB")
