// Float Tanh, Erf, Gelu (both forms), Mish, Softplus, Elu, Selu and Celu as branch-free formulas
// over Exp (compute/vec_math.h) that GCC vectorises, compiled for x86-64-v4 / v3 / baseline
// (ANVIL_MULTIVERSION).
// FP operations never trap in Anvil (exceptions stay masked); telling GCC so lets it if-convert
// the selects and vectorise (trapping math keeps them scalar).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include "compute/elementwise/math_simd.h"

#include <bit>
#include <cstdint>

#include "compute/parallel.h"
#include "compute/vec_math.h"

namespace anvil::ew {
namespace {

// tanh(x): below |x| = 0.25 the odd Taylor series to x^11 (truncation error < 1e-9 there, and
// exact-to-rounding near 0: tanh(x) = x for tiny x), above it (e - 1) / (e + 1) with e = exp(2|x|),
// |x| clamped to 9 (tanh(9) rounds to 1), sign restored. Within 4e-7 relative of the exact value
// everywhere; NaN propagates (the comparisons fail and Exp(NaN) is NaN).
[[gnu::always_inline]] inline float TanhF(float x) {
  const float ax = x < 0.f ? -x : x;
  const float z = x * x;
  float p = -1382.0f / 155925.0f;
  p = p * z + 62.0f / 2835.0f;
  p = p * z + -17.0f / 315.0f;
  p = p * z + 2.0f / 15.0f;
  p = p * z + -1.0f / 3.0f;
  const float small = x * (1.0f + z * p);  // (keeps the sign of -0)
  const float c = ax > 9.0f ? 9.0f : ax;
  const float e = Exp(2.0f * c);
  const float big = (e - 1.0f) / (e + 1.0f);
  const float signed_big = x < 0.f ? -big : big;
  return ax < 0.25f ? small : (x != x ? x : signed_big);
}

// erf(x) for |x| < 0.75: the Taylor series 2/sqrt(pi) sum (-1)^n x^(2n+1) / (n! (2n+1)) to x^17
// (truncation below 2e-8 relative there; tiny inputs give 2/sqrt(pi) x exactly to rounding).
[[gnu::always_inline]] inline float ErfSmall(float x) {
  const float z = x * x;
  float p = 1.0f / (40320.0f * 17.0f);
  p = p * z - 1.0f / (5040.0f * 15.0f);
  p = p * z + 1.0f / (720.0f * 13.0f);
  p = p * z - 1.0f / (120.0f * 11.0f);
  p = p * z + 1.0f / (24.0f * 9.0f);
  p = p * z - 1.0f / (6.0f * 7.0f);
  p = p * z + 1.0f / (2.0f * 5.0f);
  p = p * z - 1.0f / 3.0f;
  p = p * z + 1.0f;
  return 1.12837916709551257390f * x * p;
}

// erfc(u) for u >= 0.75: exp(-u^2) g(u), with g(u) = erfc(u) exp(u^2) a degree-9 polynomial in
// t = 1 / (1 + u / 2), fitted (relative least squares) over u in [0.75, 10]: within 4e-9 relative
// in exact arithmetic. u is clamped to 10 (exp(-100) is 0 in float anyway). u^2 is taken as
// s v^2 (s = 1 or 1/2, a power of two) so that Gelu's u = |x| / sqrt 2 need not be rounded first;
// v^2 is split exactly into h + l (v's top 12 significant bits square exactly), so the rounding of
// the square (up to 100 * 2^-24 relative in the result) does not show either.
[[gnu::always_inline]] inline float ErfcLarge(float u, float v, float s) {
  const float uc = u > 10.0f ? 10.0f : u;
  const float vmax = s == 1.0f ? 10.0f : 14.1421356f;  // s vmax^2 = 100, like uc
  const float vc = v > vmax ? vmax : v;
  const float t = 1.0f / (1.0f + 0.5f * uc);
  float g = -7.02008045e-02f;
  g = g * t + 3.35756954e-01f;
  g = g * t - 5.86441926e-01f;
  g = g * t + 3.84482202e-01f;
  g = g * t - 9.60185422e-02f;
  g = g * t + 2.31144169e-01f;
  g = g * t + 2.35787468e-01f;
  g = g * t + 2.83509111e-01f;
  g = g * t + 2.81990548e-01f;
  g = g * t + 3.36375216e-06f;
  const float vh = std::bit_cast<float>(std::bit_cast<uint32_t>(vc) & 0xFFFFF000u);
  const float vl = vc - vh;
  const float h = vh * vh * s;
  const float l = vl * (vh + vc) * s;
  return Exp(-h) * Exp(-l) * g;
}

// erf(x), NaN propagating.
[[gnu::always_inline]] inline float ErfF(float x) {
  const float ax = x < 0.f ? -x : x;
  const float big = 1.0f - ErfcLarge(ax, ax, 1.0f);
  const float r = ax < 0.75f ? ErfSmall(x) : (x < 0.f ? -big : big);
  return x != x ? x : r;
}

// 0.5 x erfc(-x / sqrt 2) (erfc(u) = 2 - erfc(-u) below u = -0.75), NaN propagating.
[[gnu::always_inline]] inline float GeluErfF(float x) {
  const float u = x * -0.70710678118654752440f;
  const float au = u < 0.f ? -u : u;
  const float ax = x < 0.f ? -x : x;
  const float tail = ErfcLarge(au, ax, 0.5f);
  const float e = au < 0.75f ? 1.0f - ErfSmall(u) : (u < 0.f ? 2.0f - tail : tail);
  return x != x ? x : 0.5f * x * e;
}

ANVIL_MULTIVERSION void ErfRun(const float* __restrict x, float* __restrict y, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] = ErfF(x[i]);
}

// 0.5 x erfc(-x / sqrt 2): no cancellation for x well below 0.
ANVIL_MULTIVERSION void GeluErfRun(const float* __restrict x, float* __restrict y, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] = GeluErfF(x[i]);
}

ANVIL_MULTIVERSION void TanhRun(const float* __restrict x, float* __restrict y, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] = TanhF(x[i]);
}

// x * sigmoid(2 sqrt(2/pi) (x + 0.044715 x^3)) = 0.5 x (1 + tanh(...)) without the cancellation
// of 1 + tanh for x well below 0. Exp gives 0 below -87 and +inf above 88, so the result goes to
// x and -0 at the ends.
ANVIL_MULTIVERSION void GeluTanhRun(const float* __restrict x, float* __restrict y, int64_t n) {
  constexpr float k2 = 1.59576912160573071176f;  // 2 sqrt(2 / pi)
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    y[i] = v / (1.0f + Exp(-k2 * (v + 0.044715f * v * v * v)));
  }
}

// mish(x) = x tanh(log(1 + e^x)) = x n / (n + 2) with n = e^x (e^x + 2): both terms positive, so
// no cancellation anywhere (x e^x for x well below 0). Above 20 the result is x in float.
ANVIL_MULTIVERSION void MishRun(const float* __restrict x, float* __restrict y, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    const float e = Exp(v > 20.0f ? 20.0f : v);
    const float m = e * (e + 2.0f);
    const float r = v * (m / (m + 2.0f));
    y[i] = v > 20.0f ? v : r;
  }
}

// e^x - 1 for x <= 0 (and NaN): the Taylor series to x^9 above -0.5 (truncation below 3e-10
// relative; x itself for tiny x), Exp(x) - 1 below (at most one bit of cancellation).
[[gnu::always_inline]] inline float ExpM1NonPositive(float x) {
  float p = 1.0f / 362880.0f;
  p = p * x + 1.0f / 40320.0f;
  p = p * x + 1.0f / 5040.0f;
  p = p * x + 1.0f / 720.0f;
  p = p * x + 1.0f / 120.0f;
  p = p * x + 1.0f / 24.0f;
  p = p * x + 1.0f / 6.0f;
  p = p * x + 0.5f;
  const float small = x + x * x * p;
  const float big = Exp(x) - 1.0f;
  return x > -0.5f ? small : (x != x ? x : big);
}

// Elu (alpha e^x - alpha below 0), Selu (gamma x above 0, gamma alpha (e^x - 1) below) and Celu
// (alpha (e^(x/alpha) - 1) below 0).
ANVIL_MULTIVERSION void EluRun(const float* __restrict x, float* __restrict y, int64_t n, float alpha, float gamma,
                               float inv_alpha) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    const float neg = v < 0.f ? v * inv_alpha : 0.f;
    const float r = alpha * ExpM1NonPositive(neg);
    y[i] = gamma * (v < 0.f ? r : v);
  }
}

// softplus(x) = max(x, 0) + log1p(e), e = exp(-|x|) in (0, 1]: log1p(e) = 2 atanh(s) with
// s = e / (2 + e) <= 1/3 (no rounding of 1 + e), the odd series to s^17 (truncation below 1e-10).
ANVIL_MULTIVERSION void SoftplusRun(const float* __restrict x, float* __restrict y, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    const float av = v < 0.f ? -v : v;
    const float e = Exp(-av);
    const float s = e / (2.0f + e);
    const float z = s * s;
    float p = 1.0f / 17.0f;
    p = p * z + 1.0f / 15.0f;
    p = p * z + 1.0f / 13.0f;
    p = p * z + 1.0f / 11.0f;
    p = p * z + 1.0f / 9.0f;
    p = p * z + 1.0f / 7.0f;
    p = p * z + 1.0f / 5.0f;
    p = p * z + 1.0f / 3.0f;
    p = p * z + 1.0f;
    const float l = 2.0f * s * p;
    y[i] = (v > 0.f ? v : 0.f) + l;  // NaN: Exp(NaN) is NaN, so is l
  }
}

}  // namespace

void SoftplusArray(const float* x, float* y, int64_t n) {
  ParallelFor(n, 14, [&](int64_t b, int64_t e) { SoftplusRun(x + b, y + b, e - b); });
}

void EluArray(const float* x, float* y, int64_t n, float alpha, float gamma, float inv_alpha) {
  ParallelFor(n, 12, [&](int64_t b, int64_t e) { EluRun(x + b, y + b, e - b, alpha, gamma, inv_alpha); });
}

void MishArray(const float* x, float* y, int64_t n) {
  ParallelFor(n, 14, [&](int64_t b, int64_t e) { MishRun(x + b, y + b, e - b); });
}

void TanhArray(const float* x, float* y, int64_t n) {
  ParallelFor(n, 12, [&](int64_t b, int64_t e) { TanhRun(x + b, y + b, e - b); });
}

void ErfArray(const float* x, float* y, int64_t n) {
  ParallelFor(n, 16, [&](int64_t b, int64_t e) { ErfRun(x + b, y + b, e - b); });
}

void GeluErfArray(const float* x, float* y, int64_t n) {
  ParallelFor(n, 18, [&](int64_t b, int64_t e) { GeluErfRun(x + b, y + b, e - b); });
}

void GeluTanhArray(const float* x, float* y, int64_t n) {
  ParallelFor(n, 14, [&](int64_t b, int64_t e) { GeluTanhRun(x + b, y + b, e - b); });
}

}  // namespace anvil::ew
