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
