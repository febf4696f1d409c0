// Add, Sub, Mul, Div and Pow with numpy broadcasting.
#include <cmath>
#include <limits>
#include <type_traits>

#include "compute/elementwise/binary_loops.h"
#include "compute/elementwise/binary_simd.h"
#include "compute/elementwise/broadcast.h"
#include "compute/elementwise/math.h"
#include "compute/elementwise/unary_simd.h"
#include "compute/parallel.h"
#include "kernels/elementwise/common.h"
#include "kernels/elementwise/half_ops.h"
#include "kernels/elementwise/elementwise.h"

namespace anvil {
namespace {

constexpr ElemType kF32 = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
constexpr ElemType kI32 = ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32;
constexpr ElemType kI64 = ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;

constexpr ElemType kF64 = ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE;

bool IsFloatOrInt(ElemType t) { return t == kF32 || t == kI32 || t == kI64; }
bool IsPowType(ElemType t) { return IsFloatOrInt(t) || t == kF64; }

// Add, Sub, Mul, Div types as ORT's CPU EP registers them: float, double, int32, int64, uint32,
// uint64; from revision 14 also int8, uint8, int16, uint16.
bool IsArithType(int since, ElemType t) {
  switch (t) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16:  // computed in float (half_ops.h)
      return true;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16:
      return since >= 14;
    default:
      return false;
  }
}

const char* OpName(ArithOp op) {
  switch (op) {
    case ArithOp::kAdd: return "Add";
    case ArithOp::kSub: return "Sub";
    case ArithOp::kMul: return "Mul";
    case ArithOp::kDiv: return "Div";
  }
  return "?";
}

using ew_kernels::CheckRanks;
using ew_kernels::PlanAndAllocate;

template <typename T>
Status RunArith(ArithOp op, ComputeContext& ctx, const TensorView& a, const TensorView& b) {
  ew::BroadcastPlan plan;
  T* y = nullptr;
  ANVIL_RETURN_IF_ERROR(PlanAndAllocate(ctx, a, b, plan, &y));
  if (plan.size == 0) return {};
  const T* pa = a.as<T>();
  const T* pb = b.as<T>();
  if constexpr (std::is_same_v<T, float>) {
    ew::FloatArith fop = ew::FloatArith::kAdd;
    switch (op) {
      case ArithOp::kAdd: fop = ew::FloatArith::kAdd; break;
      case ArithOp::kSub: fop = ew::FloatArith::kSub; break;
      case ArithOp::kMul: fop = ew::FloatArith::kMul; break;
      case ArithOp::kDiv: fop = ew::FloatArith::kDiv; break;
    }
    ew::RunBinaryRows(plan, pa, pb, y, op == ArithOp::kDiv ? 4 : 1,
                      [fop](const float* ra, int64_t sa, const float* rb, int64_t sb, float* ro, int64_t n) {
                        if (sa && sb) {
                          ew::ArithVV(fop, ra, rb, ro, n);
                        } else if (sa) {
                          ew::ArithVS(fop, ra, *rb, ro, n);
                        } else if (sb) {
                          ew::ArithSV(fop, *ra, rb, ro, n);
                        } else {
                          ew::ArithVS(fop, ra, *rb, ro, 1);
                          for (int64_t i = 1; i < n; ++i) ro[i] = ro[0];
                        }
                      });
  } else if constexpr (std::is_floating_point_v<T>) {
    switch (op) {
      case ArithOp::kAdd: ew::RunBinary(plan, pa, pb, y, 1, [](T x, T z) { return x + z; }); break;
      case ArithOp::kSub: ew::RunBinary(plan, pa, pb, y, 1, [](T x, T z) { return x - z; }); break;
      case ArithOp::kMul: ew::RunBinary(plan, pa, pb, y, 1, [](T x, T z) { return x * z; }); break;
      case ArithOp::kDiv: ew::RunBinary(plan, pa, pb, y, 4, [](T x, T z) { return x / z; }); break;
    }
  } else {
    switch (op) {
      case ArithOp::kAdd: ew::RunBinary(plan, pa, pb, y, 1, [](T x, T z) { return ew::WrapAdd(x, z); }); break;
      case ArithOp::kSub: ew::RunBinary(plan, pa, pb, y, 1, [](T x, T z) { return ew::WrapSub(x, z); }); break;
      case ArithOp::kMul: ew::RunBinary(plan, pa, pb, y, 1, [](T x, T z) { return ew::WrapMul(x, z); }); break;
      case ArithOp::kDiv: {
        // The output is non-empty, so every divisor element is used: refuse before dividing.
        const int64_t nb = b.size();
        bool zero = false;
        for (int64_t i = 0; i < nb; ++i) zero |= pb[i] == 0;
        ANVIL_CHECK(!zero, "integer division by zero (divisor ", ToString(b.shape), " contains 0)");
        if constexpr (std::is_unsigned_v<T>) {
          ew::RunBinary(plan, pa, pb, y, 16, [](T x, T z) { return static_cast<T>(x / z); });
        } else {
          ew::RunBinary(plan, pa, pb, y, 16, [](T x, T z) { return ew::TruncDiv(x, z); });
        }
        break;
      }
    }
  }
  return {};
}

}  // namespace

Status ArithKernel::CreateFor(ArithOp op, const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_CHECK(node.InputCount() == 2 && node.InputPresent(0) && node.InputPresent(1), OpName(op),
              " needs two inputs");
  const ElemType t = node.InputType(0);
  ANVIL_CHECK(IsArithType(node.SinceVersion(), t), OpName(op), "-", node.SinceVersion(), ": type ", ElemTypeName(t),
              " is not supported");
  ANVIL_CHECK(node.InputType(1) == t, OpName(op), ": input types differ (", ElemTypeName(t), " and ",
              ElemTypeName(node.InputType(1)), ")");
  ANVIL_RETURN_IF_ERROR(CheckRanks(node));
  if (out) *out = std::make_unique<ArithKernel>(op, t);
  return {};
}

Status ArithKernel::Compute(ComputeContext& ctx) const {
  const TensorView a = ctx.Input(0), b = ctx.Input(1);
  if (type_ == ew_kernels::kF16) {
    switch (op_) {
      case ArithOp::kAdd: return ew_kernels::HalfBinary(ctx, a, b, 2, [](float x, float z) { return x + z; });
      case ArithOp::kSub: return ew_kernels::HalfBinary(ctx, a, b, 2, [](float x, float z) { return x - z; });
      case ArithOp::kMul: return ew_kernels::HalfBinary(ctx, a, b, 2, [](float x, float z) { return x * z; });
      case ArithOp::kDiv: return ew_kernels::HalfBinary(ctx, a, b, 4, [](float x, float z) { return x / z; });
    }
  }
  return ew_kernels::DispatchNumeric(type_, [&](auto zero) {
    using T = decltype(zero);
    return RunArith<T>(op_, ctx, a, b);
  });
}

Status AddKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  return CreateFor(ArithOp::kAdd, node, out);
}
Status SubKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  return CreateFor(ArithOp::kSub, node, out);
}
Status MulKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  return CreateFor(ArithOp::kMul, node, out);
}
Status DivKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  return CreateFor(ArithOp::kDiv, node, out);
}

// ---- Pow ----

namespace {

template <typename T, typename E>
Status RunPow(ComputeContext& ctx, const TensorView& a, const TensorView& b) {
  ew::BroadcastPlan plan;
  T* y = nullptr;
  ANVIL_RETURN_IF_ERROR(PlanAndAllocate(ctx, a, b, plan, &y));
  if (plan.size == 0) return {};
  const T* pa = a.as<T>();
  const E* pb = b.as<E>();
  if constexpr (std::is_floating_point_v<T>) {
    ew::RunBinary(plan, pa, pb, y, 32, [](T x, E e) { return static_cast<T>(std::pow(x, static_cast<T>(e))); });
  } else if constexpr (std::is_floating_point_v<E>) {
    ew::RunBinary(plan, pa, pb, y, 32, [](T x, E e) {
      return ew::FloatToInt<T>(std::pow(static_cast<double>(x), static_cast<double>(e)));
    });
  } else {
    ew::RunBinary(plan, pa, pb, y, 16, [](T x, E e) { return ew::IntPow<T, E>(x, e); });
  }
  return {};
}

template <typename T>
Status RunPowBase(ElemType exponent, ComputeContext& ctx, const TensorView& a, const TensorView& b) {
  switch (exponent) {
    case kF32: return RunPow<T, float>(ctx, a, b);
    case kF64: return RunPow<T, double>(ctx, a, b);
    case kI32: return RunPow<T, int32_t>(ctx, a, b);
    case kI64: return RunPow<T, int64_t>(ctx, a, b);
    default: return Fail("unexpected exponent type ", ElemTypeName(exponent));
  }
}

}  // namespace

Status PowKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_CHECK(node.InputCount() == 2 && node.InputPresent(0) && node.InputPresent(1), "Pow needs two inputs");
  const ElemType base = node.InputType(0), exponent = node.InputType(1);
  if (node.SinceVersion() < 12) {
    ANVIL_CHECK((base == kF32 || base == kF64) && exponent == base, "Pow-", node.SinceVersion(),
                " supports float and double only, not ", ElemTypeName(base), "^", ElemTypeName(exponent));
  } else {
    ANVIL_CHECK(IsPowType(base) && IsPowType(exponent), "Pow: ", ElemTypeName(base), "^", ElemTypeName(exponent),
                " is not supported (float, double, int32, int64)");
  }
  ANVIL_RETURN_IF_ERROR(CheckRanks(node));
  Fast fast = Fast::kNone;
  if (base == kF32) {
    if (auto c = node.ConstantInput(1); c && c->size() == 1 && c->data != nullptr) {
      double e = 0;
      switch (c->type) {
        case kF32: e = *c->as<float>(); break;
        case kI32: e = *c->as<int32_t>(); break;
        case kI64: e = static_cast<double>(*c->as<int64_t>()); break;
        default: e = std::nan("");
      }
      if (e == 1.0) fast = Fast::kOne;
      else if (e == 2.0) fast = Fast::kSquare;
      else if (e == 3.0) fast = Fast::kCube;
      else if (e == 0.5) fast = Fast::kSqrt;
    }
  }
  if (out) *out = std::make_unique<PowKernel>(base, exponent, fast);
  return {};
}

Status PowKernel::Compute(ComputeContext& ctx) const {
  const TensorView a = ctx.Input(0), b = ctx.Input(1);
  if (fast_ != Fast::kNone && b.size() == 1 && base_ == kF32) {
    // The exponent is one element, so the output has the base's elements in the base's order
    // (only the rank may grow).
    ew::BroadcastPlan plan;
    float* y = nullptr;
    ANVIL_RETURN_IF_ERROR(PlanAndAllocate(ctx, a, b, plan, &y));
    const float* x = a.as<float>();
    const int64_t n = plan.size;
    switch (fast_) {
      case Fast::kOne: ew::RunUnary(x, y, n, 1, [](float v) { return v; }); break;
      case Fast::kSquare: ew::RunUnary(x, y, n, 1, [](float v) { return v * v; }); break;
      case Fast::kCube: ew::RunUnary(x, y, n, 2, [](float v) { return v * v * v; }); break;
      case Fast::kSqrt: ParallelFor(n, 4, [&](int64_t b, int64_t e) { ew::PowHalfArray(x + b, y + b, e - b); }); break;
      case Fast::kNone: break;
    }
    return {};
  }
  switch (base_) {
    case kF32: return RunPowBase<float>(exponent_, ctx, a, b);
    case kF64: return RunPowBase<double>(exponent_, ctx, a, b);
    case kI32: return RunPowBase<int32_t>(exponent_, ctx, a, b);
    case kI64: return RunPowBase<int64_t>(exponent_, ctx, a, b);
    default: return Fail("unexpected base type ", ElemTypeName(base_));
  }
}

}  // namespace anvil
