#include "compute/quant/quant.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "compute/parallel.h"

namespace anvil::quant {

QRange RangeOf(QKind k) {
  switch (k) {
    case QKind::kInt8: return {8, -128, 127};
    case QKind::kUint8: return {8, 0, 255};
    case QKind::kInt16: return {16, -32768, 32767};
    case QKind::kUint16: return {16, 0, 65535};
    case QKind::kInt32: return {32, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()};
    case QKind::kInt4: return {4, -8, 7};
    case QKind::kUint4: return {4, 0, 15};
    case QKind::kInt2: return {2, -2, 1};
    case QKind::kUint2: return {2, 0, 3};
  }
  return {8, 0, 255};
}

int64_t BytesFor(QKind k, int64_t n) {
  const int bits = RangeOf(k).bits;
  return (n * bits + 7) / 8;
}

namespace {

// A packed element: `bits` wide, sign-extended when the kind is signed.
int32_t LoadPacked(const uint8_t* p, int64_t i, int bits, bool is_signed) {
  const int per = 8 / bits;
  const int shift = static_cast<int>(i % per) * bits;
  int32_t v = (p[i / per] >> shift) & ((1 << bits) - 1);
  if (is_signed && (v & (1 << (bits - 1)))) v -= 1 << bits;
  return v;
}

void StorePacked(uint8_t* p, int64_t i, int bits, int32_t v) {
  const int per = 8 / bits;
  const int shift = static_cast<int>(i % per) * bits;
  const uint8_t mask = static_cast<uint8_t>(((1 << bits) - 1) << shift);
  uint8_t& byte = p[i / per];
  byte = static_cast<uint8_t>((byte & ~mask) | ((static_cast<uint32_t>(v) << shift) & mask));
}

template <typename T>
void QuantizeRows(const float* x, const float* scale, const int32_t* zp, const QdqLayout& l, int32_t qmin,
                  int32_t qmax, T* y) {
  const int64_t rows = l.outer * l.dim, inner = l.inner;
  ParallelFor(rows, inner * 4, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t o = r / l.dim, d = r % l.dim;
      const float* xr = x + r * inner;
      T* yr = y + r * inner;
      if (l.block == 0) {
        const int64_t p = l.Param(o, d, 0);
        const float s = scale[p];
        const int32_t z = zp ? zp[p] : 0;
        for (int64_t i = 0; i < inner; ++i) yr[i] = static_cast<T>(QuantizeValue(xr[i], s, z, qmin, qmax));
      } else {
        const int64_t p0 = l.Param(o, d, 0);
        for (int64_t i = 0; i < inner; ++i)
          yr[i] = static_cast<T>(QuantizeValue(xr[i], scale[p0 + i], zp ? zp[p0 + i] : 0, qmin, qmax));
      }
    }
  });
}

template <typename T>
void DequantizeRows(const T* x, const float* scale, const int32_t* zp, const QdqLayout& l, float* y) {
  const int64_t rows = l.outer * l.dim, inner = l.inner;
  ParallelFor(rows, inner * 2, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t o = r / l.dim, d = r % l.dim;
      const T* xr = x + r * inner;
      float* yr = y + r * inner;
      const int64_t p0 = l.Param(o, d, 0);
      const int64_t step = l.block == 0 ? 0 : 1;  // blocked params vary along inner
      for (int64_t i = 0; i < inner; ++i) {
        const int64_t p = p0 + step * i;
        const int32_t z = zp ? zp[p] : 0;
        yr[i] = static_cast<float>(static_cast<int32_t>(xr[i]) - z) * scale[p];
      }
    }
  });
}

}  // namespace

int32_t Load(const void* data, QKind k, int64_t i) {
  switch (k) {
    case QKind::kInt8: return static_cast<const int8_t*>(data)[i];
    case QKind::kUint8: return static_cast<const uint8_t*>(data)[i];
    case QKind::kInt16: return static_cast<const int16_t*>(data)[i];
    case QKind::kUint16: return static_cast<const uint16_t*>(data)[i];
    case QKind::kInt32: return static_cast<const int32_t*>(data)[i];
    default: {
      const QRange r = RangeOf(k);
      return LoadPacked(static_cast<const uint8_t*>(data), i, r.bits, r.min < 0);
    }
  }
}

void Store(void* data, QKind k, int64_t i, int32_t v) {
  switch (k) {
    case QKind::kInt8: static_cast<int8_t*>(data)[i] = static_cast<int8_t>(v); return;
    case QKind::kUint8: static_cast<uint8_t*>(data)[i] = static_cast<uint8_t>(v); return;
    case QKind::kInt16: static_cast<int16_t*>(data)[i] = static_cast<int16_t>(v); return;
    case QKind::kUint16: static_cast<uint16_t*>(data)[i] = static_cast<uint16_t>(v); return;
    case QKind::kInt32: static_cast<int32_t*>(data)[i] = v; return;
    default: StorePacked(static_cast<uint8_t*>(data), i, RangeOf(k).bits, v); return;
  }
}

void LoadAll(const void* data, QKind k, int64_t n, int32_t* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = Load(data, k, i);
}

void QuantizeLinear(const float* x, const float* scale, const int32_t* zp, const QdqLayout& l, QKind out, void* y) {
  const QRange r = RangeOf(out);
  switch (out) {
    case QKind::kInt8: QuantizeRows(x, scale, zp, l, r.min, r.max, static_cast<int8_t*>(y)); return;
    case QKind::kUint8: QuantizeRows(x, scale, zp, l, r.min, r.max, static_cast<uint8_t*>(y)); return;
    case QKind::kInt16: QuantizeRows(x, scale, zp, l, r.min, r.max, static_cast<int16_t*>(y)); return;
    case QKind::kUint16: QuantizeRows(x, scale, zp, l, r.min, r.max, static_cast<uint16_t*>(y)); return;
    default: break;
  }
  // Packed: serial (neighbouring elements share a byte); the trailing bits of the last byte are 0.
  const int64_t n = l.outer * l.dim * l.inner;
  if (n > 0) static_cast<uint8_t*>(y)[BytesFor(out, n) - 1] = 0;
  const bool int_first = r.bits == 2 || (!l.per_tensor && l.block == 0);
  for (int64_t o = 0, idx = 0; o < l.outer; ++o)
    for (int64_t d = 0; d < l.dim; ++d)
      for (int64_t i = 0; i < l.inner; ++i, ++idx) {
        const int64_t p = l.Param(o, d, i);
        const int32_t z = zp ? zp[p] : 0;
        Store(y, out, idx, int_first ? QuantizeValueIntFirst(x[idx], scale[p], z, r.min, r.max)
                                     : QuantizeValue(x[idx], scale[p], z, r.min, r.max));
      }
}

void DequantizeLinear(const void* x, QKind in, const float* scale, const int32_t* zp, const QdqLayout& l, float* y) {
  switch (in) {
    case QKind::kInt8: DequantizeRows(static_cast<const int8_t*>(x), scale, zp, l, y); return;
    case QKind::kUint8: DequantizeRows(static_cast<const uint8_t*>(x), scale, zp, l, y); return;
    case QKind::kInt16: DequantizeRows(static_cast<const int16_t*>(x), scale, zp, l, y); return;
    case QKind::kUint16: DequantizeRows(static_cast<const uint16_t*>(x), scale, zp, l, y); return;
    case QKind::kInt32: DequantizeRows(static_cast<const int32_t*>(x), scale, zp, l, y); return;
    default: break;
  }
  for (int64_t o = 0, idx = 0; o < l.outer; ++o)
    for (int64_t d = 0; d < l.dim; ++d)
      for (int64_t i = 0; i < l.inner; ++i, ++idx) {
        const int64_t p = l.Param(o, d, i);
        y[idx] = static_cast<float>(Load(x, in, idx) - (zp ? zp[p] : 0)) * scale[p];
      }
}

void DynamicQuantParams(const float* x, int64_t n, float* scale, uint8_t* zero_point) {
  float lo = std::numeric_limits<float>::max(), hi = std::numeric_limits<float>::lowest();
  for (int64_t i = 0; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  lo = std::min(lo, 0.0f);
  hi = std::max(hi, 0.0f);
  const float s = hi == lo ? 1.0f : (hi - lo) / 255.0f;
  const float initial = 0.0f - lo / s;
  float z = std::max(0.0f, std::min(255.0f, initial));
  if (std::isfinite(z)) z = z - std::remainder(z, 1.0f);  // round half to even
  *scale = s;
  *zero_point = static_cast<uint8_t>(z);
}

namespace {

template <typename TA, typename TB>
void MatMulTyped(const IntMatMul& g, const TA* a, int32_t a_zp, const TB* b, const int32_t* b_zp, int32_t* c) {
  const int64_t M = g.M, N = g.N, K = g.K;
  ParallelFor(g.batch * M, K * N, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t bt = row / M, m = row % M;
      const TA* ar = a + g.a_offset[bt] + m * K;
      const TB* bb = b + g.b_offset[bt];
      const int32_t* zp = b_zp + (g.b_per_column ? g.b_param_offset[bt] : 0);
      uint32_t* cr = reinterpret_cast<uint32_t*>(c + row * N);  // wrapping int32 sums
      for (int64_t n = 0; n < N; ++n) cr[n] = 0;
      for (int64_t k = 0; k < K; ++k) {
        const int32_t av = static_cast<int32_t>(ar[k]) - a_zp;
        if (av == 0) continue;
        const TB* br = bb + k * N;
        if (g.b_per_column) {
          for (int64_t n = 0; n < N; ++n) cr[n] += static_cast<uint32_t>(av * (static_cast<int32_t>(br[n]) - zp[n]));
        } else {
          const int32_t z = zp[0];
          for (int64_t n = 0; n < N; ++n) cr[n] += static_cast<uint32_t>(av * (static_cast<int32_t>(br[n]) - z));
        }
      }
    }
  });
}

template <typename TX, typename TW>
void ConvTyped(const IntConv& g, const TX* x, int32_t x_zp, const TW* w, const int32_t* w_zp, int32_t* y) {
  const int64_t cg = g.c / g.group, mg = g.m / g.group;
  const int64_t in_size = g.in[0] * g.in[1] * g.in[2], out_size = g.out[0] * g.out[1] * g.out[2];
  const int64_t ksize = g.kernel[0] * g.kernel[1] * g.kernel[2];
  ParallelFor(g.n * g.m, out_size * cg * ksize, [&](int64_t begin, int64_t end) {
    for (int64_t nm = begin; nm < end; ++nm) {
      const int64_t n = nm / g.m, oc = nm % g.m, grp = oc / mg;
      const int32_t wz = g.w_per_channel ? w_zp[oc] : w_zp[0];
      const TW* wc = w + oc * cg * ksize;
      int32_t* yc = y + nm * out_size;
      for (int64_t o0 = 0; o0 < g.out[0]; ++o0)
        for (int64_t o1 = 0; o1 < g.out[1]; ++o1)
          for (int64_t o2 = 0; o2 < g.out[2]; ++o2) {
            uint32_t acc = 0;
            for (int64_t ic = 0; ic < cg; ++ic) {
              const TX* xc = x + (n * g.c + grp * cg + ic) * in_size;
              const TW* wk = wc + ic * ksize;
              for (int64_t k0 = 0; k0 < g.kernel[0]; ++k0) {
                const int64_t i0 = o0 * g.stride[0] - g.pad_begin[0] + k0 * g.dilation[0];
                if (i0 < 0 || i0 >= g.in[0]) continue;
                for (int64_t k1 = 0; k1 < g.kernel[1]; ++k1) {
                  const int64_t i1 = o1 * g.stride[1] - g.pad_begin[1] + k1 * g.dilation[1];
                  if (i1 < 0 || i1 >= g.in[1]) continue;
                  for (int64_t k2 = 0; k2 < g.kernel[2]; ++k2) {
                    const int64_t i2 = o2 * g.stride[2] - g.pad_begin[2] + k2 * g.dilation[2];
                    if (i2 < 0 || i2 >= g.in[2]) continue;
                    const int32_t xv = static_cast<int32_t>(xc[(i0 * g.in[1] + i1) * g.in[2] + i2]) - x_zp;
                    const int32_t wv = static_cast<int32_t>(wk[(k0 * g.kernel[1] + k1) * g.kernel[2] + k2]) - wz;
                    acc += static_cast<uint32_t>(xv * wv);
                  }
                }
              }
            }
            yc[(o0 * g.out[1] + o1) * g.out[2] + o2] = static_cast<int32_t>(acc);
          }
    }
  });
}

template <typename T>
void RequantizeTyped(const int32_t* acc, int64_t count, int64_t channels, int64_t inner, const int32_t* bias,
                     const float* scale, int32_t zp, T* y) {
  constexpr int32_t qmin = std::numeric_limits<T>::min(), qmax = std::numeric_limits<T>::max();
  ParallelFor(count, 4, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const int64_t ch = channels == 1 ? 0 : (i / inner) % channels;
      const int32_t v = static_cast<int32_t>(static_cast<uint32_t>(acc[i]) +
                                             static_cast<uint32_t>(bias ? bias[ch] : 0));
      y[i] = static_cast<T>(RequantizeValue(v, scale[ch], zp, qmin, qmax));
    }
  });
}

}  // namespace

void MatMulInteger(const IntMatMul& g, const void* a, int32_t a_zp, const void* b, const int32_t* b_zp, int32_t* c) {
  if (g.a_signed && g.b_signed) {
    MatMulTyped(g, static_cast<const int8_t*>(a), a_zp, static_cast<const int8_t*>(b), b_zp, c);
  } else if (g.a_signed) {
    MatMulTyped(g, static_cast<const int8_t*>(a), a_zp, static_cast<const uint8_t*>(b), b_zp, c);
  } else if (g.b_signed) {
    MatMulTyped(g, static_cast<const uint8_t*>(a), a_zp, static_cast<const int8_t*>(b), b_zp, c);
  } else {
    MatMulTyped(g, static_cast<const uint8_t*>(a), a_zp, static_cast<const uint8_t*>(b), b_zp, c);
  }
}

void ConvInteger(const IntConv& g, const void* x, int32_t x_zp, const void* w, const int32_t* w_zp, int32_t* y) {
  if (g.x_signed && g.w_signed) {
    ConvTyped(g, static_cast<const int8_t*>(x), x_zp, static_cast<const int8_t*>(w), w_zp, y);
  } else if (g.x_signed) {
    ConvTyped(g, static_cast<const int8_t*>(x), x_zp, static_cast<const uint8_t*>(w), w_zp, y);
  } else if (g.w_signed) {
    ConvTyped(g, static_cast<const uint8_t*>(x), x_zp, static_cast<const int8_t*>(w), w_zp, y);
  } else {
    ConvTyped(g, static_cast<const uint8_t*>(x), x_zp, static_cast<const uint8_t*>(w), w_zp, y);
  }
}

void Requantize(const int32_t* acc, int64_t count, int64_t channels, int64_t inner, const int32_t* bias,
                const float* scale, int32_t zp, bool y_signed, void* y) {
  if (y_signed) {
    RequantizeTyped(acc, count, channels, inner, bias, scale, zp, static_cast<int8_t*>(y));
  } else {
    RequantizeTyped(acc, count, channels, inner, bias, scale, zp, static_cast<uint8_t*>(y));
  }
}

}  // namespace anvil::quant
