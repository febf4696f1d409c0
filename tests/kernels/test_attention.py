"""Anvil's attention family (src/kernels/nn/attention.cc, rms_norm.cc, rotary.cc): Attention,
RMSNormalization and RotaryEmbedding against ORT's CPU EP, with CPU fallback disabled so each node
provably ran on Anvil."""
import numpy as np
import pytest
from onnx import TensorProto

from anvil_testing import NP_TO_ONNX, check_node, make_node_model, run_anvil, run_cpu, session

NP_TO_ONNX.setdefault(np.dtype(np.float16), TensorProto.FLOAT16)

ATTENTION_OPSETS = [23, 24]  # Attention-23 and -24 (ORT's CPU EP knows no -25)


def randn(shape, dtype=np.float32, seed=0, scale=1.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)


def attention(inputs, opset, attrs=None, outputs=("y",), rtol=1e-5, atol=1e-5):
    """inputs: Q, K, V[, attn_mask, past_key, past_value, nonpad_kv_seqlen] (None: absent);
    outputs: names, "" for an absent optional output. Compares every output with ORT's CPU EP."""
    names = ["q", "k", "v", "mask", "past_k", "past_v", "nonpad"]
    ins = [(n, x) for n, x in zip(names, inputs)]
    while ins and ins[-1][1] is None:
        ins.pop()
    t = NP_TO_ONNX[np.dtype(inputs[0].dtype)]
    model = make_node_model("Attention", ins, list(outputs), opset, attrs or {}, output_types=[t] * len(outputs))
    for o in [o for o in model.graph.output if not o.name]:
        model.graph.output.remove(o)
    got, want = run_anvil(model, ins), run_cpu(model, ins)
    assert len(got) == len(want) == len([o for o in outputs if o])
    for g, w in zip(got, want):
        assert g.shape == w.shape and g.dtype == w.dtype
        np.testing.assert_allclose(g.astype(np.float64), w.astype(np.float64), rtol=rtol, atol=atol,
                                   err_msg=f"Attention-{opset} {attrs} {[None if x is None else x.shape for x in inputs]}")
    return got


def qkv4(b=2, hq=3, hkv=3, s=4, l=6, d=8, dv=5, dtype=np.float32, seed=0):
    return (randn((b, hq, s, d), dtype, seed), randn((b, hkv, l, d), dtype, seed + 1),
            randn((b, hkv, l, dv), dtype, seed + 2))


def qkv3(b=2, hq=3, hkv=3, s=4, l=6, d=8, dv=5, dtype=np.float32, seed=0):
    return (randn((b, s, hq * d), dtype, seed), randn((b, l, hkv * d), dtype, seed + 1),
            randn((b, l, hkv * dv), dtype, seed + 2))


@pytest.mark.parametrize("opset", ATTENTION_OPSETS)
def test_attention_4d_3d_gqa(opset):
    for hq, hkv in [(3, 3), (4, 2), (4, 1)]:
        attention(qkv4(hq=hq, hkv=hkv), opset)
        attention(qkv3(hq=hq, hkv=hkv), opset, {"q_num_heads": hq, "kv_num_heads": hkv})
        attention(qkv4(hq=hq, hkv=hkv, s=1, l=1, d=3, dv=7), opset)
    # 4-D with the head attributes given (they must match the shapes)
    attention(qkv4(hq=4, hkv=2), opset, {"q_num_heads": 4, "kv_num_heads": 2})


@pytest.mark.parametrize("opset", ATTENTION_OPSETS)
def test_attention_scale_softcap_causal(opset):
    q, k, v = qkv4(l=4, seed=3)
    for attrs in [{"scale": 0.3}, {"softcap": 2.0}, {"softcap": 0.5, "scale": 2.0}, {"is_causal": 1},
                  {"is_causal": 1, "softcap": 1.5}, {"softmax_precision": 1}]:
        attention((q, k, v), opset, attrs)
        attention(qkv3(l=7, seed=4), opset, dict(attrs, q_num_heads=3, kv_num_heads=3))
    # causal with q_len != kv_len (masked past the diagonal of the top-left square)
    attention(qkv4(s=5, l=3), opset, {"is_causal": 1})
    attention(qkv4(s=3, l=6), opset, {"is_causal": 1})


@pytest.mark.parametrize("opset", ATTENTION_OPSETS)
def test_attention_masks(opset):
    b, h, s, l = 2, 3, 4, 6
    q, k, v = qkv4(b, h, h, s, l)
    for shape in [(s, l), (1, s, l), (h, s, l), (1, 1, s, l), (b, 1, s, l), (1, h, s, l), (b, h, s, l)]:
        m = randn(shape, seed=7)
        attention((q, k, v, m), opset)
        attention((q, k, v, m), opset, {"is_causal": 1})
        attention((q, k, v, m), opset, {"softcap": 1.0})
        bm = np.random.default_rng(8).random(shape) > 0.3
        attention((q, k, v, bm), opset)
        attention((q, k, v, bm), opset, {"is_causal": 1, "softcap": 3.0})
    # -inf entries in a float mask (rows keep at least one finite key)
    m = randn((s, l), seed=9)
    m[:, 2:] = -np.inf
    attention((q, k, v, m), opset)
    attention((q, k, v, m), opset, {"softcap": 2.0})
    # fully masked rows (bool, -inf float, causal with a bool mask): zero probabilities, Y row 0
    bm = np.ones((s, l), bool)
    bm[1] = False
    got = attention((q, k, v, bm), opset)[0]
    assert not got[:, :, 1].any() and got[:, :, 0].all()
    attention((q, k, v, bm), opset, {"qk_matmul_output_mode": 3}, outputs=("y", "", "", "qk"))
    attention((q, k, v, bm), opset, {"qk_matmul_output_mode": 2, "softcap": 2.0}, outputs=("y", "", "", "qk"))
    m = randn((b, 1, s, l), seed=12)
    m[1, 0, 2] = -np.inf
    got = attention((q, k, v, m), opset, {"softcap": 2.0})[0]
    assert not got[1, :, 2].any() and got[0, :, 2].all()
    bm = np.ones((s, l), bool)
    bm[0, 0] = False  # with causal, query 0 sees only key 0
    got = attention((q, k, v, bm), opset, {"is_causal": 1})[0]
    assert not got[:, :, 0].any()
    # ORT decides "fully masked" on the mask: entries at the lowest finite value count as masked,
    # entries just above it do not (that row is a softmax of nearly equal scores)
    m = np.zeros((s, l), np.float32)
    m[3] = np.finfo(np.float32).min
    m[2] = -3.4e38
    got = attention((q, k, v, m), opset)[0]
    assert not got[:, :, 3].any() and got[:, :, 2].all()
    # 3-D inputs with a mask, GQA with a mask
    attention(qkv3(b, 4, 2, s, l) + (randn((4, s, l), seed=10),), opset, {"q_num_heads": 4, "kv_num_heads": 2})
    attention(qkv4(b, 4, 2, s, l) + (np.random.default_rng(11).random((b, 1, s, l)) > 0.5,), opset)


@pytest.mark.parametrize("opset", ATTENTION_OPSETS)
def test_attention_past_present(opset):
    b, hq, hkv, s, l, p, d, dv = 2, 4, 2, 3, 2, 5, 8, 6
    outs = ("y", "present_k", "present_v")
    for hk in (hkv, hq):
        q, k, v = qkv4(b, hq, hk, s, l, d, dv)
        pk, pv = randn((b, hk, p, d), seed=20), randn((b, hk, p, dv), seed=21)
        attention((q, k, v, None, pk, pv), opset, outputs=outs)
        attention((q, k, v, None, pk, pv), opset, {"is_causal": 1}, outputs=outs)
        attention((q, k, v, randn((s, p + l), seed=22), pk, pv), opset, {"is_causal": 1}, outputs=outs)
        q3, k3, v3 = qkv3(b, hq, hk, s, l, d, dv)
        attention((q3, k3, v3, None, pk, pv), opset, {"q_num_heads": hq, "kv_num_heads": hk}, outputs=outs)
        attention((q3, k3, v3, None, pk, pv), opset, {"q_num_heads": hq, "kv_num_heads": hk, "is_causal": 1},
                  outputs=outs)
    # decode: one query after a past, two new keys (ORT skips the causal mask here)
    q, k, v = qkv4(b, hq, hkv, 1, 2, d, dv)
    pk, pv = randn((b, hkv, p, d), seed=23), randn((b, hkv, p, dv), seed=24)
    attention((q, k, v, None, pk, pv), opset, {"is_causal": 1}, outputs=outs)
    # present outputs without a past, and only one of them
    attention(qkv4(), opset, outputs=outs)
    attention(qkv3(), opset, {"q_num_heads": 3, "kv_num_heads": 3}, outputs=outs)
    attention(qkv4(), opset, outputs=("y", "present_k"))
    attention(qkv4(), opset, outputs=("y", "", "present_v"))


@pytest.mark.parametrize("opset", ATTENTION_OPSETS)
def test_attention_qk_matmul_output(opset):
    b, h, s, l = 2, 3, 4, 6
    q, k, v = qkv4(b, h, h, s, l, seed=30)
    m = randn((s, l), seed=31)
    bm = np.random.default_rng(32).random((b, h, s, l)) > 0.3
    pk, pv = randn((b, h, 2, 8), seed=33), randn((b, h, 2, 5), seed=34)
    for mode in range(4):
        for extra in [{}, {"softcap": 1.5}, {"is_causal": 1}, {"is_causal": 1, "softcap": 0.7}]:
            attrs = dict(extra, qk_matmul_output_mode=mode)
            attention((q, k, v), opset, attrs, outputs=("y", "", "", "qk"))
            attention((q, k, v, m), opset, attrs, outputs=("y", "", "", "qk"))
            attention((q, k, v, bm), opset, attrs, outputs=("y", "", "", "qk"))
            attention((q, k, v, randn((s, l + 2), seed=35), pk, pv), opset, attrs,
                      outputs=("y", "present_k", "present_v", "qk"))
    attention((q, k, v, m), opset, outputs=("y", "", "", "qk"))  # default mode 0


def test_attention_nonpad_kv_seqlen():
    b, hq, hkv, s, l = 3, 4, 2, 3, 6
    q, k, v = qkv4(b, hq, hkv, s, l, seed=40)
    for lens in ([6, 3, 1], [0, 6, 2]):
        n = np.array(lens, np.int64)
        attention((q, k, v, None, None, None, n), 24)
        attention((q, k, v, randn((s, l), seed=41), None, None, n), 24, {"softcap": 2.0})
        attention((q, k, v, None, None, None, n), 24, {"qk_matmul_output_mode": 2}, outputs=("y", "", "", "qk"))
        q3, k3, v3 = qkv3(b, hq, hkv, s, l, seed=42)
        attention((q3, k3, v3, None, None, None, n), 24, {"q_num_heads": hq, "kv_num_heads": hkv})
    # with causal (top-left, as ORT's CPU EP aligns it)
    q, k, v = qkv4(b, hq, hkv, l, l, seed=43)
    attention((q, k, v, None, None, None, np.array([6, 4, 5], np.int64)), 24, {"is_causal": 1})
    # out of range: a clean error
    model = make_node_model("Attention", [("q", q), ("k", k), ("v", v), ("", None), ("", None), ("", None),
                                          ("n", np.array([7, 1, 1], np.int64))], ["y"], 24)
    with pytest.raises(Exception, match="nonpad_kv_seqlen"):
        session(model).run(None, {"q": q, "k": k, "v": v, "n": np.array([7, 1, 1], np.int64)})


@pytest.mark.parametrize("opset", ATTENTION_OPSETS)
def test_attention_float16(opset):
    h = np.float16
    b, hq, hkv, s, l = 2, 4, 2, 3, 5
    q, k, v = qkv4(b, hq, hkv, s, l, dtype=h, seed=50)
    tol = dict(rtol=2e-3, atol=2e-3)
    attention((q, k, v), opset, **tol)
    attention((q, k, v), opset, {"is_causal": 1, "softcap": 2.0}, **tol)
    attention((q, k, v, randn((s, l), h, seed=51)), opset, **tol)
    attention((q, k, v, np.random.default_rng(52).random((s, l)) > 0.4), opset, {"is_causal": 1}, **tol)
    pk, pv = randn((b, hkv, 2, 8), h, seed=53), randn((b, hkv, 2, 5), h, seed=54)
    attention((q, k, v, None, pk, pv), opset, {"is_causal": 1}, outputs=("y", "pk", "pv"), **tol)
    attention(qkv3(b, hq, hkv, s, l, dtype=h), opset, {"q_num_heads": hq, "kv_num_heads": hkv}, **tol)
    for mode in range(4):
        attention((q, k, v, randn((s, l), h, seed=55)), opset, {"qk_matmul_output_mode": mode, "softcap": 1.0},
                  outputs=("y", "", "", "qk"), **tol)


def test_attention_threads():
    """Big enough to split over the pool's threads (batch * heads tasks)."""
    b, hq, hkv, s, l, d = 2, 8, 4, 64, 96, 32
    q, k, v = qkv4(b, hq, hkv, s, l, d, d, seed=60)
    m = np.random.default_rng(61).random((b, 1, s, l)) > 0.2
    ins = [("q", q), ("k", k), ("v", v), ("m", m)]
    model = make_node_model("Attention", ins, ["y"], 23, {"is_causal": 1, "softcap": 5.0})
    want = run_cpu(model, ins)[0]
    for threads in (1, 2, 3):
        got = run_anvil(model, ins, threads=threads)[0]
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("opset", ATTENTION_OPSETS)
def test_attention_zero_sized(opset):
    """ORT's CPU EP rejects every zero size (batch, heads, sequence lengths, head sizes): Anvil
    gives a clean error too."""
    for kw in [{"b": 0}, {"hq": 0, "hkv": 0}, {"s": 0}, {"l": 0}, {"d": 0}, {"dv": 0}]:
        q, k, v = qkv4(**kw)
        model = make_node_model("Attention", [("q", q), ("k", k), ("v", v)], ["y"], opset)
        with pytest.raises(Exception, match="Attention"):
            session(model).run(None, {"q": q, "k": k, "v": v})


def test_attention_not_claimed_or_errors():
    q, k, v = qkv3()
    # 3-D inputs without the head counts: not claimed (with fallback disabled, no session)
    with pytest.raises(Exception):
        session(make_node_model("Attention", [("q", q), ("k", k), ("v", v)], ["y"], 23))
    # a double node: not claimed
    qd, kd, vd = (x.astype(np.float64) for x in qkv4())
    with pytest.raises(Exception):
        session(make_node_model("Attention", [("q", qd), ("k", kd), ("v", vd)], ["y"], 23))
    # a mask whose last dim is not the total sequence length: a clean error at run time, as ORT's
    q, k, v = qkv4()
    m = randn((4, 5))
    model = make_node_model("Attention", [("q", q), ("k", k), ("v", v), ("m", m)], ["y"], 23)
    with pytest.raises(Exception, match="attn_mask"):
        session(model).run(None, {"q": q, "k": k, "v": v, "m": m})
    with pytest.raises(Exception):
        run_cpu(model, [("q", q), ("k", k), ("v", v), ("m", m)])


# ---------------------------------------------------------------------------------------------
# RMSNormalization

def test_rms_normalization():
    for dtype in (np.float32, np.float64):
        x = randn((2, 3, 4, 5), dtype, seed=60, scale=2.0)
        for axis in range(-4, 4):
            norm = x.shape[axis % 4:]
            for eps in (None, 1e-2):
                attrs = {"axis": axis}
                if eps is not None:
                    attrs["epsilon"] = eps
                check_node("RMSNormalization", [("x", x), ("s", randn(norm, dtype, seed=61))], ["y"], 23, attrs,
                           rtol=1e-5, atol=1e-6)
        check_node("RMSNormalization", [("x", x), ("s", randn((5,), dtype, seed=62))], ["y"], 23, rtol=1e-5, atol=1e-6)
        check_node("RMSNormalization", [("x", x), ("s", randn((1, 5), dtype, seed=62))], ["y"], 23, rtol=1e-5,
                   atol=1e-6)
    # scale broadcast to X (NumPy style), also along the rows' dims, as ORT's CPU EP allows
    x = randn((2, 3, 4, 5), seed=63)
    for shape, axis in [((1,), 1), ((4, 5), 1), ((1, 4, 5), 1), ((3, 1, 5), 1), ((1, 1), 2), ((4, 1), 2),
                        ((1, 3, 1, 1), 1), ((1,), -1), ((2, 1, 1, 5), -1), ((3, 1, 1), 2), ((2, 3, 4, 5), 1)]:
        check_node("RMSNormalization", [("x", x), ("s", randn(shape, seed=64))], ["y"], 23, {"axis": axis},
                   rtol=1e-5, atol=1e-6)
    check_node("RMSNormalization", [("x", np.zeros((0, 5), np.float32)), ("s", randn((5,)))], ["y"], 23)
    # float16 (computed in float)
    xh = randn((2, 3, 4, 5), np.float16, seed=65, scale=2.0)
    for shape, axis in [((5,), -1), ((4, 5), 2), ((3, 1, 5), 1)]:
        check_node("RMSNormalization", [("x", xh), ("s", randn(shape, np.float16, seed=66))], ["y"], 23,
                   {"axis": axis}, rtol=2e-3, atol=2e-3)
    # X and scale of different types: not claimed
    with pytest.raises(Exception):
        session(make_node_model("RMSNormalization", [("x", randn((2, 3), np.float16)),
                                                     ("s", randn((3,), np.float32))], ["y"], 23))
    # a scale that does not fit: a clean error
    for xs, ss in [((2, 3), (4,)), ((2, 3), (1, 1, 3)), ((2, 3, 4), (3, 3, 4))]:
        x, s = randn(xs), randn(ss)
        model = make_node_model("RMSNormalization", [("x", x), ("s", s)], ["y"], 23)
        with pytest.raises(Exception, match="scale"):
            session(model).run(None, {"x": x, "s": s})
        with pytest.raises(Exception):  # ORT's CPU EP refuses these too
            session(model, anvil=False).run(None, {"x": x, "s": s})


# ---------------------------------------------------------------------------------------------
# RotaryEmbedding

def rotary(x, cos, sin, pos, attrs):
    ins = [("x", x), ("cos", cos), ("sin", sin)] + ([("pos", pos)] if pos is not None else [])
    return check_node("RotaryEmbedding", ins, ["y"], 23, attrs, rtol=1e-5, atol=1e-6)


def test_rotary_embedding():
    b, h, s, d = 2, 3, 5, 8
    max_pos = 11
    pos = np.random.default_rng(70).integers(0, max_pos, (b, s)).astype(np.int64)
    for interleaved in (0, 1):
        for rot in (0, 4, 8):
            r = rot or d
            cos, sin = randn((max_pos, r // 2), seed=71), randn((max_pos, r // 2), seed=72)
            attrs = {"interleaved": interleaved}
            if rot:
                attrs["rotary_embedding_dim"] = rot
            rotary(randn((b, h, s, d), seed=73), cos, sin, pos, attrs)
            rotary(randn((b, s, h * d), seed=74), cos, sin, pos, dict(attrs, num_heads=h))
            cb, sb = randn((b, s, r // 2), seed=75), randn((b, s, r // 2), seed=76)
            rotary(randn((b, h, s, d), seed=77), cb, sb, None, attrs)
            rotary(randn((b, s, h * d), seed=78), cb, sb, None, dict(attrs, num_heads=h))
    # float16 (computed in float)
    h16 = np.float16
    cos, sin = randn((max_pos, 2), h16, seed=79), randn((max_pos, 2), h16, seed=80)
    for interleaved in (0, 1):
        ins = [("x", randn((b, h, s, d), h16, seed=81)), ("cos", cos), ("sin", sin), ("pos", pos)]
        check_node("RotaryEmbedding", ins, ["y"], 23, {"interleaved": interleaved, "rotary_embedding_dim": 4},
                   rtol=2e-3, atol=2e-3)
    rotary(np.zeros((2, 3, 0, 8), np.float32), randn((4, 4)), randn((4, 4)), np.zeros((2, 0), np.int64), {})
    # 3-D without num_heads: not claimed
    with pytest.raises(Exception):
        session(make_node_model("RotaryEmbedding", [("x", randn((b, s, h * d))), ("cos", randn((4, 4))),
                                                    ("sin", randn((4, 4))), ("pos", pos)], ["y"], 23))
    # a position id past the cache: a clean error
    x, cos, sin = randn((b, h, s, d)), randn((4, 4)), randn((4, 4))
    bad = np.full((b, s), 9, np.int64)
    model = make_node_model("RotaryEmbedding", [("x", x), ("cos", cos), ("sin", sin), ("pos", bad)], ["y"], 23)
    for bad in (np.full((b, s), 9, np.int64), np.full((b, s), -1, np.int64)):
        feeds = {"x": x, "cos": cos, "sin": sin, "pos": bad}
        with pytest.raises(Exception, match="position"):
            session(model).run(None, feeds)
        with pytest.raises(Exception):  # ORT's CPU EP refuses it too
            session(model, anvil=False).run(None, feeds)
    # position_ids of one row for a batch of two: an error, as ORT's
    one = np.zeros((1, s), np.int64)
    model = make_node_model("RotaryEmbedding", [("x", x), ("cos", cos), ("sin", sin), ("pos", one)], ["y"], 23)
    with pytest.raises(Exception, match="position_ids"):
        session(model).run(None, {"x": x, "cos": cos, "sin": sin, "pos": one})
