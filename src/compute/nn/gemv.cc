#include "compute/nn/gemv.h"

#include "compute/parallel.h"
#include "compute/vec_math.h"

namespace anvil::nn {
namespace {

// One panel: `width` sums over k rows, in kSplit independent partial sums per column (so the
// multiply-adds of consecutive rows do not wait on each other when the panel is narrow).
// Both helpers are forced inline so that each instruction-set clone of PanelRange compiles them
// for its own target (a template called from a clone is otherwise built once, for the baseline).
template <int kWidth, int kSplit>
[[gnu::always_inline]] inline void PanelDot(const float* __restrict x, int64_t k, const float* __restrict w,
                                            float* __restrict out, int64_t cols) {
  float acc[kSplit][kWidth] = {};
  int64_t i = 0;
  for (; i + kSplit <= k; i += kSplit) {
    for (int s = 0; s < kSplit; ++s) {
      const float xi = x[i + s];
      const float* wr = w + (i + s) * kWidth;
#pragma omp simd
      for (int j = 0; j < kWidth; ++j) acc[s][j] += xi * wr[j];
    }
  }
  for (; i < k; ++i) {
    const float xi = x[i];
    const float* wr = w + i * kWidth;
#pragma omp simd
    for (int j = 0; j < kWidth; ++j) acc[0][j] += xi * wr[j];
  }
  for (int s = 1; s < kSplit; ++s)
    for (int j = 0; j < kWidth; ++j) acc[0][j] += acc[s][j];
  for (int64_t j = 0; j < cols; ++j) out[j] = acc[0][j];
}

template <int kWidth>
[[gnu::always_inline]] inline void Panels(const float* x, int64_t k, const float* w, int64_t k_rows, int64_t n,
                                          float* y, int64_t b, int64_t e) {
  constexpr int kSplit = kWidth >= 48 ? 1 : kWidth >= 24 ? 2 : 4;  // 4 to 8 vector sums in flight
  for (int64_t p = b; p < e; ++p) {
    const int64_t first = p * kWidth;
    const int64_t cols = n - first < kWidth ? n - first : kWidth;
    PanelDot<kWidth, kSplit>(x, k, w + p * k_rows * kWidth, y + first, cols);
  }
}

ANVIL_MULTIVERSION void PanelRange(const float* x, int64_t k, const float* w, int64_t k_rows, int64_t n,
                                   int64_t width, float* y, int64_t b, int64_t e) {
  switch (width) {
    case 8: return Panels<8>(x, k, w, k_rows, n, y, b, e);
    case 16: return Panels<16>(x, k, w, k_rows, n, y, b, e);
    case 24: return Panels<24>(x, k, w, k_rows, n, y, b, e);
    case 32: return Panels<32>(x, k, w, k_rows, n, y, b, e);
    case 48: return Panels<48>(x, k, w, k_rows, n, y, b, e);
    default: return Panels<64>(x, k, w, k_rows, n, y, b, e);
  }
}

}  // namespace

void GemvPanels(const float* x, int64_t k, const float* w, int64_t k_rows, int64_t n, int64_t width, float* y) {
  const int64_t panels = (n + width - 1) / width;
  ParallelFor(panels, 2 * k * width, [&](int64_t b, int64_t e) { PanelRange(x, k, w, k_rows, n, width, y, b, e); });
}

}  // namespace anvil::nn
