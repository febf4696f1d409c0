"""Collects the ONNX backend test cases: the node cases the pinned onnx wheel generates, the wheel's
data folders (simple, pytorch-converted, pytorch-operator, light) and Debian's libonnx-testdata
(ONNX 1.12's node cases, plus its other folders where they differ from the wheel's).

A case is an id ("node/test_abs", "debian-1.12/node/test_abs", "light/light_resnet50", ...), a
model and data sets (feeds by input name, expected outputs). Cases whose model needs strings,
sequences, optionals, maps, training or the ai.onnx.ml / preview domains are "not applicable"
(Anvil runs plain tensors of the default domain): they carry `na` and are never run."""
from __future__ import annotations

import dataclasses
import glob
import hashlib
import os
import pathlib
import re
import warnings

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper

ROOT = pathlib.Path(__file__).resolve().parents[2]
WHEEL_DATA = pathlib.Path(onnx.__file__).resolve().parent / "backend" / "test" / "data"
WHEEL_KINDS = ("simple", "pytorch-converted", "pytorch-operator")
DEBIAN_KINDS = ("node",) + WHEEL_KINDS
DEFAULT_RTOL, DEFAULT_ATOL = 1e-3, 1e-7

# Ops whose values are sequences, optionals or strings even when no value info says so.
NA_OPS = {
    "SequenceAt": "sequence", "SequenceConstruct": "sequence", "SequenceEmpty": "sequence",
    "SequenceErase": "sequence", "SequenceInsert": "sequence", "SequenceLength": "sequence",
    "SequenceMap": "sequence", "SplitToSequence": "sequence", "ConcatFromSequence": "sequence",
    "Optional": "optional", "OptionalGetElement": "optional", "OptionalHasElement": "optional",
    "StringNormalizer": "string", "StringConcat": "string", "StringSplit": "string",
    "RegexFullMatch": "string",
}


@dataclasses.dataclass
class Case:
    id: str
    rtol: float = DEFAULT_RTOL
    atol: float = DEFAULT_ATOL
    na: str | None = None            # why the case is not applicable, or None
    model: onnx.ModelProto | None = None
    data_sets: list | None = None    # generated node cases: [(inputs, outputs)] by position
    case_dir: str | None = None      # folder cases: model.onnx + test_data_set_*/
    light_model: str | None = None   # light cases: the .onnx file next to its *_output_i.pb
    heavy: bool = False              # run first, so the long cases do not end the run

    def payload(self) -> dict:
        """What a worker needs to run the case: the model's bytes and [(feeds, expected)]."""
        model = self.model if self.model is not None else onnx.load(self.light_model or os.path.join(self.case_dir, "model.onnx"))
        if self.light_model:
            sets = [_light_data_set(model, self.light_model)]
        elif self.case_dir:
            sets = [_folder_data_set(model, d) for d in sorted(glob.glob(os.path.join(self.case_dir, "test_data_set*")))]
        else:
            names = _feed_names(model)
            sets = [(dict(zip(names, (_array(v) for v in ins))), [_array(v) for v in outs]) for ins, outs in self.data_sets]
        return {"id": self.id, "model": model.SerializeToString(), "sets": sets, "rtol": self.rtol, "atol": self.atol}


def _array(v):
    return numpy_helper.to_array(v) if isinstance(v, TensorProto) else np.asarray(v)


def _feed_names(model):
    inits = {i.name for i in model.graph.initializer}
    return [i.name for i in model.graph.input if i.name not in inits]


def _load_tensor(path):
    t = TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return t


def _numbered(folder, prefix):
    files = glob.glob(os.path.join(folder, f"{prefix}_*.pb"))
    return sorted(files, key=lambda p: int(re.search(r"_(\d+)\.pb$", p).group(1)))


def _folder_data_set(model, folder):
    names = _feed_names(model)
    feeds = {}
    for i, path in enumerate(_numbered(folder, "input")):
        t = _load_tensor(path)
        feeds[t.name if t.name in names else names[i]] = numpy_helper.to_array(t)
    return feeds, [numpy_helper.to_array(_load_tensor(p)) for p in _numbered(folder, "output")]


def _light_data_set(model, model_path):
    """The inputs onnx's runner makes for a light model (arange / n, shape from the model, 1 for
    symbolic dims) and the expected outputs stored next to it."""
    feeds = {}
    inits = {i.name for i in model.graph.initializer}
    for x in model.graph.input:
        if x.name in inits:
            continue
        shape = tuple(d.dim_value if d.HasField("dim_value") else 1 for d in x.type.tensor_type.shape.dim)
        n = int(np.prod(shape))
        feeds[x.name] = (np.arange(n).reshape(shape) / n).astype(np.float32)
    prefix = os.path.splitext(model_path)[0]
    outs = [numpy_helper.to_array(_load_tensor(f"{prefix}_output_{i}.pb")) for i in range(len(model.graph.output))]
    return feeds, outs


def _type_na(tp: onnx.TypeProto) -> str | None:
    kind = tp.WhichOneof("value")
    if kind == "tensor_type":
        return "string" if tp.tensor_type.elem_type == TensorProto.STRING else None
    if kind == "sparse_tensor_type":
        return "sparse tensor"
    if kind in ("sequence_type", "optional_type", "map_type"):
        return {"sequence_type": "sequence", "optional_type": "optional", "map_type": "map"}[kind]
    return None


def _domain_na(domain: str) -> str | None:
    if domain.startswith("ai.onnx.ml"):
        return "ai.onnx.ml"
    if domain.startswith("ai.onnx.preview.training"):
        return "training"
    if domain.startswith("ai.onnx.preview"):
        return "preview domain"
    return None


def _graph_na(g: onnx.GraphProto) -> str | None:
    for v in list(g.input) + list(g.output) + list(g.value_info):
        r = _type_na(v.type)
        if r:
            return r
    for t in g.initializer:
        if t.data_type == TensorProto.STRING:
            return "string"
    if g.sparse_initializer:
        return "sparse tensor"
    for n in g.node:
        r = NA_OPS.get(n.op_type) if n.domain in ("", "ai.onnx") else _domain_na(n.domain)
        if r:
            return r
        for a in n.attribute:
            if a.type == onnx.AttributeProto.TENSOR and a.t.data_type == TensorProto.STRING:
                return "string"
            if a.name == "to" and a.type == onnx.AttributeProto.INT and a.i == TensorProto.STRING:
                return "string"
            if n.op_type == "Constant" and a.name in ("value_string", "value_strings"):
                return "string"
            if a.type == onnx.AttributeProto.TYPE_PROTO or a.type == onnx.AttributeProto.TYPE_PROTOS:
                for tp in [a.tp] if a.type == onnx.AttributeProto.TYPE_PROTO else a.tps:
                    r = _type_na(tp)
                    if r:
                        return r
            subs = [a.g] if a.type == onnx.AttributeProto.GRAPH else list(a.graphs)
            for s in subs:
                r = _graph_na(s)
                if r:
                    return r
    return None


def not_applicable(model: onnx.ModelProto) -> str | None:
    """Why Anvil's backend run does not apply to the model, or None."""
    for op in model.opset_import:
        r = _domain_na(op.domain)
        if r:
            return r
    r = _graph_na(model.graph)
    if r:
        return r
    for f in model.functions:
        r = _domain_na(f.domain)
        if r:
            return r
        g = onnx.GraphProto()
        g.node.extend(f.node)
        r = _graph_na(g)
        if r:
            return r
    return None


def _data_na(data_sets) -> str | None:
    for ins, outs in data_sets:
        for v in list(ins) + list(outs):
            if v is None:
                return "optional"
            if isinstance(v, (list, tuple, dict)):
                return "sequence"
            if isinstance(v, np.ndarray) and v.dtype == object:
                return "string"
    return None


def max_ort_opset() -> int:
    """The newest ai.onnx opset the pinned ORT runs (1.29: 26), as tests/anvil_testing.py says."""
    return int(os.environ.get("ANVIL_MAX_OPSET", "26"))


def _ops(g):
    for n in g.node:
        yield n
        for a in n.attribute:
            for sub in [a.g] if a.type == onnx.AttributeProto.GRAPH else list(a.graphs):
                yield from _ops(sub)


def restamp(model: onnx.ModelProto, opset: int) -> bool:
    """onnx stamps every generated case with its newest opset (1.23.2: 28, IR 14), which ORT 1.29
    refuses. When every node resolves to the same schema revision at `opset`, the case is the same
    test at `opset`: restamp it there (and to that opset's IR version). True if restamped."""
    from onnx import defs, helper
    mine = [o for o in model.opset_import if o.domain in ("", "ai.onnx")]
    if len(mine) != 1 or mine[0].version <= opset or model.functions:
        return False
    newer = mine[0].version
    for n in _ops(model.graph):
        if n.domain not in ("", "ai.onnx"):
            return False
        try:
            if defs.get_schema(n.op_type, newer, "").since_version > opset:
                return False
        except Exception:
            return False
    ir = max(r[1] for r in helper.VERSION_TABLE if r[2] <= opset)
    mine[0].version = opset
    model.ir_version = min(model.ir_version, ir)
    return True


def node_cases() -> list[Case]:
    """The node cases the onnx wheel generates (onnx.backend.test.case.node.collect_testcases),
    those stamped with an opset newer than ORT's restamped where that changes no schema revision."""
    out = []
    for name, rtol, atol, model, data_sets in _generated_node_cases():
        c = Case(f"node/{name}", rtol=rtol, atol=atol, model=model, data_sets=data_sets)
        c.na = not_applicable(model) or _data_na(data_sets)
        if not c.na:
            restamp(model, max_ort_opset())
        out.append(c)
    return out


def _generated_node_cases():
    """[(name, rtol, atol, model, data sets)] as collect_testcases() makes them, which takes 10 s
    or more: kept in the cache, one file per onnx and numpy version."""
    import pickle
    path = cache_dir() / "backend-data" / f"node-cases-onnx-{onnx.__version__}-numpy-{np.__version__}.pkl"
    try:
        with open(path, "rb") as f:
            return pickle.load(f)
    except Exception:
        pass
    from onnx.backend.test.case.node import collect_testcases
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            generated = [(tc.name, tc.rtol, tc.atol, tc.model, tc.data_sets) for tc in collect_testcases()]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.part")
        with open(tmp, "wb") as f:
            pickle.dump(generated, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        pass
    return generated


def _folder_case(case_id, case_dir, rtol=DEFAULT_RTOL, atol=DEFAULT_ATOL) -> Case:
    c = Case(case_id, rtol=rtol, atol=atol, case_dir=case_dir)
    model = onnx.load(os.path.join(case_dir, "model.onnx"), load_external_data=False)
    c.na = not_applicable(model)
    if not c.na and not glob.glob(os.path.join(case_dir, "test_data_set*")):
        c.na = "no data set"
    return c


def _case_folders(kind_dir):
    if not os.path.isdir(kind_dir):
        return []
    return sorted(d for d in os.listdir(kind_dir) if os.path.isfile(os.path.join(kind_dir, d, "model.onnx")))


def _tree_digest(folder):
    h = hashlib.sha256()
    for p in sorted(glob.glob(os.path.join(folder, "**", "*"), recursive=True)):
        if os.path.isfile(p):
            h.update(os.path.relpath(p, folder).encode())
            with open(p, "rb") as f:
                h.update(f.read())
    return h.hexdigest()


def wheel_folder_cases() -> list[Case]:
    out = []
    for kind in WHEEL_KINDS:
        for name in _case_folders(WHEEL_DATA / kind):
            out.append(_folder_case(f"{kind}/{name}", str(WHEEL_DATA / kind / name)))
    for path in sorted(glob.glob(str(WHEEL_DATA / "light" / "*.onnx"))):
        name = os.path.splitext(os.path.basename(path))[0]
        c = Case(f"light/{name}", light_model=path, heavy=True)
        c.na = not_applicable(onnx.load(path))
        out.append(c)
    return out


def debian_version() -> str:
    text = (ROOT / "scripts" / "versions.sh").read_text()
    return re.search(r"^ANVIL_ONNX_TESTDATA_DEBIAN_VERSION=(\S+)", text, re.M).group(1)


def cache_dir() -> pathlib.Path:
    return pathlib.Path(os.environ.get("ANVIL_CACHE") or pathlib.Path.home() / ".cache" / "anvil")


def debian_data_dir() -> pathlib.Path:
    """$ANVIL_BACKEND_DATA, else where scripts/fetch_backend_data.sh unpacks libonnx-testdata."""
    env = os.environ.get("ANVIL_BACKEND_DATA")
    if env:
        return pathlib.Path(env)
    return cache_dir() / "backend-data" / f"libonnx-testdata-{debian_version()}" / "usr" / "share" / "libonnx-testdata"


def debian_cases() -> list[Case]:
    data = debian_data_dir() / "data"
    if not (data / "node").is_dir():
        raise RuntimeError(f"Debian's libonnx-testdata is not at {data}: run scripts/fetch_backend_data.sh")
    prefix = "debian-" + ".".join(debian_version().split(".")[:2])
    out = []
    for kind in DEBIAN_KINDS:
        for name in _case_folders(data / kind):
            folder = str(data / kind / name)
            wheel_twin = WHEEL_DATA / kind / name
            if kind != "node" and wheel_twin.is_dir() and _tree_digest(wheel_twin) == _tree_digest(folder):
                continue  # the same case as the wheel's
            out.append(_folder_case(f"{prefix}/{kind}/{name}", folder))
    return out


def all_cases() -> list[Case]:
    return node_cases() + wheel_folder_cases() + debian_cases()
