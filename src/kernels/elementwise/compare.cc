// Equal, Greater, GreaterOrEqual, Less, LessOrEqual, And, Or: two inputs with numpy broadcasting,
// bool output. Bool tensors are bytes holding 0 or 1; they are read and written as uint8, and any
// non-zero input byte counts as true.
#include <cstdint>

#include "compute/elementwise/binary_loops.h"
#include "compute/elementwise/broadcast.h"
#include "kernels/elementwise/common.h"
#include "kernels/elementwise/half_ops.h"
#include "kernels/elementwise/elementwise.h"

namespace anvil {
namespace {

constexpr ElemType kF32 = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
constexpr ElemType kI32 = ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32;
constexpr ElemType kI64 = ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;
constexpr ElemType kB8 = ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL;

const char* OpName(CompareOp op) {
  switch (op) {
    case CompareOp::kEqual: return "Equal";
    case CompareOp::kGreater: return "Greater";
    case CompareOp::kGreaterOrEqual: return "GreaterOrEqual";
    case CompareOp::kLess: return "Less";
    case CompareOp::kLessOrEqual: return "LessOrEqual";
    case CompareOp::kAnd: return "And";
    case CompareOp::kOr: return "Or";
  }
  return "?";
}

// The input types each op supports at schema revision `since`, as ORT's CPU EP registers them.
bool Supported(CompareOp op, int since, ElemType t) {
  const bool numeric = ew_kernels::IsNumericType(t);
  switch (op) {
    case CompareOp::kEqual:
      return t == kB8 || t == kI32 || t == kI64 || (since >= 11 && numeric) || (since >= 13 && t == ew_kernels::kF16);
    case CompareOp::kGreater:
    case CompareOp::kLess:
      return since >= 9 ? numeric : (t == kF32 || t == ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE);
    case CompareOp::kGreaterOrEqual:
    case CompareOp::kLessOrEqual:
      return numeric;
    case CompareOp::kAnd:
    case CompareOp::kOr:
      return t == kB8;
  }
  return false;
}

template <typename T, typename Op>
Status Run(ComputeContext& ctx, const TensorView& a, const TensorView& b, Op op) {
  ew::BroadcastPlan plan;
  uint8_t* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ew_kernels::PlanAndAllocate(ctx, a, b, plan, &y));
  if (plan.size == 0) return {};
  ew::RunBinary(plan, a.as<T>(), b.as<T>(), y, 1, [op](T x, T z) { return static_cast<uint8_t>(op(x, z)); });
  return {};
}

template <typename T>
Status Ordered(CompareOp op, ComputeContext& ctx, const TensorView& a, const TensorView& b) {
  switch (op) {
    case CompareOp::kEqual: return Run<T>(ctx, a, b, [](T x, T z) { return x == z; });
    case CompareOp::kGreater: return Run<T>(ctx, a, b, [](T x, T z) { return x > z; });
    case CompareOp::kGreaterOrEqual: return Run<T>(ctx, a, b, [](T x, T z) { return x >= z; });
    case CompareOp::kLess: return Run<T>(ctx, a, b, [](T x, T z) { return x < z; });
    case CompareOp::kLessOrEqual: return Run<T>(ctx, a, b, [](T x, T z) { return x <= z; });
    default: return Fail(OpName(op), ": unexpected type");
  }
}

Status Logical(CompareOp op, ComputeContext& ctx, const TensorView& a, const TensorView& b) {
  switch (op) {
    case CompareOp::kEqual: return Run<uint8_t>(ctx, a, b, [](uint8_t x, uint8_t z) { return (x != 0) == (z != 0); });
    case CompareOp::kAnd: return Run<uint8_t>(ctx, a, b, [](uint8_t x, uint8_t z) { return (x != 0) & (z != 0); });
    case CompareOp::kOr: return Run<uint8_t>(ctx, a, b, [](uint8_t x, uint8_t z) { return (x != 0) | (z != 0); });
    default: return Fail(OpName(op), ": bool inputs are not supported");
  }
}

}  // namespace

Status CompareKernel::CreateFor(CompareOp op, const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_CHECK(node.InputCount() == 2 && node.InputPresent(0) && node.InputPresent(1), OpName(op),
              " needs two inputs");
  const ElemType t = node.InputType(0);
  ANVIL_CHECK(node.InputType(1) == t, OpName(op), ": input types differ (", ElemTypeName(t), " and ",
              ElemTypeName(node.InputType(1)), ")");
  ANVIL_CHECK(Supported(op, node.SinceVersion(), t), OpName(op), "-", node.SinceVersion(), ": type ",
              ElemTypeName(t), " is not supported");
  ANVIL_RETURN_IF_ERROR(ew_kernels::CheckRanks(node));
  if (out) *out = std::make_unique<CompareKernel>(op, t);
  return {};
}

Status CompareKernel::Compute(ComputeContext& ctx) const {
  const TensorView a = ctx.Input(0), b = ctx.Input(1);
  if (type_ == kB8) return Logical(op_, ctx, a, b);
  if (type_ == ew_kernels::kF16 && op_ == CompareOp::kEqual) {  // as floats: NaN != NaN, -0 == +0
    return Run<uint16_t>(ctx, a, b, [](uint16_t x, uint16_t z) { return ew::HalfToFloat(x) == ew::HalfToFloat(z); });
  }
  return ew_kernels::DispatchNumeric(type_, [&](auto zero) {
    using T = decltype(zero);
    return Ordered<T>(op_, ctx, a, b);
  });
}

Status EqualKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  return CreateFor(CompareOp::kEqual, node, out);
}
Status GreaterKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  return CreateFor(CompareOp::kGreater, node, out);
}
Status GreaterOrEqualKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  return CreateFor(CompareOp::kGreaterOrEqual, node, out);
}
Status LessKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  return CreateFor(CompareOp::kLess, node, out);
}
Status LessOrEqualKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  return CreateFor(CompareOp::kLessOrEqual, node, out);
}
Status AndKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  return CreateFor(CompareOp::kAnd, node, out);
}
Status OrKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  return CreateFor(CompareOp::kOr, node, out);
}

}  // namespace anvil
