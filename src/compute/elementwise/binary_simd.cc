#include "compute/elementwise/binary_simd.h"

#include <immintrin.h>

namespace anvil::ew {
namespace {

#define ANVIL_AVX2 __attribute__((target("avx2")))

struct Add {
  static float S(float a, float b) { return a + b; }
  static __m128 V4(__m128 a, __m128 b) { return _mm_add_ps(a, b); }
  ANVIL_AVX2 static __m256 V8(__m256 a, __m256 b) { return _mm256_add_ps(a, b); }
};
struct Sub {
  static float S(float a, float b) { return a - b; }
  static __m128 V4(__m128 a, __m128 b) { return _mm_sub_ps(a, b); }
  ANVIL_AVX2 static __m256 V8(__m256 a, __m256 b) { return _mm256_sub_ps(a, b); }
};
struct Mul {
  static float S(float a, float b) { return a * b; }
  static __m128 V4(__m128 a, __m128 b) { return _mm_mul_ps(a, b); }
  ANVIL_AVX2 static __m256 V8(__m256 a, __m256 b) { return _mm256_mul_ps(a, b); }
};
struct Div {
  static float S(float a, float b) { return a / b; }
  static __m128 V4(__m128 a, __m128 b) { return _mm_div_ps(a, b); }
  ANVIL_AVX2 static __m256 V8(__m256 a, __m256 b) { return _mm256_div_ps(a, b); }
};

// kA / kB: whether that operand is an array (else one value broadcast).
template <typename Op, bool kA, bool kB>
ANVIL_AVX2 void Avx2(const float* a, const float* b, float* o, int64_t n) {
  const __m256 sa = kA ? _mm256_setzero_ps() : _mm256_set1_ps(*a);
  const __m256 sb = kB ? _mm256_setzero_ps() : _mm256_set1_ps(*b);
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    for (int k = 0; k < 32; k += 8) {
      const __m256 va = kA ? _mm256_loadu_ps(a + i + k) : sa;
      const __m256 vb = kB ? _mm256_loadu_ps(b + i + k) : sb;
      _mm256_storeu_ps(o + i + k, Op::V8(va, vb));
    }
  }
  for (; i + 8 <= n; i += 8) {
    const __m256 va = kA ? _mm256_loadu_ps(a + i) : sa;
    const __m256 vb = kB ? _mm256_loadu_ps(b + i) : sb;
    _mm256_storeu_ps(o + i, Op::V8(va, vb));
  }
  for (; i < n; ++i) o[i] = Op::S(kA ? a[i] : *a, kB ? b[i] : *b);
}

template <typename Op, bool kA, bool kB>
void Sse(const float* a, const float* b, float* o, int64_t n) {
  const __m128 sa = kA ? _mm_setzero_ps() : _mm_set1_ps(*a);
  const __m128 sb = kB ? _mm_setzero_ps() : _mm_set1_ps(*b);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int k = 0; k < 8; k += 4) {
      const __m128 va = kA ? _mm_loadu_ps(a + i + k) : sa;
      const __m128 vb = kB ? _mm_loadu_ps(b + i + k) : sb;
      _mm_storeu_ps(o + i + k, Op::V4(va, vb));
    }
  }
  for (; i < n; ++i) o[i] = Op::S(kA ? a[i] : *a, kB ? b[i] : *b);
}

#undef ANVIL_AVX2

bool UseAvx2() {
  static const bool use = __builtin_cpu_supports("avx2");
  return use;
}

template <bool kA, bool kB>
void Dispatch(FloatArith op, const float* a, const float* b, float* o, int64_t n) {
  if (UseAvx2()) {
    switch (op) {
      case FloatArith::kAdd: return Avx2<Add, kA, kB>(a, b, o, n);
      case FloatArith::kSub: return Avx2<Sub, kA, kB>(a, b, o, n);
      case FloatArith::kMul: return Avx2<Mul, kA, kB>(a, b, o, n);
      case FloatArith::kDiv: return Avx2<Div, kA, kB>(a, b, o, n);
    }
    return;
  }
  switch (op) {
    case FloatArith::kAdd: return Sse<Add, kA, kB>(a, b, o, n);
    case FloatArith::kSub: return Sse<Sub, kA, kB>(a, b, o, n);
    case FloatArith::kMul: return Sse<Mul, kA, kB>(a, b, o, n);
    case FloatArith::kDiv: return Sse<Div, kA, kB>(a, b, o, n);
  }
}

}  // namespace

void ArithVV(FloatArith op, const float* a, const float* b, float* o, int64_t n) { Dispatch<true, true>(op, a, b, o, n); }
void ArithVS(FloatArith op, const float* a, float b, float* o, int64_t n) { Dispatch<true, false>(op, a, &b, o, n); }
void ArithSV(FloatArith op, float a, const float* b, float* o, int64_t n) { Dispatch<false, true>(op, &a, b, o, n); }

}  // namespace anvil::ew
