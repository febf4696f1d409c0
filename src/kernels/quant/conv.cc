// ConvInteger and QLinearConv: direct integer convolution of zero-point-shifted values (padding
// contributes nothing), then (QLinearConv) + bias and requantization with x_scale * w_scale / y_scale.
#include <algorithm>
#include <vector>

#include "kernels/quant/common.h"
#include "kernels/quant/quant.h"

namespace anvil {

using quant_detail::IsScalarLike;
using quant_detail::ScalarZeroPoint;

namespace {

constexpr ElemType kU8 = ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8;
constexpr ElemType kS8 = ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8;
constexpr ElemType kF32 = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;

bool Is8Bit(ElemType t) { return t == kU8 || t == kS8; }

struct Slots {
  size_t x, x_zp, w, w_zp, x_scale, w_scale, y_scale, y_zp, bias;
};
constexpr Slots kConvInteger{0, 2, 1, 3, 99, 99, 99, 99, 99};
constexpr Slots kQLinearConv{0, 2, 3, 5, 1, 4, 6, 7, 8};

int64_t At(const std::vector<int64_t>& v, size_t i, int64_t dflt) { return v.empty() ? dflt : v[i]; }

}  // namespace

Status ConvIntegerKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  const bool q = node.OpType() == "QLinearConv";
  const Slots s = q ? kQLinearConv : kConvInteger;
  const ElemType xt = node.InputType(s.x), wt = node.InputType(s.w);
  ANVIL_CHECK(Is8Bit(xt) && Is8Bit(wt), node.OpType(), ": only int8 / uint8 inputs");
  if (node.InputPresent(s.x_zp)) ANVIL_CHECK(node.InputType(s.x_zp) == xt, "x's zero point must have x's type");
  if (node.InputPresent(s.w_zp)) ANVIL_CHECK(node.InputType(s.w_zp) == wt, "w's zero point must have w's type");
  if (q) {
    const ElemType yt = node.OutputType(0);
    ANVIL_CHECK((xt == kU8 && yt == kU8) || (xt == kS8 && wt == kS8 && yt == kS8),
                "QLinearConv: the type combination is not one ORT's CPU EP runs");
    ANVIL_CHECK(node.InputType(s.x_scale) == kF32 && node.InputType(s.w_scale) == kF32 &&
                    node.InputType(s.y_scale) == kF32,
                "QLinearConv: only float scales");
    if (node.InputPresent(s.y_zp)) ANVIL_CHECK(node.InputType(s.y_zp) == yt, "y's zero point must have y's type");
    if (node.InputPresent(s.bias))
      ANVIL_CHECK(node.InputType(s.bias) == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32, "QLinearConv: the bias must be int32");
  } else {
    ANVIL_CHECK(node.OutputType(0) == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32, "ConvInteger: the output must be int32");
  }
  auto k = std::make_unique<ConvIntegerKernel>();
  k->qlinear_ = q;
  k->auto_pad_ = node.String("auto_pad", "NOTSET");
  ANVIL_CHECK(k->auto_pad_ == "NOTSET" || k->auto_pad_ == "VALID" || k->auto_pad_ == "SAME_UPPER" ||
                  k->auto_pad_ == "SAME_LOWER",
              "unknown auto_pad '", k->auto_pad_, "'");
  k->group_ = node.Int("group", 1);
  ANVIL_CHECK(k->group_ >= 1, "group must be positive");
  k->kernel_shape_ = node.Ints("kernel_shape", {});
  k->strides_ = node.Ints("strides", {});
  k->dilations_ = node.Ints("dilations", {});
  k->pads_ = node.Ints("pads", {});
  for (int64_t v : k->strides_) ANVIL_CHECK(v >= 1, "strides must be positive");
  for (int64_t v : k->dilations_) ANVIL_CHECK(v >= 1, "dilations must be positive");
  for (int64_t v : k->pads_) ANVIL_CHECK(v >= 0, "pads must be non-negative");
  if (k->auto_pad_ == "SAME_UPPER" || k->auto_pad_ == "SAME_LOWER")
    for (int64_t v : k->dilations_) ANVIL_CHECK(v == 1, "ORT's CPU EP refuses dilations with SAME padding");
  int64_t rank = -1;
  if (auto x = node.InputShape(s.x)) rank = static_cast<int64_t>(x->size());
  if (auto w = node.InputShape(s.w)) {
    ANVIL_CHECK(rank < 0 || rank == static_cast<int64_t>(w->size()), "x and w ranks differ");
    rank = static_cast<int64_t>(w->size());
  }
  if (rank < 0 && !k->kernel_shape_.empty()) rank = static_cast<int64_t>(k->kernel_shape_.size()) + 2;
  ANVIL_CHECK(rank >= 3 && rank <= 5, node.OpType(), ": only 1-D, 2-D and 3-D convolutions (known rank 3 to 5)");
  const size_t nsp = static_cast<size_t>(rank - 2);
  auto sized = [&](const std::vector<int64_t>& v, size_t n) { return v.empty() || v.size() == n; };
  ANVIL_CHECK(sized(k->kernel_shape_, nsp) && sized(k->strides_, nsp) && sized(k->dilations_, nsp) &&
                  sized(k->pads_, 2 * nsp),
              "kernel_shape, strides, dilations or pads do not match ", nsp, " spatial dims");
  if (out) *out = std::move(k);
  return {};
}

Status ConvIntegerKernel::Compute(ComputeContext& ctx) const {
  const Slots s = qlinear_ ? kQLinearConv : kConvInteger;
  const TensorView x = ctx.Input(s.x), w = ctx.Input(s.w), x_zp = ctx.Input(s.x_zp), w_zp = ctx.Input(s.w_zp);
  const size_t rank = x.shape.size();
  ANVIL_CHECK(rank >= 3 && rank <= 5 && w.shape.size() == rank, "x ", ToString(x.shape), " and w ", ToString(w.shape),
              " must both have rank 3 to 5");
  const size_t nsp = rank - 2;
  ANVIL_CHECK((kernel_shape_.empty() || kernel_shape_.size() == nsp) && (strides_.empty() || strides_.size() == nsp) &&
                  (dilations_.empty() || dilations_.size() == nsp) && (pads_.empty() || pads_.size() == 2 * nsp),
              "the attributes do not match x of rank ", rank);
  quant::IntConv g;
  g.n = x.shape[0], g.c = x.shape[1], g.m = w.shape[0], g.group = group_;
  ANVIL_CHECK(g.m % group_ == 0 && g.c == w.shape[1] * group_, "x ", ToString(x.shape), " and w ", ToString(w.shape),
              " do not fit group ", group_);
  Shape y_shape{g.n, g.m};
  const size_t lead = 3 - nsp;
  for (size_t i = 0; i < nsp; ++i) {
    const int64_t in = x.shape[2 + i], kk = w.shape[2 + i];
    ANVIL_CHECK(kernel_shape_.empty() || kernel_shape_[i] == kk, "kernel_shape disagrees with w ", ToString(w.shape));
    const int64_t st = At(strides_, i, 1), dl = At(dilations_, i, 1);
    const int64_t dk = (kk - 1) * dl + 1;
    int64_t pb = 0, pe = 0, o = 0;
    if (auto_pad_ == "NOTSET" || auto_pad_ == "VALID") {
      if (auto_pad_ == "NOTSET") pb = At(pads_, i, 0), pe = At(pads_, i + nsp, 0);
      ANVIL_CHECK(kk >= 1 && in + pb + pe >= dk, "input size ", in, " (padded ", in + pb + pe,
                  ") is smaller than the kernel extent ", dk);
      o = (in + pb + pe - dk) / st + 1;
    } else {
      // ORT's SAME padding: from the undilated kernel (dilation is refused), and negative when the
      // stride exceeds the kernel (the windows then start inside the input).
      ANVIL_CHECK(kk >= 1 && dl == 1, "SAME padding needs a non-empty kernel and no dilation");
      const int64_t needed = ((in + st - 1) / st - 1) * st + kk - in;
      pb = auto_pad_ == "SAME_UPPER" ? needed / 2 : (needed + 1) / 2;
      o = (in + needed - kk) / st + 1;
    }
    g.in[lead + i] = in, g.out[lead + i] = o, g.kernel[lead + i] = kk;
    g.stride[lead + i] = st, g.dilation[lead + i] = dl, g.pad_begin[lead + i] = pb;
    y_shape.push_back(o);
  }
  g.x_signed = x.type == kS8;
  g.w_signed = w.type == kS8;

  if (x_zp.data) ANVIL_CHECK(IsScalarLike(x_zp.shape), "x's zero point must be a scalar, got ", ToString(x_zp.shape));
  int32_t wz = 0;
  if (w_zp.data) {
    if (qlinear_) {
      ANVIL_CHECK(IsScalarLike(w_zp.shape) || (w_zp.shape.size() == 1 && w_zp.shape[0] == g.m),
                  "w's zero point must be a scalar or 1-D of ", g.m, ", got ", ToString(w_zp.shape));
      wz = ScalarZeroPoint(w_zp);
      for (int64_t i = 1; i < w_zp.size(); ++i) {
        const int32_t v = g.w_signed ? int32_t{w_zp.as<int8_t>()[i]} : int32_t{w_zp.as<uint8_t>()[i]};
        ANVIL_CHECK(v == wz, "QLinearConv: per-channel w zero points must all be equal (as ORT requires)");
      }
    } else {
      ANVIL_CHECK(IsScalarLike(w_zp.shape), "ConvInteger: w's zero point must be a scalar (as ORT requires), got ",
                  ToString(w_zp.shape));
      wz = ScalarZeroPoint(w_zp);
    }
  }
  TensorView x_scale, w_scale, y_scale, y_zp, bias;
  if (qlinear_) {
    x_scale = ctx.Input(s.x_scale), w_scale = ctx.Input(s.w_scale), y_scale = ctx.Input(s.y_scale);
    y_zp = ctx.Input(s.y_zp), bias = ctx.Input(s.bias);
    ANVIL_CHECK(IsScalarLike(x_scale.shape) && IsScalarLike(y_scale.shape), "x_scale and y_scale must be scalars");
    ANVIL_CHECK(IsScalarLike(w_scale.shape) || (w_scale.shape.size() == 1 && w_scale.shape[0] == g.m),
                "w_scale must be a scalar or 1-D of ", g.m, ", got ", ToString(w_scale.shape));
    if (y_zp.data) ANVIL_CHECK(IsScalarLike(y_zp.shape), "y's zero point must be a scalar");
    if (bias.data)
      ANVIL_CHECK(bias.shape.size() == 1 && bias.shape[0] == g.m, "the bias must be 1-D of ", g.m, ", got ",
                  ToString(bias.shape));
  }
  void* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, y_shape, &y));
  const int64_t count = NumElements(y_shape);
  if (count == 0) return {};
  int32_t* acc = qlinear_ ? ctx.Scratch<int32_t>(static_cast<size_t>(count)) : static_cast<int32_t*>(y);
  const int64_t k_elems = w.shape[1] * g.kernel[0] * g.kernel[1] * g.kernel[2];
  if (g.c == 0 || k_elems == 0) {
    std::fill(acc, acc + count, 0);
  } else {
    quant::ConvInteger(g, x.data, ScalarZeroPoint(x_zp), w.data, &wz, acc);
  }
  if (!qlinear_) return {};
  std::vector<float> scales(static_cast<size_t>(g.m));
  const float xs = x_scale.as<float>()[0], ys = y_scale.as<float>()[0];
  for (int64_t i = 0; i < g.m; ++i) scales[i] = xs * w_scale.as<float>()[w_scale.size() == 1 ? 0 : i] / ys;
  quant::Requantize(acc, count, g.m, count / (g.n * g.m), bias.data ? bias.as<int32_t>() : nullptr, scales.data(),
                    ScalarZeroPoint(y_zp), x.type == kS8, y);
  return {};
}

}  // namespace anvil
