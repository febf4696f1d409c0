#include "compute/elementwise/math_ops.h"

#include <cmath>
#include <limits>
#include <type_traits>

#include "compute/elementwise/math.h"
#include "compute/elementwise/math_simd.h"
#include "compute/parallel.h"

namespace anvil::ew {
namespace {

// Runs f over [0, n) in parallel chunks; `cost` is the per-element operation estimate.
template <typename X, typename Y, typename F>
void Each(const X* x, Y* y, int64_t n, int64_t cost, F f) {
  ParallelFor(n, cost, [&](int64_t b, int64_t e) {
    const X* __restrict px = x + b;
    Y* __restrict py = y + b;
    const int64_t m = e - b;
#pragma omp simd
    for (int64_t i = 0; i < m; ++i) py[i] = f(px[i]);
  });
}

// log(1 + exp(x)) without overflow: x + log1p(exp(-x)) for x > 0.
template <typename T>
inline T Softplus(T x) {
  return x > T(0) ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}

template <typename T>
void Math(MathOp op, const MathParams& p, const T* x, T* y, int64_t n) {
  const T alpha = static_cast<T>(p.alpha), gamma = static_cast<T>(p.gamma);
  switch (op) {
    case MathOp::kReciprocal: return Each(x, y, n, 2, [](T v) { return T(1) / v; });
    case MathOp::kTanh: return Each(x, y, n, 20, [](T v) { return std::tanh(v); });
    case MathOp::kErf: return Each(x, y, n, 20, [](T v) { return std::erf(v); });
    case MathOp::kFloor: return Each(x, y, n, 1, [](T v) { return std::floor(v); });
    case MathOp::kCeil: return Each(x, y, n, 1, [](T v) { return std::ceil(v); });
    case MathOp::kRound: return Each(x, y, n, 1, [](T v) { return std::nearbyint(v); });  // halves to even
    case MathOp::kSin: return Each(x, y, n, 20, [](T v) { return std::sin(v); });
    case MathOp::kCos: return Each(x, y, n, 20, [](T v) { return std::cos(v); });
    case MathOp::kTan: return Each(x, y, n, 20, [](T v) { return std::tan(v); });
    case MathOp::kAsin: return Each(x, y, n, 20, [](T v) { return std::asin(v); });
    case MathOp::kAcos: return Each(x, y, n, 20, [](T v) { return std::acos(v); });
    case MathOp::kAtan: return Each(x, y, n, 20, [](T v) { return std::atan(v); });
    case MathOp::kSinh: return Each(x, y, n, 20, [](T v) { return std::sinh(v); });
    case MathOp::kCosh: return Each(x, y, n, 20, [](T v) { return std::cosh(v); });
    case MathOp::kAsinh: return Each(x, y, n, 20, [](T v) { return std::asinh(v); });
    case MathOp::kAcosh: return Each(x, y, n, 20, [](T v) { return std::acosh(v); });
    case MathOp::kAtanh: return Each(x, y, n, 20, [](T v) { return std::atanh(v); });
    case MathOp::kSoftplus: return Each(x, y, n, 20, [](T v) { return Softplus(v); });
    case MathOp::kSoftsign: return Each(x, y, n, 2, [](T v) { return v / (T(1) + std::fabs(v)); });
    case MathOp::kElu:
      return Each(x, y, n, 10, [alpha](T v) { return v < T(0) ? alpha * std::expm1(v) : v; });
    case MathOp::kSelu:
      return Each(x, y, n, 10, [alpha, gamma](T v) { return v > T(0) ? gamma * v : gamma * alpha * std::expm1(v); });
    case MathOp::kCelu:
      // max(0, x) + min(0, alpha (exp(x / alpha) - 1))
      return Each(x, y, n, 10, [alpha](T v) { return v > T(0) ? v : alpha * std::expm1(v / alpha); });
    case MathOp::kThresholdedRelu:
      return Each(x, y, n, 1, [alpha](T v) { return v > alpha ? v : T(0); });
    // Gelu in forms without the cancellation of 1 + erf(x / sqrt 2) or 1 + tanh(z) for x well
    // below 0, where the result is a tiny negative number: erfc, and 1 + tanh(z) = 2 sigmoid(2 z).
    case MathOp::kGeluErf:
      return Each(x, y, n, 20, [](T v) {
        return T(0.5) * v * std::erfc(-v * static_cast<T>(0.70710678118654752440));
      });
    case MathOp::kGeluTanh:
      return Each(x, y, n, 20, [](T v) {
        const T k2 = static_cast<T>(1.59576912160573071176);  // 2 sqrt(2 / pi)
        return v / (T(1) + std::exp(-k2 * (v + static_cast<T>(0.044715) * v * v * v)));
      });
    case MathOp::kMish: return Each(x, y, n, 40, [](T v) { return v * std::tanh(Softplus(v)); });
    case MathOp::kExp: return Each(x, y, n, 20, [](T v) { return std::exp(v); });
    case MathOp::kLog: return Each(x, y, n, 20, [](T v) { return std::log(v); });
    case MathOp::kSqrt: return Each(x, y, n, 4, [](T v) { return std::sqrt(v); });
    case MathOp::kSigmoid:
      return Each(x, y, n, 20, [](T v) {
        const T e = std::exp(-std::fabs(v));
        const T r = T(1) / (T(1) + e);
        return v < T(0) ? e * r : r;
      });
    case MathOp::kRelu: return Each(x, y, n, 1, [](T v) { return v < T(0) ? T(0) : v; });
    case MathOp::kNeg: return Each(x, y, n, 1, [](T v) { return -v; });
    case MathOp::kAbs: return Each(x, y, n, 1, [](T v) { return std::fabs(v); });
    case MathOp::kLeakyRelu: return Each(x, y, n, 1, [alpha](T v) { return v < T(0) ? alpha * v : v; });
  }
}

}  // namespace

template <typename T>
void RunMath(MathOp op, const MathParams& p, const T* x, T* y, int64_t n) {
  if constexpr (std::is_same_v<T, float>) {
    if (op == MathOp::kTanh) return TanhArray(x, y, n);
    if (op == MathOp::kGeluTanh) return GeluTanhArray(x, y, n);
    if (op == MathOp::kErf) return ErfArray(x, y, n);
    if (op == MathOp::kGeluErf) return GeluErfArray(x, y, n);
    if (op == MathOp::kMish) return MishArray(x, y, n);
    if (op == MathOp::kSoftplus) return SoftplusArray(x, y, n);
    const float a = static_cast<float>(p.alpha);
    if (op == MathOp::kElu) return EluArray(x, y, n, a, 1.0f, 1.0f);
    if (op == MathOp::kSelu) return EluArray(x, y, n, a, static_cast<float>(p.gamma), 1.0f);
    if (op == MathOp::kCelu) return EluArray(x, y, n, a, 1.0f, 1.0f / a);
  }
  Math<T>(op, p, x, y, n);
}
template void RunMath<float>(MathOp, const MathParams&, const float*, float*, int64_t);
template void RunMath<double>(MathOp, const MathParams&, const double*, double*, int64_t);

template <typename T>
void RunSign(const T* x, T* y, int64_t n) {
  Each(x, y, n, 1, [](T v) {
    if constexpr (std::is_floating_point_v<T>) {
      if (v != v) return v;
    }
    if constexpr (std::is_unsigned_v<T>) {
      return static_cast<T>(v > T(0));
    } else {
      return static_cast<T>((v > T(0)) - (v < T(0)));
    }
  });
}

template <typename T>
void RunShrink(const T* x, T* y, int64_t n, float lambd, float bias) {
  if constexpr (std::is_floating_point_v<T>) {
    const T l = static_cast<T>(lambd), b = static_cast<T>(bias);
    Each(x, y, n, 1, [l, b](T v) { return v < -l ? v + b : (v > l ? v - b : T(0)); });
  } else {
    // Integers compare against the float thresholds and add the bias in float, then convert back
    // (wrapping through int64 like numpy's reference).
    Each(x, y, n, 2, [lambd, bias](T v) {
      const double dv = static_cast<double>(v);
      double r = 0;
      if (dv < -static_cast<double>(lambd)) r = dv + static_cast<double>(bias);
      else if (dv > static_cast<double>(lambd)) r = dv - static_cast<double>(bias);
      return static_cast<T>(FloatToInt<int64_t>(r));  // out of range: INT64_MIN, not undefined
    });
  }
}

template <typename T>
void RunIsNaN(const T* x, uint8_t* y, int64_t n) {
  Each(x, y, n, 1, [](T v) { return static_cast<uint8_t>(v != v); });
}

template <typename T>
void RunIsInf(const T* x, uint8_t* y, int64_t n, bool negative, bool positive) {
  const T inf = std::numeric_limits<T>::infinity();
  Each(x, y, n, 1, [=](T v) { return static_cast<uint8_t>((negative && v == -inf) | (positive && v == inf)); });
}

#define ANVIL_INSTANTIATE_SIGN(T)                   \
  template void RunSign<T>(const T*, T*, int64_t); \
  template void RunShrink<T>(const T*, T*, int64_t, float, float);
ANVIL_INSTANTIATE_SIGN(float)
ANVIL_INSTANTIATE_SIGN(double)
ANVIL_INSTANTIATE_SIGN(int8_t)
ANVIL_INSTANTIATE_SIGN(int16_t)
ANVIL_INSTANTIATE_SIGN(int32_t)
ANVIL_INSTANTIATE_SIGN(int64_t)
ANVIL_INSTANTIATE_SIGN(uint8_t)
ANVIL_INSTANTIATE_SIGN(uint16_t)
ANVIL_INSTANTIATE_SIGN(uint32_t)
ANVIL_INSTANTIATE_SIGN(uint64_t)
#undef ANVIL_INSTANTIATE_SIGN
template void RunIsNaN<float>(const float*, uint8_t*, int64_t);
template void RunIsNaN<double>(const double*, uint8_t*, int64_t);
template void RunIsInf<float>(const float*, uint8_t*, int64_t, bool, bool);
template void RunIsInf<double>(const double*, uint8_t*, int64_t, bool, bool);

}  // namespace anvil::ew
