#include "compute/nn/attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "compute/nn/softmax.h"
#include "compute/parallel.h"
#include "compute/vec_math.h"

namespace anvil::nn {

uint16_t FloatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t abs = x & 0x7fffffffu;
  if (abs >= 0x7f800000u) return static_cast<uint16_t>(sign | (abs > 0x7f800000u ? 0x7e00u : 0x7c00u));
  if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds to >= 65520: inf
  if (abs < 0x38800000u) {  // below the smallest normal half (2^-14): subnormal or zero
    if (abs < 0x33000000u) return static_cast<uint16_t>(sign);  // < 2^-25: rounds to 0
    const uint32_t e = abs >> 23;                               // 102..112
    const uint32_t m = (abs & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126 - e;  // 14..24
    uint32_t h = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1u))) ++h;
    return static_cast<uint16_t>(sign | h);
  }
  uint32_t h = ((abs >> 13) - (112u << 10));
  const uint32_t rem = abs & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;
  return static_cast<uint16_t>(sign | h);
}

float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu, x;
  if (e == 0x1f) {
    x = sign | 0x7f800000u | (m << 13);
  } else if (e != 0) {
    x = sign | ((e + 112u) << 23) | (m << 13);
  } else if (m == 0) {
    x = sign;
  } else {  // subnormal: normalise
    e = 113;
    while ((m & 0x400u) == 0) {
      m <<= 1;
      --e;
    }
    x = sign | (e << 23) | ((m & 0x3ffu) << 13);
  }
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

void HalfToFloatArray(const uint16_t* x, float* y, int64_t n) {
  ParallelFor(n, 2, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) y[i] = HalfToFloat(x[i]);
  });
}

void FloatToHalfArray(const float* x, uint16_t* y, int64_t n) {
  ParallelFor(n, 2, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) y[i] = FloatToHalf(x[i]);
  });
}

namespace {

// sc[s, t] = sum_d q[s, d] kt[d, t] over rows of four queries (each K' row loaded once for four).
ANVIL_MULTIVERSION void QueryKeyScores(const float* qi, const float* kt, float* sc, int64_t S, int64_t T, int64_t D) {
  for (int64_t s0 = 0; s0 < S; s0 += 4) {
    const int64_t rows = std::min<int64_t>(4, S - s0);
    float* r0 = sc + s0 * T;
    std::fill(r0, r0 + rows * T, 0.0f);
    const float* q0 = qi + s0 * D;
    if (rows == 4) {
      float *r1 = r0 + T, *r2 = r1 + T, *r3 = r2 + T;
      for (int64_t d = 0; d < D; ++d) {
        const float* kd = kt + d * T;
        const float a0 = q0[d], a1 = q0[D + d], a2 = q0[2 * D + d], a3 = q0[3 * D + d];
#pragma omp simd
        for (int64_t t = 0; t < T; ++t) {
          r0[t] += a0 * kd[t];
          r1[t] += a1 * kd[t];
          r2[t] += a2 * kd[t];
          r3[t] += a3 * kd[t];
        }
      }
    } else {
      for (int64_t r = 0; r < rows; ++r) {
        float* rr = r0 + r * T;
        for (int64_t d = 0; d < D; ++d) {
          const float* kd = kt + d * T;
          const float a = q0[r * D + d];
#pragma omp simd
          for (int64_t t = 0; t < T; ++t) rr[t] += a * kd[t];
        }
      }
    }
  }
}

// y[s, :] = sum_t p[s, t] v[t, :] (rows of y `y_stride` apart), four query rows sharing each V row.
ANVIL_MULTIVERSION void WeightedSums(const float* pr, const float* vi, float* y, int64_t y_stride, int64_t S,
                                     int64_t T, int64_t Dv) {
  for (int64_t s0 = 0; s0 < S; s0 += 4) {
    const int64_t rows = std::min<int64_t>(4, S - s0);
    const float* p0 = pr + s0 * T;
    float* y0 = y + s0 * y_stride;
    for (int64_t r = 0; r < rows; ++r) std::fill(y0 + r * y_stride, y0 + r * y_stride + Dv, 0.0f);
    if (rows == 4) {
      float *y1 = y0 + y_stride, *y2 = y1 + y_stride, *y3 = y2 + y_stride;
      for (int64_t t = 0; t < T; ++t) {
        const float* vr = vi + t * Dv;
        const float w0 = p0[t], w1 = p0[T + t], w2 = p0[2 * T + t], w3 = p0[3 * T + t];
#pragma omp simd
        for (int64_t d = 0; d < Dv; ++d) {
          y0[d] += w0 * vr[d];
          y1[d] += w1 * vr[d];
          y2[d] += w2 * vr[d];
          y3[d] += w3 * vr[d];
        }
      }
    } else {
      for (int64_t r = 0; r < rows; ++r) {
        float* yr = y0 + r * y_stride;
        for (int64_t t = 0; t < T; ++t) {
          const float w = p0[r * T + t];
          const float* vr = vi + t * Dv;
#pragma omp simd
          for (int64_t d = 0; d < Dv; ++d) yr[d] += w * vr[d];
        }
      }
    }
  }
}

}  // namespace

void Attention(const AttentionShape& p, const float* q, const float* k, const float* v, float* y, float* qk) {
  const int64_t S = p.q_len, T = p.total_len, D = p.head, Dv = p.v_head;
  const int64_t work = p.batch * p.q_heads;
  if (work == 0 || S == 0) return;
  const bool softcap = p.softcap > 0.0f;
  const bool pre_mask_snapshot = qk != nullptr && (p.qk_mode == 0 || p.qk_mode == 1);
  // ORT adds a float mask in the product's accumulation (one rounding) unless softcap or a
  // pre-mask snapshot needs the product alone.
  const bool fold = !softcap && !pre_mask_snapshot;
  // ORT skips the causal mask for a single query after a past.
  const bool causal = p.causal && !(S == 1 && p.past_len > 0);
  const auto rnd = [&](float f) { return p.half ? RoundToHalf(f) : f; };
  const float filter = p.filter;
  ParallelFor(work, S * T * (D + Dv) + 1, [&](int64_t begin, int64_t end) {
    std::vector<float> scores(static_cast<size_t>(S * T)), kt_buf(static_cast<size_t>(D * T));
    for (int64_t i = begin; i < end; ++i) {
      const int64_t b = i / p.q_heads, h = i % p.q_heads;
      const int64_t kh = h * p.kv_heads / p.q_heads;
      const float* qi = q + i * S * D;
      const float* ki = k + (b * p.kv_heads + kh) * T * D;
      const float* vi = v + (b * p.kv_heads + kh) * T * Dv;
      const float* mi = p.mask ? p.mask + ((b % p.mask_b) * p.mask_h + h % p.mask_h) * S * T : nullptr;
      const int64_t valid = p.nonpad ? p.nonpad[b] : T;
      // Causal: key t is visible to query s when t <= s + offset (bottom-right aligned: the past,
      // or the valid length minus the queries with nonpad_kv_seqlen).
      const int64_t offset = p.nonpad ? valid - S : p.past_len;
      const auto cmasked = [&](int64_t s, int64_t t) { return causal && t > s + offset; };
      // Keys [0, visible(s)) pass the causal mask.
      const auto visible = [&](int64_t s) { return std::clamp<int64_t>(s + offset + 1, 0, T); };
      float* sc = scores.data();
      // K' of this head ([D, T]) once, then rows of scores as sums of K' rows (vectorised over t,
      // four queries sharing each K' row).
      float* kt = kt_buf.data();
      for (int64_t t = 0; t < T; ++t) {
        for (int64_t d = 0; d < D; ++d) kt[d * T + t] = ki[t * D + d];
      }
      QueryKeyScores(qi, kt, sc, S, T, D);
      for (int64_t s = 0; s < S; ++s) {
        float* row = sc + s * T;
        const float* mrow = mi ? mi + s * T : nullptr;
        if (fold && mrow && !causal) {
#pragma omp simd
          for (int64_t t = 0; t < T; ++t) row[t] = p.scale * row[t] + mrow[t];
        } else if (fold && causal) {
          const int64_t lim = visible(s);
          if (mrow) {
#pragma omp simd
            for (int64_t t = 0; t < lim; ++t) row[t] = p.scale * row[t] + mrow[t];
          } else {
#pragma omp simd
            for (int64_t t = 0; t < lim; ++t) row[t] = p.scale * row[t];
          }
#pragma omp simd
          for (int64_t t = lim; t < T; ++t) row[t] = p.scale * row[t] + filter;
        } else {
#pragma omp simd
          for (int64_t t = 0; t < T; ++t) row[t] = p.scale * row[t];
        }
        if (p.half) {
          for (int64_t t = 0; t < T; ++t) row[t] = RoundToHalf(row[t]);
        }
      }
      float* qo = qk ? qk + i * S * T : nullptr;
      if (qo && p.qk_mode == 0) std::memcpy(qo, sc, sizeof(float) * S * T);
      if (softcap) {
        for (int64_t j = 0; j < S * T; ++j) sc[j] = rnd(std::tanh(sc[j] / p.softcap) * p.softcap);
      }
      if (qo && p.qk_mode == 1) std::memcpy(qo, sc, sizeof(float) * S * T);
      if (!fold && (mi || causal)) {
        for (int64_t s = 0; s < S; ++s) {
          for (int64_t t = 0; t < T; ++t) {
            if (cmasked(s, t)) sc[s * T + t] = rnd(sc[s * T + t] + filter);
            else if (mi) sc[s * T + t] = rnd(sc[s * T + t] + mi[s * T + t]);
          }
        }
      }
      if (valid < T) {
        for (int64_t s = 0; s < S; ++s) std::fill(sc + s * T + std::max<int64_t>(valid, 0), sc + (s + 1) * T, filter);
      }
      if (qo && p.qk_mode == 2) std::memcpy(qo, sc, sizeof(float) * S * T);
      for (int64_t s = 0; s < S; ++s) {
        float* row = sc + s * T;
        // A row with every key masked (bool / causal / nonpad, or float mask entries at or below
        // the lowest finite value) gets zero probabilities, as ORT's CPU EP gives. ORT decides
        // this on the mask, not on the scores.
        bool any = false;
        for (int64_t t = 0; t < std::min(valid, T) && !any; ++t) {
          if (cmasked(s, t)) continue;
          any = !(mi && mi[s * T + t] <= filter);
        }
        if (!any) {
          std::fill(row, row + T, 0.0f);
          continue;
        }
        SoftmaxRows(row, row, 1, T);
        if (p.half) {
          for (int64_t t = 0; t < T; ++t) row[t] = RoundToHalf(row[t]);
        }
      }
      if (qo && p.qk_mode == 3) std::memcpy(qo, sc, sizeof(float) * S * T);
      const int64_t y_stride = p.y_3d ? p.q_heads * Dv : Dv;
      float* y0 = p.y_3d ? y + (b * S * p.q_heads + h) * Dv : y + i * S * Dv;
      WeightedSums(sc, vi, y0, y_stride, S, T, Dv);
    }
  });
}

template <typename T>
void RmsNormRows(const T* x, const T* scale, int64_t scale_size, int64_t scale_row_stride, T* y, int64_t rows,
                 int64_t cols, double epsilon) {
  ParallelFor(rows, 3 * cols, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const T* xr = x + r * cols;
      T* yr = y + r * cols;
      double ss = 0.0;
      for (int64_t c = 0; c < cols; ++c) ss += static_cast<double>(xr[c]) * static_cast<double>(xr[c]);
      const double inv = 1.0 / std::sqrt(ss / static_cast<double>(cols) + epsilon);
      for (int64_t c = 0; c < cols; ++c) {
        const double s = static_cast<double>(scale[r * scale_row_stride + (scale_size == 1 ? 0 : c)]);
        yr[c] = static_cast<T>(static_cast<double>(xr[c]) * inv * s);
      }
    }
  });
}

template void RmsNormRows<float>(const float*, const float*, int64_t, int64_t, float*, int64_t, int64_t, double);
template void RmsNormRows<double>(const double*, const double*, int64_t, int64_t, double*, int64_t, int64_t, double);

void Rotary(const RotaryShape& p, const float* x, const float* cos_cache, const float* sin_cache,
            const int64_t* cache_rows, float* y) {
  const int64_t half = p.rot / 2;
  ParallelFor(p.batch * p.seq, p.heads * p.head * 4, [&](int64_t begin, int64_t end) {
    for (int64_t bs = begin; bs < end; ++bs) {
      const int64_t b = bs / p.seq, s = bs % p.seq;
      const float* c = cos_cache + cache_rows[bs] * half;
      const float* sn = sin_cache + cache_rows[bs] * half;
      for (int64_t h = 0; h < p.heads; ++h) {
        const int64_t off = b * p.stride_b + s * p.stride_s + h * p.stride_h;
        const float* xr = x + off;
        float* yr = y + off;
        for (int64_t j = 0; j < half; ++j) {
          const int64_t i1 = p.interleaved ? 2 * j : j, i2 = p.interleaved ? 2 * j + 1 : j + half;
          const float x1 = xr[i1], x2 = xr[i2];
          yr[i1] = c[j] * x1 - sn[j] * x2;
          yr[i2] = sn[j] * x1 + c[j] * x2;
        }
        for (int64_t d = 2 * half; d < p.head; ++d) yr[d] = xr[d];
      }
    }
  });
}

}  // namespace anvil::nn
