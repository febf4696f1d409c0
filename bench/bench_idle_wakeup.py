"""How long one small Anvil node takes after the process has been idle for a while.

OpenMP's fork/join makes the calling thread wait until every worker of the team has done its
share; a worker whose core went idle (on a VM: a halted vCPU) can take milliseconds to wake up.
This prints the median latency of a depthwise convolution after idle gaps of 0 to 60 ms.

    ANVIL_LIB=build/libanvil_ep.so python bench/bench_idle_wakeup.py [threads]
"""
import pathlib
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))
import anvil_testing as t  # noqa: E402

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
x = np.random.rand(1, 64, 80, 80).astype(np.float32)
w = np.random.rand(64, 1, 3, 3).astype(np.float32)
model = t.make_node_model("Conv", [("x", x), ("W", w)], ["y"], 17, attrs={"group": 64, "pads": [1, 1, 1, 1]},
                          initializers={"W": w})
session = t.session(model, threads=threads)
for gap in (0, 0.001, 0.005, 0.02, 0.06):
    times = []
    for _ in range(20):
        time.sleep(gap)
        start = time.perf_counter()
        session.run(None, {"x": x})
        times.append(time.perf_counter() - start)
    print(f"threads {threads}  idle {gap * 1e3:4.0f} ms before each run: median {statistics.median(times) * 1e3:7.3f} ms")
