"""One worker process of the ONNX backend run (tests/backend/run.py starts it as a script).

Reads cases from stdin and writes one result per case to stdout, each a length-prefixed pickle.
It registers the Anvil plugin once, then for each case: runs the model on ORT's CPU EP and checks
it against the expected outputs; if ORT passes, runs it on Anvil with CPU fallback disabled and
checks again. A crash or hang of this process is the driver's to see: it reports the case it had
sent and starts another worker."""
import os
import pickle
import struct
import sys

import numpy as np

EP_NAME = "AnvilExecutionProvider"
FALLBACK_DISABLED = "fallback to CPU EP has been explicitly disabled"


def read_msg(f):
    head = f.read(8)
    if len(head) < 8:
        return None
    (n,) = struct.unpack("<Q", head)
    return pickle.loads(f.read(n))


def write_msg(f, obj):
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    f.write(struct.pack("<Q", len(data)) + data)
    f.flush()


def compare(got, want, rtol, atol):
    """None if `got` matches `want` as ONNX's backend tests require (same count, shapes and
    dtypes; floats within rtol/atol with NaN equal to NaN; everything else exactly), else why not."""
    if len(got) != len(want):
        return f"{len(got)} outputs, expected {len(want)}"
    for i, (g, w) in enumerate(zip(got, want)):
        g, w = np.asarray(g), np.asarray(w)
        if g.shape != w.shape:
            return f"output {i}: shape {g.shape}, expected {w.shape}"
        if g.dtype != w.dtype:
            return f"output {i}: dtype {g.dtype}, expected {w.dtype}"
        if g.dtype.kind in "fc" or g.dtype.name.startswith(("bfloat16", "float8", "float4")):
            r = rtol
            if g.dtype.kind not in "fc":
                r = max(rtol, 2.0 ** -6) if g.dtype.name == "bfloat16" else rtol
                g, w = g.astype(np.float32), w.astype(np.float32)
            ok = np.isclose(g, w, rtol=r, atol=atol, equal_nan=True)
        else:
            ok = g == w
        ok = np.asarray(ok)
        if not ok.all():
            bad = np.argwhere(~ok) if ok.ndim else [()]
            idx = tuple(int(k) for k in bad[0])
            detail = f"output {i}: {int((~ok).sum())} of {ok.size} elements differ; first at {list(idx)}: got {g[idx]!r}, expected {w[idx]!r}"
            if g.dtype.kind == "f":
                with np.errstate(all="ignore"):
                    d = np.abs(g.astype(np.float64) - w.astype(np.float64))
                d = d[~ok & np.isfinite(d)]
                if d.size:
                    detail += f"; max abs diff {d.max():.3g}"
            return detail
    return None


def onnx_model(model_bytes):
    import onnx
    return onnx.load_from_string(model_bytes)


def node_input_types(model_bytes):
    """{(node name, op type): its first input's element type} over the model's graphs (with
    ("*", op type) for an op whose nodes all share one), to say which types Anvil did not take."""
    import onnx
    from onnx import helper
    m = onnx.load_from_string(model_bytes)
    try:
        m = onnx.shape_inference.infer_shapes(m)
    except Exception:
        pass
    elem = {}
    out = {}
    per_op = {}

    def walk(g):
        for v in list(g.input) + list(g.output) + list(g.value_info):
            if v.type.HasField("tensor_type") and v.type.tensor_type.elem_type:
                elem[v.name] = v.type.tensor_type.elem_type
        for t in g.initializer:
            elem[t.name] = t.data_type
        for n in g.node:
            for a in n.attribute:
                for sub in ([a.g] if a.type == onnx.AttributeProto.GRAPH else list(a.graphs)):
                    walk(sub)
        for n in g.node:
            first = next((i for i in n.input if i), None)
            t = elem.get(first) if first else None
            name = helper.tensor_dtype_to_np_dtype(t).name if t else None
            if n.op_type == "Constant" or first is None:
                name = None
            out[(n.name, n.op_type)] = name
            per_op.setdefault(n.op_type, set()).add(name)

    try:
        walk(m.graph)
    except Exception:
        return {}
    for op, names in per_op.items():
        if len(names) == 1:
            out[("*", op)] = next(iter(names))
    return out


def simulate(act, stage):
    """For the driver's own tests: crash or hang this worker at `stage` when asked to."""
    if not act or not act.endswith("@" + stage):
        return
    what = act.split("@")[0]
    if what == "abort":
        os.abort()
    elif what == "exit":
        os._exit(3)
    elif what == "hang":
        import time
        time.sleep(3600)


def short(e, n=600):
    s = str(e).replace("\n", " ")
    return s if len(s) <= n else s[:n] + "..."


class Runner:
    def __init__(self, lib):
        import onnxruntime as ort
        self.ort = ort
        ort.set_default_logger_severity(4)  # declined sessions log an error each; the result says it
        ort.register_execution_provider_library("anvil_backend", lib)
        self.devices = [d for d in ort.get_ep_devices() if d.ep_name == EP_NAME]
        if not self.devices:
            raise RuntimeError(f"{lib} offers no {EP_NAME} device")

    def options(self, anvil, fallback=False, record=False):
        so = self.ort.SessionOptions()
        so.log_severity_level = 4
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        if anvil:
            if not fallback:
                so.add_session_config_entry("session.disable_cpu_ep_fallback", "1")
            if record:
                so.add_session_config_entry("session.record_ep_graph_assignment_info", "1")
            so.add_provider_for_devices(self.devices, {"threads": "1"})
        return so

    def session(self, model, anvil, **kw):
        so = self.options(anvil, **kw)
        if anvil:
            return self.ort.InferenceSession(model, so)
        return self.ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])

    def unclaimed(self, model):
        """The nodes ORT left to its CPU EP when fallback is allowed: what Anvil did not claim."""
        s = self.session(model, True, fallback=True, record=True)
        types = node_input_types(model)
        out = []
        assigned = set()
        inlined = False
        for sub in s.get_provider_graph_assignment_info() or []:
            for n in sub.get_nodes():
                assigned.add(n.op_type)
                if sub.ep_name == EP_NAME:
                    continue
                op = n.op_type if n.domain in ("", "ai.onnx") else f"{n.domain}:{n.op_type}"
                if not any(k[1] == n.op_type for k in types):
                    inlined = True  # not in the model: ORT expanded a function op Anvil declined
                t = types.get((n.name, n.op_type)) or types.get(("*", n.op_type))
                out.append(f"{op}({t})" if t else op)
        if inlined:
            # The model's ops that vanished from the assignment and have a function body.
            from onnx import defs
            opset = next((o.version for o in onnx_model(model).opset_import if o.domain in ("", "ai.onnx")), None)
            for op in sorted({k[1] for k in types if k[0] != "*"} - assigned):
                try:
                    schema = defs.get_schema(op, opset, "")
                except Exception:
                    continue
                if schema.has_function or schema.has_context_dependent_function:
                    out.append(f"via:{op}")
        return sorted(out)

    def run_sets(self, session, sets, rtol, atol):
        for k, (feeds, want) in enumerate(sets):
            got = session.run(None, feeds)
            why = compare(got, want, rtol, atol)
            if why:
                return f"data set {k}: {why}" if len(sets) > 1 else why
        return None

    def run_case(self, case, stage):
        model, sets, rtol, atol = case["model"], case["sets"], case["rtol"], case["atol"]
        act = case.get("simulate")  # tests/backend/test_driver.py: the driver's crash and hang paths
        simulate(act, "ort")
        try:
            why = self.run_sets(self.session(model, False), sets, rtol, atol)
        except Exception as e:
            return {"status": "ort_fails", "detail": short(e)}
        if why:
            return {"status": "ort_fails", "detail": why}
        stage("anvil")  # from here on, a crash or hang is Anvil's
        simulate(act, "anvil")
        try:
            s = self.session(model, True)
        except Exception as e:
            msg = short(e)
            if FALLBACK_DISABLED not in msg:
                return {"status": "error", "detail": f"Anvil session: {msg}"}
            try:
                ops = self.unclaimed(model)
            except Exception as e2:
                return {"status": "error", "detail": f"Anvil session with fallback: {short(e2)}"}
            if not ops:
                return {"status": "error", "detail": f"every node on Anvil, yet: {msg}"}
            return {"status": "declined", "detail": ops}
        try:
            why = self.run_sets(s, sets, rtol, atol)
        except Exception as e:
            return {"status": "error", "detail": f"Anvil run: {short(e)}"}
        if why:
            return {"status": "wrong", "detail": why}
        return {"status": "pass", "detail": ""}


def main():
    lib = sys.argv[1]
    proto_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed by native code goes to stderr, not into the protocol
    proto_in = sys.stdin.buffer
    runner = Runner(lib)
    write_msg(proto_out, {"ready": True})
    while True:
        case = read_msg(proto_in)
        if case is None:
            return
        try:
            result = runner.run_case(case, lambda name: write_msg(proto_out, {"stage": name}))
        except Exception as e:  # the driver's own failure: reported as an error of this case
            result = {"status": "error", "detail": f"driver: {type(e).__name__}: {short(e)}"}
        write_msg(proto_out, result)


if __name__ == "__main__":
    main()
