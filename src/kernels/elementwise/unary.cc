// One-input activations (Relu, LeakyRelu, Sqrt, Sigmoid, HardSigmoid, HardSwish), one-input math
// (Exp, Log, Neg, Abs), Not, and Clip.
#include <cmath>
#include <limits>
#include <type_traits>

#include "compute/elementwise/binary_loops.h"
#include "compute/elementwise/math.h"
#include "compute/elementwise/math_ops.h"
#include "compute/elementwise/unary_simd.h"
#include "compute/parallel.h"
#include "kernels/elementwise/common.h"
#include "kernels/elementwise/elementwise.h"

namespace anvil {
namespace {

constexpr ElemType kF32 = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
constexpr ElemType kI32 = ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32;
constexpr ElemType kI64 = ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;
constexpr ElemType kF64 = ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE;

Status CheckOneInput(const NodeInfo& node) {
  ANVIL_CHECK(node.InputPresent(0), node.OpType(), " has no input");
  return {};
}

Status RequireFloat(const NodeInfo& node) {
  ANVIL_RETURN_IF_ERROR(CheckOneInput(node));
  ANVIL_CHECK(node.InputType(0) == kF32, node.OpType(), ": only float is supported, not ",
              ElemTypeName(node.InputType(0)));
  return {};
}

Status RequireFloatOrDouble(const NodeInfo& node) {
  ANVIL_RETURN_IF_ERROR(CheckOneInput(node));
  ANVIL_CHECK(node.InputType(0) == kF32 || node.InputType(0) == kF64, node.OpType(),
              ": only float and double are supported, not ", ElemTypeName(node.InputType(0)));
  return {};
}

// The double versions: the C library's functions (compute/elementwise/math_ops.h).
Status DoubleUnary(ComputeContext& ctx, ew::MathOp op, double alpha = 0) {
  const TensorView x = ctx.Input(0);
  double* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, x.shape, &y));
  ew::MathParams p;
  p.alpha = alpha;
  ew::RunMath(op, p, x.as<double>(), y, x.size());
  return {};
}

// Runs array_fn(x + begin, y + begin, count) over chunks of the input, in parallel.
// `cost` feeds the threading heuristic.
template <typename ArrayFn>
Status FloatUnary(ComputeContext& ctx, int64_t cost, ArrayFn array_fn) {
  const TensorView x = ctx.Input(0);
  float* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, x.shape, &y));
  const float* px = x.as<float>();
  ParallelFor(x.size(), cost, [&](int64_t b, int64_t e) { array_fn(px + b, y + b, e - b); });
  return {};
}

}  // namespace

// ---- Relu ----

Status ReluKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_RETURN_IF_ERROR(CheckOneInput(node));
  const ElemType t = node.InputType(0);
  const bool ints =
      node.SinceVersion() >= 14 && (t == kI32 || t == kI64 || t == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8);
  ANVIL_CHECK(t == kF32 || t == kF64 || ints, "Relu-", node.SinceVersion(), ": type ", ElemTypeName(t),
              " is not supported");
  if (out) *out = std::make_unique<ReluKernel>(t);
  return {};
}

namespace {
template <typename T>
Status ReluOf(ComputeContext& ctx) {
  if constexpr (std::is_same_v<T, float>) return FloatUnary(ctx, 1, ew::ReluArray);
  const TensorView x = ctx.Input(0);
  T* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, x.shape, &y));
  ew::RunUnary(x.as<T>(), y, x.size(), 1, [](T v) { return v < T(0) ? T(0) : v; });  // NaN passes through
  return {};
}
}  // namespace

Status ReluKernel::Compute(ComputeContext& ctx) const {
  switch (type_) {
    case kF32: return ReluOf<float>(ctx);
    case kI32: return ReluOf<int32_t>(ctx);
    case kI64: return ReluOf<int64_t>(ctx);
    case kF64: return ReluOf<double>(ctx);
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8: return ReluOf<int8_t>(ctx);
    default: return Fail("unexpected type ", ElemTypeName(type_));
  }
}

// ---- Sqrt, Sigmoid, HardSigmoid, HardSwish ----

Status SqrtKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_RETURN_IF_ERROR(RequireFloatOrDouble(node));
  if (out) *out = std::make_unique<SqrtKernel>(node.InputType(0));
  return {};
}
Status SqrtKernel::Compute(ComputeContext& ctx) const {
  if (type_ == kF64) return DoubleUnary(ctx, ew::MathOp::kSqrt);
  return FloatUnary(ctx, 4, ew::SqrtArray);
}

Status SigmoidKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_RETURN_IF_ERROR(RequireFloatOrDouble(node));
  if (out) *out = std::make_unique<SigmoidKernel>(node.InputType(0));
  return {};
}
Status SigmoidKernel::Compute(ComputeContext& ctx) const {
  if (type_ == kF64) return DoubleUnary(ctx, ew::MathOp::kSigmoid);
  return FloatUnary(ctx, 8, ew::SigmoidArray);
}

Status HardSigmoidKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_RETURN_IF_ERROR(RequireFloat(node));
  const float alpha = node.Float("alpha", 0.2f), beta = node.Float("beta", 0.5f);
  if (out) *out = std::make_unique<HardSigmoidKernel>(alpha, beta);
  return {};
}
Status HardSigmoidKernel::Compute(ComputeContext& ctx) const {
  const float alpha = alpha_, beta = beta_;
  return FloatUnary(ctx, 2, [alpha, beta](const float* x, float* y, int64_t n) {
    ew::HardSigmoidArray(x, y, n, alpha, beta);
  });
}

Status HardSwishKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_RETURN_IF_ERROR(RequireFloat(node));
  if (out) *out = std::make_unique<HardSwishKernel>();
  return {};
}
Status HardSwishKernel::Compute(ComputeContext& ctx) const {
  return FloatUnary(ctx, 2, ew::HardSwishArray);
}

// ---- LeakyRelu ----

Status LeakyReluKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_RETURN_IF_ERROR(RequireFloatOrDouble(node));
  ANVIL_CHECK(node.InputType(0) == kF32 || node.SinceVersion() >= 16, "LeakyRelu-", node.SinceVersion(),
              ": only float is supported");
  const float alpha = node.Float("alpha", 0.01f);
  if (out) *out = std::make_unique<LeakyReluKernel>(node.InputType(0), alpha);
  return {};
}
Status LeakyReluKernel::Compute(ComputeContext& ctx) const {
  if (type_ == kF64) return DoubleUnary(ctx, ew::MathOp::kLeakyRelu, alpha_);
  const float alpha = alpha_;
  return FloatUnary(ctx, 1, [alpha](const float* x, float* y, int64_t n) { ew::LeakyReluArray(x, y, n, alpha); });
}

// ---- Exp, Log ----

Status ExpKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_RETURN_IF_ERROR(RequireFloatOrDouble(node));
  if (out) *out = std::make_unique<ExpKernel>(node.InputType(0));
  return {};
}
Status ExpKernel::Compute(ComputeContext& ctx) const {
  if (type_ == kF64) return DoubleUnary(ctx, ew::MathOp::kExp);
  return FloatUnary(ctx, 8, ew::ExpArray);
}

Status LogKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_RETURN_IF_ERROR(RequireFloatOrDouble(node));
  if (out) *out = std::make_unique<LogKernel>(node.InputType(0));
  return {};
}
Status LogKernel::Compute(ComputeContext& ctx) const {
  if (type_ == kF64) return DoubleUnary(ctx, ew::MathOp::kLog);
  return FloatUnary(ctx, 10, ew::LogArray);
}

// ---- Neg, Abs ----

namespace {

// Neg: float, double and the signed integers ORT registers (int8/16/32/64); Abs: every numeric type.
Status RequireNegAbsType(const NodeInfo& node, bool abs) {
  ANVIL_RETURN_IF_ERROR(CheckOneInput(node));
  const ElemType t = node.InputType(0);
  bool ok = t == kF32 || t == kF64 || t == kI32 || t == kI64 || t == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8 ||
            t == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16;
  if (abs) {
    ok |= t == ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8 || t == ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16 ||
          t == ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32 || t == ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64;
  }
  ANVIL_CHECK(ok, node.OpType(), ": type ", ElemTypeName(t), " is not supported");
  return {};
}

template <typename T, typename Op>
Status SameTypeUnary(ComputeContext& ctx, Op op) {
  const TensorView x = ctx.Input(0);
  T* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, x.shape, &y));
  ew::RunUnary(x.as<T>(), y, x.size(), 1, op);
  return {};
}

template <typename T>
Status NegOf(ComputeContext& ctx) {
  if constexpr (std::is_floating_point_v<T>) {
    return SameTypeUnary<T>(ctx, [](T v) { return -v; });
  } else {
    return SameTypeUnary<T>(ctx, [](T v) { return ew::WrapSub(T(0), v); });
  }
}

template <typename T>
Status AbsOf(ComputeContext& ctx) {
  if constexpr (std::is_floating_point_v<T>) {
    return SameTypeUnary<T>(ctx, [](T v) { return std::fabs(v); });
  } else if constexpr (std::is_unsigned_v<T>) {
    return SameTypeUnary<T>(ctx, [](T v) { return v; });
  } else {
    return SameTypeUnary<T>(ctx, [](T v) { return v < T(0) ? ew::WrapSub(T(0), v) : v; });
  }
}

}  // namespace

Status NegKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_RETURN_IF_ERROR(RequireNegAbsType(node, false));
  if (out) *out = std::make_unique<NegKernel>(node.InputType(0));
  return {};
}
Status NegKernel::Compute(ComputeContext& ctx) const {
  switch (type_) {
    case kF32: return NegOf<float>(ctx);
    case kI32: return NegOf<int32_t>(ctx);
    case kI64: return NegOf<int64_t>(ctx);
    case kF64: return NegOf<double>(ctx);
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8: return NegOf<int8_t>(ctx);
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16: return NegOf<int16_t>(ctx);
    default: return Fail("unexpected type ", ElemTypeName(type_));
  }
}

Status AbsKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_RETURN_IF_ERROR(RequireNegAbsType(node, true));
  if (out) *out = std::make_unique<AbsKernel>(node.InputType(0));
  return {};
}
Status AbsKernel::Compute(ComputeContext& ctx) const {
  switch (type_) {
    case kF32: return AbsOf<float>(ctx);
    case kI32: return AbsOf<int32_t>(ctx);
    case kI64: return AbsOf<int64_t>(ctx);
    case kF64: return AbsOf<double>(ctx);
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8: return AbsOf<int8_t>(ctx);
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16: return AbsOf<int16_t>(ctx);
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8: return AbsOf<uint8_t>(ctx);
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16: return AbsOf<uint16_t>(ctx);
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32: return AbsOf<uint32_t>(ctx);
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64: return AbsOf<uint64_t>(ctx);
    default: return Fail("unexpected type ", ElemTypeName(type_));
  }
}

// ---- Not ----

Status NotKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_RETURN_IF_ERROR(CheckOneInput(node));
  ANVIL_CHECK(node.InputType(0) == ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL, "Not: only bool is supported, not ",
              ElemTypeName(node.InputType(0)));
  if (out) *out = std::make_unique<NotKernel>();
  return {};
}
Status NotKernel::Compute(ComputeContext& ctx) const {
  // Bool tensors are bytes holding 0 or 1, read as uint8 (any non-zero byte counts as true).
  return SameTypeUnary<uint8_t>(ctx, [](uint8_t v) { return static_cast<uint8_t>(v == 0); });
}

// ---- Clip ----

Status ClipKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_RETURN_IF_ERROR(CheckOneInput(node));
  const ElemType t = node.InputType(0);
  const int since = node.SinceVersion();
  if (since < 11) {
    ANVIL_CHECK(t == kF32, "Clip-", since, ": only float is supported, not ", ElemTypeName(t));
    const float lo = node.Float("min", -std::numeric_limits<float>::infinity());
    const float hi = node.Float("max", std::numeric_limits<float>::infinity());
    if (out) *out = std::make_unique<ClipKernel>(t, false, lo, hi);
    return {};
  }
  // ORT's CPU EP: float (11), then float, double, int8, uint8, int32, int64, uint32, uint64 (12+; its
  // int16 / uint16 Clip-13 is a function body that does not run).
  const bool small16 = t == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16 || t == ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16;
  const bool ok12 = ew_kernels::IsNumericType(t) && !small16;
  ANVIL_CHECK(t == kF32 || (since >= 12 && ok12), "Clip-", since, ": type ",
              ElemTypeName(t), " is not supported");
  for (size_t i = 1; i <= 2; ++i) {
    if (!node.InputPresent(i)) continue;
    const char* what = i == 1 ? "min" : "max";
    ANVIL_CHECK(node.InputType(i) == t, "Clip: ", what, " has type ", ElemTypeName(node.InputType(i)),
                ", input has ", ElemTypeName(t));
    if (auto s = node.InputShape(i)) {
      bool known = true;
      for (int64_t d : *s) known &= d >= 0;
      ANVIL_CHECK(!known || NumElements(*s) == 1, "Clip: ", what, " must be a single element, has shape ",
                  ToString(*s));
    }
  }
  if (out) *out = std::make_unique<ClipKernel>(t, true, 0.0, 0.0);
  return {};
}

namespace {

// Reads the optional bound input i (a single element) into *v; leaves *v alone if missing.
template <typename T>
Status ReadBound(ComputeContext& ctx, size_t i, T* v) {
  if (!ctx.HasInput(i)) return {};
  const TensorView b = ctx.Input(i);
  if (b.data == nullptr && b.type == ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED) return {};
  ANVIL_CHECK(b.size() == 1, "Clip: ", i == 1 ? "min" : "max", " must be a single element, got shape ",
              ToString(b.shape));
  *v = *b.as<T>();
  return {};
}

template <typename T>
Status ClipOf(ComputeContext& ctx, bool from_inputs, double attr_lo, double attr_hi) {
  T lo = std::numeric_limits<T>::lowest(), hi = std::numeric_limits<T>::max();
  if constexpr (std::is_floating_point_v<T>) {
    lo = -std::numeric_limits<T>::infinity();
    hi = std::numeric_limits<T>::infinity();
  }
  if (from_inputs) {
    ANVIL_RETURN_IF_ERROR(ReadBound(ctx, 1, &lo));
    ANVIL_RETURN_IF_ERROR(ReadBound(ctx, 2, &hi));
  } else {
    lo = static_cast<T>(attr_lo);
    hi = static_cast<T>(attr_hi);
  }
  const TensorView x = ctx.Input(0);
  T* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, x.shape, &y));
  // max then min: when min > max every element becomes max, as the spec says. NaN passes through.
  if constexpr (std::is_same_v<T, float>) {
    const float* px = x.as<float>();
    ParallelFor(x.size(), 1, [&](int64_t b, int64_t e) { ew::ClipArray(px + b, y + b, e - b, lo, hi); });
    return {};
  }
  ew::RunUnary(x.as<T>(), y, x.size(), 1, [lo, hi](T v) {
    v = v < lo ? lo : v;
    return v > hi ? hi : v;
  });
  return {};
}

}  // namespace

Status ClipKernel::Compute(ComputeContext& ctx) const {
  return ew_kernels::DispatchNumeric(type_, [&](auto zero) {
    using T = decltype(zero);
    return ClipOf<T>(ctx, from_inputs_, min_, max_);
  });
}

}  // namespace anvil
