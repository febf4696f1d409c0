#include "compute/nn/pointwise_conv.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "compute/parallel.h"
#include "compute/vec_math.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#include <immintrin.h>
#define ANVIL_POINTWISE_AVX512 1
// GCC 12 flags the intrinsics' own `__m512 __Y = __Y` (_mm512_undefined_ps) in max/min.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#else
#define ANVIL_POINTWISE_AVX512 0
#endif

namespace anvil::nn {
namespace {

constexpr int64_t Gcd(int64_t a, int64_t b) { return b == 0 ? a : Gcd(b, a % b); }
constexpr int64_t Period(int64_t m) { return m / Gcd(m, 16) * 16; }

}  // namespace

int64_t PointwisePackedRow(int64_t out_channels) { return Period(out_channels); }

void PackPointwiseWeights(const float* w, int64_t m, int64_t c, float* packed) {
  const int64_t row = Period(m);
  for (int64_t i = 0; i < c; ++i)
    for (int64_t j = 0; j < row; ++j) packed[i * row + j] = w[(j % m) * c + i];
}

#if ANVIL_POINTWISE_AVX512
namespace {

// The register tile for M output channels: whole periods (kRow floats: kPeriodPixels pixels'
// outputs, kRow / 16 vectors), as many as keep about 24 accumulators in the 32 zmm registers.
template <int M>
struct Tiling {
  static constexpr int kRow = static_cast<int>(Period(M));
  static constexpr int kPeriodPixels = kRow / M;
  static constexpr int kPeriodVecs = kRow / 16;
  static constexpr int kPeriods = kPeriodVecs >= 24 ? 1 : 24 / kPeriodVecs;
  static constexpr int kPixels = kPeriods * kPeriodPixels;
  static constexpr int kVecs = kPeriods * kPeriodVecs;
  using Vecs = std::make_integer_sequence<int, kVecs>;
};

// Where a tile's inputs are: pixel p's channel i at At(p, i).
struct StridedRows {  // a whole tile: consecutive pixels, rows `step` floats apart
  const float* x;
  int64_t step;
  [[gnu::always_inline]] const float* At(int p, int64_t i) const { return x + p * step + i; }
};
struct ListedRows {  // the last, partial tile: its missing pixels read zeros
  const float* const* rows;
  [[gnu::always_inline]] const float* At(int p, int64_t i) const { return rows[p] + i; }
};
alignas(64) const float kZeros[kPointwiseMaxChannels] = {};

// acc += the tile's inputs (rows, c channels) times the packed weights `w`.
template <int M, typename Rows, int... J>
ANVIL_AVX512 [[gnu::always_inline]] inline void Accumulate(std::integer_sequence<int, J...>,
                                                           __m512 (&acc)[Tiling<M>::kVecs], const Rows& rows,
                                                           int64_t c, const float* w) {
  using T = Tiling<M>;
  for (int64_t i = 0; i < c; ++i) {
    // The period's weight vectors, loaded once and reused by every period of the tile: GCC would
    // fold them back into each multiply-add as a memory operand (made opaque to stop it), and
    // then the loads, not the multiply-adds, bound the loop.
    const float* wi = w + i * T::kRow;
    __m512 wv[T::kPeriodVecs];
#pragma GCC unroll 16
    for (int v = 0; v < T::kPeriodVecs; ++v) {
      wv[v] = _mm512_loadu_ps(wi + 16 * v);
      asm("" : "+v"(wv[v]));
    }
    // Vector j holds outputs [16j, 16j + 16) of the tile: pixel 16j / M, and when it straddles a
    // pixel boundary (at lane 8 for M a multiple of 8, at 4, 8 or 12 for M = 4 mod 8) the next
    // pixel from that lane on (M >= 16: at most one boundary per vector).
    auto step = [&]<int j>() ANVIL_AVX512 {
      constexpr int pa = 16 * j / M, pb = (16 * j + 15) / M;
      __m512 a = _mm512_set1_ps(*rows.At(pa, i));
      if constexpr (pb != pa) {
        constexpr int lane = pb * M - 16 * j;
        a = _mm512_mask_blend_ps(static_cast<__mmask16>(0xFFFFu << lane), a, _mm512_set1_ps(*rows.At(pb, i)));
      }
      acc[j] = _mm512_fmadd_ps(a, wv[j % T::kPeriodVecs], acc[j]);
    };
    (step.template operator()<J>(), ...);
  }
}

// The tail on one output vector: residual, activation, store.
ANVIL_AVX512 [[gnu::always_inline]] inline void Finish(__m512 v, const float* res, const PointwiseTail& t, float* y) {
  if (res) v = _mm512_add_ps(v, _mm512_loadu_ps(res));
  switch (t.act) {
    case PointwiseTail::Act::kNone: break;
    case PointwiseTail::Act::kRelu:
      // max(0, v) returns v when v is NaN (the second operand), as ORT's Relu does.
      if (t.alpha == 0.f) {
        v = _mm512_max_ps(_mm512_setzero_ps(), v);
      } else {
        const __mmask16 neg = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ);
        v = _mm512_mask_mul_ps(v, neg, v, _mm512_set1_ps(t.alpha));
      }
      break;
    case PointwiseTail::Act::kClip:
      v = _mm512_min_ps(_mm512_set1_ps(t.hi), _mm512_max_ps(_mm512_set1_ps(t.lo), v));
      break;
  }
  _mm512_storeu_ps(y, v);
}

template <int M, int... J>
ANVIL_AVX512 [[gnu::always_inline]] inline void Init(std::integer_sequence<int, J...>, __m512 (&acc)[Tiling<M>::kVecs],
                                                     const float* bias_row) {
  ((acc[J] = _mm512_loadu_ps(bias_row + (16 * J) % Tiling<M>::kRow)), ...);
}

// Stores a tile of `n` consecutive output pixels at y (the residual at res, r channels per
// pixel): straight from the registers when the tile is whole, else through a local buffer. A
// residual narrower than M, or of a partial tile, is first laid out as M channels per pixel in
// a local buffer (zeros after its r).
template <int M, int... J>
ANVIL_AVX512 [[gnu::always_inline]] inline void Store(std::integer_sequence<int, J...>,
                                                      const __m512 (&acc)[Tiling<M>::kVecs], int64_t n,
                                                      const float* res, int64_t r, const PointwiseTail& tail,
                                                      float* y) {
  using T = Tiling<M>;
  alignas(64) float in[T::kVecs * 16];
  if (res && r != M) {
    for (int64_t p = 0; p < n; ++p) {
      std::memcpy(in + p * M, res + p * r, sizeof(float) * r);
      std::memset(in + p * M + r, 0, sizeof(float) * (M - r));
    }
    res = in;
  } else if (res && n != T::kPixels) {
    std::memcpy(in, res, sizeof(float) * n * M);
    res = in;
  }
  if (n == T::kPixels) {
    (Finish(acc[J], res ? res + 16 * J : nullptr, tail, y + 16 * J), ...);
    return;
  }
  alignas(64) float out[T::kVecs * 16];
  (Finish(acc[J], res ? res + 16 * J : nullptr, tail, out + 16 * J), ...);
  std::memcpy(y, out, sizeof(float) * n * M);
}

template <int M>
void FillBiasRow(const float* bias, float* row) {
  for (int j = 0; j < Tiling<M>::kRow; ++j) row[j] = bias ? bias[j % M] : 0.f;
}

template <int M>
ANVIL_AVX512 void Run(const float* x, int64_t pixels, int64_t c, const float* w, const float* bias,
                      const PointwiseTail& tail, float* y) {
  using T = Tiling<M>;
  alignas(64) float bias_row[T::kRow];
  FillBiasRow<M>(bias, bias_row);
  const int64_t tiles = (pixels + T::kPixels - 1) / T::kPixels;
  const int64_t r = tail.residual_channels > 0 ? tail.residual_channels : M;
  ParallelFor(tiles, 2 * T::kPixels * M * c, [&](int64_t b, int64_t e) ANVIL_AVX512 {
    for (int64_t t = b; t < e; ++t) {
      const int64_t p0 = t * T::kPixels, n = std::min<int64_t>(T::kPixels, pixels - p0);
      __m512 acc[T::kVecs];
      Init<M>(typename T::Vecs{}, acc, bias_row);
      if (n == T::kPixels) {
        Accumulate<M>(typename T::Vecs{}, acc, StridedRows{x + p0 * c, c}, c, w);
      } else {
        const float* rows[T::kPixels];
        for (int p = 0; p < T::kPixels; ++p) rows[p] = p < n ? x + (p0 + p) * c : kZeros;
        Accumulate<M>(typename T::Vecs{}, acc, ListedRows{rows}, c, w);
      }
      Store<M>(typename T::Vecs{}, acc, n, tail.residual ? tail.residual + p0 * r : nullptr, r, tail, y + p0 * M);
    }
  });
}

using RunFn = void (*)(const float*, int64_t, int64_t, const float*, const float*, const PointwiseTail&, float*);

template <int... K>
constexpr std::array<RunFn, sizeof...(K)> MakeTable(std::integer_sequence<int, K...>) {
  return {&Run<16 + 8 * K>...};
}
// Run<M> for M = 16, 24, ..., 128; and for M = 20, 28, 36 (4 mod 8), whose periods (5, 7 and 9
// vectors: lcm(M, 16) floats) still leave registers for the tile's sums. Past 36 a period of M = 4
// mod 8 takes 11 or more vectors and would not fit beside them.
constexpr auto kRuns = MakeTable(std::make_integer_sequence<int, 15>{});
constexpr RunFn kRunsOdd[] = {&Run<20>, &Run<28>, &Run<36>};


}  // namespace

bool PointwiseConvAvailable(int64_t out_channels, int64_t in_channels) {
  const bool m_ok = (out_channels % 8 == 0 && out_channels >= 16 && out_channels <= 128) || out_channels == 20 ||
                    out_channels == 28 || out_channels == 36;
  return HasAvx512() && m_ok && in_channels >= 1 &&
         in_channels <= kPointwiseMaxChannels;
}

void PointwiseConv(const float* x, int64_t pixels, int64_t c, const float* packed, int64_t m, const float* bias,
                   const PointwiseTail& tail, float* y) {
  (m % 8 == 0 ? kRuns[(m - 16) / 8] : kRunsOdd[(m - 20) / 8])(x, pixels, c, packed, bias, tail, y);
}

#else

bool PointwiseConvAvailable(int64_t, int64_t) { return false; }
void PointwiseConv(const float*, int64_t, int64_t, const float*, int64_t, const float*, const PointwiseTail&, float*) {}

#endif

}  // namespace anvil::nn
