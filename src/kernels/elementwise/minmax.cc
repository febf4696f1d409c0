// Max and Min over 1..N inputs with numpy broadcasting. The output has the broadcast shape of all
// inputs; the inputs are folded into it pairwise, in place: the first two through the binary
// broadcast loops when they already span the output (always so for two inputs), else the first is
// broadcast-copied in; every further input is then accumulated with out = op(out, input). No
// temporary, no heap allocation.
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "compute/elementwise/binary_loops.h"
#include "compute/elementwise/broadcast.h"
#include "compute/parallel.h"
#include "kernels/elementwise/common.h"
#include "kernels/elementwise/elementwise.h"

namespace anvil {
namespace {

constexpr ElemType kF32 = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
constexpr ElemType kI32 = ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32;
constexpr ElemType kI64 = ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;

// NaN propagates from either side (as numpy's maximum / minimum); branch-free, so it vectorises.
template <typename T>
inline bool IsNan(T v) {
  if constexpr (std::is_floating_point_v<T>) {
    return v != v;
  } else {
    return false;
  }
}
template <typename T>
struct MaxOf {
  T operator()(T a, T b) const { return ((a > b) | IsNan(a)) ? a : b; }
};
template <typename T>
struct MinOf {
  T operator()(T a, T b) const { return ((a < b) | IsNan(a)) ? a : b; }
};

Status PlanInto(const Shape& out_shape, const Shape& in_shape, ew::BroadcastPlan& plan) {
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

template <typename T, typename Op>
Status Fold(const char* name, ComputeContext& ctx) {
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
  if (size == 0) return {};

  const Op op{};
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

template <typename T>
Status FoldFor(bool is_max, ComputeContext& ctx) {
  return is_max ? Fold<T, MaxOf<T>>("Max", ctx) : Fold<T, MinOf<T>>("Min", ctx);
}

}  // namespace

Status MinMaxKernel::CreateFor(bool is_max, const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  const char* name = is_max ? "Max" : "Min";
  const size_t n = node.InputCount();
  ANVIL_CHECK(n >= 1, name, " has no input");
  for (size_t i = 0; i < n; ++i) ANVIL_CHECK(node.InputPresent(i), name, ": input ", i, " is missing");
  const ElemType t = node.InputType(0);
  const int since = node.SinceVersion();
  const bool ok = t == kF32 || (since >= 12 && (t == kI32 || t == kI64));
  ANVIL_CHECK(ok, name, "-", since, ": type ", ElemTypeName(t), " is not supported");
  for (size_t i = 1; i < n; ++i) {
    ANVIL_CHECK(node.InputType(i) == t, name, ": input ", i, " has type ", ElemTypeName(node.InputType(i)),
                ", input 0 has ", ElemTypeName(t));
  }
  ANVIL_RETURN_IF_ERROR(ew_kernels::CheckRanks(node));
  if (out) *out = std::make_unique<MinMaxKernel>(is_max, t);
  return {};
}

Status MinMaxKernel::Compute(ComputeContext& ctx) const {
  switch (type_) {
    case kF32: return FoldFor<float>(is_max_, ctx);
    case kI32: return FoldFor<int32_t>(is_max_, ctx);
    case kI64: return FoldFor<int64_t>(is_max_, ctx);
    default: return Fail("unexpected type ", ElemTypeName(type_));
  }
}

Status MaxKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  return CreateFor(true, node, out);
}
Status MinKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  return CreateFor(false, node, out);
}

}  // namespace anvil
