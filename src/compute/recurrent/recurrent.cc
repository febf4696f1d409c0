// FP operations never trap in Anvil (exceptions stay masked); telling GCC so lets it if-convert
// the selects in Exp() and vectorise the activation loops.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include "compute/recurrent/recurrent.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "compute/parallel.h"
#include "compute/vec_math.h"

namespace anvil::rnn {
namespace {

// ---------------------------------------------------------------------------------------------
// Panels and the product C = A * B^T (+ bias per column), B given as panels.

// 32 bytes of T as one GCC vector (an AVX register in the x86-64-v3/v4 clones, two SSE registers
// in the baseline one); a panel row is kPanel / Lanes of them. U: the same, for unaligned access.
template <typename T>
struct Vec32 {
  typedef T type __attribute__((vector_size(32)));
  typedef T unaligned __attribute__((vector_size(32), aligned(alignof(T)), may_alias));
  static constexpr int kLanes = 32 / sizeof(T);
};

// R rows of A against P consecutive panels: R x P x kPanel accumulators in registers (at most
// 8 AVX registers of floats, so that enough independent FMAs are in flight even for one row).
// `n_left` is the number of columns from the first panel's start to the end of C.
template <typename T, int R, int P, bool kPin>
[[gnu::always_inline]] inline void Tile(const T* a, int64_t lda, const T* panel, int64_t k, T* c, int64_t ldc,
                                        int64_t n_left, const T* bias) {
  using V = typename Vec32<T>::type;
  using U = typename Vec32<T>::unaligned;
  constexpr int kL = Vec32<T>::kLanes, kV = kPanel / kL;
  const int64_t panel_stride = kPanel * k;
  V acc[R][P][kV];
  for (int r = 0; r < R; ++r)
    for (int q = 0; q < P; ++q)
      for (int v = 0; v < kV; ++v) acc[r][q][v] = V{};
  for (int64_t kk = 0; kk < k; ++kk) {
    V b[P][kV];
    for (int q = 0; q < P; ++q)
      for (int v = 0; v < kV; ++v) {
        b[q][v] = *reinterpret_cast<const U*>(panel + q * panel_stride + kk * kPanel + v * kL);
        // Keeps b in a register: otherwise GCC folds the load into every FMA that uses it
        // (R loads instead of one), which makes the tile load-bound. One row reads each b once.
        if constexpr (kPin && R > 1) __asm__("" : "+x"(b[q][v]));
      }
    for (int r = 0; r < R; ++r) {
      const T av = a[r * lda + kk];
      for (int q = 0; q < P; ++q)
        for (int v = 0; v < kV; ++v) acc[r][q][v] += av * b[q][v];
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int q = 0; q < P; ++q) {
      T* cr = c + r * ldc + q * kPanel;
      const int64_t cols = std::min<int64_t>(kPanel, n_left - q * kPanel);
      if (cols == kPanel && !bias) {
        for (int v = 0; v < kV; ++v) *reinterpret_cast<U*>(cr + v * kL) = acc[r][q][v];
        continue;
      }
      const T* bq = bias ? bias + q * kPanel : nullptr;
      for (int v = 0; v < kV; ++v) {
        for (int l = 0; l < kL; ++l) {
          const int64_t j = v * kL + l;
          if (j < cols) cr[j] = acc[r][q][v][l] + (bq ? bq[j] : T(0));
        }
      }
    }
  }
}

// Rows r0.. (R of them) of A against panels [p0, p1), P panels at a time.
template <typename T, int R, int P, bool kPin>
[[gnu::always_inline]] inline void TileRow(const T* a, int64_t lda, const T* panels, int64_t n, int64_t k, T* c,
                                           int64_t ldc, const T* bias, int64_t p0, int64_t p1) {
  int64_t p = p0;
  for (; p + P <= p1; p += P) {
    const int64_t col0 = p * kPanel;
    Tile<T, R, P, kPin>(a, lda, panels + col0 * k, k, c + col0, ldc, n - col0, bias ? bias + col0 : nullptr);
  }
  for (; p < p1; ++p) {
    const int64_t col0 = p * kPanel;
    Tile<T, R, 1, kPin>(a, lda, panels + col0 * k, k, c + col0, ldc, n - col0, bias ? bias + col0 : nullptr);
  }
}

// Rows [0, m) of A against panels [p0, p1): blocks of 4 rows panel by panel (a panel stays in L1
// across the row blocks), then the last 1-3 rows against several panels at once.
template <typename T, bool kPin>
[[gnu::always_inline]] inline void GemmBlock(const T* a, int64_t lda, int64_t m, const T* panels, int64_t n,
                                             int64_t k, T* c, int64_t ldc, const T* bias, int64_t p0, int64_t p1) {
  const int64_t full = m / 4 * 4;
  for (int64_t p = p0; p < p1; ++p) {
    const int64_t col0 = p * kPanel;
    for (int64_t r = 0; r < full; r += 4)
      Tile<T, 4, 1, kPin>(a + r * lda, lda, panels + col0 * k, k, c + r * ldc + col0, ldc, n - col0,
                    bias ? bias + col0 : nullptr);
  }
  const T* at = a + full * lda;
  T* ct = c + full * ldc;
  switch (m - full) {
    case 3: TileRow<T, 3, 1, kPin>(at, lda, panels, n, k, ct, ldc, bias, p0, p1); break;
    case 2: TileRow<T, 2, 2, kPin>(at, lda, panels, n, k, ct, ldc, bias, p0, p1); break;
    case 1: TileRow<T, 1, 4, kPin>(at, lda, panels, n, k, ct, ldc, bias, p0, p1); break;
    default: break;
  }
}

// The AVX2 + FMA build of the product (chosen at run time), and the baseline one.
#define ANVIL_AVX2 __attribute__((target("avx2,fma")))
ANVIL_AVX2 void GemmBlockAvx2(const float* a, int64_t lda, int64_t m, const float* panels, int64_t n, int64_t k,
                              float* c, int64_t ldc, const float* bias, int64_t p0, int64_t p1) {
  GemmBlock<float, true>(a, lda, m, panels, n, k, c, ldc, bias, p0, p1);
}
ANVIL_AVX2 void GemmBlockAvx2(const double* a, int64_t lda, int64_t m, const double* panels, int64_t n, int64_t k,
                              double* c, int64_t ldc, const double* bias, int64_t p0, int64_t p1) {
  GemmBlock<double, true>(a, lda, m, panels, n, k, c, ldc, bias, p0, p1);
}
bool HasAvx2() {
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
}
template <typename T>
void GemmBlockT(const T* a, int64_t lda, int64_t m, const T* panels, int64_t n, int64_t k, T* c, int64_t ldc,
                const T* bias, int64_t p0, int64_t p1) {
  if (HasAvx2()) {
    GemmBlockAvx2(a, lda, m, panels, n, k, c, ldc, bias, p0, p1);
  } else {
    GemmBlock<T, false>(a, lda, m, panels, n, k, c, ldc, bias, p0, p1);
  }
}

// C[m, n] (row stride ldc) = A[m, k] (row stride lda) * B^T + bias, in parallel over tiles of
// 64 rows by one panel when the product is large enough.
template <typename T>
void Gemm(const T* a, int64_t lda, int64_t m, const T* panels, int64_t n, int64_t k, T* c, int64_t ldc,
          const T* bias) {
  if (m <= 0 || n <= 0) return;
  const int64_t np = (n + kPanel - 1) / kPanel;
  constexpr int64_t kRows = 64;
  const int64_t chunks = (m + kRows - 1) / kRows;
  const int64_t rows_per_chunk = std::min(m, kRows);
  ParallelFor(np * chunks, 2 * rows_per_chunk * std::max<int64_t>(k, 1) * kPanel, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end;) {
      const int64_t ch = t / np, p0 = t % np;
      const int64_t p1 = std::min(np, p0 + (end - t));
      const int64_t r0 = ch * kRows, rows = std::min(kRows, m - r0);
      GemmBlockT<T>(a + r0 * lda, lda, rows, panels, n, k, c + r0 * ldc, ldc, bias, p0, p1);
      t += p1 - p0;
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Activations

[[gnu::always_inline]] inline float ExpT(float x) { return Exp(x); }
[[gnu::always_inline]] inline double ExpT(double x) { return std::exp(x); }

template <typename T>
[[gnu::always_inline]] inline T SigmoidT(T x) {
  const T ax = x < T(0) ? -x : x;
  const T e = ExpT(-ax);
  const T r = T(1) / (T(1) + e);
  return x < T(0) ? e * r : r;
}
// tanh(|x|) = (1 - e) / (1 + e) with e = exp(-2|x|), sign restored.
template <typename T>
[[gnu::always_inline]] inline T TanhT(T x) {
  const T ax = x < T(0) ? -x : x;
  const T e = ExpT(T(-2) * ax);
  const T t = (T(1) - e) / (T(1) + e);
  return x < T(0) ? -t : t;
}
[[gnu::always_inline]] inline double TanhT(double x) { return std::tanh(x); }

template <typename T>
[[gnu::always_inline]] inline void Activate(const Activation& act, T* x, int64_t n) {
  const T alpha = static_cast<T>(act.alpha), beta = static_cast<T>(act.beta);
  switch (act.kind) {
    case Act::kRelu:
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] > T(0) ? x[i] : T(0);
      break;
    case Act::kTanh:
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) x[i] = TanhT(x[i]);
      break;
    case Act::kSigmoid:
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) x[i] = SigmoidT(x[i]);
      break;
    case Act::kAffine:
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) x[i] = alpha * x[i] + beta;
      break;
    case Act::kLeakyRelu:
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] >= T(0) ? x[i] : alpha * x[i];
      break;
    case Act::kThresholdedRelu:
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] > alpha ? x[i] : T(0);
      break;
    case Act::kScaledTanh:
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) x[i] = alpha * TanhT(beta * x[i]);
      break;
    case Act::kHardSigmoid:
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) {
        const T v = alpha * x[i] + beta;
        x[i] = v < T(0) ? T(0) : (v > T(1) ? T(1) : v);
      }
      break;
    case Act::kElu:
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] >= T(0) ? x[i] : alpha * (ExpT(x[i]) - T(1));
      break;
    case Act::kSoftsign:
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] / (T(1) + (x[i] < T(0) ? -x[i] : x[i]));
      break;
    case Act::kSoftplus:
      for (int64_t i = 0; i < n; ++i) x[i] = std::log(T(1) + std::exp(x[i]));
      break;
  }
}

ANVIL_MULTIVERSION void ActivateF(const Activation& act, float* x, int64_t n) { Activate<float>(act, x, n); }
void ActivateT(const Activation& act, float* x, int64_t n) { ActivateF(act, x, n); }
void ActivateT(const Activation& act, double* x, int64_t n) { Activate<double>(act, x, n); }

// x = clip(x + add) elementwise, then the activation.
template <typename T>
inline void AddClipActivate(const Problem& p, const Activation& act, T* x, const T* add, int64_t n) {
  if (add) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) x[i] += add[i];
  }
  if (p.clip) {
    const T hi = static_cast<T>(p.clip_value), lo = -hi;
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) x[i] = std::max(lo, std::min(hi, x[i]));
  }
  ActivateT(act, x, n);
}

// ---------------------------------------------------------------------------------------------
// Layout

struct Layout {
  int64_t seq, batch, dirs, hidden;
  bool batch_major;
  int64_t XRow(int64_t t, int64_t b) const { return batch_major ? b * seq + t : t * batch + b; }
  int64_t YOffset(int64_t t, int64_t d, int64_t b) const {
    return (batch_major ? (b * seq + t) * dirs + d : (t * dirs + d) * batch + b) * hidden;
  }
  int64_t StateOffset(int64_t d, int64_t b) const {
    return (batch_major ? b * dirs + d : d * batch + b) * hidden;
  }
};

inline int64_t Align16(int64_t n) { return (n + 15) / 16 * 16; }

template <typename T>
void RunDirection(const Problem& p, int d, const DirectionWeights<T>& w, const Io<T>& io, const Layout& lay,
                  int64_t max_len, T* ws) {
  const int64_t H = p.hidden, B = p.batch, G = GateCount(p.cell), GH = G * H;
  const bool rev = p.directions == 2 ? d == 1 : p.reverse;
  T* xw = ws;
  ws += Align16(p.seq * B * GH);
  T* g = ws;
  ws += Align16(B * GH);
  T* hs = ws;
  ws += Align16(B * H);
  T* cs = ws;
  ws += Align16(B * H);
  T* rh = ws;
  ws += Align16(B * H);
  T* bias_x = ws;
  ws += Align16(GH);
  T* rbh = ws;

  // Biases folded into the input projection: Wb + Rb, except GRU's Rbh with linear_before_reset
  // (it is added to H * Rh^T before the reset gate multiplies it).
  const bool gru_lbr = p.cell == Cell::kGru && p.linear_before_reset;
  if (w.bias) {
    for (int64_t j = 0; j < GH; ++j) bias_x[j] = w.bias[j] + w.bias[GH + j];
    if (gru_lbr)
      for (int64_t j = 0; j < H; ++j) {
        bias_x[2 * H + j] = w.bias[2 * H + j];
        rbh[j] = w.bias[GH + 2 * H + j];
      }
  }
  const T* bx = w.bias ? bias_x : nullptr;
  Gemm<T>(io.x, p.input, p.seq * B, w.w, GH, p.input, xw, GH, bx);

  // Initial state.
  for (int64_t b = 0; b < B; ++b) {
    T* hb = hs + b * H;
    if (io.initial_h) {
      std::memcpy(hb, io.initial_h + lay.StateOffset(d, b), H * sizeof(T));
    } else {
      std::fill(hb, hb + H, T(0));
    }
    if (p.cell == Cell::kLstm) {
      T* cb = cs + b * H;
      if (io.initial_c) {
        std::memcpy(cb, io.initial_c + lay.StateOffset(d, b), H * sizeof(T));
      } else {
        std::fill(cb, cb + H, T(0));
      }
    }
  }
  if (p.cell == Cell::kGru && !gru_lbr) std::fill(rh, rh + B * H, T(0));

  auto length = [&](int64_t b) -> int64_t { return io.lengths ? io.lengths[b] : p.seq; };
  const Activation* act = p.act[d];
  const T* peep = w.peephole;

  for (int64_t s = 0; s < max_len; ++s) {
    // g = H * R^T for every batch row (rows that are done are computed and ignored).
    if (p.cell == Cell::kGru) {
      Gemm<T>(hs, H, B, w.r, 2 * H, H, g, GH, nullptr);
      if (gru_lbr) Gemm<T>(hs, H, B, w.rh, H, H, g + 2 * H, GH, gru_lbr && w.bias ? rbh : nullptr);
    } else {
      Gemm<T>(hs, H, B, w.r, GH, H, g, GH, nullptr);
    }
    auto time_of = [&](int64_t b) { return rev ? length(b) - 1 - s : s; };

    if (p.cell == Cell::kGru) {
      // z and r; then the input to h~ (needs r).
      for (int64_t b = 0; b < B; ++b) {
        if (s >= length(b)) continue;
        const T* x = xw + lay.XRow(time_of(b), b) * GH;
        T* gb = g + b * GH;
        AddClipActivate(p, act[0], gb, x, 2 * H);  // z, r
        const T* r = gb + H;
        if (gru_lbr) {
          T* gh = gb + 2 * H;  // H * Rh^T + Rbh
          for (int64_t j = 0; j < H; ++j) gh[j] = x[2 * H + j] + r[j] * gh[j];
        } else {
          const T* hb = hs + b * H;
          T* rb = rh + b * H;
          for (int64_t j = 0; j < H; ++j) rb[j] = r[j] * hb[j];
        }
      }
      if (!gru_lbr) Gemm<T>(rh, H, B, w.rh, H, H, g + 2 * H, GH, nullptr);
      for (int64_t b = 0; b < B; ++b) {
        if (s >= length(b)) continue;
        const int64_t t = time_of(b);
        T* gb = g + b * GH;
        T* gh = gb + 2 * H;
        AddClipActivate(p, act[1], gh, gru_lbr ? nullptr : xw + lay.XRow(t, b) * GH + 2 * H, H);
        const T* z = gb;
        T* hb = hs + b * H;
        for (int64_t j = 0; j < H; ++j) hb[j] = (T(1) - z[j]) * gh[j] + z[j] * hb[j];
        if (io.y) std::memcpy(io.y + lay.YOffset(t, d, b), hb, H * sizeof(T));
      }
      continue;
    }

    for (int64_t b = 0; b < B; ++b) {
      if (s >= length(b)) continue;
      const int64_t t = time_of(b);
      const T* x = xw + lay.XRow(t, b) * GH;
      T* gb = g + b * GH;
      T* hb = hs + b * H;
      if (p.cell == Cell::kRnn) {
        AddClipActivate(p, act[0], gb, x, H);
        std::memcpy(hb, gb, H * sizeof(T));
      } else {
        // LSTM, gates in W's order i, o, f, c.
        T* gi = gb;
        T* go = gb + H;
        T* gf = gb + 2 * H;
        T* gc = gb + 3 * H;
        T* cb = cs + b * H;
#pragma omp simd
        for (int64_t j = 0; j < GH; ++j) gb[j] += x[j];
        if (peep) {
          const T* pi = peep;
          const T* pf = peep + 2 * H;
#pragma omp simd
          for (int64_t j = 0; j < H; ++j) {
            gi[j] += pi[j] * cb[j];
            gf[j] += pf[j] * cb[j];
          }
        }
        AddClipActivate<T>(p, act[0], gi, nullptr, H);
        if (p.input_forget) {
          for (int64_t j = 0; j < H; ++j) gf[j] = T(1) - gi[j];
        } else {
          AddClipActivate<T>(p, act[0], gf, nullptr, H);
        }
        AddClipActivate<T>(p, act[1], gc, nullptr, H);
#pragma omp simd
        for (int64_t j = 0; j < H; ++j) cb[j] = gf[j] * cb[j] + gi[j] * gc[j];
        if (peep) {
          const T* po = peep + H;
#pragma omp simd
          for (int64_t j = 0; j < H; ++j) go[j] += po[j] * cb[j];
        }
        AddClipActivate<T>(p, act[0], go, nullptr, H);
        std::memcpy(gc, cb, H * sizeof(T));
        ActivateT(act[2], gc, H);
#pragma omp simd
        for (int64_t j = 0; j < H; ++j) hb[j] = go[j] * gc[j];
      }
      if (io.y) std::memcpy(io.y + lay.YOffset(t, d, b), hb, H * sizeof(T));
    }
  }

  // Final states: the last valid step's, zeros for an empty sequence.
  for (int64_t b = 0; b < B; ++b) {
    const bool empty = length(b) == 0;
    if (io.y_h) {
      T* dst = io.y_h + lay.StateOffset(d, b);
      if (empty) std::fill(dst, dst + H, T(0));
      else std::memcpy(dst, hs + b * H, H * sizeof(T));
    }
    if (io.y_c) {
      T* dst = io.y_c + lay.StateOffset(d, b);
      if (empty) std::fill(dst, dst + H, T(0));
      else std::memcpy(dst, cs + b * H, H * sizeof(T));
    }
  }
}

}  // namespace

template <typename T>
void PackPanels(const T* w, int64_t n, int64_t k, T* panels) {
  const int64_t np = (n + kPanel - 1) / kPanel;
  for (int64_t p = 0; p < np; ++p) {
    T* dst = panels + p * kPanel * k;
    for (int64_t kk = 0; kk < k; ++kk)
      for (int64_t j = 0; j < kPanel; ++j) {
        const int64_t row = p * kPanel + j;
        dst[kk * kPanel + j] = row < n ? w[row * k + kk] : T(0);
      }
  }
}

int64_t WorkspaceElems(const Problem& p) {
  const int64_t H = p.hidden, B = p.batch, GH = GateCount(p.cell) * H;
  return Align16(p.seq * B * GH) + Align16(B * GH) + 3 * Align16(B * H) + Align16(GH) + Align16(H);
}

template <typename T>
void Run(const Problem& p, const DirectionWeights<T>* weights, const Io<T>& io, T* workspace) {
  const Layout lay{p.seq, p.batch, p.directions, p.hidden, p.batch_major};
  int64_t max_len = p.seq;
  bool short_rows = false;
  if (io.lengths) {
    max_len = 0;
    for (int64_t b = 0; b < p.batch; ++b) {
      max_len = std::max<int64_t>(max_len, io.lengths[b]);
      short_rows = short_rows || io.lengths[b] < p.seq;
    }
  }
  // Steps past a sequence's length stay zero in Y.
  if (io.y && short_rows) std::fill(io.y, io.y + p.seq * p.directions * p.batch * p.hidden, T(0));
  for (int d = 0; d < p.directions; ++d) RunDirection<T>(p, d, weights[d], io, lay, max_len, workspace);
}

template void PackPanels<float>(const float*, int64_t, int64_t, float*);
template void PackPanels<double>(const double*, int64_t, int64_t, double*);
template void Run<float>(const Problem&, const DirectionWeights<float>*, const Io<float>&, float*);
template void Run<double>(const Problem&, const DirectionWeights<double>*, const Io<double>&, double*);

}  // namespace anvil::rnn
