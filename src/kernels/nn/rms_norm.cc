// RMSNormalization-23: y = x / sqrt(mean(x^2 over dims [axis, rank)) + epsilon) * scale.
#include "compute/nn/attention.h"
#include "kernels/nn/nn.h"

namespace anvil {
namespace {

constexpr ElemType kF32 = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
constexpr ElemType kF64 = ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE;

// Scale must be one value or the normalised shape (leading 1s allowed).
bool ScaleFits(const Shape& x, int64_t axis, const Shape& scale) {
  if (NumElements(scale) == 1) return true;
  const int64_t norm_rank = static_cast<int64_t>(x.size()) - axis;
  int64_t extra = static_cast<int64_t>(scale.size()) - norm_rank;
  for (int64_t i = 0; i < extra; ++i) {
    if (scale[i] != 1) return false;
  }
  for (int64_t i = std::max<int64_t>(-extra, 0); i < norm_rank; ++i) {
    const int64_t si = i + extra;
    if (si < 0) {
      if (x[axis + i] != 1) return false;
      continue;
    }
    if (scale[si] != x[axis + i]) return false;
  }
  return true;
}

}  // namespace

Status RmsNormKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  const ElemType t = node.InputType(0);
  ANVIL_CHECK(t == kF32 || t == kF64, "RMSNormalization: only float and double are supported");
  ANVIL_CHECK(node.InputType(1) == t, "RMSNormalization: scale must have X's type");
  const int64_t stash = node.Int("stash_type", 1);
  ANVIL_CHECK(stash == 1, "RMSNormalization: only stash_type 1 (float) is supported");
  const int64_t axis = node.Int("axis", -1);
  if (auto s = node.InputShape(0)) {
    int64_t a = 0;
    ANVIL_CHECK(NormalizeAxis(axis, static_cast<int64_t>(s->size()), a), "RMSNormalization: axis ", axis,
                " out of range for rank ", s->size());
  }
  if (out) {
    auto k = std::make_unique<RmsNormKernel>();
    k->type_ = t;
    k->axis_ = axis;
    k->epsilon_ = node.Float("epsilon", 1e-5f);
    *out = std::move(k);
  }
  return {};
}

Status RmsNormKernel::Compute(ComputeContext& ctx) const {
  const TensorView x = ctx.Input(0), scale = ctx.Input(1);
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  int64_t axis = 0;
  ANVIL_CHECK(NormalizeAxis(axis_, rank, axis), "RMSNormalization: axis ", axis_, " out of range for input ",
              ToString(x.shape));
  int64_t rows = 1, cols = 1;
  for (int64_t i = 0; i < rank; ++i) (i < axis ? rows : cols) *= x.shape[i];
  ANVIL_CHECK(ScaleFits(x.shape, axis, scale.shape), "RMSNormalization: scale ", ToString(scale.shape),
              " does not fit the normalised shape of ", ToString(x.shape), " from axis ", axis);
  void* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, x.shape, &y));
  if (rows == 0 || cols == 0) return {};
  if (type_ == kF64) {
    nn::RmsNormRows(x.as<double>(), scale.as<double>(), scale.size(), static_cast<double*>(y), rows, cols, epsilon_);
  } else {
    nn::RmsNormRows(x.as<float>(), scale.as<float>(), scale.size(), static_cast<float*>(y), rows, cols, epsilon_);
  }
  return {};
}

}  // namespace anvil
