// Two-input ops with numpy broadcasting (PRelu, Mod, BitShift, BitwiseAnd/Or/Xor, Xor) and the
// variadic Sum and Mean.
#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>

#include "compute/elementwise/binary_loops.h"
#include "compute/elementwise/broadcast.h"
#include "compute/elementwise/math.h"
#include "compute/parallel.h"
#include "kernels/elementwise/common.h"
#include "kernels/elementwise/half_ops.h"
#include "kernels/elementwise/elementwise.h"

namespace anvil {
namespace {

using Kind = MathBinaryKernel::Kind;
constexpr ElemType kF32 = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
constexpr ElemType kF64 = ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE;
constexpr ElemType kI32 = ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32;
constexpr ElemType kI64 = ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;
constexpr ElemType kB8 = ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL;

using ew_kernels::IsIntType;

bool IsUnsignedShiftType(ElemType t) {
  return t == ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8 || t == ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32 ||
         t == ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64;
}

// DispatchNumeric plus bool.
template <typename F>
Status DispatchAll(ElemType t, F&& f) {
  if (t == ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL) return f(bool{});
  return ew_kernels::DispatchNumeric(t, std::forward<F>(f));
}

template <typename T, typename Op>
Status Binary(ComputeContext& ctx, const TensorView& a, const TensorView& b, int64_t cost, Op op) {
  ew::BroadcastPlan plan;
  T* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ew_kernels::PlanAndAllocate(ctx, a, b, plan, &y));
  if (plan.size == 0) return {};
  ew::RunBinary(plan, a.as<T>(), b.as<T>(), y, cost, op);
  return {};
}

// Integer remainder with the sign of the divisor (Python's %); b != 0. MIN % -1 is 0.
template <typename T>
inline T FloorMod(T a, T b) {
  if constexpr (std::is_unsigned_v<T>) {
    return static_cast<T>(a % b);
  } else {
    if (b == T(-1)) return T(0);
    const T r = static_cast<T>(a % b);
    return (r != 0 && ((r < 0) != (b < 0))) ? static_cast<T>(r + b) : r;
  }
}
template <typename T>
inline T TruncMod(T a, T b) {
  if constexpr (std::is_unsigned_v<T>) {
    return static_cast<T>(a % b);
  } else {
    return b == T(-1) ? T(0) : static_cast<T>(a % b);
  }
}

// Integer Mod by zero is refused (when the output is non-empty, every divisor element is used).
template <typename T>
Status CheckDivisor(const TensorView& a, const TensorView& b) {
  Shape out;
  if (!BroadcastShapes(a.shape, b.shape, out) || NumElements(out) == 0) return {};  // (shape errors come later)
  const T* pb = b.as<T>();
  for (int64_t i = 0, n = b.size(); i < n; ++i) ANVIL_CHECK(pb[i] != 0, "Mod: division by zero");
  return {};
}

}  // namespace

Status MathBinaryKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  const std::string op = node.OpType();
  const int since = node.SinceVersion();
  ANVIL_CHECK(node.InputCount() == 2 && node.InputPresent(0) && node.InputPresent(1), op, " needs two inputs");
  const ElemType t = node.InputType(0);
  ANVIL_CHECK(node.InputType(1) == t, op, ": input 1 has type ", ElemTypeName(node.InputType(1)), ", input 0 has ",
              ElemTypeName(t));
  auto k = std::make_unique<MathBinaryKernel>();
  k->type = t;
  if (op == "PRelu") {
    ANVIL_CHECK(t == kF32 || (since >= 16 && (t == kF64 || t == kI32 || t == kI64)), "PRelu-", since, ": type ",
                ElemTypeName(t), " is not supported");
    k->kind = Kind::kPRelu;
  } else if (op == "Mod") {
    const bool fmod = node.Int("fmod", 0) != 0;
    const bool is_float = t == kF32 || t == kF64 || t == ew_kernels::kF16;
    ANVIL_CHECK(is_float || IsIntType(t), "Mod: type ", ElemTypeName(t), " is not supported");
    ANVIL_CHECK(!is_float || fmod, "Mod: fmod must be 1 for floating-point inputs");
    k->kind = fmod ? Kind::kFmod : Kind::kModInt;
  } else if (op == "BitShift") {
    ANVIL_CHECK(IsUnsignedShiftType(t), "BitShift: type ", ElemTypeName(t), " is not supported (uint8/32/64)");
    const std::string dir = node.String("direction", "");
    ANVIL_CHECK(dir == "LEFT" || dir == "RIGHT", "BitShift: direction '", dir, "' is not LEFT or RIGHT");
    k->kind = dir == "LEFT" ? Kind::kShiftLeft : Kind::kShiftRight;
  } else if (op == "BitwiseAnd" || op == "BitwiseOr" || op == "BitwiseXor") {
    ANVIL_CHECK(IsIntType(t), op, ": type ", ElemTypeName(t), " is not supported");
    k->kind = op == "BitwiseAnd" ? Kind::kAnd : op == "BitwiseOr" ? Kind::kOr : Kind::kXor;
  } else if (op == "Xor") {
    ANVIL_CHECK(t == kB8, "Xor: only bool is supported");
    k->kind = Kind::kBoolXor;
  } else {
    return Fail("no binary math function for ", op);
  }
  ANVIL_RETURN_IF_ERROR(ew_kernels::CheckRanks(node));
  if (out) *out = std::move(k);
  return {};
}

Status MathBinaryKernel::Compute(ComputeContext& ctx) const {
  const TensorView a = ctx.Input(0), b = ctx.Input(1);
  if (kind == Kind::kBoolXor) {
    return Binary<uint8_t>(ctx, a, b, 1,
                           [](uint8_t x, uint8_t z) { return static_cast<uint8_t>((x != 0) != (z != 0)); });
  }
  if (type == ew_kernels::kF16 && kind == Kind::kFmod) {
    return ew_kernels::HalfBinary(ctx, a, b, 10, [](float x, float z) { return std::fmod(x, z); });
  }
  return DispatchAll(type, [&](auto zero) -> Status {
    using T = decltype(zero);
    if constexpr (std::is_same_v<T, bool>) {
      return Fail("unexpected type bool");
    } else {
      switch (kind) {
        case Kind::kPRelu: {
          Shape out_shape;
          ANVIL_CHECK(BroadcastShapes(a.shape, b.shape, out_shape) && out_shape == a.shape, "PRelu: slope shape ",
                      ToString(b.shape), " does not broadcast to the input's ", ToString(a.shape));
          if constexpr (std::is_integral_v<T>) {  // wraps (two's complement) instead of overflowing
            return Binary<T>(ctx, a, b, 1, [](T x, T s) { return x < T(0) ? ew::WrapMul(s, x) : x; });
          } else {
            return Binary<T>(ctx, a, b, 1, [](T x, T s) { return x < T(0) ? static_cast<T>(s * x) : x; });
          }
        }
        case Kind::kFmod:
          if constexpr (std::is_floating_point_v<T>) {
            return Binary<T>(ctx, a, b, 10, [](T x, T z) { return std::fmod(x, z); });
          } else {
            ANVIL_RETURN_IF_ERROR(CheckDivisor<T>(a, b));
            return Binary<T>(ctx, a, b, 4, [](T x, T z) { return TruncMod(x, z); });
          }
        case Kind::kModInt:
          if constexpr (std::is_integral_v<T>) {
            ANVIL_RETURN_IF_ERROR(CheckDivisor<T>(a, b));
            return Binary<T>(ctx, a, b, 4, [](T x, T z) { return FloorMod(x, z); });
          }
          break;
        case Kind::kShiftLeft:
        case Kind::kShiftRight:
          if constexpr (std::is_unsigned_v<T>) {
            constexpr T kBits = static_cast<T>(sizeof(T) * 8);
            // A shift by the width or more leaves no bits (0), rather than C++'s undefined result.
            if (kind == Kind::kShiftLeft) {
              return Binary<T>(ctx, a, b, 1, [](T x, T s) { return s >= kBits ? T(0) : static_cast<T>(x << s); });
            }
            return Binary<T>(ctx, a, b, 1, [](T x, T s) { return s >= kBits ? T(0) : static_cast<T>(x >> s); });
          }
          break;
        case Kind::kAnd:
        case Kind::kOr:
        case Kind::kXor:
          if constexpr (std::is_integral_v<T>) {
            if (kind == Kind::kAnd) return Binary<T>(ctx, a, b, 1, [](T x, T z) { return static_cast<T>(x & z); });
            if (kind == Kind::kOr) return Binary<T>(ctx, a, b, 1, [](T x, T z) { return static_cast<T>(x | z); });
            return Binary<T>(ctx, a, b, 1, [](T x, T z) { return static_cast<T>(x ^ z); });
          }
          break;
        default:
          break;
      }
      return Fail("unexpected type ", ElemTypeName(type));
    }
  });
}

// ---- Sum, Mean ----

Status SumMeanKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  const std::string op = node.OpType();
  const size_t n = node.InputCount();
  ANVIL_CHECK(n >= 1, op, " has no input");
  for (size_t i = 0; i < n; ++i) ANVIL_CHECK(node.InputPresent(i), op, ": input ", i, " is missing");
  const ElemType t = node.InputType(0);
  const bool mean = op == "Mean";
  ANVIL_CHECK(t == kF32 || (!mean && t == kF64), op, ": type ", ElemTypeName(t), " is not supported");
  for (size_t i = 1; i < n; ++i) {
    ANVIL_CHECK(node.InputType(i) == t, op, ": input ", i, " has type ", ElemTypeName(node.InputType(i)),
                ", input 0 has ", ElemTypeName(t));
  }
  ANVIL_RETURN_IF_ERROR(ew_kernels::CheckRanks(node));
  if (out) {
    auto k = std::make_unique<SumMeanKernel>();
    k->mean = mean;
    k->type = t;
    *out = std::move(k);
  }
  return {};
}

namespace {
template <typename T>
Status SumOf(ComputeContext& ctx, bool mean) {
  T* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ew_kernels::FoldInputs<T>(mean ? "Mean" : "Sum", ctx, [](T a, T b) { return a + b; }, &y));
  if (mean && ctx.InputCount() > 1 && y != nullptr) {
    // The output's size: recomputed from the inputs' broadcast shape.
    Shape shape = ctx.Input(0).shape;
    for (size_t i = 1; i < ctx.InputCount(); ++i) {
      Shape next;
      BroadcastShapes(shape, ctx.Input(i).shape, next);
      shape = std::move(next);
    }
    const T count = static_cast<T>(ctx.InputCount());
    ParallelFor(NumElements(shape), 1, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) y[i] /= count;
    });
  }
  return {};
}
}  // namespace

Status SumMeanKernel::Compute(ComputeContext& ctx) const {
  if (type == kF64) return SumOf<double>(ctx, mean);
  return SumOf<float>(ctx, mean);
}

}  // namespace anvil
