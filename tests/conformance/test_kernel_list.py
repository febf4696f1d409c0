"""Checks THE list (src/kernels/kernels.inc) against the ONNX schemas: every op Anvil claims is
registered for each schema revision from the one in force at opset 7 to the newest, one row per
revision, with no gap or overlap, and type constraints named as the schema names them."""
import collections
import re

import pytest
from onnx import defs

from anvil_testing import ROOT

ROW = re.compile(r'^ANVIL_KERNEL\("([^"]*)", "(\w+)", (\d+), (\w+), (\w+)(?:, (.*))?\)\s*$')
TC = re.compile(r'TC\("(\w+)", [^)]*\)')


def rows():
    out = collections.defaultdict(list)
    for line in (ROOT / "src/kernels/kernels.inc").read_text().splitlines():
        m = ROW.match(line)
        if m:
            domain, op, since, until, cls, tcs = m.groups()
            until = 2**31 - 1 if until == "kLatest" else int(until)
            out[(domain, op)].append((int(since), until, cls, TC.findall(tcs or "")))
    return out


ROWS = rows()

# ORT's internal NHWC domain (layout=nhwc) mirrors the ONNX schemas of its ops.
NHWC = "com.ms.internal.nhwc"


def schema_domain(domain):
    return "" if domain == NHWC else domain


def revisions(op, domain=""):
    revs = set()
    for v in range(7, defs.onnx_opset_version() + 1):
        try:
            revs.add(defs.get_schema(op, v, domain).since_version)
        except Exception:
            pass
    return sorted(revs)


def test_the_list_is_not_empty():
    assert len(ROWS) >= 30, "kernels.inc lost its rows?"
    assert all(ROW.match(l) for l in (ROOT / "src/kernels/kernels.inc").read_text().splitlines()
               if l.startswith("ANVIL_KERNEL"))


@pytest.mark.parametrize("key", sorted(ROWS), ids=lambda k: k[1])
def test_every_schema_revision_is_registered_once(key):
    domain, op = key
    entries = sorted(ROWS[key])
    revs = revisions(op, schema_domain(domain))
    if domain == NHWC and op == "Resize":
        revs = [r for r in revs if r >= 11]  # ORT's internal NHWC schemas of Resize start at 11
    assert [e[0] for e in entries] == revs, f"{op}: rows start at {[e[0] for e in entries]}, schema revisions {revs}"
    for (since, until, _, _), nxt in zip(entries, entries[1:] + [None]):
        if nxt is None:
            assert until == 2**31 - 1, f"{op} {since}: the newest revision must run to kLatest"
        else:
            assert until == nxt[0] - 1, f"{op}: row {since}-{until} does not end right before {nxt[0]}"


@pytest.mark.parametrize("key", sorted(ROWS), ids=lambda k: k[1])
def test_type_constraint_names_match_the_schema(key):
    domain, op = key
    for since, _, _, names in ROWS[key]:
        schema = defs.get_schema(op, since, schema_domain(domain))
        params = {tc.type_param_str for tc in schema.type_constraints}
        assert names or not params, f"{op} {since}: no type constraint"  # (NonMaxSuppression has none)
        assert set(names) <= params, f"{op} {since}: {names} not among the schema's {sorted(params)}"


def test_nhwc_ops_are_the_ones_ep_converts():
    # kernels.inc's NHWC rows and the EP's ShouldConvertDataLayoutForOp list must agree: ORT fails
    # the session when it converts a node that no kernel then claims.
    listed = {op for (domain, op) in ROWS if domain == NHWC}
    src = (ROOT / "src/ep/ep.cc").read_text()
    block = re.search(r"NhwcOps\(\) \{\s*static const std::set<std::string> ops = \{([^}]*)\}", src)
    assert block, "NhwcOps() not found in src/ep/ep.cc"
    converted = set(re.findall(r'"(\w+)"', block.group(1)))
    # Resize is converted too unless the session's graphs have one channels-last would get wrong
    # (resize_nhwc_ in ShouldConvertDataLayoutForOpImpl).
    should = re.search(r"ShouldConvertDataLayoutForOpImpl\(OrtEp\* self.*?\n\}", src, re.S)
    assert should, "ShouldConvertDataLayoutForOpImpl not found in src/ep/ep.cc"
    if '"Resize"' in should.group(0) and "resize_nhwc_" in should.group(0):
        converted.add("Resize")
    assert listed == converted, f"kernels.inc NHWC rows {sorted(listed)} vs ep.cc NhwcOps {sorted(converted)}"
    for op in listed:
        assert ("", op) in ROWS, f"{op} has an NHWC kernel but no NCHW one"


def test_one_kernel_class_per_op():
    for (domain, op), entries in ROWS.items():
        assert len({e[2] for e in entries}) == 1, f"{op} is served by several classes"
