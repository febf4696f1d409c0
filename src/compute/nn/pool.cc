#include "compute/nn/pool.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "compute/parallel.h"
#include "compute/vec_math.h"

namespace anvil::nn {

bool PoolOutputDim(int64_t in, int64_t kernel, int64_t stride, int64_t dilation, AutoPad auto_pad, bool ceil_mode,
                   int64_t& pad_begin, int64_t& pad_end, int64_t& out) {
  if (kernel < 1 || stride < 1 || dilation < 1 || in < 0) return false;
  const int64_t extent = (kernel - 1) * dilation + 1;
  if (auto_pad == AutoPad::kSameUpper || auto_pad == AutoPad::kSameLower) {
    out = (in + stride - 1) / stride;
    const int64_t total = std::max<int64_t>(0, (out - 1) * stride + extent - in);
    pad_begin = auto_pad == AutoPad::kSameUpper ? total / 2 : total - total / 2;
    pad_end = total - pad_begin;
    return true;
  }
  if (auto_pad == AutoPad::kValid) pad_begin = pad_end = 0;
  if (pad_begin < 0 || pad_end < 0 || in == 0) return false;  // ORT refuses an empty spatial dim
  // As ORT's CPU EP sizes it (matched over a grid of sizes, windows, strides, pads and dilations):
  // the quotient truncates toward zero, so a window wider than the padded input still yields
  // one output where span / stride rounds up to 0 (taps outside the input are skipped).
  const int64_t span = in + pad_begin + pad_end - extent;
  if (ceil_mode) {
    out = (span >= 0 ? (span + stride - 1) / stride : -(-span / stride)) + 1;
    // With ceil_mode, a last window that would start inside the end padding is dropped.
    if ((out - 1) * stride >= in + pad_begin) --out;
  } else {
    out = span / stride + 1;
  }
  return out >= 0;
}

void ComputePoolTaps(const PoolGeometry& g, int d, PoolTaps* taps) {
  const int64_t in = g.in[d], k = g.kernel[d], s = g.stride[d], dl = g.dilation[d];
  const int64_t padded_end = in + g.pad_end[d];
  for (int64_t o = 0; o < g.out[d]; ++o) {
    const int64_t start = o * s - g.pad_begin[d];
    // Taps t in [lo, hi) land in [0, in); taps in [0, phi) land before the end of the padding.
    const int64_t lo = start >= 0 ? 0 : (-start + dl - 1) / dl;
    const int64_t hi = in > start ? std::min(k, (in - start + dl - 1) / dl) : 0;
    const int64_t phi = padded_end > start ? std::min(k, (padded_end - start + dl - 1) / dl) : 0;
    taps[o].first = start + lo * dl;
    taps[o].valid = std::max<int64_t>(0, hi - lo);
    taps[o].padded = phi;
  }
}

namespace {

constexpr int64_t kRowMax = 4096;  // widest input row the row-combining path buffers on the stack
// MaxPool's starting value, as ORT's CPU EP: the lowest finite float, so a window with no input
// tap (all in the padding) and one of only -inf both give -FLT_MAX.
constexpr float kMaxInit = std::numeric_limits<float>::lowest();

// The larger of best and v; a NaN wins and stays (as ReduceMax, and as ORT's MaxPool does when
// its SIMD max happens to keep it): a window holding a NaN gives NaN.
inline float MaxNan(float best, float v) { return (v > best || v != v) ? v : best; }

// Combines the input rows of window (td, th) element-wise into tmp[0..W): sum or max. Returns
// false when the window has no valid rows.
template <bool kMax>
bool CombineRows(const float* xc, const PoolGeometry& g, const PoolTaps& td, const PoolTaps& th, float* tmp) {
  const int64_t H = g.in[1], W = g.in[2];
  bool first = true;
  for (int64_t a = 0; a < td.valid; ++a) {
    const int64_t id = td.first + a * g.dilation[0];
    for (int64_t b = 0; b < th.valid; ++b) {
      const float* xr = xc + (id * H + th.first + b * g.dilation[1]) * W;
      if (first) {
        std::copy(xr, xr + W, tmp);
        first = false;
      } else if constexpr (kMax) {
#pragma omp simd
        for (int64_t i = 0; i < W; ++i) tmp[i] = MaxNan(tmp[i], xr[i]);
      } else {
#pragma omp simd
        for (int64_t i = 0; i < W; ++i) tmp[i] += xr[i];
      }
    }
  }
  return !first;
}

// Vertical max of rows r[0..R) into tmp[0..W), as CombineRows<true> does it (the first row is
// copied, the others folded in with the same select), in one pass.
template <int R>
inline void CombineRowsMaxFixed(const float* const* r, int64_t W, float* __restrict tmp) {
#pragma omp simd
  for (int64_t i = 0; i < W; ++i) {
    float v = r[0][i];
    for (int k = 1; k < R; ++k) v = MaxNan(v, r[k][i]);
    tmp[i] = v;
  }
}

// yr[o] for o in [0, n): the max over K taps (dilation 1) starting at tr[o * S], each lane the
// same compare-and-select sequence from -inf as the scalar loop (so NaN handling is unchanged).
template <int K, int S>
inline void HorizontalMaxFixed(const float* __restrict tr, int64_t n, float* __restrict yr) {
#pragma omp simd
  for (int64_t o = 0; o < n; ++o) {
    float best = kMaxInit;
    for (int t = 0; t < K; ++t) best = MaxNan(best, tr[o * S + t]);
    yr[o] = best;
  }
}

inline void HorizontalMax(const float* tr, int64_t n, int64_t k, int64_t s, int64_t d, float* yr) {
  if (d == 1) {
    if (k == 2 && s == 2) return HorizontalMaxFixed<2, 2>(tr, n, yr);
    if (k == 3 && s == 2) return HorizontalMaxFixed<3, 2>(tr, n, yr);
    if (k == 3 && s == 1) return HorizontalMaxFixed<3, 1>(tr, n, yr);
    if (k == 2 && s == 1) return HorizontalMaxFixed<2, 1>(tr, n, yr);
    if (k == 5 && s == 1) return HorizontalMaxFixed<5, 1>(tr, n, yr);
  }
  for (int64_t o = 0; o < n; ++o) {
    const float* to = tr + o * s;
    float best = kMaxInit;
    for (int64_t t = 0; t < k; ++t) best = MaxNan(best, to[t * d]);
    yr[o] = best;
  }
}

// One output row of MaxPool without indices: the window's input rows are combined element-wise
// (vectorised), then the row is pooled horizontally: the outputs whose windows lie entirely
// inside the row in one vectorised loop, the (few) edge windows one by one.
// [lo, hi): the output columns whose windows are full (consecutive; their taps start at ow * sw -
// pad), the same for every row.
// (Forced inline: MaxPoolRows's instruction-set clones compile it for their own target.)
[[gnu::always_inline]] inline void MaxPoolRow(const float* xc, const PoolGeometry& g, const PoolTaps& td,
                                              const PoolTaps& th, const PoolTaps* taps_w, int64_t lo, int64_t hi,
                                              float* yr, float* tmp) {
  const int64_t ow_n = g.out[2], H = g.in[1], W = g.in[2];
  const int64_t kw = g.kernel[2], sw = g.stride[2], dw = g.dilation[2];
  if (td.valid == 1 && th.valid >= 1 && th.valid <= 3) {
    const float* r[3];
    for (int64_t b = 0; b < th.valid; ++b) r[b] = xc + (td.first * H + th.first + b * g.dilation[1]) * W;
    if (th.valid == 1) {
      tmp = const_cast<float*>(r[0]);  // read only below
    } else if (th.valid == 2) {
      CombineRowsMaxFixed<2>(r, W, tmp);
    } else {
      CombineRowsMaxFixed<3>(r, W, tmp);
    }
  } else if (!CombineRows<true>(xc, g, td, th, tmp)) {
    for (int64_t ow = 0; ow < ow_n; ++ow) yr[ow] = kMaxInit;
    return;
  }
  const float* row = tmp;
  auto edge = [&](int64_t ow) {
    const PoolTaps tw = taps_w[ow];
    const float* tr = row + tw.first;
    float best = kMaxInit;
    for (int64_t t = 0; t < tw.valid; ++t) best = MaxNan(best, tr[t * dw]);
    yr[ow] = best;
  };
  for (int64_t ow = 0; ow < lo; ++ow) edge(ow);
  if (hi > lo) HorizontalMax(row + taps_w[lo].first, hi - lo, kw, sw, dw, yr + lo);
  for (int64_t ow = hi; ow < ow_n; ++ow) edge(ow);
}

// MaxPool rows [b, e) without indices (one multiversioned call per chunk of rows).
ANVIL_MULTIVERSION void MaxPoolRows(const float* x, float* y, const PoolGeometry& g, const PoolTaps* const taps[3],
                                    int64_t b, int64_t e) {
  alignas(64) float tmp[kRowMax];
  const int64_t in_plane = g.in[0] * g.in[1] * g.in[2];
  const int64_t ow_n = g.out[2], kw = g.kernel[2];
  int64_t lo = 0, hi = ow_n;
  while (lo < ow_n && taps[2][lo].valid != kw) ++lo;
  while (hi > lo && taps[2][hi - 1].valid != kw) --hi;
  int64_t oh = b % g.out[1];
  int64_t od = (b / g.out[1]) % g.out[0];
  int64_t c = b / (g.out[0] * g.out[1]);
  for (int64_t row = b; row < e; ++row) {
    MaxPoolRow(x + c * in_plane, g, taps[0][od], taps[1][oh], taps[2], lo, hi, y + row * ow_n, tmp);
    if (++oh == g.out[1]) {
      oh = 0;
      if (++od == g.out[0]) {
        od = 0;
        ++c;
      }
    }
  }
}

}  // namespace

void AveragePool(const float* x, float* y, int64_t channels, const PoolGeometry& g, const PoolTaps* const taps[3],
                 bool count_include_pad) {
  const int64_t in_plane = g.in[0] * g.in[1] * g.in[2];
  const int64_t rows = channels * g.out[0] * g.out[1];
  const int64_t ow_n = g.out[2];
  const int64_t win = g.kernel[0] * g.kernel[1] * g.kernel[2];
  const int64_t dd = g.dilation[0], dh = g.dilation[1], dw = g.dilation[2];
  const int64_t H = g.in[1], W = g.in[2];
  ParallelFor(rows, ow_n * win + 1, [&](int64_t b, int64_t e) {
    alignas(64) float tmp[kRowMax];
    for (int64_t row = b; row < e; ++row) {
      const int64_t oh = row % g.out[1];
      const int64_t od = (row / g.out[1]) % g.out[0];
      const int64_t c = row / (g.out[0] * g.out[1]);
      const PoolTaps td = taps[0][od], th = taps[1][oh];
      const float* xc = x + c * in_plane;
      float* yr = y + row * ow_n;
      const int64_t rows_valid = td.valid * th.valid;
      const int64_t rows_padded = td.padded * th.padded;
      if (W <= kRowMax) {
        // Sum the window's input rows once (vectorised), then pool the summed row horizontally.
        if (!CombineRows<false>(xc, g, td, th, tmp)) {
          for (int64_t ow = 0; ow < ow_n; ++ow) yr[ow] = 0.f;
          continue;
        }
        for (int64_t ow = 0; ow < ow_n; ++ow) {
          const PoolTaps tw = taps[2][ow];
          const float* tr = tmp + tw.first;
          float sum = 0.f;
          for (int64_t t = 0; t < tw.valid; ++t) sum += tr[t * dw];
          const int64_t count = count_include_pad ? rows_padded * tw.padded : rows_valid * tw.valid;
          yr[ow] = count > 0 ? sum / static_cast<float>(count) : 0.f;
        }
        continue;
      }
      for (int64_t ow = 0; ow < ow_n; ++ow) {
        const PoolTaps tw = taps[2][ow];
        float sum = 0.f;
        for (int64_t a = 0; a < td.valid; ++a) {
          const int64_t id = td.first + a * dd;
          for (int64_t bb = 0; bb < th.valid; ++bb) {
            const float* xr = xc + (id * H + th.first + bb * dh) * W + tw.first;
            for (int64_t t = 0; t < tw.valid; ++t) sum += xr[t * dw];
          }
        }
        const int64_t count = count_include_pad ? rows_padded * tw.padded : rows_valid * tw.valid;
        yr[ow] = count > 0 ? sum / static_cast<float>(count) : 0.f;
      }
    }
  });
}

void MaxPool(const float* x, float* y, int64_t* indices, int64_t channels, const PoolGeometry& g,
             const PoolTaps* const taps[3], bool column_major) {
  const int64_t in_plane = g.in[0] * g.in[1] * g.in[2];
  const int64_t rows = channels * g.out[0] * g.out[1];
  const int64_t ow_n = g.out[2];
  const int64_t win = g.kernel[0] * g.kernel[1] * g.kernel[2];
  const int64_t dd = g.dilation[0], dh = g.dilation[1], dw = g.dilation[2];
  const int64_t D = g.in[0], H = g.in[1], W = g.in[2];
  if (indices == nullptr && W <= kRowMax) {
    ParallelFor(rows, ow_n * win + 1, [&](int64_t b, int64_t e) { MaxPoolRows(x, y, g, taps, b, e); });
    return;
  }
  ParallelFor(rows, ow_n * win + 1, [&](int64_t b, int64_t e) {
    for (int64_t row = b; row < e; ++row) {
      const int64_t oh = row % g.out[1];
      const int64_t od = (row / g.out[1]) % g.out[0];
      const int64_t c = row / (g.out[0] * g.out[1]);
      const PoolTaps td = taps[0][od], th = taps[1][oh];
      const float* xc = x + c * in_plane;
      float* yr = y + row * ow_n;
      for (int64_t ow = 0; ow < ow_n; ++ow) {
        const PoolTaps tw = taps[2][ow];
        float best = kMaxInit;
        int64_t best_at = -1;
        for (int64_t a = 0; a < td.valid; ++a) {
          const int64_t id = td.first + a * dd;
          for (int64_t bb = 0; bb < th.valid; ++bb) {
            const int64_t rowoff = (id * H + th.first + bb * dh) * W + tw.first;
            const float* xr = xc + rowoff;
            if (indices == nullptr) {
              if (dw == 1) {
                for (int64_t t = 0; t < tw.valid; ++t) best = MaxNan(best, xr[t]);
              } else {
                for (int64_t t = 0; t < tw.valid; ++t) best = MaxNan(best, xr[t * dw]);
              }
            } else {
              for (int64_t t = 0; t < tw.valid; ++t) {
                if (xr[t * dw] > best || best_at < 0) {
                  best = xr[t * dw];
                  best_at = rowoff + t * dw;
                }
              }
            }
          }
        }
        yr[ow] = best;
        if (indices != nullptr) {
          int64_t idx = -1;
          if (best_at >= 0) {
            const int64_t iw = best_at % W, ih = (best_at / W) % H, id = best_at / (W * H);
            idx = c * in_plane + (column_major ? (iw * H + ih) * D + id : best_at);
          }
          indices[row * ow_n + ow] = idx;
        }
      }
    }
  });
}

void LpPool(const float* x, float* y, int64_t channels, const PoolGeometry& g, const PoolTaps* const taps[3],
            int64_t p) {
  const int64_t in_plane = g.in[0] * g.in[1] * g.in[2];
  const int64_t rows = channels * g.out[0] * g.out[1];
  const int64_t ow_n = g.out[2];
  const int64_t win = g.kernel[0] * g.kernel[1] * g.kernel[2];
  const int64_t dd = g.dilation[0], dh = g.dilation[1], dw = g.dilation[2];
  const int64_t H = g.in[1], W = g.in[2];
  const double pd = static_cast<double>(p);
  ParallelFor(rows, ow_n * win * 4 + 1, [&](int64_t b, int64_t e) {
    for (int64_t row = b; row < e; ++row) {
      const int64_t oh = row % g.out[1];
      const int64_t od = (row / g.out[1]) % g.out[0];
      const int64_t c = row / (g.out[0] * g.out[1]);
      const PoolTaps td = taps[0][od], th = taps[1][oh];
      const float* xc = x + c * in_plane;
      float* yr = y + row * ow_n;
      for (int64_t ow = 0; ow < ow_n; ++ow) {
        const PoolTaps tw = taps[2][ow];
        double sum = 0;
        for (int64_t a = 0; a < td.valid; ++a) {
          const int64_t id = td.first + a * dd;
          for (int64_t bb = 0; bb < th.valid; ++bb) {
            const float* xr = xc + (id * H + th.first + bb * dh) * W + tw.first;
            for (int64_t t = 0; t < tw.valid; ++t) {
              const double v = std::fabs(static_cast<double>(xr[t * dw]));
              sum += p == 1 ? v : p == 2 ? v * v : std::pow(v, pd);
            }
          }
        }
        yr[ow] = static_cast<float>(p == 1 ? sum : p == 2 ? std::sqrt(sum) : std::pow(sum, 1.0 / pd));
      }
    }
  });
}

namespace {

// Channels-last pools (NHWC), a row of outputs (batch, out0, out1) at a time, separably: the input
// rows inside the row's window (out0, out1 taps) are combined into one row of W * c floats (or the
// one such row read in place), then each output position combines the taps of its window along W
// from that row, `c` contiguous channels each. Up to 4 taps are combined in one pass that writes
// its output once (CombineFew); every pass is a loop over contiguous floats, which the compiler
// vectorises for each instruction-set clone. (A loop that gathered and combined all of a window's
// taps per output position, reading and writing the output per tap, took 7 % of BlazeFace front's
// time in its three 2x2 MaxPools, 3.8 % now, and a 3x3 stride-2 MaxPool over 16 channels at
// 112x112 ran in 2.2x ORT's time, 1.5x now.) kMax: the max, NaN kept (MaxNan), lowest() for a
// window with no taps inside the input; else the sum divided by the count (count_include_pad: the
// padded window's), 0 with none. A row wider than kMaxRow floats combines its rows per output
// position instead (no scratch row).
constexpr int64_t kMaxRow = 8192;  // floats of the combined row, on the stack (32 KB)

template <bool kMax>
[[gnu::always_inline]] inline void Combine(float* __restrict acc, const float* __restrict v, int64_t n) {
#pragma omp simd
  for (int64_t k = 0; k < n; ++k) acc[k] = kMax ? MaxNan(acc[k], v[k]) : acc[k] + v[k];
}

// y[k] = the N taps p[0..N)[k] combined (from `init`), for k in [0, c): one pass, the output written
// once; kFinal: the average divided by `count` (0 with none).
template <bool kMax, bool kFinal, int N>
[[gnu::always_inline]] inline void CombineTaps(const float* const* p, int64_t c, float init, int64_t count,
                                               float* __restrict y) {
  const float div = static_cast<float>(count);
#pragma omp simd
  for (int64_t k = 0; k < c; ++k) {
    float v = init;
#pragma GCC unroll 4
    for (int t = 0; t < N; ++t) v = kMax ? MaxNan(v, p[t][k]) : v + p[t][k];
    if constexpr (!kMax && kFinal) v = count > 0 ? v / div : 0.f;
    y[k] = v;
  }
}

// CombineTaps for n taps, 1 <= n <= kFewTaps: one pass.
constexpr int64_t kFewTaps = 4;
template <bool kMax, bool kFinal>
[[gnu::always_inline]] inline void CombineFew(const float* const* p, int64_t n, int64_t c, float init, int64_t count,
                                              float* __restrict y) {
  switch (n) {
    case 1: return CombineTaps<kMax, kFinal, 1>(p, c, init, count, y);
    case 2: return CombineTaps<kMax, kFinal, 2>(p, c, init, count, y);
    case 3: return CombineTaps<kMax, kFinal, 3>(p, c, init, count, y);
    default: return CombineTaps<kMax, kFinal, 4>(p, c, init, count, y);
  }
}

template <bool kMax>
[[gnu::always_inline]] inline void PoolNhwcRows(const float* x, float* y, int64_t c, const PoolGeometry& g,
                                                const PoolTaps* const taps[3], bool count_include_pad, int64_t b,
                                                int64_t e) {
  const float init = kMax ? kMaxInit : 0.f;
  const int64_t row_len = g.in[2] * c;
  const bool scratch = row_len <= kMaxRow;
  alignas(64) float combined[scratch ? kMaxRow : 1];
  for (int64_t row = b; row < e; ++row) {
    const int64_t oh = row % g.out[1];
    const int64_t od = (row / g.out[1]) % g.out[0];
    const int64_t n = row / (g.out[0] * g.out[1]);
    const PoolTaps td = taps[0][od], th = taps[1][oh];
    auto input_row = [&](int64_t a, int64_t bb) {
      const int64_t id = td.first + a * g.dilation[0], ih = th.first + bb * g.dilation[1];
      return x + ((n * g.in[0] + id) * g.in[1] + ih) * row_len;
    };
    // The window's rows, combined (or the only one).
    const float* src = nullptr;
    const int64_t rows = td.valid * th.valid;
    if (rows == 1) {
      src = input_row(0, 0);
    } else if (rows > 1 && scratch) {
      if (rows <= kFewTaps) {
        const float* p[kFewTaps];
        for (int64_t a = 0, i = 0; a < td.valid; ++a)
          for (int64_t bb = 0; bb < th.valid; ++bb) p[i++] = input_row(a, bb);
        CombineFew<kMax, false>(p, rows, row_len, init, 1, combined);
      } else {
        std::fill(combined, combined + row_len, init);
        for (int64_t a = 0; a < td.valid; ++a)
          for (int64_t bb = 0; bb < th.valid; ++bb) Combine<kMax>(combined, input_row(a, bb), row_len);
      }
      src = combined;
    }
    for (int64_t ow = 0; ow < g.out[2]; ++ow) {
      const PoolTaps tw = taps[2][ow];
      float* __restrict yo = y + (row * g.out[2] + ow) * c;
      const int64_t count = count_include_pad ? td.padded * th.padded * tw.padded : rows * tw.valid;
      if (src && tw.valid >= 1 && tw.valid <= kFewTaps) {  // the common windows: one pass per output
        const float* p[kFewTaps];
        for (int64_t t = 0; t < tw.valid; ++t) p[t] = src + (tw.first + t * g.dilation[2]) * c;
        CombineFew<kMax, true>(p, tw.valid, c, init, count, yo);
        continue;
      }
      std::fill(yo, yo + c, init);
      for (int64_t t = 0; t < tw.valid; ++t) {
        const int64_t iw = (tw.first + t * g.dilation[2]) * c;
        if (src) {
          Combine<kMax>(yo, src + iw, c);
        } else {
          for (int64_t a = 0; a < td.valid; ++a)
            for (int64_t bb = 0; bb < th.valid; ++bb) Combine<kMax>(yo, input_row(a, bb) + iw, c);
        }
      }
      if constexpr (!kMax) {
        const float div = static_cast<float>(count);
        for (int64_t k = 0; k < c; ++k) yo[k] = count > 0 ? yo[k] / div : 0.f;
      }
    }
  }
}

ANVIL_MULTIVERSION void MaxPoolNhwcRows(const float* x, float* y, int64_t c, const PoolGeometry& g,
                                        const PoolTaps* const taps[3], int64_t b, int64_t e) {
  PoolNhwcRows<true>(x, y, c, g, taps, false, b, e);
}

ANVIL_MULTIVERSION void AveragePoolNhwcRows(const float* x, float* y, int64_t c, const PoolGeometry& g,
                                            const PoolTaps* const taps[3], bool count_include_pad, int64_t b,
                                            int64_t e) {
  PoolNhwcRows<false>(x, y, c, g, taps, count_include_pad, b, e);
}

}  // namespace

void AveragePoolNhwc(const float* x, float* y, int64_t batch, int64_t channels, const PoolGeometry& g,
                     const PoolTaps* const taps[3], bool count_include_pad) {
  const int64_t rows = batch * g.out[0] * g.out[1];
  const int64_t win = g.kernel[0] * g.kernel[1] * g.kernel[2];
  ParallelFor(rows, g.out[2] * win * channels + 1, [&](int64_t b, int64_t e) {
    AveragePoolNhwcRows(x, y, channels, g, taps, count_include_pad, b, e);
  });
}

void MaxPoolNhwc(const float* x, float* y, int64_t batch, int64_t channels, const PoolGeometry& g,
                 const PoolTaps* const taps[3]) {
  const int64_t rows = batch * g.out[0] * g.out[1];
  const int64_t win = g.kernel[0] * g.kernel[1] * g.kernel[2];
  ParallelFor(rows, g.out[2] * win * channels + 1,
              [&](int64_t b, int64_t e) { MaxPoolNhwcRows(x, y, channels, g, taps, b, e); });
}

void GlobalPoolNhwc(const float* x, float* y, int64_t batch, int64_t spatial, int64_t channels, bool max) {
  const int64_t c = channels;
  // A mean over an empty spatial extent is NaN (numpy's mean of nothing), as the NCHW kernel.
  const float inv = spatial > 0 ? 1.f / static_cast<float>(spatial) : std::nanf("");
  ParallelFor(batch, spatial * c + 1, [&](int64_t b, int64_t e) {
    for (int64_t n = b; n < e; ++n) {
      float* __restrict yo = y + n * c;
      std::fill(yo, yo + c, max ? -std::numeric_limits<float>::infinity() : 0.f);
      for (int64_t s = 0; s < spatial; ++s) {
        const float* __restrict xr = x + (n * spatial + s) * c;
        if (max) {
#pragma omp simd
          for (int64_t k = 0; k < c; ++k) yo[k] = MaxNan(yo[k], xr[k]);
        } else {
#pragma omp simd
          for (int64_t k = 0; k < c; ++k) yo[k] += xr[k];
        }
      }
      if (!max)
        for (int64_t k = 0; k < c; ++k) yo[k] = spatial > 0 ? yo[k] * inv : inv;
    }
  });
}

}  // namespace anvil::nn
