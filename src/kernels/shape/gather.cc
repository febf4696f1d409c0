// Gather: axis attribute, int32/int64 indices (negative counts from the end); out-of-range indices
// are reported as an error.
#include "kernels/shape/common.h"
#include "kernels/shape/shape.h"

namespace anvil {

Status GatherKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_RETURN_IF_ERROR(shape_detail::CheckCopyable(node, 0));
  const ElemType it = node.InputType(1);
  ANVIL_CHECK(it == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64 || it == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32,
              "indices must be int32 or int64, got ", ElemTypeName(it));
  auto k = std::make_unique<GatherKernel>();
  k->axis_ = node.Int("axis", 0);
  if (auto s = node.InputShape(0)) {
    const int64_t rank = static_cast<int64_t>(s->size());
    ANVIL_CHECK(k->axis_ >= -rank && k->axis_ < rank, "axis ", k->axis_, " is out of range for data of rank ", rank);
  }
  if (out) *out = std::move(k);
  return {};
}

Status GatherKernel::Compute(ComputeContext& ctx) const {
  const TensorView data = ctx.Input(0);
  const TensorView ind = ctx.Input(1);
  const int64_t rank = static_cast<int64_t>(data.shape.size());
  int64_t axis = 0;
  ANVIL_CHECK(NormalizeAxis(axis_, rank, axis), "axis ", axis_, " is out of range for data ", ToString(data.shape));
  const int64_t axis_len = data.shape[axis];
  const int64_t n = ind.size();
  int64_t* idx = ctx.Scratch<int64_t>(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const int64_t v = ind.type == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64 ? ind.as<int64_t>()[i]
                                                                      : static_cast<int64_t>(ind.as<int32_t>()[i]);
    const int64_t w = v < 0 ? v + axis_len : v;
    ANVIL_CHECK(w >= 0 && w < axis_len, "index ", v, " (at position ", i, " of indices ", ToString(ind.shape),
                ") is out of range for axis ", axis, " of size ", axis_len, " (data ", ToString(data.shape), ")");
    idx[i] = w;
  }
  Shape out_shape(data.shape.begin(), data.shape.begin() + axis);
  out_shape.insert(out_shape.end(), ind.shape.begin(), ind.shape.end());
  out_shape.insert(out_shape.end(), data.shape.begin() + axis + 1, data.shape.end());
  void* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, out_shape, &y));
  int64_t outer = 1, block = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= data.shape[d];
  for (int64_t d = axis + 1; d < rank; ++d) block *= data.shape[d];
  shape::GatherBlocks(y, data.data, ElemSize(data.type), outer, axis_len, block, idx, n);
  return {};
}

}  // namespace anvil
