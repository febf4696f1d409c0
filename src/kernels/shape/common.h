// Helpers shared by the shape kernels (internal to src/kernels/shape/).
#pragma once
#include <algorithm>
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
// These kernels declare kOutputViewsInput: where ORT's planner gives the output the input's buffer
// there is nothing to copy (the profile's impl then says anvil:view).
inline Status CopyWithShape(ComputeContext& ctx, const TensorView& x, const Shape& shape) {
  ANVIL_CHECK(NumElements(shape) == x.size(), "output shape ", ToString(shape), " has ", NumElements(shape),
              " elements but the input ", ToString(x.shape), " has ", x.size());
  void* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, shape, &y));
  static const std::string kView = "anvil:view", kCopy = "anvil:copy";
  if (y == x.data) {
    ctx.NoteImpl(kView, 1);
    return {};
  }
  ctx.NoteImpl(kCopy, 1);
  shape::ParallelCopy(y, x.data, static_cast<size_t>(x.size()) * ElemSize(x.type));
  return {};
}

// Calls fn(T{}) for the arithmetic element types (not bool, not the 16-bit floats).
template <typename Fn>
Status VisitNumeric(ElemType t, Fn&& fn) {
  switch (t) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT: return fn(float{});
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE: return fn(double{});
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8: return fn(int8_t{});
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16: return fn(int16_t{});
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32: return fn(int32_t{});
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64: return fn(int64_t{});
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8: return fn(uint8_t{});
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16: return fn(uint16_t{});
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32: return fn(uint32_t{});
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64: return fn(uint64_t{});
    default: return Fail("type ", ElemTypeName(t), " is not supported here");
  }
}
inline bool IsNumeric(ElemType t) {
  return VisitNumeric(t, [](auto) { return Status{}; }).ok();
}

// Reads a scalar (or one-element tensor) of an integer or float type as int64.
inline Status ReadScalarInt(const TensorView& t, const char* what, int64_t& out) {
  ANVIL_CHECK(t.data != nullptr && t.size() == 1, what, " must have one element, got shape ", ToString(t.shape));
  if (t.type == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT) {
    out = static_cast<int64_t>(t.as<float>()[0]);
    return {};
  }
  return VisitNumeric(t.type, [&](auto tag) {
    out = static_cast<int64_t>(t.as<decltype(tag)>()[0]);
    return Status{};
  });
}

// Row-major strides (in elements) of a shape.
inline Shape Strides(const Shape& s) {
  Shape st(s.size());
  int64_t v = 1;
  for (size_t d = s.size(); d-- > 0;) st[d] = v, v *= s[d];
  return st;
}

// Input i's indices as int64 (int32 or int64 tensor), each normalised into [0, dim) (negative
// counts from the end); an index outside [-dim, dim) is an error naming it.
inline Status ReadIndices(const TensorView& t, const char* what, int64_t dim, int64_t* out) {
  const int64_t n = t.size();
  for (int64_t i = 0; i < n; ++i) {
    int64_t v = 0;
    if (t.type == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64) {
      v = t.as<int64_t>()[i];
    } else if (t.type == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32) {
      v = t.as<int32_t>()[i];
    } else {
      return Fail(what, " must be int32 or int64, got ", ElemTypeName(t.type));
    }
    const int64_t w = v < 0 ? v + dim : v;
    ANVIL_CHECK(w >= 0 && w < dim, what, " value ", v, " (at position ", i, ") is out of range for a dimension of size ",
                dim);
    out[i] = w;
  }
  return {};
}

inline bool IsIndexType(ElemType t) {
  return t == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32 || t == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;
}

}  // namespace anvil::shape_detail
