// FP operations never trap in Anvil (exceptions stay masked); telling GCC so lets it if-convert
// the selects in Exp() and vectorise the exp loops (trapping math keeps them scalar).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include "compute/nn/softmax.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "compute/vec_math.h"
#include "compute/parallel.h"

namespace anvil::nn {
namespace {

ANVIL_MULTIVERSION void SoftmaxRow(const float* x, float* y, int64_t n) {
  float m = -std::numeric_limits<float>::infinity();
#pragma omp simd reduction(max : m)
  for (int64_t i = 0; i < n; ++i) m = x[i] > m ? x[i] : m;
  float sum = 0.f;
#pragma omp simd reduction(+ : sum)
  for (int64_t i = 0; i < n; ++i) {
    const float e = Exp(x[i] - m);
    y[i] = e;
    sum += e;
  }
  const float inv = 1.f / sum;
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] *= inv;
}

// ---- AVX2 + FMA row (chosen at run time): explicit vectors, since GCC's vectorisation of Exp()
// above leaves a floor, two clamps and two selects per vector in the middle pass.
#define ANVIL_AVX2 __attribute__((target("avx2,fma")))

// exp(d) for d <= 0 (or NaN): exactly 0 below -87.3 (masked inputs must give exact zeros; the
// true values there are denormal). n = round(d log2e) by adding 1.5 * 2^23 + 127, which leaves
// n + 127 in the low mantissa bits; r = d - n ln2 in one FMA; the polynomial of Exp (vec_math.h)
// less its r^7 term, in Estrin form (within 4e-7 relative, like the AVX2 Sigmoid). NaN passes the
// clamp (maxps returns its second operand) and the arithmetic.
ANVIL_AVX2 inline __m256 ExpNonPositive8(__m256 d) {
  const __m256 z = _mm256_max_ps(_mm256_set1_ps(-87.3f), d);
  const __m256 magic = _mm256_set1_ps(12583039.0f);  // 1.5 * 2^23 + 127
  const __m256 nm = _mm256_fmadd_ps(z, _mm256_set1_ps(1.44269504088896341f), magic);
  const __m256 n = _mm256_sub_ps(nm, magic);
  const __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693147180559945f), z);
  const __m256 r2 = _mm256_mul_ps(r, r);
  const __m256 pa = _mm256_fmadd_ps(_mm256_set1_ps(1.6666665459e-1f), r, _mm256_set1_ps(5.0000001201e-1f));
  const __m256 pb = _mm256_fmadd_ps(_mm256_set1_ps(8.3334519073e-3f), r, _mm256_set1_ps(4.1665795894e-2f));
  const __m256 r4 = _mm256_mul_ps(r2, r2);
  const __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(1.3981999507e-3f), r4, _mm256_fmadd_ps(pb, r2, pa));
  const __m256 er = _mm256_add_ps(_mm256_fmadd_ps(p, r2, r), _mm256_set1_ps(1.0f));
  const __m256 e = _mm256_mul_ps(er, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(nm), 23)));
  return _mm256_andnot_ps(_mm256_cmp_ps(d, _mm256_set1_ps(-87.3f), _CMP_LT_OQ), e);
}

ANVIL_AVX2 inline float HorizontalMax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
  return _mm_cvtss_f32(m);
}

ANVIL_AVX2 inline float HorizontalSum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

// The three passes of a row, split so that a block of rows runs each pass back to back: the
// rows' passes are independent, so the out-of-order core overlaps their reduction latencies
// (a short row is otherwise one long dependency chain).
ANVIL_AVX2 inline __m256i TailMask(int64_t n) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n & 7)), lane);
}

ANVIL_AVX2 inline float RowMaxAvx2(const float* x, int64_t n) {
  // Ignores NaN (x > m ? x : m, as the scalar row does); NaN then propagates via exp.
  const int64_t full = n & ~int64_t{7};
  __m256 vm = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  int64_t i = 0;
  for (; i < full; i += 8) vm = _mm256_max_ps(_mm256_loadu_ps(x + i), vm);
  float m = HorizontalMax(vm);
  for (; i < n; ++i) m = x[i] > m ? x[i] : m;
  return m;
}

ANVIL_AVX2 inline float RowExpSumAvx2(const float* x, float* y, int64_t n, float m) {
  const int64_t full = n & ~int64_t{7};
  const __m256 vmax = _mm256_set1_ps(m);
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= full; i += 16) {
    const __m256 e0 = ExpNonPositive8(_mm256_sub_ps(_mm256_loadu_ps(x + i), vmax));
    const __m256 e1 = ExpNonPositive8(_mm256_sub_ps(_mm256_loadu_ps(x + i + 8), vmax));
    _mm256_storeu_ps(y + i, e0);
    _mm256_storeu_ps(y + i + 8, e1);
    s0 = _mm256_add_ps(s0, e0);
    s1 = _mm256_add_ps(s1, e1);
  }
  for (; i < full; i += 8) {
    const __m256 e0 = ExpNonPositive8(_mm256_sub_ps(_mm256_loadu_ps(x + i), vmax));
    _mm256_storeu_ps(y + i, e0);
    s0 = _mm256_add_ps(s0, e0);
  }
  if (i < n) {
    const __m256i tail = TailMask(n);
    const __m256 e0 = ExpNonPositive8(_mm256_sub_ps(_mm256_maskload_ps(x + i, tail), vmax));
    _mm256_maskstore_ps(y + i, tail, e0);
    s1 = _mm256_add_ps(s1, _mm256_and_ps(e0, _mm256_castsi256_ps(tail)));
  }
  return HorizontalSum(_mm256_add_ps(s0, s1));
}

ANVIL_AVX2 inline void RowScaleAvx2(float* y, int64_t n, float scale) {
  const int64_t full = n & ~int64_t{7};
  const __m256 v = _mm256_set1_ps(scale);
  int64_t i = 0;
  for (; i < full; i += 8) _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(y + i), v));
  if (i < n) {
    const __m256i tail = TailMask(n);
    _mm256_maskstore_ps(y + i, tail, _mm256_mul_ps(_mm256_maskload_ps(y + i, tail), v));
  }
}

ANVIL_AVX2 void SoftmaxRowsAvx2(const float* x, float* y, int64_t rows, int64_t n) {
  constexpr int64_t kBlock = 8;
  float m[kBlock], inv[kBlock];
  for (int64_t r0 = 0; r0 < rows; r0 += kBlock) {
    const int64_t nb = std::min(kBlock, rows - r0);
    const float* xb = x + r0 * n;
    float* yb = y + r0 * n;
    for (int64_t r = 0; r < nb; ++r) m[r] = RowMaxAvx2(xb + r * n, n);
    for (int64_t r = 0; r < nb; ++r) inv[r] = RowExpSumAvx2(xb + r * n, yb + r * n, n, m[r]);
    for (int64_t r = 0; r < nb; ++r) RowScaleAvx2(yb + r * n, n, 1.f / inv[r]);
  }
}

#undef ANVIL_AVX2

bool UseAvx2() {
  static const bool use = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return use;
}

// Softmax along n for `w` (<= kTile) adjacent columns of a [n, inner] block.
constexpr int64_t kTile = 256;
ANVIL_MULTIVERSION void SoftmaxTile(const float* xb, float* yb, int64_t n, int64_t inner, int64_t w) {
  alignas(64) float mx[kTile];
  alignas(64) float sm[kTile];
  for (int64_t j = 0; j < w; ++j) {
    mx[j] = -std::numeric_limits<float>::infinity();
    sm[j] = 0.f;
  }
  for (int64_t k = 0; k < n; ++k) {
    const float* xr = xb + k * inner;
#pragma omp simd
    for (int64_t j = 0; j < w; ++j) mx[j] = xr[j] > mx[j] ? xr[j] : mx[j];
  }
  for (int64_t k = 0; k < n; ++k) {
    const float* xr = xb + k * inner;
    float* yr = yb + k * inner;
#pragma omp simd
    for (int64_t j = 0; j < w; ++j) yr[j] = Exp(xr[j] - mx[j]);
#pragma omp simd
    for (int64_t j = 0; j < w; ++j) sm[j] += yr[j];
  }
  for (int64_t j = 0; j < w; ++j) sm[j] = 1.f / sm[j];
  for (int64_t k = 0; k < n; ++k) {
    float* yr = yb + k * inner;
#pragma omp simd
    for (int64_t j = 0; j < w; ++j) yr[j] *= sm[j];
  }
}

ANVIL_MULTIVERSION void LogSoftmaxRow(const float* x, float* y, int64_t n) {
  float m = -std::numeric_limits<float>::infinity();
#pragma omp simd reduction(max : m)
  for (int64_t i = 0; i < n; ++i) m = x[i] > m ? x[i] : m;
  if (!std::isfinite(m)) m = 0.f;
  float sum = 0.f;
#pragma omp simd reduction(+ : sum)
  for (int64_t i = 0; i < n; ++i) sum += Exp(x[i] - m);
  const float lse = std::log(sum) + m;
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] - lse;
}

}  // namespace

void LogSoftmaxRows(const float* x, float* y, int64_t rows, int64_t n) {
  ParallelFor(rows, 10 * n, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) LogSoftmaxRow(x + r * n, y + r * n, n);
  });
}

void SoftmaxRows(const float* x, float* y, int64_t rows, int64_t n) {
  ParallelFor(rows, 8 * n, [&](int64_t b, int64_t e) {
    if (UseAvx2()) {
      SoftmaxRowsAvx2(x + b * n, y + b * n, e - b, n);
    } else {
      for (int64_t r = b; r < e; ++r) SoftmaxRow(x + r * n, y + r * n, n);
    }
  });
}

void SoftmaxStrided(const float* x, float* y, int64_t outer, int64_t n, int64_t inner) {
  // Tiles of the inner dimension keep the running max and sum on the stack; each tile is
  // normalised along n with unit-stride (vectorised) inner loops.
  const int64_t tiles = (inner + kTile - 1) / kTile;
  ParallelFor(outer * tiles, 8 * n * std::min(inner, kTile), [&](int64_t b, int64_t e) {
    for (int64_t task = b; task < e; ++task) {
      const int64_t o = task / tiles;
      const int64_t j0 = (task % tiles) * kTile;
      SoftmaxTile(x + o * n * inner + j0, y + o * n * inner + j0, n, inner, std::min(kTile, inner - j0));
    }
  });
}

}  // namespace anvil::nn
