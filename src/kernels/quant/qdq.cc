// QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear.
#include <cstring>

#include "kernels/quant/common.h"
#include "kernels/quant/quant.h"

namespace anvil {

using quant_detail::IsScalarLike;
using quant_detail::KindOf;

namespace {

constexpr ElemType kF32 = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;

// How scale (and zero point, same shape) apply to x, as ORT decides it: a scalar-like scale is
// per tensor; otherwise per axis (1-D of x.shape[axis]) or, with block_size, blocked (x's rank,
// ceil(x.shape[axis] / block_size) along axis).
Status Layout(const Shape& x, const Shape& scale, const Shape* zp, int64_t axis, int64_t block,
              quant::QdqLayout* out) {
  quant::QdqLayout l;
  if (IsScalarLike(scale)) {
    ANVIL_CHECK(zp == nullptr || IsScalarLike(*zp), "the zero point ", ToString(*zp),
                " must be a scalar (or 1-D of one element) like the scale");
    ANVIL_CHECK(block == 0, "block_size must be 0 for a per-tensor scale");
    l.inner = NumElements(x);
    *out = l;
    return {};
  }
  const int64_t rank = static_cast<int64_t>(x.size());
  int64_t a = 0;
  ANVIL_CHECK(NormalizeAxis(axis, rank, a), "axis ", axis, " is out of range for x of shape ", ToString(x));
  l.per_tensor = false;
  l.dim = x[a];
  for (int64_t i = 0; i < a; ++i) l.outer *= x[i];
  for (int64_t i = a + 1; i < rank; ++i) l.inner *= x[i];
  if (block > 0) {
    ANVIL_CHECK(static_cast<int64_t>(scale.size()) == rank, "blocked quantization needs a scale of x's rank ", rank,
                ", got ", ToString(scale));
    for (int64_t i = 0; i < rank; ++i) {
      const int64_t want = i == a ? x[i] / block + (x[i] % block != 0) : x[i];  // ceil, without overflow
      ANVIL_CHECK(scale[i] == want, "the scale ", ToString(scale), " does not fit x ", ToString(x), " with block_size ",
                  block, " along axis ", a);
    }
    l.block = block;
  } else {
    ANVIL_CHECK(scale.size() == 1 && scale[0] == l.dim, "a per-axis scale must be 1-D of size ", l.dim, ", got ",
                ToString(scale));
  }
  ANVIL_CHECK(zp == nullptr || *zp == scale, "the zero point ", ToString(*zp), " must have the scale's shape ",
              ToString(scale));
  *out = l;
  return {};
}

bool Known(const Shape& s) {
  for (int64_t d : s)
    if (d < 0) return false;
  return true;
}

// Claim-time layout check when every shape involved is known.
Status CheckKnownLayout(const NodeInfo& node, int64_t axis, int64_t block) {
  std::optional<Shape> x = node.InputShape(0), s = node.InputShape(1);
  std::optional<Shape> z = node.InputPresent(2) ? node.InputShape(2) : std::nullopt;
  if (!x || !s || !Known(*x) || !Known(*s)) return {};
  if (node.InputPresent(2) && (!z || !Known(*z))) return {};
  quant::QdqLayout l;
  return Layout(*x, *s, node.InputPresent(2) ? &*z : nullptr, axis, block, &l);
}

// The zero point as int32 values in scratch memory (nullptr when absent).
const int32_t* ZeroPoints(ComputeContext& ctx, const TensorView& zp, quant::QKind kind) {
  if (zp.data == nullptr) return nullptr;
  const int64_t n = zp.size();
  int32_t* out = ctx.Scratch<int32_t>(static_cast<size_t>(std::max<int64_t>(n, 1)));
  quant::LoadAll(zp.data, kind, n, out);
  return out;
}

}  // namespace

Status QuantizeLinearKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  const int rev = node.SinceVersion();
  ANVIL_CHECK(node.InputType(0) == kF32 && node.InputType(1) == kF32, "QuantizeLinear: only float x and scale");
  const ElemType yt = node.OutputType(0);
  const std::optional<quant::QKind> kind = KindOf(yt);
  ANVIL_CHECK(kind && *kind != quant::QKind::kInt32, "QuantizeLinear: output type ", ElemTypeName(yt), " is not supported");
  if (node.InputPresent(2))
    ANVIL_CHECK(node.InputType(2) == yt, "QuantizeLinear: the zero point's type differs from the output's");
  const int64_t dtype = node.Int("output_dtype", 0);
  ANVIL_CHECK(dtype == 0 || dtype == quant_detail::OnnxNumberOf(yt), "QuantizeLinear: output_dtype ", dtype,
              " differs from the output type");
  const int64_t precision = node.Int("precision", 0);
  ANVIL_CHECK(precision == 0 || precision == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT,
              "QuantizeLinear: only float precision is supported");
  const int64_t axis = rev >= 13 ? node.Int("axis", 1) : 1;
  const int64_t block = rev >= 21 ? node.Int("block_size", 0) : 0;
  ANVIL_CHECK(block >= 0, "QuantizeLinear: block_size must be non-negative");
  ANVIL_RETURN_IF_ERROR(CheckKnownLayout(node, axis, block));
  if (out) {
    auto k = std::make_unique<QuantizeLinearKernel>();
    k->axis_ = axis;
    k->block_size_ = block;
    k->out_ = *kind;
    *out = std::move(k);
  }
  return {};
}

Status QuantizeLinearKernel::Compute(ComputeContext& ctx) const {
  const TensorView x = ctx.Input(0), scale = ctx.Input(1), zp = ctx.Input(2);
  quant::QdqLayout l;
  ANVIL_RETURN_IF_ERROR(Layout(x.shape, scale.shape, zp.data ? &zp.shape : nullptr, axis_, block_size_, &l));
  void* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, x.shape, &y));
  if (x.size() == 0) return {};
  quant::QuantizeLinear(x.as<float>(), scale.as<float>(), ZeroPoints(ctx, zp, out_), l, out_, y);
  return {};
}

Status DequantizeLinearKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  const int rev = node.SinceVersion();
  const ElemType xt = node.InputType(0);
  const std::optional<quant::QKind> kind = KindOf(xt);
  ANVIL_CHECK(kind.has_value(), "DequantizeLinear: input type ", ElemTypeName(xt), " is not supported");
  ANVIL_CHECK(node.InputType(1) == kF32 && node.OutputType(0) == kF32, "DequantizeLinear: only float scale and output");
  if (node.InputPresent(2))
    ANVIL_CHECK(node.InputType(2) == xt, "DequantizeLinear: the zero point's type differs from x's");
  const int64_t dtype = node.Int("output_dtype", 0);
  ANVIL_CHECK(dtype == 0 || dtype == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, "DequantizeLinear: output_dtype ", dtype,
              " is not float");
  const int64_t axis = rev >= 13 ? node.Int("axis", 1) : 1;
  const int64_t block = rev >= 21 ? node.Int("block_size", 0) : 0;
  ANVIL_CHECK(block >= 0, "DequantizeLinear: block_size must be non-negative");
  ANVIL_RETURN_IF_ERROR(CheckKnownLayout(node, axis, block));
  if (out) {
    auto k = std::make_unique<DequantizeLinearKernel>();
    k->axis_ = axis;
    k->block_size_ = block;
    k->in_ = *kind;
    *out = std::move(k);
  }
  return {};
}

Status DequantizeLinearKernel::Compute(ComputeContext& ctx) const {
  const TensorView x = ctx.Input(0), scale = ctx.Input(1), zp = ctx.Input(2);
  quant::QdqLayout l;
  ANVIL_RETURN_IF_ERROR(Layout(x.shape, scale.shape, zp.data ? &zp.shape : nullptr, axis_, block_size_, &l));
  const int32_t* z = ZeroPoints(ctx, zp, in_);
  if (z != nullptr && in_ == quant::QKind::kInt32) {
    for (int64_t i = 0; i < zp.size(); ++i)
      ANVIL_CHECK(z[i] == 0, "DequantizeLinear of int32 needs zero points of 0 (as ORT), got ", z[i]);
  }
  float* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, x.shape, &y));
  if (x.size() == 0) return {};
  quant::DequantizeLinear(x.data, in_, scale.as<float>(), z, l, y);
  return {};
}

Status DynamicQuantizeLinearKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_CHECK(node.InputType(0) == kF32, "DynamicQuantizeLinear: only float input");
  ANVIL_CHECK(node.OutputType(0) == ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8, "DynamicQuantizeLinear: only uint8 output");
  if (out) *out = std::make_unique<DynamicQuantizeLinearKernel>();
  return {};
}

Status DynamicQuantizeLinearKernel::Compute(ComputeContext& ctx) const {
  const TensorView x = ctx.Input(0);
  uint8_t* y = nullptr;
  float* scale = nullptr;
  uint8_t* zp = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, x.shape, &y));
  ANVIL_RETURN_IF_ERROR(ctx.Output(1, Shape{}, &scale));
  ANVIL_RETURN_IF_ERROR(ctx.Output(2, Shape{}, &zp));
  quant::DynamicQuantParams(x.as<float>(), x.size(), scale, zp);
  if (x.size() == 0) return {};
  quant::QdqLayout l;
  l.inner = x.size();
  const int32_t z = *zp;
  quant::QuantizeLinear(x.as<float>(), scale, &z, l, quant::QKind::kUint8, y);
  return {};
}

}  // namespace anvil
