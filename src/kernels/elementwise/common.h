// Helpers the element-wise kernels share: broadcast planning with error messages naming the
// shapes, and the claim-time rank check.
#pragma once
#include <cstring>

#include "compute/elementwise/binary_loops.h"
#include "compute/elementwise/broadcast.h"
#include "compute/parallel.h"
#include "kernels/kernel.h"

namespace anvil::ew_kernels {

// True for the integer element types (signed and unsigned, 8 to 64 bits).
inline bool IsIntType(ElemType t) {
  switch (t) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64:
      return true;
    default:
      return false;
  }
}
inline bool IsNumericType(ElemType t) {
  return t == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT || t == ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE || IsIntType(t);
}

// Calls f(T{}) for the numeric element type t (float, double, the integers).
template <typename F>
Status DispatchNumeric(ElemType t, F&& f) {
  switch (t) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT: return f(float{});
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE: return f(double{});
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8: return f(int8_t{});
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16: return f(int16_t{});
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32: return f(int32_t{});
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64: return f(int64_t{});
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8: return f(uint8_t{});
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16: return f(uint16_t{});
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32: return f(uint32_t{});
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64: return f(uint64_t{});
    default: return Fail("unexpected type ", ElemTypeName(t));
  }
}

// Rejects statically known ranks that a broadcast plan cannot hold (every input of the node).
inline Status CheckRanks(const NodeInfo& node) {
  for (size_t i = 0; i < node.InputCount(); ++i) {
    if (!node.InputPresent(i)) continue;
    auto s = node.InputShape(i);
    ANVIL_CHECK(!s || s->size() <= static_cast<size_t>(ew::kMaxPlanDims), "input ", i, " has rank ", s->size(),
                "; at most ", ew::kMaxPlanDims, " is supported");
  }
  return {};
}

// Plans the broadcast of a and b and allocates output 0 with the broadcast shape.
template <typename O>
Status PlanAndAllocate(ComputeContext& ctx, const TensorView& a, const TensorView& b, ew::BroadcastPlan& plan,
                       O** out) {
  Shape out_shape;
  switch (ew::MakeBroadcastPlan(a.shape, b.shape, out_shape, plan)) {
    case ew::PlanResult::kOk:
      break;
    case ew::PlanResult::kIncompatible:
      return Fail("input shapes ", ToString(a.shape), " and ", ToString(b.shape), " cannot be broadcast together");
    case ew::PlanResult::kTooManyDims:
      return Fail("broadcasting ", ToString(a.shape), " with ", ToString(b.shape), " needs more than ",
                  ew::kMaxPlanDims, " dims");
  }
  return ctx.Output(0, out_shape, out);
}

inline Status PlanInto(const Shape& out_shape, const Shape& in_shape, ew::BroadcastPlan& plan) {
  Shape check;
  switch (ew::MakeBroadcastPlan(out_shape, in_shape, check, plan)) {
    case ew::PlanResult::kOk: return {};
    case ew::PlanResult::kIncompatible: break;
    case ew::PlanResult::kTooManyDims:
      return Fail("broadcasting ", ToString(in_shape), " to ", ToString(out_shape), " needs more than ",
                  ew::kMaxPlanDims, " dims");
  }
  return Fail("input shape ", ToString(in_shape), " cannot be broadcast to ", ToString(out_shape));
}

// Folds inputs 0..N-1 into output 0 (their broadcast shape) with op, pairwise and in place: the
// first two through the binary broadcast loops when they already span the output (always so for
// two inputs), else the first is broadcast-copied in; every further input is then accumulated with
// out = op(out, input). No temporary, no heap allocation. Used by Max, Min, Sum and Mean.
template <typename T, typename Op>
Status FoldInputs(const char* name, ComputeContext& ctx, Op op, T** out = nullptr) {
  const size_t n = ctx.InputCount();
  ANVIL_CHECK(n >= 1, name, " has no input");
  // The inputs' views, the first few kept (the usual case), the others fetched again when used.
  constexpr size_t kKept = 8;
  TensorView kept[kKept];
  for (size_t i = 0; i < n && i < kKept; ++i) kept[i] = ctx.Input(i);
  auto input = [&](size_t i) { return i < kKept ? kept[i] : ctx.Input(i); };

  Shape out_shape = kept[0].shape;
  for (size_t i = 1; i < n; ++i) {
    const TensorView v = input(i);
    Shape next;
    ANVIL_CHECK(BroadcastShapes(out_shape, v.shape, next), name, ": input ", i, " has shape ", ToString(v.shape),
                ", which cannot be broadcast with ", ToString(out_shape), " (inputs 0..", i - 1, ")");
    out_shape = std::move(next);
  }
  T* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, out_shape, &y));
  const int64_t size = NumElements(out_shape);
  if (out) *out = y;
  if (size == 0) return {};

  const TensorView& a = kept[0];
  size_t next_input = 1;
  if (n == 1) {
    const T* src = a.as<T>();
    ParallelFor(size, 1, [&](int64_t b, int64_t e) { std::memcpy(y + b, src + b, (e - b) * sizeof(T)); });
    return {};
  }
  const TensorView& b = kept[1];
  Shape ab_shape;
  ew::BroadcastPlan plan;
  if (BroadcastShapes(a.shape, b.shape, ab_shape) && ab_shape == out_shape) {
    // The first two already span the output: one pass through the binary loops.
    ANVIL_CHECK(ew::MakeBroadcastPlan(a.shape, b.shape, ab_shape, plan) == ew::PlanResult::kOk, name,
                ": broadcasting ", ToString(a.shape), " with ", ToString(b.shape), " needs more than ",
                ew::kMaxPlanDims, " dims");
    ew::RunBinary(plan, a.as<T>(), b.as<T>(), y, 1, op);
    next_input = 2;
  } else {
    ANVIL_RETURN_IF_ERROR(PlanInto(out_shape, a.shape, plan));
    ew::RunBroadcastCopy(plan, a.as<T>(), y);
  }
  for (size_t i = next_input; i < n; ++i) {
    const TensorView v = input(i);
    ANVIL_RETURN_IF_ERROR(PlanInto(out_shape, v.shape, plan));
    ew::RunAccumulate(plan, v.as<T>(), y, 1, op);
  }
  return {};
}

}  // namespace anvil::ew_kernels
