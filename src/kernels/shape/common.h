// Helpers shared by the shape kernels (internal to src/kernels/shape/).
#pragma once
#include <cstring>

#include "compute/shape/copy.h"
#include "kernels/kernel.h"

namespace anvil::shape_detail {

// Reads a 1-D (or scalar) int32/int64 tensor into `out`. `what` names it in errors.
template <typename Ints>  // Shape or std::vector<int64_t>
Status ReadInts(const TensorView& t, const char* what, Ints& out) {
  ANVIL_CHECK(t.shape.size() <= 1, what, " must be 1-D, got shape ", ToString(t.shape));
  const int64_t n = t.size();
  out.resize(static_cast<size_t>(n));
  if (t.type == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64) {
    for (int64_t i = 0; i < n; ++i) out[i] = t.as<int64_t>()[i];
  } else if (t.type == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32) {
    for (int64_t i = 0; i < n; ++i) out[i] = t.as<int32_t>()[i];
  } else {
    return Fail(what, " must be int32 or int64, got ", ElemTypeName(t.type));
  }
  return {};
}

// Element types the data-movement kernels can copy (a known, non-zero element size).
inline Status CheckCopyable(const NodeInfo& node, size_t input) {
  const ElemType t = node.InputType(input);
  ANVIL_CHECK(ElemSize(t) > 0, "input ", input, " has type ", ElemTypeName(t), ", which Anvil does not copy");
  return {};
}

// Rank must not exceed the strided copies' limit.
inline Status CheckRank(size_t rank) {
  ANVIL_CHECK(rank <= static_cast<size_t>(shape::kMaxRank), "rank ", rank, " exceeds Anvil's limit of ",
              shape::kMaxRank);
  return {};
}

// Output 0 gets input 0's bytes with a new shape (Reshape, Squeeze, Unsqueeze, Flatten, Identity).
inline Status CopyWithShape(ComputeContext& ctx, const TensorView& x, const Shape& shape) {
  ANVIL_CHECK(NumElements(shape) == x.size(), "output shape ", ToString(shape), " has ", NumElements(shape),
              " elements but the input ", ToString(x.shape), " has ", x.size());
  void* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, shape, &y));
  shape::ParallelCopy(y, x.data, static_cast<size_t>(x.size()) * ElemSize(x.type));
  return {};
}

}  // namespace anvil::shape_detail
