#include "compute/parallel.h"
#include "kernels/elementwise/elementwise.h"

namespace anvil {

Status ReluKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_CHECK(node.InputType(0) == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, "only float is supported");
  if (out) *out = std::make_unique<ReluKernel>();
  return {};
}

Status ReluKernel::Compute(ComputeContext& ctx) const {
  TensorView x = ctx.Input(0);
  float* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, x.shape, &y));
  const float* px = x.as<float>();
  ParallelFor(x.size(), 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) y[i] = px[i] > 0.f ? px[i] : 0.f;
  });
  return {};
}

}  // namespace anvil
