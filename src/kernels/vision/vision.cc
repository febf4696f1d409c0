// GridSample, NonMaxSuppression, AffineGrid and Col2Im kernels: attribute parsing and shape
// checks; the loops are in compute/vision/.
#include "kernels/vision/vision.h"

#include <cmath>
#include <limits>

namespace anvil {

namespace {

constexpr ElemType kF32 = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
constexpr ElemType kI64 = ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;

Status ReadIntValues(const TensorView& t, const char* what, std::vector<int64_t>& out) {
  ANVIL_CHECK(t.type == kI64, what, " must be int64, got ", ElemTypeName(t.type));
  ANVIL_CHECK(t.shape.size() <= 1, what, " must be 1-D, got shape ", ToString(t.shape));
  out.assign(t.as<int64_t>(), t.as<int64_t>() + t.size());
  return {};
}

}  // namespace

// ------------------------------------------------------------------------------------ GridSample

Status GridSampleKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  const int since = node.SinceVersion();
  ANVIL_CHECK(node.InputType(0) == kF32, "only float input is supported, got ", ElemTypeName(node.InputType(0)));
  ANVIL_CHECK(node.InputType(1) == kF32, "only a float grid is supported, got ", ElemTypeName(node.InputType(1)));
  auto k = std::make_unique<GridSampleKernel>();
  const std::string mode = node.String("mode", since >= 20 ? "linear" : "bilinear");
  if (mode == "nearest") k->mode_ = vision::GridMode::kNearest;
  else if (mode == (since >= 20 ? "linear" : "bilinear")) k->mode_ = vision::GridMode::kLinear;
  else if (mode == (since >= 20 ? "cubic" : "bicubic")) k->mode_ = vision::GridMode::kCubic;
  else return Fail("mode '", mode, "' is not supported");
  const std::string pad = node.String("padding_mode", "zeros");
  if (pad == "zeros") k->padding_ = vision::GridPadding::kZeros;
  else if (pad == "border") k->padding_ = vision::GridPadding::kBorder;
  else if (pad == "reflection") k->padding_ = vision::GridPadding::kReflection;
  else return Fail("padding_mode '", pad, "' is not supported");
  k->align_corners_ = node.Int("align_corners", 0) != 0;
  // Revision 16: 4-D only; 20+: 4-D or 5-D (cubic 4-D only).
  if (auto s = node.InputShape(0)) {
    const size_t r = s->size();
    ANVIL_CHECK(r == 4 || (r == 5 && since >= 20), "input rank ", r, " is not supported");
    ANVIL_CHECK(!(r == 5 && k->mode_ == vision::GridMode::kCubic), "cubic mode needs a 4-D input");
  } else {
    return Fail("the input rank must be known");
  }
  if (auto g = node.InputShape(1)) {
    ANVIL_CHECK(g->size() == node.InputShape(0)->size(), "grid rank ", g->size(), " != input rank");
  }
  if (out) *out = std::move(k);
  return {};
}

Status GridSampleKernel::Compute(ComputeContext& ctx) const {
  const TensorView x = ctx.Input(0), grid = ctx.Input(1);
  const size_t rank = x.shape.size();
  const int nsp = static_cast<int>(rank) - 2;
  ANVIL_CHECK(rank == 4 || rank == 5, "input must be 4-D or 5-D, got ", ToString(x.shape));
  ANVIL_CHECK(grid.shape.size() == rank && grid.shape[0] == x.shape[0] && grid.shape[rank - 1] == nsp,
              "grid shape ", ToString(grid.shape), " does not fit input ", ToString(x.shape));
  Shape out_shape{x.shape[0], x.shape[1]};
  int64_t in_sp[3], out_sp[3];
  int64_t in_plane = 1;
  for (int d = 0; d < nsp; ++d) {
    in_sp[d] = x.shape[2 + d];
    out_sp[d] = grid.shape[1 + d];
    in_plane *= in_sp[d];
    out_shape.push_back(out_sp[d]);
  }
  float* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, out_shape, &y));
  const int64_t total = NumElements(out_shape);
  if (total == 0) return {};
  if (in_plane == 0) {
    // Nothing to sample: zeros (every read falls outside).
    for (int64_t i = 0; i < total; ++i) y[i] = 0.f;
    return {};
  }
  vision::GridSample(x.as<float>(), grid.as<float>(), y, x.shape[0], x.shape[1], in_sp, out_sp, nsp, mode_,
                     padding_, align_corners_);
  return {};
}

// ----------------------------------------------------------------------------- NonMaxSuppression

Status NonMaxSuppressionKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_CHECK(node.InputType(0) == kF32 && node.InputType(1) == kF32, "boxes and scores must be float");
  if (node.InputPresent(2)) ANVIL_CHECK(node.InputType(2) == kI64, "max_output_boxes_per_class must be int64");
  if (node.InputPresent(3)) ANVIL_CHECK(node.InputType(3) == kF32, "iou_threshold must be float");
  if (node.InputPresent(4)) ANVIL_CHECK(node.InputType(4) == kF32, "score_threshold must be float");
  auto k = std::make_unique<NonMaxSuppressionKernel>();
  const int64_t cpb = node.Int("center_point_box", 0);
  ANVIL_CHECK(cpb == 0 || cpb == 1, "center_point_box must be 0 or 1, got ", cpb);
  k->center_point_box_ = cpb == 1;
  if (out) *out = std::move(k);
  return {};
}

Status NonMaxSuppressionKernel::Compute(ComputeContext& ctx) const {
  const TensorView boxes = ctx.Input(0), scores = ctx.Input(1);
  ANVIL_CHECK(boxes.shape.size() == 3 && boxes.shape[2] == 4, "boxes must be [batch, boxes, 4], got ",
              ToString(boxes.shape));
  ANVIL_CHECK(scores.shape.size() == 3 && scores.shape[0] == boxes.shape[0] && scores.shape[2] == boxes.shape[1],
              "scores shape ", ToString(scores.shape), " does not fit boxes ", ToString(boxes.shape));
  int64_t max_out = 0;
  float iou = 0.f, score_th = 0.f;
  bool has_score = false;
  if (ctx.HasInput(2) && ctx.Input(2).size() > 0) max_out = std::max<int64_t>(ctx.Input(2).as<int64_t>()[0], 0);
  if (ctx.HasInput(3) && ctx.Input(3).size() > 0) iou = ctx.Input(3).as<float>()[0];
  if (ctx.HasInput(4) && ctx.Input(4).size() > 0) {
    has_score = true;
    score_th = ctx.Input(4).as<float>()[0];
  }
  ANVIL_CHECK(iou >= 0.f && iou <= 1.f, "iou_threshold must be in [0, 1], got ", iou);
  const int64_t batches = boxes.shape[0], classes = scores.shape[1], num = boxes.shape[1];
  std::vector<int64_t> triples;
  if (max_out > 0) {
    std::vector<int64_t> sel;
    for (int64_t b = 0; b < batches; ++b) {
      for (int64_t c = 0; c < classes; ++c) {
        sel.clear();
        vision::NmsOneClass(boxes.as<float>() + b * num * 4, scores.as<float>() + (b * classes + c) * num, num,
                            center_point_box_, max_out, iou, has_score, score_th, sel);
        for (int64_t i : sel) triples.insert(triples.end(), {b, c, i});
      }
    }
  }
  int64_t* y = nullptr;
  const int64_t count = static_cast<int64_t>(triples.size() / 3);
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, Shape{count, 3}, &y));
  for (size_t i = 0; i < triples.size(); ++i) y[i] = triples[i];
  return {};
}

// ------------------------------------------------------------------------------------ AffineGrid

Status AffineGridKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_CHECK(node.InputType(0) == kF32, "only float theta is supported, got ", ElemTypeName(node.InputType(0)));
  ANVIL_CHECK(node.InputType(1) == kI64, "size must be int64");
  auto k = std::make_unique<AffineGridKernel>();
  k->align_corners_ = node.Int("align_corners", 0) != 0;
  if (out) *out = std::move(k);
  return {};
}

Status AffineGridKernel::Compute(ComputeContext& ctx) const {
  const TensorView theta = ctx.Input(0);
  std::vector<int64_t> size;
  ANVIL_RETURN_IF_ERROR(ReadIntValues(ctx.Input(1), "size", size));
  ANVIL_CHECK(size.size() == 4 || size.size() == 5, "size must have 4 or 5 values, got ", size.size());
  const int nsp = static_cast<int>(size.size()) - 2;
  ANVIL_CHECK(theta.shape.size() == 3 && theta.shape[0] == size[0] && theta.shape[1] == nsp &&
                  theta.shape[2] == nsp + 1,
              "theta shape ", ToString(theta.shape), " does not fit size of ", size.size(), " values");
  Shape out_shape{size[0]};
  for (int d = 0; d < nsp; ++d) {
    ANVIL_CHECK(size[2 + d] > 0, "size ", size[2 + d], " must be positive (as ORT requires)");
    out_shape.push_back(size[2 + d]);
  }
  out_shape.push_back(nsp);
  float* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, out_shape, &y));
  vision::AffineGrid(theta.as<float>(), y, size[0], size.data() + 2, nsp, align_corners_);
  return {};
}

// ---------------------------------------------------------------------------------------- Col2Im

Status Col2ImKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_CHECK(node.InputType(0) == kF32, "only float input is supported, got ", ElemTypeName(node.InputType(0)));
  ANVIL_CHECK(node.InputType(1) == kI64 && node.InputType(2) == kI64, "image_shape and block_shape must be int64");
  auto k = std::make_unique<Col2ImKernel>();
  k->dilations_ = node.Ints("dilations", {});
  k->pads_ = node.Ints("pads", {});
  k->strides_ = node.Ints("strides", {});
  for (int64_t v : k->dilations_) ANVIL_CHECK(v > 0, "dilations must be positive");
  for (int64_t v : k->strides_) ANVIL_CHECK(v > 0, "strides must be positive");
  for (int64_t v : k->pads_) ANVIL_CHECK(v >= 0, "pads must not be negative");
  if (out) *out = std::move(k);
  return {};
}

Status Col2ImKernel::Compute(ComputeContext& ctx) const {
  const TensorView x = ctx.Input(0);
  std::vector<int64_t> image, block;
  ANVIL_RETURN_IF_ERROR(ReadIntValues(ctx.Input(1), "image_shape", image));
  ANVIL_RETURN_IF_ERROR(ReadIntValues(ctx.Input(2), "block_shape", block));
  const size_t nsp = image.size();
  ANVIL_CHECK(nsp >= 1 && block.size() == nsp, "image_shape and block_shape must have the same length >= 1");
  ANVIL_CHECK(x.shape.size() == 3, "input must be [N, C * prod(block), L], got ", ToString(x.shape));
  std::vector<int64_t> dil = dilations_.empty() ? std::vector<int64_t>(nsp, 1) : dilations_;
  std::vector<int64_t> str = strides_.empty() ? std::vector<int64_t>(nsp, 1) : strides_;
  std::vector<int64_t> pads = pads_.empty() ? std::vector<int64_t>(2 * nsp, 0) : pads_;
  ANVIL_CHECK(dil.size() == nsp && str.size() == nsp && pads.size() == 2 * nsp,
              "dilations, strides and pads must fit ", nsp, " spatial dims");
  int64_t blk = 1, cols = 1;
  std::vector<int64_t> per(nsp);
  for (size_t d = 0; d < nsp; ++d) {
    ANVIL_CHECK(image[d] >= 0 && block[d] > 0, "image_shape must not be negative and block_shape must be positive");
    ANVIL_CHECK(image[d] < (int64_t{1} << 40) && block[d] < (int64_t{1} << 40), "image or block too large");
    const int64_t span = image[d] + pads[d] + pads[nsp + d] - dil[d] * (block[d] - 1) - 1;
    ANVIL_CHECK(span >= 0, "the block does not fit the padded image along dim ", d);
    per[d] = span / str[d] + 1;
    blk *= block[d];
    cols *= per[d];
  }
  ANVIL_CHECK(blk > 0 && x.shape[1] % blk == 0, "input dim 1 (", x.shape[1], ") is not a multiple of the block size ",
              blk);
  ANVIL_CHECK(x.shape[2] == cols, "input has ", x.shape[2], " columns; the shapes give ", cols);
  const int64_t c = x.shape[1] / blk;
  Shape out_shape{x.shape[0], c};
  for (int64_t v : image) out_shape.push_back(v);
  float* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, out_shape, &y));
  vision::Col2Im(x.as<float>(), y, x.shape[0], c, static_cast<int>(nsp), image.data(), block.data(), dil.data(),
                 str.data(), pads.data(), per.data());
  return {};
}

// -------------------------------------------------------------------------------------- RoiAlign

Status RoiAlignKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  const int since = node.SinceVersion();
  ANVIL_CHECK(node.InputType(0) == kF32 && node.InputType(1) == kF32, "only float X and rois are supported");
  ANVIL_CHECK(node.InputType(2) == kI64, "batch_indices must be int64");
  auto k = std::make_unique<RoiAlignKernel>();
  const std::string mode = node.String("mode", "avg");
  ANVIL_CHECK(mode == "avg" || mode == "max", "mode '", mode, "' is not supported");
  k->params_.max_mode = mode == "max";
  k->params_.oh = node.Int("output_height", 1);
  k->params_.ow = node.Int("output_width", 1);
  k->params_.sampling_ratio = node.Int("sampling_ratio", 0);
  k->params_.spatial_scale = node.Float("spatial_scale", 1.f);
  ANVIL_CHECK(k->params_.oh > 0 && k->params_.ow > 0, "output_height and output_width must be positive");
  ANVIL_CHECK(k->params_.oh < (int64_t{1} << 20) && k->params_.ow < (int64_t{1} << 20), "output size too large");
  ANVIL_CHECK(k->params_.sampling_ratio >= 0 && k->params_.sampling_ratio < (1 << 16),
              "sampling_ratio must be in [0, 65536)");
  const std::string ctm = node.String("coordinate_transformation_mode", since >= 16 ? "half_pixel" : "output_half_pixel");
  ANVIL_CHECK(ctm == "half_pixel" || ctm == "output_half_pixel", "coordinate_transformation_mode '", ctm,
              "' is not supported");
  k->params_.half_pixel = ctm == "half_pixel";
  if (out) *out = std::move(k);
  return {};
}

Status RoiAlignKernel::Compute(ComputeContext& ctx) const {
  const TensorView x = ctx.Input(0), rois = ctx.Input(1), bi = ctx.Input(2);
  ANVIL_CHECK(x.shape.size() == 4, "X must be 4-D, got ", ToString(x.shape));
  ANVIL_CHECK(rois.shape.size() == 2 && rois.shape[1] == 4, "rois must be [num_rois, 4], got ", ToString(rois.shape));
  ANVIL_CHECK(bi.shape.size() == 1 && bi.shape[0] == rois.shape[0], "batch_indices shape ", ToString(bi.shape),
              " does not fit rois ", ToString(rois.shape));
  const int64_t* b = bi.as<int64_t>();
  for (int64_t i = 0; i < bi.size(); ++i)
    ANVIL_CHECK(b[i] >= 0 && b[i] < x.shape[0], "batch index ", b[i], " is out of range for X ", ToString(x.shape));
  float* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, Shape{rois.shape[0], x.shape[1], params_.oh, params_.ow}, &y));
  if (rois.shape[0] == 0 || x.shape[1] == 0) return {};
  ANVIL_CHECK(x.shape[2] > 0 && x.shape[3] > 0, "X ", ToString(x.shape), " has an empty image");
  vision::RoiAlign(x.as<float>(), rois.as<float>(), b, y, rois.shape[0], x.shape[1], x.shape[2], x.shape[3], params_);
  return {};
}

// ------------------------------------------------------------------------------------- MaxUnpool

Status MaxUnpoolKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_CHECK(node.InputType(0) == kF32, "only float X is supported, got ", ElemTypeName(node.InputType(0)));
  ANVIL_CHECK(node.InputType(1) == kI64, "I must be int64");
  if (node.InputPresent(2)) ANVIL_CHECK(node.InputType(2) == kI64, "output_shape must be int64");
  auto k = std::make_unique<MaxUnpoolKernel>();
  k->kernel_ = node.Ints("kernel_shape", {});
  ANVIL_CHECK(!k->kernel_.empty(), "kernel_shape is required");
  const size_t nsp = k->kernel_.size();
  k->pads_ = node.Ints("pads", std::vector<int64_t>(2 * nsp, 0));
  k->strides_ = node.Ints("strides", std::vector<int64_t>(nsp, 1));
  ANVIL_CHECK(k->pads_.size() == 2 * nsp && k->strides_.size() == nsp, "pads and strides must fit kernel_shape");
  for (int64_t v : k->kernel_) ANVIL_CHECK(v > 0 && v < (int64_t{1} << 30), "kernel_shape must be positive");
  for (int64_t v : k->strides_) ANVIL_CHECK(v > 0 && v < (int64_t{1} << 30), "strides must be positive");
  for (int64_t v : k->pads_) ANVIL_CHECK(v >= 0 && v < (int64_t{1} << 30), "pads must not be negative");
  if (auto s = node.InputShape(0)) ANVIL_CHECK(s->size() == nsp + 2, "X rank does not fit kernel_shape");
  if (out) *out = std::move(k);
  return {};
}

Status MaxUnpoolKernel::Compute(ComputeContext& ctx) const {
  const TensorView x = ctx.Input(0), ind = ctx.Input(1);
  const size_t nsp = kernel_.size();
  ANVIL_CHECK(x.shape.size() == nsp + 2, "X ", ToString(x.shape), " does not fit kernel_shape");
  ANVIL_CHECK(ind.shape == x.shape, "I shape ", ToString(ind.shape), " != X shape ", ToString(x.shape));
  Shape out_shape{x.shape[0], x.shape[1]};
  for (size_t d = 0; d < nsp; ++d) {
    const int64_t o = (x.shape[2 + d] - 1) * strides_[d] + kernel_[d] - pads_[d] - pads_[nsp + d];
    out_shape.push_back(std::max<int64_t>(o, 0));
  }
  if (ctx.HasInput(2)) {
    const TensorView os = ctx.Input(2);
    std::vector<int64_t> want;
    ANVIL_RETURN_IF_ERROR(ReadIntValues(os, "output_shape", want));
    ANVIL_CHECK(want.size() == nsp + 2, "output_shape has ", want.size(), " values for rank ", nsp + 2);
    for (size_t d = 0; d < want.size(); ++d) {
      ANVIL_CHECK(d >= 2 ? want[d] >= out_shape[d] : want[d] == out_shape[d], "output_shape ", ToString(want),
                  " is smaller than the inferred ", ToString(out_shape));
    }
    out_shape.assign(want.begin(), want.end());
  }
  float* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, out_shape, &y));
  const int64_t total = NumElements(out_shape);
  for (int64_t i = 0; i < total; ++i) y[i] = 0.f;
  const float* xv = x.as<float>();
  const int64_t* iv = ind.as<int64_t>();
  for (int64_t i = 0; i < x.size(); ++i) {
    ANVIL_CHECK(iv[i] >= 0 && iv[i] < total, "index ", iv[i], " in I is out of range for output ", ToString(out_shape));
    y[iv[i]] = xv[i];
  }
  return {};
}

// ------------------------------------------------------------------------------------ DeformConv

Status DeformConvKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  for (size_t i = 0; i < node.InputCount(); ++i)
    if (node.InputPresent(i)) ANVIL_CHECK(node.InputType(i) == kF32, "only float inputs are supported");
  auto k = std::make_unique<DeformConvKernel>();
  auto s = node.InputShape(0);
  ANVIL_CHECK(s.has_value() && s->size() == 4, "only 2-D DeformConv (4-D X) is supported");
  k->kernel_ = node.Ints("kernel_shape", {});
  k->pads_ = node.Ints("pads", {0, 0, 0, 0});
  k->strides_ = node.Ints("strides", {1, 1});
  k->dilations_ = node.Ints("dilations", {1, 1});
  k->group_ = node.Int("group", 1);
  k->offset_group_ = node.Int("offset_group", 1);
  ANVIL_CHECK(k->kernel_.empty() || k->kernel_.size() == 2, "kernel_shape must have 2 values");
  ANVIL_CHECK(k->pads_.size() == 4 && k->strides_.size() == 2 && k->dilations_.size() == 2,
              "pads, strides and dilations must fit 2 spatial dims");
  for (int64_t v : k->strides_) ANVIL_CHECK(v > 0 && v < (int64_t{1} << 30), "strides must be positive");
  for (int64_t v : k->dilations_) ANVIL_CHECK(v > 0 && v < (int64_t{1} << 30), "dilations must be positive");
  for (int64_t v : k->pads_) ANVIL_CHECK(v >= 0 && v < (int64_t{1} << 30), "pads must not be negative");
  ANVIL_CHECK(k->group_ > 0 && k->offset_group_ > 0, "group and offset_group must be positive");
  if (out) *out = std::move(k);
  return {};
}

Status DeformConvKernel::Compute(ComputeContext& ctx) const {
  const TensorView x = ctx.Input(0), w = ctx.Input(1), off = ctx.Input(2);
  ANVIL_CHECK(x.shape.size() == 4 && w.shape.size() == 4, "X and W must be 4-D, got ", ToString(x.shape), " and ",
              ToString(w.shape));
  vision::DeformConvParams p;
  p.n = x.shape[0], p.c = x.shape[1], p.h = x.shape[2], p.w = x.shape[3], p.m = w.shape[0];
  p.kh = w.shape[2], p.kw = w.shape[3];
  if (!kernel_.empty())
    ANVIL_CHECK(kernel_[0] == p.kh && kernel_[1] == p.kw, "kernel_shape does not match W ", ToString(w.shape));
  p.group = group_, p.offset_group = offset_group_;
  ANVIL_CHECK(p.c % group_ == 0 && p.m % group_ == 0 && w.shape[1] * group_ == p.c,
              "channels do not fit group ", group_, ": X ", ToString(x.shape), ", W ", ToString(w.shape));
  ANVIL_CHECK(p.c % offset_group_ == 0, "C ", p.c, " is not a multiple of offset_group ", offset_group_);
  p.stride_h = strides_[0], p.stride_w = strides_[1], p.pad_h = pads_[0], p.pad_w = pads_[1];
  p.dil_h = dilations_[0], p.dil_w = dilations_[1];
  ANVIL_CHECK(p.kh > 0 && p.kw > 0 && p.kh < (int64_t{1} << 20) && p.kw < (int64_t{1} << 20), "bad kernel size");
  const int64_t eh = p.h + pads_[0] + pads_[2] - p.dil_h * (p.kh - 1) - 1;
  const int64_t ew = p.w + pads_[1] + pads_[3] - p.dil_w * (p.kw - 1) - 1;
  ANVIL_CHECK(eh >= 0 && ew >= 0, "the kernel does not fit the padded input ", ToString(x.shape));
  p.oh = eh / p.stride_h + 1, p.ow = ew / p.stride_w + 1;
  const int64_t taps = p.kh * p.kw;
  ANVIL_CHECK(off.shape == (Shape{p.n, offset_group_ * 2 * taps, p.oh, p.ow}), "offset shape ", ToString(off.shape),
              " does not fit");
  const float* bias = nullptr;
  if (ctx.HasInput(3) && ctx.Input(3).data != nullptr) {
    const TensorView b = ctx.Input(3);
    ANVIL_CHECK(b.shape == Shape{p.m}, "B shape ", ToString(b.shape), " must be [", p.m, "]");
    bias = b.as<float>();
  }
  const float* mask = nullptr;
  if (ctx.HasInput(4) && ctx.Input(4).data != nullptr) {
    const TensorView mk = ctx.Input(4);
    ANVIL_CHECK(mk.shape == (Shape{p.n, offset_group_ * taps, p.oh, p.ow}), "mask shape ", ToString(mk.shape),
                " does not fit");
    mask = mk.as<float>();
  }
  float* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, Shape{p.n, p.m, p.oh, p.ow}, &y));
  if (NumElements(Shape{p.n, p.m, p.oh, p.ow}) == 0) return {};
  float* cols = ctx.Scratch<float>(static_cast<size_t>(p.c * taps * p.oh * p.ow));
  vision::DeformConv(p, x.as<float>(), w.as<float>(), off.as<float>(), mask, bias, y, cols);
  return {};
}

}  // namespace anvil
