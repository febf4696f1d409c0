// Scalar element functions written so that GCC can vectorise loops over them (no libm calls,
// branch-free). Pure compute: no ORT.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "compute/vec_math.h"

namespace anvil::ew {

// 1 / (1 + exp(-x)), stable for large |x|: with e = exp(-|x|) <= 1 it is 1/(1+e) for x >= 0 and
// e/(1+e) for x < 0, so nothing overflows.
inline float Sigmoid(float x) {
  const float ax = x < 0.f ? -x : x;
  const float e = Exp(-ax);  // 0 once exp underflows
  const float r = 1.0f / (1.0f + e);
  return x < 0.f ? e * r : r;
}

inline float HardSigmoid(float x, float alpha, float beta) {
  float v = alpha * x + beta;
  v = v < 0.f ? 0.f : v;
  return v > 1.f ? 1.f : v;
}

inline float HardSwish(float x) { return x * HardSigmoid(x, 1.0f / 6.0f, 0.5f); }

// Wrapping integer arithmetic (signed overflow is undefined in C++; ONNX wants two's complement).
template <typename T>
inline T WrapAdd(T a, T b) {
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(a) + static_cast<U>(b));
}
template <typename T>
inline T WrapSub(T a, T b) {
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(a) - static_cast<U>(b));
}
// (The product in the unsigned type of a * b: 8- and 16-bit operands are promoted to int, and
// uint16 65535 * 65535 overflows it, so the unsigned type must be at least unsigned int.)
template <typename T>
inline T WrapMul(T a, T b) {
  using U = std::make_unsigned_t<decltype(a * b)>;
  return static_cast<T>(static_cast<U>(a) * static_cast<U>(b));
}
// a / b truncating toward zero; b must not be 0. MIN / -1 wraps to MIN instead of trapping.
template <typename T>
inline T TruncDiv(T a, T b) {
  return b == T(-1) ? WrapSub(T(0), a) : static_cast<T>(a / b);
}

// Integer power by squaring, wrapping on overflow. Negative exponents follow 1/(a^-e) truncated:
// 1 for a == 1, +-1 for a == -1, 0 otherwise (0 for a == 0 as well, instead of a division by zero).
template <typename T, typename E>
inline T IntPow(T a, E e) {
  if (e < 0) {
    if (a == 1) return 1;
    if (a == -1) return (e & 1) ? T(-1) : T(1);
    return 0;
  }
  T result = 1;
  T base = a;
  while (e > 0) {
    if (e & 1) result = WrapMul(result, base);
    e >>= 1;
    if (e > 0) base = WrapMul(base, base);
  }
  return result;
}

// Float to integer, truncating toward zero. Values outside the target's range and NaN give the
// type's minimum (what x86's cvtt* instructions give) instead of undefined behaviour.
template <typename I, typename F>
inline I FloatToInt(F x) {
  constexpr F lo = static_cast<F>(std::numeric_limits<I>::min());  // exact: a power of two
  constexpr F hi = -lo;
  return (x >= lo && x < hi) ? static_cast<I>(x) : std::numeric_limits<I>::min();
}

}  // namespace anvil::ew
