#include "compute/nn/gemv.h"

#include <cstring>

#include "compute/parallel.h"
#include "compute/vec_math.h"

namespace anvil::nn {
namespace {

// Eight floats (one AVX2 register; each instruction-set clone compiles it for its own target).
typedef float V8 __attribute__((vector_size(32), aligned(4)));

// The register blocking: kPanels panels side by side, each row of a panel kVecs vectors wide, and
// kChains independent partial sums over the rows, so that kPanels * kVecs * kChains multiply-adds
// are in flight (6 to 12: enough to hide the FMA latency, within the 16 vector registers). One
// panel of 24 columns had 3 sums in flight and ran at a third of the speed the memory allows.
template <int kWidth>
struct Blocking {
  static constexpr int kVecs = kWidth / 8;
  static constexpr int kPanels = kVecs >= 8 ? 1 : kVecs >= 2 ? 2 : 4;
  static constexpr int kChains = kVecs * kPanels >= 6 ? 1 : 2;
};

// Row `i` of every panel, times x[i], into one chain of sums. Forced inline (like PanelBlock) so
// that each instruction-set clone of PanelRange compiles it for its own target.
template <int kWidth, int P, int NV>
[[gnu::always_inline]] inline void AddRow(V8 (&acc)[P][NV], const float* const (&base)[P], int64_t i, float xi) {
  const V8 xv = {xi, xi, xi, xi, xi, xi, xi, xi};
#pragma GCC unroll 64
  for (int p = 0; p < P; ++p)
#pragma GCC unroll 64
    for (int v = 0; v < NV; ++v) {
      V8 wv;
      std::memcpy(&wv, base[p] + i * kWidth + v * 8, sizeof(wv));
      acc[p][v] += xv * wv;
    }
}

// y for kPanels (or `panels` < kPanels) adjacent panels starting at `w`. Forced inline so that each
// instruction-set clone of PanelRange compiles it for its own target (a template called from a
// clone is otherwise built once, for the baseline).
template <int kWidth>
[[gnu::always_inline]] inline void PanelBlock(const float* __restrict x, int64_t k, const float* __restrict w,
                                              int64_t panel_stride, int panels, float* __restrict y, int64_t cols) {
  using B = Blocking<kWidth>;
  constexpr int P = B::kPanels, C = B::kChains, NV = B::kVecs;
  V8 acc[C][P][NV];
#pragma GCC unroll 64
  for (int c = 0; c < C; ++c)
#pragma GCC unroll 64
    for (int p = 0; p < P; ++p)
#pragma GCC unroll 64
      for (int v = 0; v < NV; ++v) acc[c][p][v] = V8{};
  const float* base[P];
#pragma GCC unroll 64
  for (int p = 0; p < P; ++p) base[p] = w + (p < panels ? p : 0) * panel_stride;  // a missing panel re-reads the first
  int64_t i = 0;
  for (; i + C <= k; i += C) {
#pragma GCC unroll 64
    for (int c = 0; c < C; ++c) AddRow<kWidth>(acc[c], base, i + c, x[i + c]);
  }
  for (; i < k; ++i) AddRow<kWidth>(acc[0], base, i, x[i]);
#pragma GCC unroll 64
  for (int c = 1; c < C; ++c)
#pragma GCC unroll 64
    for (int p = 0; p < P; ++p)
#pragma GCC unroll 64
      for (int v = 0; v < NV; ++v) acc[0][p][v] += acc[c][p][v];
  for (int p = 0; p < panels; ++p) {
    const int64_t first = p * kWidth;
    if (first >= cols) break;
    const int64_t n = cols - first < kWidth ? cols - first : kWidth;
    float row[kWidth];
    std::memcpy(row, acc[0][p], sizeof(row));
    std::memcpy(y + first, row, static_cast<size_t>(n) * sizeof(float));
  }
}

template <int kWidth>
[[gnu::always_inline]] inline void Panels(const float* x, int64_t k, const float* w, int64_t k_rows, int64_t n,
                                          float* y, int64_t b, int64_t e) {
  constexpr int P = Blocking<kWidth>::kPanels;
  const int64_t stride = k_rows * kWidth;
  for (int64_t p = b; p < e; p += P) {
    const int panels = e - p < P ? static_cast<int>(e - p) : P;
    const int64_t first = p * kWidth;
    PanelBlock<kWidth>(x, k, w + p * stride, stride, panels, y + first, n - first);
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
