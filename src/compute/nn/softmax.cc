// FP operations never trap in Anvil (exceptions stay masked); telling GCC so lets it if-convert
// the selects in Exp() and vectorise the exp loops (trapping math keeps them scalar).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include "compute/nn/softmax.h"

#include <algorithm>
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

}  // namespace

void SoftmaxRows(const float* x, float* y, int64_t rows, int64_t n) {
  ParallelFor(rows, 8 * n, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) SoftmaxRow(x + r * n, y + r * n, n);
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
