"""Vision kernels on Anvil: GridSample, NonMaxSuppression, AffineGrid, Col2Im. Every test runs with
CPU fallback disabled (a node Anvil did not claim fails session creation) and compares with ORT's
CPU EP."""
import numpy as np
import pytest
from onnx import TensorProto

from anvil_testing import check_node, make_node_model, run_anvil, run_cpu, schema_revisions, session

RNG = np.random.default_rng(4321)


def data(shape, scale=1.0):
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def revs(op):
    return schema_revisions(op, first_opset=7)


def assert_fails(model, inputs, *needles):
    with pytest.raises(Exception) as err:
        run_anvil(model, inputs)
    for n in needles:
        assert n in str(err.value), str(err.value)


# ------------------------------------------------------------------------------------ GridSample

def grid_modes(since):
    return ["nearest", "linear", "cubic"] if since >= 20 else ["nearest", "bilinear", "bicubic"]


@pytest.mark.parametrize("since,opset", revs("GridSample"))
def test_grid_sample_2d(since, opset):
    x = data((2, 3, 5, 6))
    # Coordinates inside and well outside [-1, 1], and exact pixel centres / ties.
    grid = RNG.uniform(-1.8, 1.8, size=(2, 4, 7, 2)).astype(np.float32)
    grid[0, 0, :, 0] = np.linspace(-1, 1, 7)
    grid[0, 1, :, 1] = np.array([-1, -0.6, -0.2, 0.2, 0.6, 1, 0], np.float32)
    for mode in grid_modes(since):
        for pad in ["zeros", "border", "reflection"]:
            for align in [0, 1]:
                attrs = {"mode": mode, "padding_mode": pad, "align_corners": align}
                check_node("GridSample", [("x", x), ("grid", grid)], ["y"], opset, attrs=attrs, atol=1e-5)
    check_node("GridSample", [("x", x), ("grid", grid)], ["y"], opset)  # defaults


@pytest.mark.parametrize("since,opset", [r for r in revs("GridSample") if r[0] >= 20])
def test_grid_sample_3d(since, opset):
    x = data((2, 2, 3, 4, 5))
    grid = RNG.uniform(-1.5, 1.5, size=(2, 3, 2, 4, 3)).astype(np.float32)
    for mode in ["nearest", "linear"]:
        for pad in ["zeros", "border", "reflection"]:
            for align in [0, 1]:
                attrs = {"mode": mode, "padding_mode": pad, "align_corners": align}
                check_node("GridSample", [("x", x), ("grid", grid)], ["y"], opset, attrs=attrs, atol=1e-5)


def test_grid_sample_edges():
    # One-pixel input, zero-sized output and a zero-sized batch.
    x = data((1, 2, 1, 1))
    grid = RNG.uniform(-1.5, 1.5, size=(1, 3, 3, 2)).astype(np.float32)
    for pad in ["zeros", "border", "reflection"]:
        for mode in ["nearest", "bilinear", "bicubic"]:
            check_node("GridSample", [("x", x), ("grid", grid)], ["y"], 16,
                       attrs={"mode": mode, "padding_mode": pad}, atol=1e-5)
    x = data((2, 3, 4, 4))
    check_node("GridSample", [("x", x), ("grid", np.zeros((2, 0, 3, 2), np.float32))], ["y"], 16)
    check_node("GridSample", [("x", data((0, 3, 4, 4))), ("grid", np.zeros((0, 2, 2, 2), np.float32))], ["y"], 16)


def test_grid_sample_declined():
    # Revision 16 has no 5-D; cubic is 4-D only in 20+.
    x = data((1, 1, 2, 3, 4))
    g = np.zeros((1, 2, 2, 2, 3), np.float32)
    for opset, attrs in [(16, {}), (20, {"mode": "cubic"})]:
        model = make_node_model("GridSample", [("x", x), ("g", g)], ["y"], opset, attrs=attrs)
        with pytest.raises(Exception):
            session(model, fallback=False)


# ----------------------------------------------------------------------------- NonMaxSuppression

def nms_inputs(boxes, scores, max_out=None, iou=None, score=None):
    inputs = [("boxes", boxes), ("scores", scores)]
    opt = [("max_out", None if max_out is None else np.array([max_out], np.int64)),
           ("iou", None if iou is None else np.array([iou], np.float32)),
           ("score", None if score is None else np.array([score], np.float32))]
    while opt and opt[-1][1] is None:
        opt.pop()
    return inputs + opt


def check_nms(opset, inputs, attrs=None):
    return check_node("NonMaxSuppression", inputs, ["sel"], opset, attrs=attrs,
                      output_types=[TensorProto.INT64])


def random_boxes(b, n, center=False):
    xy = RNG.uniform(0, 10, size=(b, n, 2))
    wh = RNG.uniform(0.5, 4, size=(b, n, 2))
    if center:
        return np.concatenate([xy, wh], -1).astype(np.float32)
    return np.concatenate([xy, xy + wh], -1).astype(np.float32)


@pytest.mark.parametrize("since,opset", revs("NonMaxSuppression"))
def test_nms(since, opset):
    for center in [0, 1]:
        boxes = random_boxes(2, 30, center=bool(center))
        scores = RNG.random((2, 3, 30)).astype(np.float32)
        scores[0, 0, 5] = scores[0, 0, 6]  # a tie
        for max_out, iou, score in [(None, None, None), (0, 0.5, None), (3, 0.5, None), (100, 0.3, 0.4),
                                    (10, 0.0, None), (10, 1.0, 0.2), (-5, 0.5, None), (5, None, 0.9)]:
            check_nms(opset, nms_inputs(boxes, scores, max_out, iou, score), {"center_point_box": center})
    # Flipped corners and identical boxes.
    boxes = random_boxes(1, 8)
    boxes[0, ::2] = boxes[0, ::2][:, [2, 3, 0, 1]]
    boxes[0, 6] = boxes[0, 7]
    scores = RNG.random((1, 1, 8)).astype(np.float32)
    check_nms(opset, nms_inputs(boxes, scores, 8, 0.4))
    # No boxes at all, and one class with no boxes passing the threshold.
    check_nms(opset, nms_inputs(np.zeros((1, 0, 4), np.float32), np.zeros((1, 2, 0), np.float32), 5, 0.5))
    check_nms(opset, nms_inputs(boxes, scores, 5, 0.5, 2.0))


def test_nms_errors():
    boxes = random_boxes(1, 4)
    scores = RNG.random((1, 1, 5)).astype(np.float32)
    inputs = nms_inputs(boxes, scores, 3, 0.5)
    model = make_node_model("NonMaxSuppression", inputs, ["sel"], 11, output_types=[TensorProto.INT64])
    assert_fails(model, inputs, "does not fit")
    scores = RNG.random((1, 1, 4)).astype(np.float32)
    inputs = nms_inputs(boxes, scores, 3, 1.5)
    model = make_node_model("NonMaxSuppression", inputs, ["sel"], 11, output_types=[TensorProto.INT64])
    assert_fails(model, inputs, "iou_threshold")


# ------------------------------------------------------------------------------------ AffineGrid

@pytest.mark.parametrize("since,opset", revs("AffineGrid"))
def test_affine_grid(since, opset):
    for size in [[2, 3, 5, 7], [1, 1, 1, 4], [2, 1, 3, 4, 5], [1, 2, 1, 1, 2], [0, 3, 2, 4]]:
        nsp = len(size) - 2
        theta = data((size[0], nsp, nsp + 1))
        s = np.array(size, np.int64)
        for align in [0, 1]:
            check_node("AffineGrid", [("theta", theta), ("size", s)], ["grid"], opset,
                       attrs={"align_corners": align}, initializers={"size": s}, atol=1e-5)
        check_node("AffineGrid", [("theta", theta), ("size", s)], ["grid"], opset, atol=1e-5)  # dynamic size
    theta = data((2, 2, 3))
    for size, needle in [([3, 1, 4, 4], "does not fit"), ([2, 1, 0, 4], "must be positive")]:
        s = np.array(size, np.int64)
        model = make_node_model("AffineGrid", [("theta", theta), ("size", s)], ["grid"], opset)
        assert_fails(model, [("theta", theta), ("size", s)], needle)


# ---------------------------------------------------------------------------------------- Col2Im

@pytest.mark.parametrize("since,opset", revs("Col2Im"))
def test_col2im(since, opset):
    cases = [([5, 5], [1, 5], {}), ([5, 5], [2, 2], {}), ([6, 7], [3, 2], {"strides": [2, 1]}),
             ([5, 5], [2, 2], {"dilations": [2, 2]}), ([5, 5], [2, 3], {"pads": [1, 0, 1, 2]}),
             ([6, 5], [2, 2], {"strides": [2, 2], "dilations": [1, 2], "pads": [1, 1, 0, 1]}),
             ([3, 4, 5], [1, 2, 2], {}), ([7], [3], {"strides": [2]})]
    for image, block, attrs in cases:
        nsp = len(image)
        dil = attrs.get("dilations", [1] * nsp)
        st = attrs.get("strides", [1] * nsp)
        pads = attrs.get("pads", [0] * (2 * nsp))
        cols = 1
        for d in range(nsp):
            cols *= (image[d] + pads[d] + pads[nsp + d] - dil[d] * (block[d] - 1) - 1) // st[d] + 1
        x = data((2, 3 * int(np.prod(block)), cols))
        im, bl = np.array(image, np.int64), np.array(block, np.int64)
        check_node("Col2Im", [("x", x), ("image", im), ("block", bl)], ["y"], opset, attrs=attrs,
                   initializers={"image": im, "block": bl}, atol=1e-5)
    # Zero batch; a column count that does not fit: a clean error.
    im, bl = np.array([4, 4], np.int64), np.array([2, 2], np.int64)
    check_node("Col2Im", [("x", data((0, 8, 9))), ("image", im), ("block", bl)], ["y"], opset,
               initializers={"image": im, "block": bl})
    x = data((1, 8, 7))
    model = make_node_model("Col2Im", [("x", x), ("image", im), ("block", bl)], ["y"], opset,
                            initializers={"image": im, "block": bl})
    assert_fails(model, [("x", x), ("image", im), ("block", bl)], "columns")


# -------------------------------------------------------------------------------------- RoiAlign

@pytest.mark.parametrize("since,opset", revs("RoiAlign"))
def test_roi_align(since, opset):
    x = data((2, 3, 10, 12))
    rois = np.array([[0, 0, 9, 9], [1.5, 2.2, 7.3, 8.8], [-2, -3, 4, 5], [8, 7, 14, 13], [3, 3, 3.2, 3.1],
                     [5, 4, 2, 1]], np.float32)
    bidx = np.array([0, 1, 1, 0, 1, 0], np.int64)
    ctms = ["half_pixel", "output_half_pixel"] if since >= 16 else [None]
    for mode in ["avg", "max"]:
        for ctm in ctms:
            for oh, ow, sr, ss in [(5, 5, 2, 1.0), (3, 4, 0, 0.5), (1, 1, 0, 1.0), (2, 3, 1, 2.0)]:
                attrs = {"mode": mode, "output_height": oh, "output_width": ow, "sampling_ratio": sr,
                         "spatial_scale": ss}
                if ctm:
                    attrs["coordinate_transformation_mode"] = ctm
                inputs = [("x", x), ("rois", rois), ("b", bidx)]
                ref = None
                if opset >= 22:  # ORT's CPU EP stops at revision 16 (same semantics): compare with that
                    ref = run_cpu(make_node_model("RoiAlign", inputs, ["y"], 16, attrs=attrs), inputs)
                check_node("RoiAlign", inputs, ["y"], opset, attrs=attrs, reference=ref, atol=1e-5)
    # No rois; a batch index out of range: a clean error.
    check_node("RoiAlign", [("x", x), ("rois", np.zeros((0, 4), np.float32)), ("b", np.zeros((0,), np.int64))],
               ["y"], opset, reference=[np.zeros((0, 3, 1, 1), np.float32)])
    bad = np.array([0, 2, 0, 0, 0, 0], np.int64)
    model = make_node_model("RoiAlign", [("x", x), ("rois", rois), ("b", bad)], ["y"], opset)
    assert_fails(model, [("x", x), ("rois", rois), ("b", bad)], "batch index 2")


# ------------------------------------------------------------------------------------- MaxUnpool

def maxpool_indices(x, k, s):
    """MaxPool (no padding) of a 4-D x and its flat indices, as MaxPool's second output."""
    n, c, h, w = x.shape
    oh, ow = (h - k) // s + 1, (w - k) // s + 1
    vals = np.zeros((n, c, oh, ow), np.float32)
    idx = np.zeros((n, c, oh, ow), np.int64)
    for b in range(n):
        for ch in range(c):
            for i in range(oh):
                for j in range(ow):
                    win = x[b, ch, i * s:i * s + k, j * s:j * s + k]
                    a = np.unravel_index(np.argmax(win), win.shape)
                    vals[b, ch, i, j] = win[a]
                    idx[b, ch, i, j] = ((b * c + ch) * h + i * s + a[0]) * w + j * s + a[1]
    return vals, idx


@pytest.mark.parametrize("since,opset", revs("MaxUnpool"))
def test_max_unpool(since, opset):
    x = data((2, 3, 6, 6))
    for k, s in [(2, 2), (2, 1), (3, 3)]:  # the default output size is 6 x 6 again
        vals, idx = maxpool_indices(x, k, s)
        attrs = {"kernel_shape": [k, k], "strides": [s, s]}
        check_node("MaxUnpool", [("x", vals), ("i", idx)], ["y"], opset, attrs=attrs)
    x = data((2, 3, 7, 8))
    for k, s in [(2, 2), (3, 2)]:  # output_shape gives the size the pooling started from
        vals, idx = maxpool_indices(x, k, s)
        attrs = {"kernel_shape": [k, k], "strides": [s, s]}
        shape = np.array([2, 3, 7, 8], np.int64)
        check_node("MaxUnpool", [("x", vals), ("i", idx), ("shape", shape)], ["y"], opset, attrs=attrs)
    bad = idx.copy()
    bad[0, 0, 0, 0] = 10**6
    model = make_node_model("MaxUnpool", [("x", vals), ("i", bad)], ["y"], opset, attrs={"kernel_shape": [2, 2]})
    assert_fails(model, [("x", vals), ("i", bad)], "out of range")


# ------------------------------------------------------------------------------------ DeformConv

@pytest.mark.parametrize("since,opset", revs("DeformConv"))
def test_deform_conv(since, opset):
    for n, c, h, w, m, k, attrs in [(1, 2, 5, 6, 3, 3, {}), (2, 4, 6, 5, 4, 2, {"group": 2, "offset_group": 2}),
                                    (1, 3, 7, 7, 2, 3, {"pads": [1, 1, 1, 1], "strides": [2, 1]}),
                                    (1, 2, 6, 6, 2, 2, {"dilations": [2, 1], "pads": [0, 1, 1, 0]})]:
        og = attrs.get("offset_group", 1)
        st = attrs.get("strides", [1, 1])
        dl = attrs.get("dilations", [1, 1])
        pd = attrs.get("pads", [0, 0, 0, 0])
        oh = (h + pd[0] + pd[2] - dl[0] * (k - 1) - 1) // st[0] + 1
        ow = (w + pd[1] + pd[3] - dl[1] * (k - 1) - 1) // st[1] + 1
        x = data((n, c, h, w))
        wt = data((m, c // attrs.get("group", 1), k, k))
        off = data((n, og * 2 * k * k, oh, ow), scale=1.5)
        b = data((m,))
        mask = RNG.random((n, og * k * k, oh, ow)).astype(np.float32)
        full = {"kernel_shape": [k, k], **attrs}
        check_node("DeformConv", [("x", x), ("w", wt), ("off", off)], ["y"], opset, attrs=full, atol=1e-4, rtol=1e-4)
        check_node("DeformConv", [("x", x), ("w", wt), ("off", off), ("b", b), ("mask", mask)], ["y"], opset,
                   attrs=attrs, atol=1e-4, rtol=1e-4)
    # An offset tensor of the wrong shape: a clean error.
    x, wt = data((1, 2, 5, 5)), data((2, 2, 3, 3))
    off = data((1, 18, 2, 2))
    model = make_node_model("DeformConv", [("x", x), ("w", wt), ("off", off)], ["y"], opset)
    assert_fails(model, [("x", x), ("w", wt), ("off", off)], "offset shape")
