#include "compute/nn/normalize.h"
#include "compute/nn/softmax.h"

#include "kernels/nn/nn.h"

namespace anvil {

Status SoftmaxKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  const ElemType t = node.InputType(0);
  ANVIL_CHECK(t == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT || t == ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE,
              "Softmax: only float and double are supported");
  const bool flatten = node.SinceVersion() < 13;
  const int64_t axis = node.Int("axis", flatten ? 1 : -1);
  if (auto shape = node.InputShape(0)) {
    const int64_t rank = static_cast<int64_t>(shape->size());
    int64_t a = 0;
    ANVIL_CHECK(rank >= 1, "Softmax: input must have rank >= 1");
    ANVIL_CHECK(NormalizeAxis(axis, rank, a), "Softmax: axis ", axis, " out of range for rank ", rank);
  }
  if (out) {
    auto k = std::make_unique<SoftmaxKernel>();
    k->axis_ = axis;
    k->flatten_ = flatten;
    k->double_ = t == ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE;
    *out = std::move(k);
  }
  return {};
}

Status SoftmaxKernel::Compute(ComputeContext& ctx) const {
  TensorView x = ctx.Input(0);
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  int64_t axis = 0;
  ANVIL_CHECK(rank >= 1 && NormalizeAxis(axis_, rank, axis), "Softmax: axis ", axis_, " out of range for input ",
              ToString(x.shape));
  void* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, x.shape, &y));
  if (x.size() == 0) return {};
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= x.shape[i];
  for (int64_t i = axis + 1; i < rank; ++i) inner *= x.shape[i];
  const int64_t n = x.shape[axis];
  if (double_) {
    if (flatten_) nn::SoftmaxDouble(x.as<double>(), static_cast<double*>(y), outer, n * inner, 1);
    else nn::SoftmaxDouble(x.as<double>(), static_cast<double*>(y), outer, n, inner);
    return {};
  }
  if (flatten_) {
    nn::SoftmaxRows(x.as<float>(), static_cast<float*>(y), outer, n * inner);
  } else if (inner == 1) {
    nn::SoftmaxRows(x.as<float>(), static_cast<float*>(y), outer, n);
  } else {
    nn::SoftmaxStrided(x.as<float>(), static_cast<float*>(y), outer, n, inner);
  }
  return {};
}

}  // namespace anvil
