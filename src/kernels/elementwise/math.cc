// MathKernel: the one-input math ops, chosen by op type from a table, plus Sign, Shrink, IsNaN,
// IsInf and BitwiseNot. Types as ONNX Runtime's CPU provider registers them.
#include <cstring>
#include <string>
#include <type_traits>

#include "compute/elementwise/math_ops.h"
#include "compute/parallel.h"
#include "kernels/elementwise/common.h"
#include "kernels/elementwise/half_ops.h"
#include "kernels/elementwise/elementwise.h"

namespace anvil {
namespace {

constexpr ElemType kF32 = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
constexpr ElemType kF64 = ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE;

struct MathEntry {
  const char* op;
  ew::MathOp math;
  bool with_double;  // double as well as float
};

constexpr MathEntry kMathTable[] = {
    {"Reciprocal", ew::MathOp::kReciprocal, true},
    {"Tanh", ew::MathOp::kTanh, true},
    {"Erf", ew::MathOp::kErf, false},
    {"Floor", ew::MathOp::kFloor, true},
    {"Ceil", ew::MathOp::kCeil, true},
    {"Round", ew::MathOp::kRound, true},
    {"Sin", ew::MathOp::kSin, true},
    {"Cos", ew::MathOp::kCos, true},
    {"Tan", ew::MathOp::kTan, false},
    {"Asin", ew::MathOp::kAsin, false},
    {"Acos", ew::MathOp::kAcos, false},
    {"Atan", ew::MathOp::kAtan, false},
    {"Sinh", ew::MathOp::kSinh, false},
    {"Cosh", ew::MathOp::kCosh, false},
    {"Asinh", ew::MathOp::kAsinh, false},
    {"Acosh", ew::MathOp::kAcosh, false},
    {"Atanh", ew::MathOp::kAtanh, false},
    {"Softplus", ew::MathOp::kSoftplus, false},
    {"Softsign", ew::MathOp::kSoftsign, false},
    {"Elu", ew::MathOp::kElu, false},
    {"Selu", ew::MathOp::kSelu, false},
    {"Celu", ew::MathOp::kCelu, false},
    {"ThresholdedRelu", ew::MathOp::kThresholdedRelu, false},
    {"Gelu", ew::MathOp::kGeluErf, false},
    {"Mish", ew::MathOp::kMish, true},  // double only in revision 18 (below)
};

using ew_kernels::DispatchNumeric;
using ew_kernels::IsNumericType;

}  // namespace

Status MathKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  const std::string op = node.OpType();
  const int since = node.SinceVersion();
  ANVIL_CHECK(node.InputPresent(0), op, " has no input");
  const ElemType t = node.InputType(0);
  auto k = std::make_unique<MathKernel>();
  k->type = t;
  if (op == "Sign" || op == "Shrink") {
    ANVIL_CHECK(IsNumericType(t), op, ": type ", ElemTypeName(t), " is not supported");
    k->kind = op == "Sign" ? MathKernel::Kind::kSign : MathKernel::Kind::kShrink;
    k->lambd = node.Float("lambd", 0.5f);
    k->bias = node.Float("bias", 0.0f);
  } else if (op == "IsNaN" || op == "IsInf") {
    ANVIL_CHECK(t == kF32 || t == kF64 || (t == ew_kernels::kF16 && (op == "IsNaN" || node.SinceVersion() >= 20)), op,
                ": type ", ElemTypeName(t), " is not supported (float, double; float16)");
    k->kind = op == "IsNaN" ? MathKernel::Kind::kIsNaN : MathKernel::Kind::kIsInf;
    k->negative = node.Int("detect_negative", 1) != 0;
    k->positive = node.Int("detect_positive", 1) != 0;
  } else if (op == "BitwiseNot") {
    ANVIL_CHECK(IsNumericType(t) && t != kF32 && t != kF64, op, ": type ", ElemTypeName(t), " is not supported");
    k->kind = MathKernel::Kind::kBitwiseNot;
  } else {
    const MathEntry* entry = nullptr;
    for (const MathEntry& e : kMathTable) {
      if (op == e.op) entry = &e;
    }
    ANVIL_CHECK(entry != nullptr, "no math function for ", op);
    const bool with_double = entry->with_double && !(op == "Mish" && since >= 22);
    const bool with_half = op == "Elu";  // float16 computed in float (the ops ORT's CPU EP runs in float16)
    ANVIL_CHECK(t == kF32 || (with_double && t == kF64) || (with_half && t == ew_kernels::kF16), op, "-", since,
                ": type ", ElemTypeName(t), " is not supported");
    k->kind = MathKernel::Kind::kMath;
    ew::MathOp m = entry->math;
    if (op == "Gelu") {
      const std::string approx = node.String("approximate", "none");
      ANVIL_CHECK(approx == "none" || approx == "tanh", "Gelu: approximate '", approx, "' is not none or tanh");
      if (approx == "tanh") m = ew::MathOp::kGeluTanh;
    }
    k->op = static_cast<int>(m);
    if (op == "Elu" || op == "Celu") k->alpha = node.Float("alpha", 1.0f);
    if (op == "ThresholdedRelu") k->alpha = node.Float("alpha", 1.0f);
    if (op == "Selu") {
      k->alpha = node.Float("alpha", 1.67326319217681884765625f);
      k->gamma = node.Float("gamma", 1.05070102214813232421875f);
    }
    if (op == "Celu") ANVIL_CHECK(k->alpha != 0, "Celu: alpha must not be 0");
  }
  if (out) *out = std::move(k);
  return {};
}

Status MathKernel::Compute(ComputeContext& ctx) const {
  const TensorView x = ctx.Input(0);
  const int64_t n = x.size();
  if (kind == Kind::kIsNaN || kind == Kind::kIsInf) {
    uint8_t* y = nullptr;
    ANVIL_RETURN_IF_ERROR(ctx.Output(0, x.shape, &y));
    if (type == ew_kernels::kF16) {
      kind == Kind::kIsNaN ? ew_kernels::HalfIsNaN(x.as<uint16_t>(), y, n)
                           : ew_kernels::HalfIsInf(x.as<uint16_t>(), y, n, negative, positive);
    } else if (type == kF32) {
      kind == Kind::kIsNaN ? ew::RunIsNaN(x.as<float>(), y, n) : ew::RunIsInf(x.as<float>(), y, n, negative, positive);
    } else {
      kind == Kind::kIsNaN ? ew::RunIsNaN(x.as<double>(), y, n)
                           : ew::RunIsInf(x.as<double>(), y, n, negative, positive);
    }
    return {};
  }
  void* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, x.shape, &y));
  if (n == 0) return {};
  if (type == ew_kernels::kF16 && kind == Kind::kMath) {
    float* in = ctx.Scratch<float>(static_cast<size_t>(n));
    float* res = ctx.Scratch<float>(static_cast<size_t>(n));
    const uint16_t* px = x.as<uint16_t>();
    uint16_t* py = static_cast<uint16_t*>(y);
    ParallelFor(n, 1, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) in[i] = ew::HalfToFloat(px[i]);
    });
    ew::MathParams p;
    p.alpha = alpha;
    p.gamma = gamma;
    ew::RunMath(static_cast<ew::MathOp>(op), p, in, res, n);
    ParallelFor(n, 1, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) py[i] = ew::FloatToHalf(res[i]);
    });
    return {};
  }
  return DispatchNumeric(type, [&](auto zero) -> Status {
    using T = decltype(zero);
    const T* px = x.as<T>();
    T* py = static_cast<T*>(y);
    switch (kind) {
      case Kind::kSign: ew::RunSign(px, py, n); return {};
      case Kind::kShrink: ew::RunShrink(px, py, n, lambd, bias); return {};
      case Kind::kBitwiseNot:
        if constexpr (std::is_integral_v<T>) {
          ParallelFor(n, 1, [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; ++i) py[i] = static_cast<T>(~px[i]);
          });
          return {};
        }
        break;
      case Kind::kMath:
        if constexpr (std::is_floating_point_v<T>) {
          ew::MathParams p;
          p.alpha = alpha;
          p.gamma = gamma;
          ew::RunMath(static_cast<ew::MathOp>(op), p, px, py, n);
          return {};
        }
        break;
      default:
        break;
    }
    return Fail("unexpected type ", ElemTypeName(type));
  });
}

}  // namespace anvil
