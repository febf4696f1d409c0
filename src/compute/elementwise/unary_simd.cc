#include "compute/elementwise/unary_simd.h"

#include <immintrin.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "compute/elementwise/math.h"

namespace anvil::ew {
namespace {

// Vector twin of Exp (compute/vec_math.h): same constants, same order of operations.
inline __m128 Exp4Clamped(__m128 x) {
  x = _mm_max_ps(x, _mm_set1_ps(-87.3f));
  x = _mm_min_ps(x, _mm_set1_ps(88.7f));
  const __m128 n = _mm_floor_ps(_mm_add_ps(_mm_mul_ps(x, _mm_set1_ps(1.44269504088896341f)), _mm_set1_ps(0.5f)));
  __m128 r = _mm_sub_ps(x, _mm_mul_ps(n, _mm_set1_ps(0.693359375f)));
  r = _mm_sub_ps(r, _mm_mul_ps(n, _mm_set1_ps(-2.12194440e-4f)));
  __m128 p = _mm_set1_ps(1.9875691500e-4f);
  p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(1.3981999507e-3f));
  p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(8.3334519073e-3f));
  p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(4.1665795894e-2f));
  p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(1.6666665459e-1f));
  p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(5.0000001201e-1f));
  p = _mm_add_ps(_mm_add_ps(_mm_mul_ps(_mm_mul_ps(p, r), r), r), _mm_set1_ps(1.0f));
  const __m128i bits = _mm_slli_epi32(_mm_add_epi32(_mm_cvttps_epi32(n), _mm_set1_epi32(127)), 23);
  return _mm_mul_ps(p, _mm_castsi128_ps(bits));
}

// Vector twin of Sigmoid (math.h).
inline __m128 Sigmoid4(__m128 x) {
  const __m128 sign = _mm_set1_ps(-0.0f);
  const __m128 ax = _mm_andnot_ps(sign, x);
  __m128 e = Exp4Clamped(_mm_or_ps(ax, sign));  // exp(-|x|)
  e = _mm_andnot_ps(_mm_cmpgt_ps(ax, _mm_set1_ps(87.3f)), e);
  const __m128 r = _mm_div_ps(_mm_set1_ps(1.0f), _mm_add_ps(_mm_set1_ps(1.0f), e));
  const __m128 y = _mm_blendv_ps(r, _mm_mul_ps(e, r), _mm_cmplt_ps(x, _mm_setzero_ps()));
  return _mm_blendv_ps(y, x, _mm_cmpunord_ps(x, x));  // NaN in, NaN out (the clamps would hide it)
}

// min(max(a*x + b, 0), 1) with NaN propagating (maxps/minps return the second operand on NaN),
// matching the scalar HardSigmoid.
inline __m128 HardSigmoid4(__m128 x, __m128 alpha, __m128 beta) {
  const __m128 v = _mm_add_ps(_mm_mul_ps(alpha, x), beta);
  return _mm_min_ps(_mm_set1_ps(1.0f), _mm_max_ps(_mm_setzero_ps(), v));
}

template <typename Vec, typename Scalar>
inline void Apply(const float* x, float* y, int64_t n, Vec vec, Scalar scalar) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm_storeu_ps(y + i, vec(_mm_loadu_ps(x + i)));
    _mm_storeu_ps(y + i + 4, vec(_mm_loadu_ps(x + i + 4)));
  }
  for (; i + 4 <= n; i += 4) _mm_storeu_ps(y + i, vec(_mm_loadu_ps(x + i)));
  for (; i < n; ++i) y[i] = scalar(x[i]);
}

// ---- Exp and Log (SSE4.1). Shared constants: ln 2 split in a part with few bits (so n * kLn2Hi is
// exact for every exponent n that occurs) and the rest.
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2Hi = 0.693359375f;
constexpr float kLn2Lo = -2.12194440e-4f;
constexpr float kExpLo = -104.0f;  // exp is below half the smallest denormal from here on
constexpr float kExpHi = 89.0f;    // and above FLT_MAX from here on

// exp(x): x = n ln2 + r with |r| <= ln2/2 (n rounded to nearest), exp(r) by the polynomial of Exp
// (vec_math.h), then
// scaled by 2^n as 2^(n>>1) * 2^(n - (n>>1)): both factors are normal floats for every n in
// [-151, 129], so results near FLT_MAX and denormal results are rounded once, not clamped.
inline __m128 ExpFull4(__m128 x) {
  // max/min return their second operand when either is NaN: this order lets NaN through.
  const __m128 xc = _mm_min_ps(_mm_set1_ps(kExpHi), _mm_max_ps(_mm_set1_ps(kExpLo), x));
  // n = round(x log2e): adding 1.5 * 2^23 rounds to an integer, which then sits in the low bits.
  const __m128 magic = _mm_set1_ps(12582912.0f);
  const __m128 nm = _mm_add_ps(_mm_mul_ps(xc, _mm_set1_ps(kLog2e)), magic);
  const __m128 n = _mm_sub_ps(nm, magic);
  __m128 r = _mm_sub_ps(xc, _mm_mul_ps(n, _mm_set1_ps(kLn2Hi)));
  r = _mm_sub_ps(r, _mm_mul_ps(n, _mm_set1_ps(kLn2Lo)));
  __m128 p = _mm_set1_ps(1.9875691500e-4f);
  p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(1.3981999507e-3f));
  p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(8.3334519073e-3f));
  p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(4.1665795894e-2f));
  p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(1.6666665459e-1f));
  p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(5.0000001201e-1f));
  p = _mm_add_ps(_mm_add_ps(_mm_mul_ps(_mm_mul_ps(p, r), r), r), _mm_set1_ps(1.0f));
  const __m128i ni = _mm_sub_epi32(_mm_castps_si128(nm), _mm_castps_si128(magic));
  const __m128i n1 = _mm_srai_epi32(ni, 1);
  const __m128i n2 = _mm_sub_epi32(ni, n1);
  const __m128 s1 = _mm_castsi128_ps(_mm_slli_epi32(_mm_add_epi32(n1, _mm_set1_epi32(127)), 23));
  const __m128 s2 = _mm_castsi128_ps(_mm_slli_epi32(_mm_add_epi32(n2, _mm_set1_epi32(127)), 23));
  return _mm_mul_ps(_mm_mul_ps(p, s1), s2);  // NaN: p is NaN, so is the product
}

// log(x): x = 2^e m with m in [sqrt(1/2), sqrt(2)) (denormals scaled by 2^23 first), f = m - 1
// (exact), s = f / (2 + f), and log(1 + f) = 2 atanh(s) = f - f^2/2 + s (f^2/2 + R) with
// R = 2/3 s^2 + 2/5 s^4 + 2/7 s^6 + 2/9 s^8 (|s| <= 0.172: the next term is below 1e-9 of the
// result). The large term f is exact, so the result is good to about an ulp.
inline __m128 Log4(__m128 x) {
  const __m128 tiny = _mm_cmplt_ps(x, _mm_set1_ps(1.17549435e-38f));  // denormal (or <= 0: fixed up below)
  const __m128 xs = _mm_blendv_ps(x, _mm_mul_ps(x, _mm_set1_ps(8388608.0f)), tiny);
  const __m128i bits = _mm_castps_si128(xs);
  __m128i e = _mm_sub_epi32(_mm_srli_epi32(bits, 23), _mm_set1_epi32(127));
  e = _mm_sub_epi32(e, _mm_and_si128(_mm_castps_si128(tiny), _mm_set1_epi32(23)));
  __m128 m = _mm_castsi128_ps(_mm_or_si128(_mm_and_si128(bits, _mm_set1_epi32(0x007fffff)),
                                           _mm_set1_epi32(0x3f800000)));  // [1, 2)
  const __m128 big = _mm_cmpgt_ps(m, _mm_set1_ps(1.41421356f));
  m = _mm_blendv_ps(m, _mm_mul_ps(m, _mm_set1_ps(0.5f)), big);
  e = _mm_sub_epi32(e, _mm_castps_si128(big));  // the mask is -1 where m was halved
  const __m128 f = _mm_sub_ps(m, _mm_set1_ps(1.0f));
  const __m128 s = _mm_div_ps(f, _mm_add_ps(_mm_set1_ps(2.0f), f));
  const __m128 z = _mm_mul_ps(s, s);
  __m128 R = _mm_set1_ps(2.0f / 9.0f);
  R = _mm_add_ps(_mm_mul_ps(R, z), _mm_set1_ps(2.0f / 7.0f));
  R = _mm_add_ps(_mm_mul_ps(R, z), _mm_set1_ps(2.0f / 5.0f));
  R = _mm_add_ps(_mm_mul_ps(R, z), _mm_set1_ps(2.0f / 3.0f));
  R = _mm_mul_ps(R, z);
  const __m128 hfsq = _mm_mul_ps(_mm_mul_ps(_mm_set1_ps(0.5f), f), f);
  const __m128 k = _mm_cvtepi32_ps(e);
  // k ln2_hi - ((hfsq - (s (hfsq + R) + k ln2_lo)) - f)
  const __m128 t = _mm_add_ps(_mm_mul_ps(s, _mm_add_ps(hfsq, R)), _mm_mul_ps(k, _mm_set1_ps(kLn2Lo)));
  __m128 y = _mm_sub_ps(_mm_mul_ps(k, _mm_set1_ps(kLn2Hi)), _mm_sub_ps(_mm_sub_ps(hfsq, t), f));
  const __m128 inf = _mm_set1_ps(std::numeric_limits<float>::infinity());
  y = _mm_blendv_ps(y, _mm_set1_ps(std::numeric_limits<float>::quiet_NaN()), _mm_cmplt_ps(x, _mm_setzero_ps()));
  y = _mm_blendv_ps(y, _mm_sub_ps(_mm_setzero_ps(), inf), _mm_cmpeq_ps(x, _mm_setzero_ps()));
  y = _mm_blendv_ps(y, inf, _mm_cmpeq_ps(x, inf));
  return _mm_blendv_ps(y, x, _mm_cmpunord_ps(x, x));
}

// Like Apply, but the tail goes through the vector code too (zero-padded), so every element gets
// exactly the same formula.
template <typename Vec>
inline void ApplyPadded(const float* x, float* y, int64_t n, Vec vec) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm_storeu_ps(y + i, vec(_mm_loadu_ps(x + i)));
    _mm_storeu_ps(y + i + 4, vec(_mm_loadu_ps(x + i + 4)));
  }
  for (; i + 4 <= n; i += 4) _mm_storeu_ps(y + i, vec(_mm_loadu_ps(x + i)));
  if (i < n) {
    float buf[4] = {1.0f, 1.0f, 1.0f, 1.0f};
    const size_t rest = static_cast<size_t>(n - i) * sizeof(float);
    std::memcpy(buf, x + i, rest);
    _mm_storeu_ps(buf, vec(_mm_loadu_ps(buf)));
    std::memcpy(y + i, buf, rest);
  }
}

// ---- AVX2 + FMA: twice the lanes and fused multiply-adds; the tail goes through the same vector
// code with masked loads and stores, so every element gets the same formula. Results may differ
// from the SSE path in the last bit (FMA rounds once).

#define ANVIL_AVX2 __attribute__((target("avx2,fma")))

// sigmoid(x) = 1 / (1 + exp(-x)) directly, short enough that the out-of-order window overlaps
// many vectors: x clamped to [-88.5, 87.3], exp(-x) = 2^n exp(r) with r = -x - n ln2 in one FMA
// and the polynomial of Exp (vec_math.h) less its r^7 term, in Estrin form, then one division:
// within 4e-7 relative of the exact sigmoid over the whole range (checked against double on a
// 1e-4 grid of [-89, 89]). For x < 0, exp(-x) is large but finite down to x ~ -88.38, where n
// reaches 128 and 2^n is +inf: the result is then exactly 0 (the true value is below 4e-39).
// For x > 87.3, exp(-x) ~ 1e-38 and 1 / (1 + e) is exactly 1. NaN propagates through the clamps
// (maxps/minps return their second operand on NaN) and the arithmetic.
struct Sigmoid8 {
  ANVIL_AVX2 __m256 operator()(__m256 x) const {
    // xc = x clamped to [-88.5, 87.3] and z = -xc, the negation folded into the FMAs below.
    const __m256 xc = _mm256_min_ps(_mm256_set1_ps(87.3f), _mm256_max_ps(_mm256_set1_ps(-88.5f), x));
    // n = round(z log2e): adding 1.5 * 2^23 + 127 rounds to an integer, which leaves n + 127 in
    // the low mantissa bits (the rest shifts out when it is moved into the exponent field).
    const __m256 magic = _mm256_set1_ps(12583039.0f);  // 1.5 * 2^23 + 127
    const __m256 nm = _mm256_fnmadd_ps(xc, _mm256_set1_ps(kLog2e), magic);  // magic - xc log2e
    const __m256 n = _mm256_sub_ps(nm, magic);
    const __m256 r = _mm256_fnmsub_ps(n, _mm256_set1_ps(0.693147180559945f), xc);  // -xc - n ln2
    const __m256 r2 = _mm256_mul_ps(r, r);
    const __m256 pa = _mm256_fmadd_ps(_mm256_set1_ps(1.6666665459e-1f), r, _mm256_set1_ps(5.0000001201e-1f));
    const __m256 pb = _mm256_fmadd_ps(_mm256_set1_ps(8.3334519073e-3f), r, _mm256_set1_ps(4.1665795894e-2f));
    const __m256 r4 = _mm256_mul_ps(r2, r2);
    const __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(1.3981999507e-3f), r4, _mm256_fmadd_ps(pb, r2, pa));
    const __m256 er = _mm256_add_ps(_mm256_fmadd_ps(p, r2, r), _mm256_set1_ps(1.0f));
    const __m256 scale = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(nm), 23));
    const __m256 e = _mm256_mul_ps(er, scale);
    return _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_add_ps(_mm256_set1_ps(1.0f), e));
  }
};

struct Relu8 {
  // max returns its second operand when either is NaN or both are zero: NaN and -0 pass through.
  ANVIL_AVX2 __m256 operator()(__m256 x) const { return _mm256_max_ps(_mm256_setzero_ps(), x); }
};

struct Clip8 {
  float lo, hi;
  // (x < lo ? lo : x), then (v > hi ? hi : v): exactly max(lo, x) and min(hi, v) with the operand
  // order of maxps/minps, so NaN passes through and lo > hi gives hi.
  ANVIL_AVX2 __m256 operator()(__m256 x) const {
    return _mm256_min_ps(_mm256_set1_ps(hi), _mm256_max_ps(_mm256_set1_ps(lo), x));
  }
};

struct HardSigmoid8 {
  float alpha, beta;
  ANVIL_AVX2 __m256 operator()(__m256 x) const {
    const __m256 v = _mm256_fmadd_ps(_mm256_set1_ps(alpha), x, _mm256_set1_ps(beta));
    return _mm256_min_ps(_mm256_set1_ps(1.0f), _mm256_max_ps(_mm256_setzero_ps(), v));
  }
};

struct HardSwish8 {
  ANVIL_AVX2 __m256 operator()(__m256 x) const { return _mm256_mul_ps(x, HardSigmoid8{1.0f / 6.0f, 0.5f}(x)); }
};

struct Sqrt8 {
  ANVIL_AVX2 __m256 operator()(__m256 x) const { return _mm256_sqrt_ps(x); }
};

struct PowHalf8 {
  ANVIL_AVX2 __m256 operator()(__m256 x) const {
    const __m256 inf = _mm256_set1_ps(std::numeric_limits<float>::infinity());
    const __m256 is_ninf = _mm256_cmp_ps(x, _mm256_sub_ps(_mm256_setzero_ps(), inf), _CMP_EQ_OQ);
    return _mm256_blendv_ps(_mm256_sqrt_ps(x), inf, is_ninf);
  }
};

struct ExpFull8 {
  ANVIL_AVX2 __m256 operator()(__m256 x) const {
    const __m256 xc = _mm256_min_ps(_mm256_set1_ps(kExpHi), _mm256_max_ps(_mm256_set1_ps(kExpLo), x));
    const __m256 magic = _mm256_set1_ps(12582912.0f);
    const __m256 nm = _mm256_fmadd_ps(xc, _mm256_set1_ps(kLog2e), magic);
    const __m256 n = _mm256_sub_ps(nm, magic);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Hi), xc);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Lo), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_add_ps(_mm256_fmadd_ps(_mm256_mul_ps(p, r), r, r), _mm256_set1_ps(1.0f));
    const __m256i ni = _mm256_sub_epi32(_mm256_castps_si256(nm), _mm256_castps_si256(magic));
    const __m256i n1 = _mm256_srai_epi32(ni, 1);
    const __m256i n2 = _mm256_sub_epi32(ni, n1);
    const __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, _mm256_set1_epi32(127)), 23));
    const __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, _mm256_set1_epi32(127)), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
  }
};

struct LeakyRelu8 {
  float alpha;
  ANVIL_AVX2 __m256 operator()(__m256 x) const {
    const __m256 neg = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ);
    return _mm256_blendv_ps(x, _mm256_mul_ps(x, _mm256_set1_ps(alpha)), neg);
  }
};

struct Log8 {
  ANVIL_AVX2 __m256 operator()(__m256 x) const {
    const __m256 tiny = _mm256_cmp_ps(x, _mm256_set1_ps(1.17549435e-38f), _CMP_LT_OQ);
    const __m256 xs = _mm256_blendv_ps(x, _mm256_mul_ps(x, _mm256_set1_ps(8388608.0f)), tiny);
    const __m256i bits = _mm256_castps_si256(xs);
    __m256i e = _mm256_sub_epi32(_mm256_srli_epi32(bits, 23), _mm256_set1_epi32(127));
    e = _mm256_sub_epi32(e, _mm256_and_si256(_mm256_castps_si256(tiny), _mm256_set1_epi32(23)));
    __m256 m = _mm256_castsi256_ps(_mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi32(0x007fffff)),
                                                   _mm256_set1_epi32(0x3f800000)));
    const __m256 big = _mm256_cmp_ps(m, _mm256_set1_ps(1.41421356f), _CMP_GT_OQ);
    m = _mm256_blendv_ps(m, _mm256_mul_ps(m, _mm256_set1_ps(0.5f)), big);
    e = _mm256_sub_epi32(e, _mm256_castps_si256(big));
    const __m256 f = _mm256_sub_ps(m, _mm256_set1_ps(1.0f));
    const __m256 s = _mm256_div_ps(f, _mm256_add_ps(_mm256_set1_ps(2.0f), f));
    const __m256 z = _mm256_mul_ps(s, s);
    __m256 R = _mm256_set1_ps(2.0f / 9.0f);
    R = _mm256_fmadd_ps(R, z, _mm256_set1_ps(2.0f / 7.0f));
    R = _mm256_fmadd_ps(R, z, _mm256_set1_ps(2.0f / 5.0f));
    R = _mm256_fmadd_ps(R, z, _mm256_set1_ps(2.0f / 3.0f));
    R = _mm256_mul_ps(R, z);
    const __m256 hfsq = _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), f), f);
    const __m256 k = _mm256_cvtepi32_ps(e);
    const __m256 t = _mm256_fmadd_ps(s, _mm256_add_ps(hfsq, R), _mm256_mul_ps(k, _mm256_set1_ps(kLn2Lo)));
    __m256 y = _mm256_fmsub_ps(k, _mm256_set1_ps(kLn2Hi), _mm256_sub_ps(_mm256_sub_ps(hfsq, t), f));
    const __m256 inf = _mm256_set1_ps(std::numeric_limits<float>::infinity());
    const __m256 zero = _mm256_setzero_ps();
    y = _mm256_blendv_ps(y, _mm256_set1_ps(std::numeric_limits<float>::quiet_NaN()), _mm256_cmp_ps(x, zero, _CMP_LT_OQ));
    y = _mm256_blendv_ps(y, _mm256_sub_ps(zero, inf), _mm256_cmp_ps(x, zero, _CMP_EQ_OQ));
    y = _mm256_blendv_ps(y, inf, _mm256_cmp_ps(x, inf, _CMP_EQ_OQ));
    return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
  }
};

template <typename Vec>
ANVIL_AVX2 void Apply8(const float* x, float* y, int64_t n, Vec vec) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm256_storeu_ps(y + i, vec(_mm256_loadu_ps(x + i)));
    _mm256_storeu_ps(y + i + 8, vec(_mm256_loadu_ps(x + i + 8)));
  }
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, vec(_mm256_loadu_ps(x + i)));
  if (i < n) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n - i)), lane);
    _mm256_maskstore_ps(y + i, mask, vec(_mm256_maskload_ps(x + i, mask)));
  }
}

#undef ANVIL_AVX2

bool UseAvx2() {
  static const bool use = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return use;
}

}  // namespace

void SqrtArray(const float* x, float* y, int64_t n) {
  if (UseAvx2()) return Apply8(x, y, n, Sqrt8{});
  Apply(x, y, n, [](__m128 v) { return _mm_sqrt_ps(v); },
        [](float v) { return _mm_cvtss_f32(_mm_sqrt_ss(_mm_set_ss(v))); });
}

void PowHalfArray(const float* x, float* y, int64_t n) {
  if (UseAvx2()) return Apply8(x, y, n, PowHalf8{});
  const __m128 ninf = _mm_set1_ps(-std::numeric_limits<float>::infinity());
  const __m128 pinf = _mm_set1_ps(std::numeric_limits<float>::infinity());
  Apply(x, y, n, [&](__m128 v) { return _mm_blendv_ps(_mm_sqrt_ps(v), pinf, _mm_cmpeq_ps(v, ninf)); },
        [](float v) {
          return v == -std::numeric_limits<float>::infinity() ? std::numeric_limits<float>::infinity()
                                                               : _mm_cvtss_f32(_mm_sqrt_ss(_mm_set_ss(v)));
        });
}

void SigmoidArray(const float* x, float* y, int64_t n) {
  if (UseAvx2()) return Apply8(x, y, n, Sigmoid8{});
  Apply(x, y, n, [](__m128 v) { return Sigmoid4(v); }, [](float v) { return Sigmoid(v); });
}

void HardSigmoidArray(const float* x, float* y, int64_t n, float alpha, float beta) {
  if (UseAvx2()) return Apply8(x, y, n, HardSigmoid8{alpha, beta});
  const __m128 va = _mm_set1_ps(alpha), vb = _mm_set1_ps(beta);
  Apply(x, y, n, [&](__m128 v) { return HardSigmoid4(v, va, vb); },
        [&](float v) { return HardSigmoid(v, alpha, beta); });
}

void HardSwishArray(const float* x, float* y, int64_t n) {
  if (UseAvx2()) return Apply8(x, y, n, HardSwish8{});
  const __m128 va = _mm_set1_ps(1.0f / 6.0f), vb = _mm_set1_ps(0.5f);
  Apply(x, y, n, [&](__m128 v) { return _mm_mul_ps(v, HardSigmoid4(v, va, vb)); },
        [](float v) { return HardSwish(v); });
}

void ExpArray(const float* x, float* y, int64_t n) {
  if (UseAvx2()) return Apply8(x, y, n, ExpFull8{});
  ApplyPadded(x, y, n, [](__m128 v) { return ExpFull4(v); });
}

void LogArray(const float* x, float* y, int64_t n) {
  if (UseAvx2()) return Apply8(x, y, n, Log8{});
  ApplyPadded(x, y, n, [](__m128 v) { return Log4(v); });
}

void ReluArray(const float* x, float* y, int64_t n) {
  if (UseAvx2()) return Apply8(x, y, n, Relu8{});
  const __m128 zero = _mm_setzero_ps();
  Apply(x, y, n, [&](__m128 v) { return _mm_max_ps(zero, v); }, [](float v) { return v < 0.f ? 0.f : v; });
}

void ClipArray(const float* x, float* y, int64_t n, float lo, float hi) {
  if (UseAvx2()) return Apply8(x, y, n, Clip8{lo, hi});
  const __m128 vl = _mm_set1_ps(lo), vh = _mm_set1_ps(hi);
  Apply(x, y, n, [&](__m128 v) { return _mm_min_ps(vh, _mm_max_ps(vl, v)); },
        [&](float v) {
          v = v < lo ? lo : v;
          return v > hi ? hi : v;
        });
}

void LeakyReluArray(const float* x, float* y, int64_t n, float alpha) {
  if (UseAvx2()) return Apply8(x, y, n, LeakyRelu8{alpha});
  const __m128 va = _mm_set1_ps(alpha);
  Apply(x, y, n, [&](__m128 v) { return _mm_blendv_ps(v, _mm_mul_ps(v, va), _mm_cmplt_ps(v, _mm_setzero_ps())); },
        [&](float v) { return v < 0.f ? alpha * v : v; });
}

}  // namespace anvil::ew
