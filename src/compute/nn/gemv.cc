#include "compute/nn/gemv.h"

#include <cstring>

#include "compute/parallel.h"
#include "compute/vec_math.h"

namespace anvil::nn {
namespace {

// Eight floats (one AVX2 register) and sixteen (one AVX-512 register). The V8 path is compiled for
// each instruction-set clone of PanelRange; the V16 path only for AVX-512 (PanelRange512).
typedef float V8 __attribute__((vector_size(32), aligned(4)));
typedef float V16 __attribute__((vector_size(64), aligned(4)));

template <typename V>
constexpr int kLanes = static_cast<int>(sizeof(V) / sizeof(float));

// The register blocking: kPanels panels side by side (fewer for the last panels of a range: a
// missing panel is not read), each row of a panel kVecs vectors wide, and kChains independent
// partial sums over the rows, so that kPanels * kVecs * kChains multiply-adds are in flight:
// enough to hide the FMA latency, within the register file (16 ymm registers for V8, 32 zmm for
// V16). One panel of 24 columns had 3 sums in flight and ran at a third of the speed the memory
// allows.
template <typename V, int kWidth, int kPanelsIn = 0>
struct Blocking {
  static constexpr int kVecs = kWidth / kLanes<V>;
  static constexpr bool kWide = kLanes<V> == 16;
  static constexpr int kMaxPanels = kWide ? (kVecs >= 3 ? 2 : 4) : (kVecs >= 8 ? 1 : kVecs >= 2 ? 2 : 4);
  static constexpr int kPanels = kPanelsIn > 0 ? kPanelsIn : kMaxPanels;
  static constexpr int kSums = kVecs * kPanels;
  static constexpr int kChains = kWide ? (kSums >= 8 ? 1 : (16 + kSums - 1) / kSums) : (kSums >= 6 ? 1 : 2);
};

// Row `i` of every panel, times x[i], into one chain of sums. Forced inline (like PanelBlock) so
// that each instruction-set clone of PanelRange compiles it for its own target.
template <typename V, int kWidth, int P, int NV>
[[gnu::always_inline]] inline void AddRow(V (&acc)[P][NV], const float* const (&base)[P], int64_t i, float xi) {
  const V xv = V{} + xi;  // a broadcast (GCC's vector-scalar arithmetic)
#pragma GCC unroll 64
  for (int p = 0; p < P; ++p)
#pragma GCC unroll 64
    for (int v = 0; v < NV; ++v) {
      V wv;
      std::memcpy(&wv, base[p] + i * kWidth + v * kLanes<V>, sizeof(wv));
      acc[p][v] += xv * wv;
    }
}

// GemvEpilogue on a vector (V) or a float of y starting at column j, in place (a vector is not
// returned by value: that would change the ABI of a function compiled without AVX).
template <typename V>
[[gnu::always_inline]] inline void Epilogue(const GemvEpilogue& ep, V& v, int64_t j) {
  if (ep.alpha != 1.f) v *= ep.alpha;
  if (ep.bias) {
    V b;
    if constexpr (sizeof(V) == sizeof(float)) {
      b = ep.bias[ep.bias_scalar ? 0 : j];
    } else if (ep.bias_scalar) {
      b = V{} + ep.bias[0];
    } else {
      std::memcpy(&b, ep.bias + j, sizeof(b));
    }
    v += ep.beta * b;
  }
  if constexpr (sizeof(V) == sizeof(float)) {
    v = v < ep.lo ? ep.lo : v;
    v = v > ep.hi ? ep.hi : v;
  } else {
    const V lo = V{} + ep.lo, hi = V{} + ep.hi;
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
  }
}

// y for kP adjacent panels starting at `w`. Forced inline so that each
// instruction-set clone of PanelRange compiles it for its own target (a template called from a
// clone is otherwise built once, for the baseline).
template <typename V, int kWidth, int kP>
[[gnu::always_inline]] inline void PanelBlock(const float* __restrict x, int64_t k, const float* __restrict w,
                                              int64_t panel_stride, float* __restrict y, int64_t cols,
                                              const GemvEpilogue& ep) {
  using B = Blocking<V, kWidth, kP>;
  constexpr int P = B::kPanels, C = B::kChains, NV = B::kVecs;
  V acc[C][P][NV];
#pragma GCC unroll 64
  for (int c = 0; c < C; ++c)
#pragma GCC unroll 64
    for (int p = 0; p < P; ++p)
#pragma GCC unroll 64
      for (int v = 0; v < NV; ++v) acc[c][p][v] = V{};
  const float* base[P];
#pragma GCC unroll 64
  for (int p = 0; p < P; ++p) base[p] = w + p * panel_stride;
  int64_t i = 0;
  for (; i + C <= k; i += C) {
#pragma GCC unroll 64
    for (int c = 0; c < C; ++c) AddRow<V, kWidth>(acc[c], base, i + c, x[i + c]);
  }
  for (; i < k; ++i) AddRow<V, kWidth>(acc[0], base, i, x[i]);
#pragma GCC unroll 64
  for (int c = 1; c < C; ++c)
#pragma GCC unroll 64
    for (int p = 0; p < P; ++p)
#pragma GCC unroll 64
      for (int v = 0; v < NV; ++v) acc[0][p][v] += acc[c][p][v];
  for (int p = 0; p < P; ++p) {
    const int64_t first = p * kWidth;
    if (first >= cols) break;
    const int64_t n = cols - first < kWidth ? cols - first : kWidth;
    if (n == kWidth) {
#pragma GCC unroll 64
      for (int v = 0; v < NV; ++v) {
        V r = acc[0][p][v];
        Epilogue(ep, r, first + v * kLanes<V>);
        std::memcpy(y + first + v * kLanes<V>, &r, sizeof(r));
      }
      continue;
    }
    float row[kWidth];
    std::memcpy(row, acc[0][p], sizeof(row));
    for (int64_t j = 0; j < n; ++j) {
      Epilogue(ep, row[j], first + j);
      y[first + j] = row[j];
    }
  }
}

template <typename V, int kWidth>
[[gnu::always_inline]] inline void Panels(const float* x, int64_t k, const float* w, int64_t k_rows, int64_t n,
                                          float* y, int64_t b, int64_t e, const GemvEpilogue& ep) {
  constexpr int P = Blocking<V, kWidth>::kMaxPanels;
  const int64_t stride = k_rows * kWidth;
  // The epilogue's columns count from the panel's first: its bias is offset here.
  auto at = [&](int64_t p) {
    GemvEpilogue e2 = ep;
    if (e2.bias && !e2.bias_scalar) e2.bias += p * kWidth;
    return e2;
  };
  int64_t p = b;
  for (; p + P <= e; p += P)
    PanelBlock<V, kWidth, P>(x, k, w + p * stride, stride, y + p * kWidth, n - p * kWidth, at(p));
  for (; p < e; ++p) PanelBlock<V, kWidth, 1>(x, k, w + p * stride, stride, y + p * kWidth, n - p * kWidth, at(p));
}

// The panel widths in V's registers: every IsGemvPanelWidth for V8, the multiples of 16 for V16.
template <typename V>
[[gnu::always_inline]] inline void PanelsOfWidth(const float* x, int64_t k, const float* w, int64_t k_rows, int64_t n,
                                                 int64_t width, float* y, int64_t b, int64_t e,
                                                 const GemvEpilogue& ep) {
  if constexpr (kLanes<V> == 8) {
    if (width == 8) return Panels<V, 8>(x, k, w, k_rows, n, y, b, e, ep);
    if (width == 24) return Panels<V, 24>(x, k, w, k_rows, n, y, b, e, ep);
  }
  switch (width) {
    case 16: return Panels<V, 16>(x, k, w, k_rows, n, y, b, e, ep);
    case 32: return Panels<V, 32>(x, k, w, k_rows, n, y, b, e, ep);
    case 48: return Panels<V, 48>(x, k, w, k_rows, n, y, b, e, ep);
    default: return Panels<V, 64>(x, k, w, k_rows, n, y, b, e, ep);
  }
}

ANVIL_MULTIVERSION void PanelRange(const float* x, int64_t k, const float* w, int64_t k_rows, int64_t n,
                                   int64_t width, float* y, int64_t b, int64_t e, const GemvEpilogue& ep) {
  PanelsOfWidth<V8>(x, k, w, k_rows, n, width, y, b, e, ep);
}

// The widths of AVX-512 layouts (multiples of 16) in whole zmm registers: [1,1536] x [1536,128]
// (768 KB, in L2) ran in 3.6-4.4 us against 5.4 with PanelRange's ymm registers. (Software
// prefetches 2 KB ahead sped up weights in L3 in a loop of GEMVs, 15.2 -> 13.4 us, but slowed the
// same product inside a model, 19.1 -> 20.2 us a run: not used.)
ANVIL_AVX512 void PanelRange512(const float* x, int64_t k, const float* w, int64_t k_rows, int64_t n,
                                int64_t width, float* y, int64_t b, int64_t e, const GemvEpilogue& ep) {
  PanelsOfWidth<V16>(x, k, w, k_rows, n, width, y, b, e, ep);
}

bool UseAvx512(int64_t width) {
  return HasAvx512() && width % 16 == 0;
}

}  // namespace

void GemvPanels(const float* x, int64_t k, const float* w, int64_t k_rows, int64_t n, int64_t width, float* y,
                const GemvEpilogue& ep) {
  const int64_t panels = (n + width - 1) / width;
  auto range = UseAvx512(width) ? PanelRange512 : PanelRange;
  ParallelFor(panels, 2 * k * width, [&](int64_t b, int64_t e) { range(x, k, w, k_rows, n, width, y, b, e, ep); });
}

}  // namespace anvil::nn
