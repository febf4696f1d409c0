// Resize: modes nearest and linear on float tensors. Separable: each resized axis gets a table of
// source indices (and weights); when only the last two dims change, one 2-D pass does the work
// (with a row-replicating path for integer-factor nearest upsampling, e.g. PaddleOCR's 2x).
#include <cmath>

#include "kernels/shape/common.h"
#include "kernels/shape/shape.h"

namespace anvil {

using shape::ResizeCoord;
using shape::ResizeNearest;

namespace {

struct AxisTable {
  int64_t in = 0, out = 0;
  int64_t* i0 = nullptr;
  int64_t* i1 = nullptr;
  float* w = nullptr;
  bool identity = true;
};

// Scales/sizes checks that need only the values (Create for constants, Compute always).
Status ReadScales(const TensorView& t, std::vector<float>& out) {
  ANVIL_CHECK(t.type == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, "scales must be float, got ", ElemTypeName(t.type));
  ANVIL_CHECK(t.shape.size() == 1, "scales must be 1-D, got shape ", ToString(t.shape));
  out.assign(t.as<float>(), t.as<float>() + t.size());
  for (float s : out) ANVIL_CHECK(s > 0.f && std::isfinite(s), "scale ", s, " must be positive and finite");
  return {};
}

Status ReadSizes(const TensorView& t, std::vector<int64_t>& out) {
  ANVIL_CHECK(t.type == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64, "sizes must be int64, got ", ElemTypeName(t.type));
  ANVIL_RETURN_IF_ERROR(shape_detail::ReadInts(t, "sizes", out));
  for (int64_t s : out) ANVIL_CHECK(s >= 0, "size ", s, " must not be negative");
  return {};
}

}  // namespace

Status ResizeRunsChannelsLast(const NodeInfo& node) {
  ANVIL_CHECK(node.OpType() == "Resize" && node.SinceVersion() >= 11, "only Resize-11 and later run channels-last");
  ANVIL_CHECK(!node.Ints("axes").has_value(), "the axes attribute names channels-first axes");
  ANVIL_CHECK(node.String("coordinate_transformation_mode", "half_pixel") != "tf_crop_and_resize",
              "tf_crop_and_resize's roi stays channels-first");
  for (size_t i : {size_t{2}, size_t{3}})
    ANVIL_CHECK(!node.InputPresent(i) || node.ConstantInput(i).has_value(),
                i == 2 ? "scales" : "sizes", " is not a constant (ORT permutes only constants to channels-last)");
  return {};
}

Status NhwcResizeKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_RETURN_IF_ERROR(ResizeRunsChannelsLast(node));
  return ResizeKernel::Create(node, out);
}

Status ResizeKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  const int since = node.SinceVersion();
  ANVIL_CHECK(node.InputType(0) == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, "only float input is supported, got ",
              ElemTypeName(node.InputType(0)));
  auto k = std::make_unique<ResizeKernel>();
  k->opset_ = since;
  k->upsample_ = node.OpType() == "Upsample";
  const std::string mode = node.String("mode", "nearest");
  if (mode == "nearest") {
    k->mode_ = Mode::kNearest;
  } else if (mode == "linear" || (k->upsample_ && mode == "bilinear")) {
    k->mode_ = Mode::kLinear;
  } else if (mode == "cubic" && !k->upsample_ && since >= 11) {
    k->mode_ = Mode::kCubic;
  } else {
    return Fail("mode '", mode, "' is not supported");
  }
  if (k->upsample_ && since < 9) {
    // Upsample-7: scales attribute, each >= 1.
    auto sc = node.Floats("scales");
    ANVIL_CHECK(sc.has_value() && !sc->empty(), "Upsample-7 needs the scales attribute");
    for (float v : *sc) ANVIL_CHECK(v >= 1.f && std::isfinite(v), "Upsample scale ", v, " must be >= 1 and finite");
    if (auto s = node.InputShape(0))
      ANVIL_CHECK(s->size() == sc->size(), "scales has ", sc->size(), " values for input rank ", s->size());
    k->attr_scales_ = *sc;
    k->coord_ = ResizeCoord::kAsymmetric;
    k->nearest_ = ResizeNearest::kLegacy10;
  } else if (since < 11) {
    // Resize-10 and Upsample-9: asymmetric coordinates, nearest rounds like Upsample.
    k->coord_ = ResizeCoord::kAsymmetric;
    k->nearest_ = ResizeNearest::kLegacy10;
    ANVIL_CHECK(node.InputPresent(1), node.OpType(), "-", since, " needs the scales input");
    if (auto c = node.ConstantInput(1)) {
      std::vector<float> scales;
      ANVIL_RETURN_IF_ERROR(ReadScales(*c, scales));
      if (k->upsample_)
        for (float v : scales) ANVIL_CHECK(v >= 1.f, "Upsample scale ", v, " must be >= 1");
    }
  } else {
    const std::string ctm = node.String("coordinate_transformation_mode", "half_pixel");
    if (ctm == "half_pixel") k->coord_ = ResizeCoord::kHalfPixel;
    else if (ctm == "half_pixel_symmetric") k->coord_ = ResizeCoord::kHalfPixelSymmetric;
    else if (ctm == "asymmetric") k->coord_ = ResizeCoord::kAsymmetric;
    else if (ctm == "align_corners") k->coord_ = ResizeCoord::kAlignCorners;
    else if (ctm == "pytorch_half_pixel") k->coord_ = ResizeCoord::kPytorchHalfPixel;
    else if (ctm == "tf_half_pixel_for_nn") k->coord_ = ResizeCoord::kTfHalfPixelForNN;
    else if (ctm == "tf_crop_and_resize") k->coord_ = ResizeCoord::kTfCropAndResize;
    else return Fail("coordinate_transformation_mode '", ctm, "' is not implemented");
    if (k->coord_ == ResizeCoord::kTfCropAndResize) {
      ANVIL_CHECK(node.InputPresent(1), "tf_crop_and_resize needs the roi input");
      ANVIL_CHECK(node.InputType(1) == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, "roi must be float, got ",
                  ElemTypeName(node.InputType(1)));
    }
    k->cubic_a_ = node.Float("cubic_coeff_a", -0.75f);
    k->exclude_outside_ = node.Int("exclude_outside", 0) != 0;
    k->extrapolation_ = node.Float("extrapolation_value", 0.f);
    const std::string nm = node.String("nearest_mode", "round_prefer_floor");
    if (nm == "round_prefer_floor") k->nearest_ = ResizeNearest::kRoundPreferFloor;
    else if (nm == "round_prefer_ceil") k->nearest_ = ResizeNearest::kRoundPreferCeil;
    else if (nm == "floor") k->nearest_ = ResizeNearest::kFloor;
    else if (nm == "ceil") k->nearest_ = ResizeNearest::kCeil;
    else return Fail("nearest_mode '", nm, "' is not implemented");
    k->antialias_ = node.Int("antialias", 0) != 0;
    ANVIL_CHECK(!k->antialias_ || k->mode_ != Mode::kNearest, "antialias needs mode linear or cubic (as in ORT)");
    const std::string policy = node.String("keep_aspect_ratio_policy", "stretch");
    if (policy == "not_larger") k->policy_ = Policy::kNotLarger;
    else if (policy == "not_smaller") k->policy_ = Policy::kNotSmaller;
    else ANVIL_CHECK(policy == "stretch", "keep_aspect_ratio_policy '", policy, "' is not implemented");
    const bool has_scales = node.InputPresent(2), has_sizes = node.InputPresent(3);
    ANVIL_CHECK(has_scales || has_sizes, "Resize needs scales or sizes");
    ANVIL_CHECK(since >= 13 || has_scales, "Resize-", since, " needs the scales input");
    if (has_scales && node.InputType(2) != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT)
      return Fail("scales must be float, got ", ElemTypeName(node.InputType(2)));
    if (has_sizes && node.InputType(3) != ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64)
      return Fail("sizes must be int64, got ", ElemTypeName(node.InputType(3)));
    if (auto axes = node.Ints("axes")) {
      k->axes_ = *axes;
      const auto s = node.InputShape(0);
      ANVIL_CHECK(s.has_value(), "the axes attribute needs a known input rank");
      const int64_t rank = static_cast<int64_t>(s->size());
      std::vector<bool> seen(static_cast<size_t>(rank), false);
      for (int64_t& a : k->axes_) {
        int64_t axis = 0;
        ANVIL_CHECK(NormalizeAxis(a, rank, axis), "axis ", a, " is out of range for rank ", rank);
        ANVIL_CHECK(!seen[axis], "axis ", a, " is repeated");
        seen[axis] = true;
        a = axis;
      }
    }
    if (has_scales) {
      if (auto c = node.ConstantInput(2)) {
        ANVIL_CHECK(c->size() > 0 || has_sizes, "scales is empty and sizes is missing");
        if (c->size() > 0) {
          std::vector<float> scales;
          ANVIL_RETURN_IF_ERROR(ReadScales(*c, scales));
        }
      }
    }
  }
  if (out) *out = std::move(k);
  return {};
}

Status ResizeKernel::Compute(ComputeContext& ctx) const {
  const TensorView x = ctx.Input(0);
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  ANVIL_CHECK(rank >= 1, "Resize input must have rank >= 1, got ", ToString(x.shape));

  // Scales or sizes, over `axes` (all dims when the attribute is absent).
  std::vector<float> scales;
  std::vector<int64_t> sizes;
  std::vector<double> roi;
  if (upsample_ && opset_ < 9) {
    scales = attr_scales_;
    ANVIL_CHECK(static_cast<int64_t>(scales.size()) == rank, "scales has ", scales.size(), " values for input ",
                ToString(x.shape));
  } else if (opset_ < 11) {
    ANVIL_RETURN_IF_ERROR(ReadScales(ctx.Input(1), scales));
    if (upsample_)
      for (float v : scales) ANVIL_CHECK(v >= 1.f, "Upsample scale ", v, " must be >= 1");
  } else {
    if (coord_ == ResizeCoord::kTfCropAndResize) {
      const TensorView r = ctx.Input(1);
      ANVIL_CHECK(r.shape.size() == 1, "roi must be 1-D, got ", ToString(r.shape));
      for (int64_t i = 0; i < r.size(); ++i) roi.push_back(r.as<float>()[i]);
    }
    if (ctx.HasInput(2) && ctx.Input(2).size() > 0) ANVIL_RETURN_IF_ERROR(ReadScales(ctx.Input(2), scales));
    if (ctx.HasInput(3) && ctx.Input(3).size() > 0) ANVIL_RETURN_IF_ERROR(ReadSizes(ctx.Input(3), sizes));
  }
  ANVIL_CHECK(scales.empty() != sizes.empty(), scales.empty() ? "neither scales nor sizes is given"
                                                              : "only one of scales and sizes may be given");
  const size_t n = scales.empty() ? sizes.size() : scales.size();
  std::vector<int64_t> axes = axes_;
  if (axes.empty()) {
    for (int64_t a = 0; a < rank; ++a) axes.push_back(a);
  }
  for (int64_t a : axes) ANVIL_CHECK(a < rank, "axis ", a, " is out of range for input ", ToString(x.shape));
  ANVIL_CHECK(n == axes.size(), scales.empty() ? "sizes" : "scales", " has ", n, " values but ", axes.size(),
              " axes are resized (input ", ToString(x.shape), ")");

  if (coord_ == ResizeCoord::kTfCropAndResize) {
    ANVIL_CHECK(roi.size() == 2 * n, "roi has ", roi.size(), " values; tf_crop_and_resize needs ", 2 * n);
  }
  Shape out_shape = x.shape;
  std::vector<shape::ResizeScale> scale(static_cast<size_t>(rank));
  // keep_aspect_ratio_policy (sizes only): one scale for every named axis.
  double policy_scale = 0.0;
  const bool keep_ratio = policy_ != Policy::kStretch && !sizes.empty();
  if (keep_ratio) {
    bool first = true;
    for (size_t i = 0; i < n; ++i) {
      const int64_t in = x.shape[axes[i]];
      ANVIL_CHECK(in > 0, "keep_aspect_ratio_policy cannot resize the empty axis ", axes[i]);
      const double r = static_cast<double>(static_cast<float>(sizes[i]) / static_cast<float>(in));
      if (first || (policy_ == Policy::kNotLarger ? r < policy_scale : r > policy_scale)) policy_scale = r;
      first = false;
    }
  }
  for (size_t i = 0; i < n; ++i) {
    const int64_t a = axes[i];
    const int64_t in = x.shape[a];
    if (keep_ratio) {
      const double o = std::round(policy_scale * static_cast<double>(in));
      ANVIL_CHECK(o < 9.0e15, "output size ", o, " is too large");
      out_shape[a] = static_cast<int64_t>(o);
      scale[a].value = static_cast<float>(policy_scale);
    } else if (!scales.empty()) {
      scale[a].value = scales[i];
      out_shape[a] = static_cast<int64_t>(std::floor(static_cast<float>(in) * scales[i]));
    } else {
      out_shape[a] = sizes[i];
      scale[a].value = in > 0 ? static_cast<double>(sizes[i]) / static_cast<double>(in) : 1.0;
      scale[a].from_sizes = true;
    }
    ANVIL_CHECK(in > 0 || out_shape[a] == 0, "cannot resize the empty axis ", a, " of input ", ToString(x.shape),
                " to size ", out_shape[a]);
  }
  if (mode_ == Mode::kCubic || coord_ == ResizeCoord::kTfCropAndResize || antialias_) {
    // roi per dim (axes not named keep [0, 1]).
    std::vector<double> full(static_cast<size_t>(2 * rank), 0.0);
    for (int64_t a = 0; a < rank; ++a) full[rank + a] = 1.0;
    if (!roi.empty())
      for (size_t i = 0; i < n; ++i) full[axes[i]] = roi[i], full[rank + axes[i]] = roi[n + i];
    return ComputeGeneral(ctx, x, out_shape, scale, full);
  }
  float* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, out_shape, &y));
  const int64_t total = NumElements(out_shape);
  if (total == 0) return {};

  // Per-axis tables; an axis whose table maps j -> j is left alone.
  std::vector<AxisTable> tables(static_cast<size_t>(rank));
  int64_t table_len = 0;
  for (int64_t a = 0; a < rank; ++a) table_len += out_shape[a];
  int64_t* ints = ctx.Scratch<int64_t>(static_cast<size_t>(2 * table_len));
  float* weights = ctx.Scratch<float>(static_cast<size_t>(table_len));
  bool outer_resized = false;
  int resized = 0;
  for (int64_t a = 0; a < rank; ++a) {
    AxisTable& t = tables[a];
    t.in = x.shape[a];
    t.out = out_shape[a];
    t.i0 = ints;
    t.i1 = ints + t.out;
    t.w = weights;
    ints += 2 * t.out;
    weights += t.out;
    // An axis kept at scale 1 is left alone (as ONNX Runtime and the ONNX reference do), even where
    // a rounding mode would shift it (tf_half_pixel_for_nn with ceil).
    if (t.in == t.out && scale[a].value == 1.0) {
      for (int64_t j = 0; j < t.out; ++j) t.i0[j] = t.i1[j] = j, t.w[j] = 0.f;
      continue;
    }
    if (mode_ == Mode::kNearest) {
      shape::NearestTable(coord_, nearest_, scale[a], t.in, t.out, t.i0);
    } else {
      shape::LinearTable(coord_, scale[a], t.in, t.out, t.i0, t.i1, t.w);
    }
    t.identity = t.in == t.out;
    for (int64_t j = 0; j < t.out && t.identity; ++j)
      t.identity = t.i0[j] == j && (mode_ == Mode::kNearest || t.w[j] == 0.f);
    if (!t.identity) {
      ++resized;
      if (a < rank - 2) outer_resized = true;
    }
  }
  const float* src = x.as<float>();
  if (resized == 0) {
    shape::ParallelCopy(y, src, static_cast<size_t>(total) * sizeof(float));
    return {};
  }

  if (!outer_resized) {
    // Only the last two dims (or the last one) change: one 2-D pass over every plane.
    const AxisTable& tw = tables[rank - 1];
    int64_t zero = 0;
    float zero_w = 0.f;
    const bool has_h = rank >= 2;
    const int64_t in_h = has_h ? tables[rank - 2].in : 1, out_h = has_h ? tables[rank - 2].out : 1;
    const int64_t* h0 = has_h ? tables[rank - 2].i0 : &zero;
    const int64_t* h1 = has_h ? tables[rank - 2].i1 : &zero;
    const float* hw = has_h ? tables[rank - 2].w : &zero_w;
    int64_t planes = 1;
    for (int64_t a = 0; a < rank - 2; ++a) planes *= x.shape[a];
    if (mode_ == Mode::kNearest) {
      shape::ResizeNearest2D(src, y, planes, in_h, tw.in, out_h, tw.out, h0, tw.i0);
    } else {
      shape::ResizeLinear2D(src, y, planes, in_h, tw.in, out_h, tw.out, h0, h1, hw, tw.i0, tw.i1, tw.w);
    }
    return {};
  }

  if (rank == 4 && tables[0].identity && tables[3].identity) {
    // Only the middle two dims change: channels-last planes (an NHWC Resize), whole pixels at a time.
    const AxisTable &th = tables[1], &tw = tables[2];
    if (mode_ == Mode::kNearest) {
      shape::ResizeNearestChannelsLast(src, y, x.shape[0], th.in, tw.in, th.out, tw.out, x.shape[3], th.i0, tw.i0);
    } else {
      shape::ResizeLinearChannelsLast(src, y, x.shape[0], th.in, tw.in, th.out, tw.out, x.shape[3], th.i0, th.i1, th.w,
                                      tw.i0, tw.i1, tw.w);
    }
    return {};
  }

  // General case: one separable pass per resized axis, ping-ponging through scratch buffers.
  Shape cur = x.shape;
  const float* in = src;
  int done = 0;
  for (int64_t a = 0; a < rank; ++a) {
    const AxisTable& t = tables[a];
    if (t.identity) continue;
    ++done;
    Shape next = cur;
    next[a] = t.out;
    float* dst = done < resized ? ctx.Scratch<float>(static_cast<size_t>(NumElements(next))) : y;
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < a; ++d) outer *= cur[d];
    for (int64_t d = a + 1; d < rank; ++d) inner *= cur[d];
    if (mode_ == Mode::kNearest) {
      shape::ResizeAxisNearest(in, dst, outer, t.in, t.out, inner, t.i0);
    } else {
      shape::ResizeAxisLinear(in, dst, outer, t.in, t.out, inner, t.i0, t.i1, t.w);
    }
    in = dst;
    cur = next;
  }
  return {};
}

// Cubic and tf_crop_and_resize: one separable tap pass per resized axis.
Status ResizeKernel::ComputeGeneral(ComputeContext& ctx, const TensorView& x, const Shape& out_shape,
                                    const std::vector<shape::ResizeScale>& scale,
                                    const std::vector<double>& roi) const {
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  float* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, out_shape, &y));
  const int64_t total = NumElements(out_shape);
  if (total == 0) return {};
  shape::ResizeFilter filter = mode_ == Mode::kNearest  ? shape::ResizeFilter::kNearest
                               : mode_ == Mode::kLinear ? shape::ResizeFilter::kLinear
                                                        : shape::ResizeFilter::kCubic;
  const bool crop = coord_ == ResizeCoord::kTfCropAndResize;
  std::vector<int64_t> work;
  for (int64_t a = 0; a < rank; ++a) {
    const bool full_roi = roi[a] == 0.0 && roi[rank + a] == 1.0;
    if (x.shape[a] == out_shape[a] && scale[a].value == 1.0 && (!crop || full_roi)) continue;
    work.push_back(a);
  }
  const float* src = x.as<float>();
  if (work.empty()) {
    shape::ParallelCopy(y, src, static_cast<size_t>(total) * sizeof(float));
    return {};
  }
  Shape cur = x.shape;
  const float* in = src;
  for (size_t wi = 0; wi < work.size(); ++wi) {
    const int64_t a = work[wi];
    shape::ResizeAxisSpec spec;
    spec.filter = filter;
    spec.coord = coord_;
    spec.rounding = nearest_;
    spec.scale = scale[a];
    spec.in_len = x.shape[a];
    spec.out_len = out_shape[a];
    spec.roi_start = roi[a];
    spec.roi_end = roi[rank + a];
    spec.cubic_a = cubic_a_;
    spec.exclude_outside = exclude_outside_;
    spec.antialias = antialias_;
    const int64_t taps = shape::ResizeTapCount(spec);
    const size_t len = static_cast<size_t>(spec.out_len);
    int64_t* idx = ctx.Scratch<int64_t>(len * static_cast<size_t>(taps));
    float* w = ctx.Scratch<float>(len * static_cast<size_t>(taps));
    uint8_t* outside = ctx.Scratch<uint8_t>(len);
    shape::ResizeTapTable(spec, idx, w, outside);
    Shape next = cur;
    next[a] = spec.out_len;
    float* dst = wi + 1 < work.size() ? ctx.Scratch<float>(static_cast<size_t>(NumElements(next))) : y;
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < a; ++d) outer *= cur[d];
    for (int64_t d = a + 1; d < rank; ++d) inner *= cur[d];
    shape::ResizeAxisTaps(in, dst, outer, spec.in_len, spec.out_len, inner, taps, idx, w, outside, extrapolation_);
    in = dst;
    cur = next;
  }
  return {};
}

}  // namespace anvil
