#include "compute/nn/pool.h"

#include <cmath>

#include "compute/parallel.h"
#include "kernels/nn/nn.h"

namespace anvil {
namespace {

// Reads and validates the pooling attributes common to AveragePool and MaxPool.
// `nhwc`: the node is in ORT's internal NHWC domain (its input shape is channels-last).
Status ParsePoolAttributes(const NodeInfo& node, bool has_dilations, PoolAttributes& a, bool nhwc = false) {
  a.nhwc = nhwc;
  const std::string op = node.OpType();
  ANVIL_CHECK(node.InputType(0) == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, op, ": only float is supported");
  auto kernel = node.Ints("kernel_shape");
  ANVIL_CHECK(kernel.has_value(), op, ": kernel_shape is required");
  ANVIL_CHECK(kernel->size() >= 1 && kernel->size() <= 3, op, ": only 1-D, 2-D and 3-D pooling is supported, got ",
              kernel->size(), " spatial dims");
  a.spatial = static_cast<int>(kernel->size());
  const size_t k = kernel->size();
  a.kernel = *kernel;
  a.strides = node.Ints("strides", std::vector<int64_t>(k, 1));
  a.dilations = has_dilations ? node.Ints("dilations", std::vector<int64_t>(k, 1)) : std::vector<int64_t>(k, 1);
  a.pads = node.Ints("pads", std::vector<int64_t>(2 * k, 0));
  // An empty list attribute means the default.
  if (a.strides.empty()) a.strides.assign(k, 1);
  if (a.dilations.empty()) a.dilations.assign(k, 1);
  if (a.pads.empty()) a.pads.assign(2 * k, 0);
  ANVIL_CHECK(a.strides.size() == k, op, ": strides must have ", k, " values");
  ANVIL_CHECK(a.dilations.size() == k, op, ": dilations must have ", k, " values");
  ANVIL_CHECK(a.pads.size() == 2 * k, op, ": pads must have ", 2 * k, " values");
  for (size_t i = 0; i < k; ++i) {
    ANVIL_CHECK(a.kernel[i] >= 1, op, ": kernel_shape values must be >= 1");
    ANVIL_CHECK(a.strides[i] >= 1, op, ": strides must be >= 1");
    ANVIL_CHECK(a.dilations[i] >= 1, op, ": dilations must be >= 1");
    ANVIL_CHECK(a.pads[i] >= 0 && a.pads[i + k] >= 0, op, ": pads must be >= 0");
    ANVIL_CHECK(a.pads[i] < a.kernel[i] && a.pads[i + k] < a.kernel[i], op, ": pads must be smaller than the kernel"
                " (ONNX Runtime refuses the node too)");
  }
  const std::string auto_pad = node.String("auto_pad", "NOTSET");
  if (auto_pad == "NOTSET" || auto_pad.empty()) a.auto_pad = nn::AutoPad::kNotSet;
  else if (auto_pad == "SAME_UPPER") a.auto_pad = nn::AutoPad::kSameUpper;
  else if (auto_pad == "SAME_LOWER") a.auto_pad = nn::AutoPad::kSameLower;
  else if (auto_pad == "VALID") a.auto_pad = nn::AutoPad::kValid;
  else return Fail(op, ": unknown auto_pad '", auto_pad, "'");
  a.ceil_mode = node.SinceVersion() >= 10 && node.Int("ceil_mode", 0) != 0;
  if (a.auto_pad == nn::AutoPad::kSameUpper || a.auto_pad == nn::AutoPad::kSameLower) {
    // ONNX Runtime's CPU provider sizes SAME padding from the undilated kernel, the ONNX spec from
    // the dilated one; they disagree on the output shape, so leave this corner to ONNX Runtime.
    for (int64_t d : a.dilations)
      ANVIL_CHECK(d == 1, op, ": auto_pad ", auto_pad, " with dilations > 1 is left to ONNX Runtime (its output "
                  "size differs from the ONNX spec there)");
  }
  std::optional<Shape> shape = node.InputShape(0);
  if (shape && nhwc) shape = ChannelsFirst(*shape);
  if (shape) {
    ANVIL_CHECK(shape->size() == k + 2, op, ": input rank ", shape->size(), " does not match ", k,
                "-D kernel_shape");
    bool known = true;
    for (int64_t d : *shape) known = known && d >= 0;
    if (known) {  // reject at claim time what Compute would reject
      nn::PoolGeometry g;
      Shape out_shape;
      ANVIL_RETURN_IF_ERROR(a.Geometry(*shape, g, out_shape));
    }
  }
  return {};
}

// Per-dim tap tables in scratch memory.
void TapTables(ComputeContext& ctx, const nn::PoolGeometry& g, const nn::PoolTaps* taps[3]) {
  nn::PoolTaps* t = ctx.Scratch<nn::PoolTaps>(static_cast<size_t>(g.out[0] + g.out[1] + g.out[2]));
  for (int d = 0; d < 3; ++d) {
    nn::ComputePoolTaps(g, d, t);
    taps[d] = t;
    t += g.out[d];
  }
}

}  // namespace

Status PoolAttributes::Geometry(const Shape& x, nn::PoolGeometry& g, Shape& out_shape) const {
  ANVIL_CHECK(x.size() == static_cast<size_t>(spatial) + 2, "pooling: input ", ToString(x), " must have rank ",
              spatial + 2);
  out_shape.assign(x.begin(), x.begin() + 2);
  const int first = 3 - spatial;
  for (int i = 0; i < spatial; ++i) {
    const int d = first + i;
    g.in[d] = x[2 + i];
    g.kernel[d] = kernel[i];
    g.stride[d] = strides[i];
    g.dilation[d] = dilations[i];
    g.pad_begin[d] = pads[i];
    g.pad_end[d] = pads[i + spatial];
    ANVIL_CHECK(nn::PoolOutputDim(g.in[d], g.kernel[d], g.stride[d], g.dilation[d], auto_pad, ceil_mode,
                                  g.pad_begin[d], g.pad_end[d], g.out[d]),
                "pooling: input ", ToString(x), " gives no output for kernel ", kernel[i], ", stride ", strides[i],
                ", dilation ", dilations[i], " (an empty spatial dim, or a window wider than the padded input by "
                "more than a stride)");
    out_shape.push_back(g.out[d]);
  }
  return {};
}

// The common start of a pooling call: geometry, the output, the tap tables. *y stays null when
// the output is empty (nothing to compute).
static Status StartPool(ComputeContext& ctx, const PoolAttributes& a, const TensorView& x, nn::PoolGeometry& g,
                        const nn::PoolTaps* taps[3], float** y) {
  Shape out_shape;
  ANVIL_RETURN_IF_ERROR(a.Geometry(a.nhwc ? ChannelsFirst(x.shape) : x.shape, g, out_shape));
  float* out = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, a.nhwc ? ChannelsLast(out_shape) : out_shape, &out));
  if (NumElements(out_shape) == 0) return {};
  TapTables(ctx, g, taps);
  *y = out;
  return {};
}

Status AveragePoolKernel::CreateAs(const NodeInfo& node, std::unique_ptr<Kernel>* out, bool nhwc) {
  PoolAttributes attrs;
  ANVIL_RETURN_IF_ERROR(ParsePoolAttributes(node, node.SinceVersion() >= 19, attrs, nhwc));
  if (out) {
    auto k = std::make_unique<AveragePoolKernel>();
    k->attrs_ = std::move(attrs);
    k->count_include_pad_ = node.Int("count_include_pad", 0) != 0;
    *out = std::move(k);
  }
  return {};
}

Status AveragePoolKernel::Compute(ComputeContext& ctx) const {
  TensorView x = ctx.Input(0);
  nn::PoolGeometry g;
  const nn::PoolTaps* taps[3];
  float* y = nullptr;
  ANVIL_RETURN_IF_ERROR(StartPool(ctx, attrs_, x, g, taps, &y));
  if (y == nullptr) return {};
  if (attrs_.nhwc)
    nn::AveragePoolNhwc(x.as<float>(), y, x.shape[0], x.shape[x.shape.size() - 1], g, taps, count_include_pad_);
  else
    nn::AveragePool(x.as<float>(), y, x.shape[0] * x.shape[1], g, taps, count_include_pad_);
  return {};
}

Status MaxPoolKernel::CreateAs(const NodeInfo& node, std::unique_ptr<Kernel>* out, bool nhwc) {
  PoolAttributes attrs;
  ANVIL_RETURN_IF_ERROR(ParsePoolAttributes(node, node.SinceVersion() >= 10, attrs, nhwc));
  const int64_t storage_order = node.SinceVersion() >= 8 ? node.Int("storage_order", 0) : 0;
  ANVIL_CHECK(storage_order == 0 || storage_order == 1, "MaxPool: storage_order must be 0 or 1");
  // Channels-last: no Indices (the EP never lets ORT convert a MaxPool whose Indices output is
  // used, see AnvilEp::ClaimNodes; an omitted one, named "", is simply not produced).
  const bool indices = !nhwc && node.OutputCount() >= 2 && node.OutputType(1) != ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
  if (indices)
    ANVIL_CHECK(node.OutputType(1) == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64, "MaxPool: Indices must be int64");
  if (out) {
    auto k = std::make_unique<MaxPoolKernel>();
    k->attrs_ = std::move(attrs);
    k->column_major_ = storage_order == 1;
    k->indices_ = indices;
    *out = std::move(k);
  }
  return {};
}

Status MaxPoolKernel::Compute(ComputeContext& ctx) const {
  TensorView x = ctx.Input(0);
  if (attrs_.nhwc) {
    nn::PoolGeometry g;
    const nn::PoolTaps* taps[3];
    float* y = nullptr;
    ANVIL_RETURN_IF_ERROR(StartPool(ctx, attrs_, x, g, taps, &y));
    if (y != nullptr) nn::MaxPoolNhwc(x.as<float>(), y, x.shape[0], x.shape[x.shape.size() - 1], g, taps);
    return {};
  }
  nn::PoolGeometry g;
  Shape out_shape;
  ANVIL_RETURN_IF_ERROR(attrs_.Geometry(x.shape, g, out_shape));
  float* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, out_shape, &y));
  int64_t* indices = nullptr;
  if (indices_) ANVIL_RETURN_IF_ERROR(ctx.Output(1, out_shape, &indices));
  if (NumElements(out_shape) == 0) return {};
  const nn::PoolTaps* taps[3];
  TapTables(ctx, g, taps);
  nn::MaxPool(x.as<float>(), y, indices, x.shape[0] * x.shape[1], g, taps, column_major_);
  return {};
}

// ---- GlobalAveragePool ----

Status LpPoolKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  PoolAttributes attrs;
  ANVIL_RETURN_IF_ERROR(ParsePoolAttributes(node, node.SinceVersion() >= 18, attrs));
  const int64_t p = node.Int("p", 2);
  ANVIL_CHECK(p >= 1, "LpPool: p must be positive, not ", p);
  if (out) {
    auto k = std::make_unique<LpPoolKernel>();
    k->attrs_ = std::move(attrs);
    k->p_ = p;
    *out = std::move(k);
  }
  return {};
}

Status LpPoolKernel::Compute(ComputeContext& ctx) const {
  TensorView x = ctx.Input(0);
  nn::PoolGeometry g;
  const nn::PoolTaps* taps[3];
  float* y = nullptr;
  ANVIL_RETURN_IF_ERROR(StartPool(ctx, attrs_, x, g, taps, &y));
  if (y == nullptr) return {};
  nn::LpPool(x.as<float>(), y, x.shape[0] * x.shape[1], g, taps, p_);
  return {};
}

Status GlobalAveragePoolKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_CHECK(node.InputType(0) == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, "GlobalAveragePool: only float is supported");
  if (auto shape = node.InputShape(0))
    ANVIL_CHECK(shape->size() >= 3, "GlobalAveragePool: input must have rank >= 3 (N, C, spatial...)");
  if (out) *out = std::make_unique<GlobalAveragePoolKernel>();
  return {};
}

Status GlobalAveragePoolKernel::Compute(ComputeContext& ctx) const {
  TensorView x = ctx.Input(0);
  ANVIL_CHECK(x.shape.size() >= 3, "GlobalAveragePool: input ", ToString(x.shape), " must have rank >= 3");
  Shape out_shape(x.shape.size(), 1);
  out_shape[0] = x.shape[0];
  out_shape[1] = x.shape[1];
  float* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, out_shape, &y));
  const int64_t rows = x.shape[0] * x.shape[1];
  const int64_t n = rows > 0 ? x.size() / rows : 0;
  const float* px = x.as<float>();
  // A mean over an empty spatial extent is NaN (numpy's mean of nothing).
  const float inv = n > 0 ? 1.f / static_cast<float>(n) : std::nanf("");
  ParallelFor(rows, n + 1, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const float* xr = px + r * n;
      float s = 0.f;
#pragma omp simd reduction(+ : s)
      for (int64_t i = 0; i < n; ++i) s += xr[i];
      y[r] = n > 0 ? s * inv : inv;
    }
  });
  return {};
}

// ---- channels-last global pools (ORT's internal NHWC domain) ----

Status NhwcGlobalPoolKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  const std::string op = node.OpType();
  ANVIL_CHECK(node.InputType(0) == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, op, ": only float is supported");
  if (auto shape = node.InputShape(0)) ANVIL_CHECK(shape->size() >= 3, op, ": input must have rank >= 3");
  if (out) {
    auto k = std::make_unique<NhwcGlobalPoolKernel>();
    k->max_ = op == "GlobalMaxPool";
    *out = std::move(k);
  }
  return {};
}

Status NhwcGlobalPoolKernel::Compute(ComputeContext& ctx) const {
  TensorView x = ctx.Input(0);
  ANVIL_CHECK(x.shape.size() >= 3, "input ", ToString(x.shape), " must have rank >= 3");
  Shape out_shape(x.shape.size(), 1);
  out_shape[0] = x.shape[0];
  const int64_t c = x.shape[x.shape.size() - 1];
  out_shape[x.shape.size() - 1] = c;
  float* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, out_shape, &y));
  if (x.shape[0] == 0 || c == 0) return {};
  const int64_t spatial = x.size() / (x.shape[0] * c);
  nn::GlobalPoolNhwc(x.as<float>(), y, x.shape[0], spatial, c, max_);
  return {};
}

}  // namespace anvil
