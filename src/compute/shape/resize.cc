#include "compute/shape/resize.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "compute/parallel.h"

namespace anvil::shape {

namespace {

template <typename T>
T SourceCoord(ResizeCoord coord, int64_t x, T scale, int64_t in_len, int64_t out_len) {
  const T xv = static_cast<T>(x), half = static_cast<T>(0.5), one = static_cast<T>(1);
  switch (coord) {
    case ResizeCoord::kHalfPixel:
      return (xv + half) / scale - half;
    case ResizeCoord::kHalfPixelSymmetric: {
      const T out_width = scale * static_cast<T>(in_len);
      const T adjustment = static_cast<T>(out_len) / out_width;
      const T center = static_cast<T>(in_len) / static_cast<T>(2);
      const T offset = center * (one - adjustment);
      return offset + (xv + half) / scale - half;
    }
    case ResizeCoord::kAsymmetric:
      return xv / scale;
    case ResizeCoord::kAlignCorners:
      return out_len == 1 ? T(0) : xv * static_cast<T>(in_len - 1) / static_cast<T>(out_len - 1);
    case ResizeCoord::kPytorchHalfPixel:
      return out_len > 1 ? (xv + half) / scale - half : T(0);
    case ResizeCoord::kTfHalfPixelForNN:
      return (xv + half) / scale;
    case ResizeCoord::kTfCropAndResize:
      break;  // needs the roi: ResizeTapTable
  }
  return xv;
}

}  // namespace

double ResizeSourceCoord(ResizeCoord coord, int64_t x, ResizeScale scale, int64_t in_len, int64_t out_len) {
  if (scale.from_sizes) return SourceCoord<double>(coord, x, scale.value, in_len, out_len);
  return SourceCoord<float>(coord, x, static_cast<float>(scale.value), in_len, out_len);
}

namespace {

int64_t RoundNearest(ResizeNearest rounding, double x, double scale) {
  switch (rounding) {
    case ResizeNearest::kRoundPreferFloor:
      return static_cast<int64_t>(x == std::floor(x) + 0.5 ? std::floor(x) : std::round(x));
    case ResizeNearest::kRoundPreferCeil:
      return static_cast<int64_t>(x == std::floor(x) + 0.5 ? std::ceil(x) : std::round(x));
    case ResizeNearest::kFloor:
      return static_cast<int64_t>(std::floor(x));
    case ResizeNearest::kCeil:
      return static_cast<int64_t>(std::ceil(x));
    case ResizeNearest::kLegacy10:
      return static_cast<int64_t>(scale < 1.0 ? std::ceil(x) : std::floor(x));
  }
  return 0;
}

// True if table[j] == j / factor for every j (factor = out / in, an integer).
bool IsIntegerUpsample(const int64_t* table, int64_t in_len, int64_t out_len, int64_t& factor) {
  if (in_len <= 0 || out_len % in_len != 0) return false;
  factor = out_len / in_len;
  for (int64_t j = 0; j < out_len; ++j)
    if (table[j] != j / factor) return false;
  return true;
}

}  // namespace

void NearestTable(ResizeCoord coord, ResizeNearest rounding, ResizeScale scale, int64_t in_len, int64_t out_len,
                  int64_t* idx) {
  for (int64_t j = 0; j < out_len; ++j) {
    double x = ResizeSourceCoord(coord, j, scale, in_len, out_len);
    // Clamp before rounding: huge or non-finite coordinates never overflow the integer conversion.
    if (!(x >= 0.0)) x = 0.0;
    if (x > static_cast<double>(in_len)) x = static_cast<double>(in_len);
    idx[j] = std::clamp<int64_t>(RoundNearest(rounding, x, scale.value), 0, in_len - 1);
  }
}

void LinearTable(ResizeCoord coord, ResizeScale scale, int64_t in_len, int64_t out_len, int64_t* i0, int64_t* i1,
                 float* w) {
  const double last = static_cast<double>(in_len - 1);
  for (int64_t j = 0; j < out_len; ++j) {
    double x = ResizeSourceCoord(coord, j, scale, in_len, out_len);
    if (!(x >= 0.0)) x = 0.0;
    if (x > last) x = last;
    const int64_t lo = static_cast<int64_t>(x);
    i0[j] = lo;
    i1[j] = std::min(lo + 1, in_len - 1);
    w[j] = static_cast<float>(x - static_cast<double>(lo));
  }
}

void ResizeNearest2D(const float* src, float* dst, int64_t planes, int64_t in_h, int64_t in_w, int64_t out_h,
                     int64_t out_w, const int64_t* ih, const int64_t* iw) {
  if (planes == 0 || out_h == 0 || out_w == 0) return;
  int64_t fh = 0, fw = 0;
  if (IsIntegerUpsample(ih, in_h, out_h, fh) && IsIntegerUpsample(iw, in_w, out_w, fw)) {
    // Integer-factor upsample (e.g. 2x nearest): widen each source row once, then replicate it.
    ParallelFor(planes * in_h, out_w * fh, [&](int64_t begin, int64_t end) {
      for (int64_t item = begin; item < end; ++item) {
        const float* s = src + item * in_w;
        float* d = dst + item * fh * out_w;
        if (fw == 1) {
          std::memcpy(d, s, static_cast<size_t>(in_w) * sizeof(float));
        } else if (fw == 2) {
          for (int64_t i = 0; i < in_w; ++i) {
            d[2 * i] = s[i];
            d[2 * i + 1] = s[i];
          }
        } else {
          for (int64_t i = 0; i < in_w; ++i)
            for (int64_t k = 0; k < fw; ++k) d[i * fw + k] = s[i];
        }
        for (int64_t k = 1; k < fh; ++k) std::memcpy(d + k * out_w, d, static_cast<size_t>(out_w) * sizeof(float));
      }
    });
    return;
  }
  ParallelFor(planes * out_h, out_w, [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) {
      const int64_t plane = item / out_h, y = item % out_h;
      float* d = dst + item * out_w;
      if (item > begin && y > 0 && ih[y] == ih[y - 1]) {
        std::memcpy(d, d - out_w, static_cast<size_t>(out_w) * sizeof(float));
        continue;
      }
      const float* s = src + (plane * in_h + ih[y]) * in_w;
      for (int64_t x = 0; x < out_w; ++x) d[x] = s[iw[x]];
    }
  });
}

void ResizeLinear2D(const float* src, float* dst, int64_t planes, int64_t in_h, int64_t in_w, int64_t out_h,
                    int64_t out_w, const int64_t* y0, const int64_t* y1, const float* wy, const int64_t* x0,
                    const int64_t* x1, const float* wx) {
  if (planes == 0 || out_h == 0 || out_w == 0) return;
  ParallelFor(planes * out_h, out_w * 8, [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) {
      const int64_t plane = item / out_h, y = item % out_h;
      const float* top = src + (plane * in_h + y0[y]) * in_w;
      const float* bottom = src + (plane * in_h + y1[y]) * in_w;
      const float b = wy[y], t = 1.f - b;
      float* d = dst + item * out_w;
      for (int64_t x = 0; x < out_w; ++x) {
        const float r = wx[x], l = 1.f - r;
        const float upper = top[x0[x]] * l + top[x1[x]] * r;
        const float lower = bottom[x0[x]] * l + bottom[x1[x]] * r;
        d[x] = upper * t + lower * b;
      }
    }
  });
}

void ResizeNearestChannelsLast(const float* src, float* dst, int64_t batch, int64_t in_h, int64_t in_w, int64_t out_h,
                               int64_t out_w, int64_t c, const int64_t* ih, const int64_t* iw) {
  if (batch == 0 || out_h == 0 || out_w == 0 || c == 0) return;
  const int64_t out_row = out_w * c;
  const size_t pixel = static_cast<size_t>(c) * sizeof(float);
  ParallelFor(batch * out_h, out_row, [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) {
      const int64_t n = item / out_h, oh = item % out_h;
      float* d = dst + item * out_row;
      if (item > begin && oh > 0 && ih[oh] == ih[oh - 1]) {  // the row above, made by this task
        std::memcpy(d, d - out_row, static_cast<size_t>(out_row) * sizeof(float));
        continue;
      }
      const float* row = src + (n * in_h + ih[oh]) * in_w * c;
      for (int64_t ow = 0; ow < out_w; ++ow) std::memcpy(d + ow * c, row + iw[ow] * c, pixel);
    }
  });
}

void ResizeLinearChannelsLast(const float* src, float* dst, int64_t batch, int64_t in_h, int64_t in_w, int64_t out_h,
                              int64_t out_w, int64_t c, const int64_t* y0, const int64_t* y1, const float* wy,
                              const int64_t* x0, const int64_t* x1, const float* wx) {
  if (batch == 0 || out_h == 0 || out_w == 0 || c == 0) return;
  const int64_t out_row = out_w * c;
  ParallelFor(batch * out_h, out_row * 6, [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) {
      const int64_t n = item / out_h, oh = item % out_h;
      const float* r0 = src + (n * in_h + y0[oh]) * in_w * c;
      const float* r1 = src + (n * in_h + y1[oh]) * in_w * c;
      const float b = wy[oh], a = 1.f - b;
      float* d = dst + item * out_row;
      for (int64_t ow = 0; ow < out_w; ++ow, d += c) {
        const float* p00 = r0 + x0[ow] * c;
        const float* p01 = r0 + x1[ow] * c;
        const float* p10 = r1 + x0[ow] * c;
        const float* p11 = r1 + x1[ow] * c;
        const float q = wx[ow], p = 1.f - q;
        for (int64_t i = 0; i < c; ++i) d[i] = (p00[i] * p + p01[i] * q) * a + (p10[i] * p + p11[i] * q) * b;
      }
    }
  });
}

void ResizeAxisNearest(const float* src, float* dst, int64_t outer, int64_t in_len, int64_t out_len,
                       int64_t inner, const int64_t* idx) {
  if (outer == 0 || out_len == 0 || inner == 0) return;
  ParallelFor(outer * out_len, inner, [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) {
      const int64_t o = item / out_len, j = item % out_len;
      std::memcpy(dst + item * inner, src + (o * in_len + idx[j]) * inner, static_cast<size_t>(inner) * sizeof(float));
    }
  });
}

void ResizeAxisLinear(const float* src, float* dst, int64_t outer, int64_t in_len, int64_t out_len,
                      int64_t inner, const int64_t* i0, const int64_t* i1, const float* w) {
  if (outer == 0 || out_len == 0 || inner == 0) return;
  ParallelFor(outer * out_len, inner * 3, [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) {
      const int64_t o = item / out_len, j = item % out_len;
      const float* a = src + (o * in_len + i0[j]) * inner;
      const float* b = src + (o * in_len + i1[j]) * inner;
      const float wb = w[j], wa = 1.f - wb;
      float* d = dst + item * inner;
      for (int64_t i = 0; i < inner; ++i) d[i] = a[i] * wa + b[i] * wb;
    }
  });
}

int64_t ResizeTapCount(ResizeFilter filter) {
  switch (filter) {
    case ResizeFilter::kNearest:
      return 1;
    case ResizeFilter::kLinear:
      return 2;
    case ResizeFilter::kCubic:
      return 4;
  }
  return 1;
}

namespace {

bool UsesAntialias(const ResizeAxisSpec& s) { return s.antialias && s.filter != ResizeFilter::kNearest; }

// Antialias filter half-width (in input pixels) and the factor applied to tap distances.
void AntialiasSupport(const ResizeAxisSpec& s, float& support, float& inv_scale) {
  const float half = s.filter == ResizeFilter::kCubic ? 2.f : 1.f;
  const float rscale = static_cast<float>(s.scale.value);
  const float scale = 1.f / rscale;
  support = scale >= 1.f ? half * scale : half;
  inv_scale = scale >= 1.f ? 1.f / scale : 1.f;
}

float AntialiasFilter(const ResizeAxisSpec& s, float x) {
  x = std::fabs(x);
  if (s.filter == ResizeFilter::kLinear) return x < 1.f ? 1.f - x : 0.f;
  const float a = s.cubic_a;
  if (x < 1.f) return ((a + 2.f) * x - (a + 3.f)) * x * x + 1.f;
  if (x < 2.f) return (((x - 5.f) * x + 8.f) * x - 4.f) * a;
  return 0.f;
}

}  // namespace

int64_t ResizeTapCount(const ResizeAxisSpec& s) {
  if (!UsesAntialias(s)) return ResizeTapCount(s.filter);
  float support = 0.f, inv = 0.f;
  AntialiasSupport(s, support, inv);
  // (The scale of an axis is at least 1 / in_len, so the window stays within 2 * in_len + 9.)
  return static_cast<int64_t>(std::ceil(support)) * 2 + 1;
}

void ResizeTapTable(const ResizeAxisSpec& s, int64_t* idx, float* w, uint8_t* outside) {
  const int64_t taps = ResizeTapCount(s);
  const int64_t in = s.in_len;
  const double last = static_cast<double>(in - 1);
  for (int64_t j = 0; j < s.out_len; ++j) {
    int64_t* ij = idx + j * taps;
    float* wj = w + j * taps;
    outside[j] = 0;
    double x = 0.0;
    if (s.coord == ResizeCoord::kTfCropAndResize) {
      // Float arithmetic in ONNX Runtime's order (ties of nearest rounding depend on it).
      const float r0 = static_cast<float>(s.roi_start), r1 = static_cast<float>(s.roi_end);
      const float lastf = static_cast<float>(in - 1);
      const float xf = s.out_len > 1 ? r0 * lastf + (static_cast<float>(j) * (r1 - r0) * lastf) /
                                                        static_cast<float>(s.out_len - 1)
                                     : 0.5f * (r0 + r1) * lastf;
      x = xf;
      if (!(x >= 0.0 && x <= last)) {
        outside[j] = 1;
        for (int64_t k = 0; k < taps; ++k) ij[k] = 0, wj[k] = 0.f;
        continue;
      }
    } else {
      x = ResizeSourceCoord(s.coord, j, s.scale, in, s.out_len);
    }
    if (UsesAntialias(s)) {
      // A filter window around the source centre (taps past the edge read the edge, or with
      // exclude_outside are dropped), its weights normalised to sum 1; as ONNX Runtime does it,
      // in float.
      float support = 0.f, inv = 0.f;
      AntialiasSupport(s, support, inv);
      const float lim = static_cast<float>(in) + support + 4.f;
      float center = 0.5f + static_cast<float>(x);
      if (!(center >= -lim)) center = -lim;
      if (center > lim) center = lim;
      const int64_t lo = static_cast<int64_t>(std::floor(center - support + 0.5f));
      int64_t hi = static_cast<int64_t>(std::floor(center + support + 0.5f));
      hi = lo + std::clamp<int64_t>(hi - lo, 0, taps);
      float total = 0.f;
      int64_t k = 0;
      for (int64_t i = lo; i < hi; ++i) {
        if (s.exclude_outside && (i < 0 || i >= in)) continue;
        const float wt = AntialiasFilter(s, (static_cast<float>(i) - center + 0.5f) * inv);
        ij[k] = std::clamp<int64_t>(i, 0, in - 1);
        wj[k] = wt;
        total += wt;
        ++k;
      }
      for (; k < taps; ++k) ij[k] = 0, wj[k] = 0.f;
      const float norm = total == 0.f ? 1.f : 1.f / total;
      for (k = 0; k < taps; ++k) wj[k] *= norm;
      continue;
    }
    // Keep the coordinate in a range where the integer conversions cannot overflow.
    if (!(x >= -4.0)) x = -4.0;
    if (x > static_cast<double>(in) + 4.0) x = static_cast<double>(in) + 4.0;
    switch (s.filter) {
      case ResizeFilter::kNearest: {
        const double xc = std::clamp(x, 0.0, static_cast<double>(in));
        ij[0] = std::clamp<int64_t>(RoundNearest(s.rounding, xc, s.scale.value), 0, in - 1);
        wj[0] = 1.f;
        break;
      }
      case ResizeFilter::kLinear: {
        const double xc = std::clamp(x, 0.0, last);
        const int64_t lo = static_cast<int64_t>(xc);
        ij[0] = lo;
        ij[1] = std::min(lo + 1, in - 1);
        wj[1] = static_cast<float>(xc - static_cast<double>(lo));
        wj[0] = 1.f - wj[1];
        break;
      }
      case ResizeFilter::kCubic: {
        // Keys cubic over floor(x) - 1 .. floor(x) + 2; indices past the edge read the edge, or
        // (exclude_outside) get weight 0 and the rest are renormalised.
        const double fl = std::floor(x);
        const double r = x - fl;
        const double a = s.cubic_a;
        const double c[4] = {
            ((a * (r + 1) - 5 * a) * (r + 1) + 8 * a) * (r + 1) - 4 * a,
            ((a + 2) * r - (a + 3)) * r * r + 1,
            ((a + 2) * (1 - r) - (a + 3)) * (1 - r) * (1 - r) + 1,
            ((a * ((1 - r) + 1) - 5 * a) * ((1 - r) + 1) + 8 * a) * ((1 - r) + 1) - 4 * a,
        };
        const int64_t base = static_cast<int64_t>(fl) - 1;
        double sum = 0.0, cw[4];
        for (int k = 0; k < 4; ++k) {
          const int64_t i = base + k;
          cw[k] = (s.exclude_outside && (i < 0 || i >= in)) ? 0.0 : c[k];
          sum += cw[k];
        }
        for (int k = 0; k < 4; ++k) {
          ij[k] = std::clamp<int64_t>(base + k, 0, in - 1);
          wj[k] = static_cast<float>(s.exclude_outside ? (sum != 0.0 ? cw[k] / sum : 0.0) : cw[k]);
        }
        break;
      }
    }
  }
}

void ResizeAxisTaps(const float* src, float* dst, int64_t outer, int64_t in_len, int64_t out_len, int64_t inner,
                    int64_t taps, const int64_t* idx, const float* w, const uint8_t* outside, float extrapolation) {
  if (outer == 0 || out_len == 0 || inner == 0) return;
  ParallelFor(outer * out_len, inner * (taps + 1), [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) {
      const int64_t o = item / out_len, j = item % out_len;
      float* d = dst + item * inner;
      if (outside[j]) {
        for (int64_t i = 0; i < inner; ++i) d[i] = extrapolation;
        continue;
      }
      const float* base = src + o * in_len * inner;
      const int64_t* ij = idx + j * taps;
      const float* wj = w + j * taps;
      {
        const float* s0 = base + ij[0] * inner;
        const float w0 = wj[0];
        for (int64_t i = 0; i < inner; ++i) d[i] = s0[i] * w0;
      }
      for (int64_t k = 1; k < taps; ++k) {
        const float* sk = base + ij[k] * inner;
        const float wk = wj[k];
        for (int64_t i = 0; i < inner; ++i) d[i] += sk[i] * wk;
      }
    }
  });
}

}  // namespace anvil::shape
