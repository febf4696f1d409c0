#include "compute/vision/vision.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "compute/parallel.h"

namespace anvil::vision {

namespace {

// Normalised [-1, 1] -> pixel coordinate.
float Denormalize(float v, int64_t len, bool align_corners) {
  const float l = static_cast<float>(len);
  return align_corners ? (v + 1.f) / 2.f * (l - 1.f) : ((v + 1.f) * l - 1.f) / 2.f;
}

// Reflects v into [lo, hi] (repeatedly, like a mirror pair).
float Reflect(float v, float lo, float hi) {
  const float range = hi - lo;
  if (!(range > 0.f)) return lo;
  if (v < lo) {
    const float d = lo - v;
    const float k = std::floor(d / range);
    const float r = d - k * range;
    return std::fmod(k, 2.f) == 0.f ? lo + r : hi - r;
  }
  if (v > hi) {
    const float d = v - hi;
    const float k = std::floor(d / range);
    const float r = d - k * range;
    return std::fmod(k, 2.f) == 0.f ? hi - r : lo + r;
  }
  return v;
}

struct Axis {
  int64_t len;
  float lo, hi;  // the reflection / bound range
};

// Keep float coordinates where integer conversion is safe.
inline float Tame(float v, int64_t len) {
  const float lim = static_cast<float>(len) + 8.f;
  if (!(v >= -lim)) return v != v ? -lim : -lim;  // NaN or far left
  return v > lim ? lim : v;
}

// The index read for integer coordinate i along an axis, or -1 (zeros padding, outside).
inline int64_t Fetch(int64_t i, const Axis& a, GridPadding padding) {
  if (padding == GridPadding::kZeros) return (i >= 0 && i < a.len) ? i : -1;
  if (padding == GridPadding::kBorder) return std::clamp<int64_t>(i, 0, a.len - 1);
  const float r = Reflect(static_cast<float>(i), a.lo, a.hi);
  return std::clamp<int64_t>(static_cast<int64_t>(r), 0, a.len - 1);
}

void CubicWeights(float t, float* w) {
  const float A = -0.75f;
  const float t1 = t + 1.f, u = 1.f - t, u1 = u + 1.f;
  w[0] = ((A * t1 - 5.f * A) * t1 + 8.f * A) * t1 - 4.f * A;
  w[1] = ((A + 2.f) * t - (A + 3.f)) * t * t + 1.f;
  w[2] = ((A + 2.f) * u - (A + 3.f)) * u * u + 1.f;
  w[3] = ((A * u1 - 5.f * A) * u1 + 8.f * A) * u1 - 4.f * A;
}

}  // namespace

void GridSample(const float* x, const float* grid, float* y, int64_t n, int64_t c, const int64_t* in_sp,
                const int64_t* out_sp, int nsp, GridMode mode, GridPadding padding, bool align_corners) {
  int64_t in_plane = 1, out_plane = 1;
  for (int d = 0; d < nsp; ++d) in_plane *= in_sp[d], out_plane *= out_sp[d];
  if (n == 0 || c == 0 || out_plane == 0) return;
  // Axes in grid order (x = last spatial dim first).
  Axis axes[3];
  int64_t stride[3];
  for (int g = 0; g < nsp; ++g) {
    const int d = nsp - 1 - g;
    axes[g].len = in_sp[d];
    axes[g].lo = align_corners ? 0.f : -0.5f;
    axes[g].hi = align_corners ? static_cast<float>(in_sp[d] - 1) : static_cast<float>(in_sp[d]) - 0.5f;
    int64_t s = 1;
    for (int e = d + 1; e < nsp; ++e) s *= in_sp[e];
    stride[g] = s;
  }
  const int64_t taps1 = mode == GridMode::kNearest ? 1 : mode == GridMode::kLinear ? 2 : 4;
  ParallelFor(n * out_plane, c * 4 * taps1 * taps1, [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) {
      const int64_t b = item / out_plane, p = item % out_plane;
      const float* gp = grid + item * nsp;
      const float* xb = x + b * c * in_plane;
      float* yb = y + b * c * out_plane + p;
      float coord[3];
      for (int g = 0; g < nsp; ++g) {
        float v = Denormalize(gp[g], axes[g].len, align_corners);
        if (mode == GridMode::kNearest) v = std::nearbyint(Tame(v, axes[g].len));
        if (v < axes[g].lo || v > axes[g].hi) {
          // (ORT clamps the coordinate for border padding except in cubic mode, where only the
          // taps are clamped.)
          if (padding == GridPadding::kBorder && mode != GridMode::kCubic)
            v = std::clamp(v, 0.f, static_cast<float>(axes[g].len - 1));
          else if (padding == GridPadding::kReflection) v = Reflect(v, axes[g].lo, axes[g].hi);
        }
        coord[g] = Tame(v, axes[g].len);
      }
      // Per axis: taps source offsets (-1: zero) and weights.
      int64_t off[3][4];
      float w[3][4];
      for (int g = 0; g < nsp; ++g) {
        const float v = coord[g];
        if (mode == GridMode::kNearest) {
          const int64_t i = Fetch(static_cast<int64_t>(v), axes[g], padding);
          off[g][0] = i < 0 ? -1 : i * stride[g];
          w[g][0] = 1.f;
        } else {
          const float fl = std::floor(v);
          const float t = v - fl;
          const int64_t base = static_cast<int64_t>(fl) - (mode == GridMode::kCubic ? 1 : 0);
          if (mode == GridMode::kLinear) {
            w[g][0] = 1.f - t, w[g][1] = t;
          } else {
            CubicWeights(t, w[g]);
          }
          for (int64_t k = 0; k < taps1; ++k) {
            const int64_t i = Fetch(base + k, axes[g], padding);
            off[g][k] = i < 0 ? -1 : i * stride[g];
          }
        }
      }
      for (int64_t ch = 0; ch < c; ++ch) {
        const float* xp = xb + ch * in_plane;
        float acc = 0.f;
        if (nsp == 2) {
          for (int64_t ky = 0; ky < taps1; ++ky) {
            if (off[1][ky] < 0) continue;
            float row = 0.f;
            for (int64_t kx = 0; kx < taps1; ++kx)
              if (off[0][kx] >= 0) row += w[0][kx] * xp[off[1][ky] + off[0][kx]];
            acc += w[1][ky] * row;
          }
        } else {
          for (int64_t kz = 0; kz < taps1; ++kz) {
            if (off[2][kz] < 0) continue;
            float plane = 0.f;
            for (int64_t ky = 0; ky < taps1; ++ky) {
              if (off[1][ky] < 0) continue;
              float row = 0.f;
              for (int64_t kx = 0; kx < taps1; ++kx)
                if (off[0][kx] >= 0) row += w[0][kx] * xp[off[2][kz] + off[1][ky] + off[0][kx]];
              plane += w[1][ky] * row;
            }
            acc += w[2][kz] * plane;
          }
        }
        yb[ch * out_plane] = acc;
      }
    }
  });
}

namespace {

struct Box {
  float x0, y0, x1, y1;
};

Box MakeBox(const float* b, bool center) {
  if (center) {  // [x_center, y_center, width, height]
    const float hw = b[2] / 2.f, hh = b[3] / 2.f;
    return {b[0] - hw, b[1] - hh, b[0] + hw, b[1] + hh};
  }
  // [y1, x1, y2, x2], either corner order.
  return {std::min(b[1], b[3]), std::min(b[0], b[2]), std::max(b[1], b[3]), std::max(b[0], b[2])};
}

bool Overlaps(const Box& a, const Box& b, float iou_threshold) {
  const float area_a = (a.x1 - a.x0) * (a.y1 - a.y0);
  const float area_b = (b.x1 - b.x0) * (b.y1 - b.y0);
  if (area_a <= 0.f || area_b <= 0.f) return false;
  const float ix0 = std::max(a.x0, b.x0), iy0 = std::max(a.y0, b.y0);
  const float ix1 = std::min(a.x1, b.x1), iy1 = std::min(a.y1, b.y1);
  if (ix1 <= ix0 || iy1 <= iy0) return false;
  const float inter = (ix1 - ix0) * (iy1 - iy0);
  const float uni = area_a + area_b - inter;
  if (!(uni > 0.f)) return false;
  return inter / uni > iou_threshold;
}

}  // namespace

void NmsOneClass(const float* boxes, const float* scores, int64_t num, bool center_point_box,
                 int64_t max_output, float iou_threshold, bool has_score_threshold, float score_threshold,
                 std::vector<int64_t>& selected) {
  std::vector<int64_t> order;
  order.reserve(static_cast<size_t>(num));
  for (int64_t i = 0; i < num; ++i)
    if (!has_score_threshold || scores[i] > score_threshold) order.push_back(i);
  // Highest score first; equal scores keep the lower index first.
  // (NaN scores sort last, keeping the order strict.)
  auto key = [&](int64_t i) { return std::isnan(scores[i]) ? -INFINITY : scores[i]; };
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return key(a) > key(b); });
  std::vector<Box> kept;
  for (int64_t i : order) {
    if (static_cast<int64_t>(kept.size()) >= max_output) break;
    const Box bx = MakeBox(boxes + i * 4, center_point_box);
    bool suppressed = false;
    for (const Box& k : kept)
      if (Overlaps(k, bx, iou_threshold)) {
        suppressed = true;
        break;
      }
    if (suppressed) continue;
    kept.push_back(bx);
    selected.push_back(i);
  }
}

void AffineGrid(const float* theta, float* grid, int64_t n, const int64_t* out_sp, int nsp, bool align_corners) {
  // Base coordinates per spatial dim (in out_sp order).
  std::vector<std::vector<float>> base(static_cast<size_t>(nsp));
  int64_t plane = 1;
  for (int d = 0; d < nsp; ++d) {
    const int64_t len = out_sp[d];
    plane *= len;
    base[d].resize(static_cast<size_t>(len));
    for (int64_t i = 0; i < len; ++i) {
      float v;
      // (A length-1 dim with align_corners gives 1, as ONNX Runtime's CPU EP does.)
      if (align_corners) v = len > 1 ? -1.f + 2.f * static_cast<float>(i) / static_cast<float>(len - 1) : 1.f;
      else v = (2.f * static_cast<float>(i) + 1.f) / static_cast<float>(len) - 1.f;
      base[d][i] = v;
    }
  }
  if (n == 0 || plane == 0) return;
  const int cols = nsp + 1;
  ParallelFor(n * plane, 4 * nsp * cols, [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) {
      const int64_t b = item / plane;
      int64_t rem = item % plane;
      float v[4];  // x, y[, z], 1
      for (int d = nsp - 1; d >= 0; --d) {
        const int64_t i = rem % out_sp[d];
        rem /= out_sp[d];
        v[nsp - 1 - d] = base[d][i];
      }
      v[nsp] = 1.f;
      const float* t = theta + b * nsp * cols;
      float* g = grid + item * nsp;
      for (int r = 0; r < nsp; ++r) {
        float acc = 0.f;
        for (int k = 0; k < cols; ++k) acc += t[r * cols + k] * v[k];
        g[r] = acc;
      }
    }
  });
}

void Col2Im(const float* x, float* y, int64_t n, int64_t c, int nsp, const int64_t* image, const int64_t* block,
            const int64_t* dilation, const int64_t* stride, const int64_t* pad_begin, const int64_t* blocks_per_dim) {
  int64_t img = 1, blk = 1, cols = 1;
  for (int d = 0; d < nsp; ++d) img *= image[d], blk *= block[d], cols *= blocks_per_dim[d];
  if (n == 0 || c == 0 || img == 0) return;
  // One (batch, channel) image per item: sum every column's block element into place.
  ParallelFor(n * c, blk * cols + img, [&](int64_t begin, int64_t end) {
    std::vector<int64_t> bi(static_cast<size_t>(nsp)), li(static_cast<size_t>(nsp));
    for (int64_t item = begin; item < end; ++item) {
      float* yp = y + item * img;
      std::memset(yp, 0, static_cast<size_t>(img) * sizeof(float));
      const float* xp = x + item * blk * cols;
      for (int64_t k = 0; k < blk; ++k) {
        int64_t r = k;
        for (int d = nsp - 1; d >= 0; --d) bi[d] = r % block[d], r /= block[d];
        for (int64_t l = 0; l < cols; ++l) {
          int64_t q = l;
          for (int d = nsp - 1; d >= 0; --d) li[d] = q % blocks_per_dim[d], q /= blocks_per_dim[d];
          int64_t off = 0;
          bool inside = true;
          for (int d = 0; d < nsp && inside; ++d) {
            const int64_t pos = li[d] * stride[d] - pad_begin[d] + bi[d] * dilation[d];
            inside = pos >= 0 && pos < image[d];
            off = off * image[d] + pos;
          }
          if (inside) yp[off] += xp[k * cols + l];
        }
      }
    }
  });
}

void RoiAlign(const float* x, const float* rois, const int64_t* batch, float* y, int64_t r, int64_t c, int64_t h,
              int64_t w, const RoiAlignParams& p) {
  const int64_t bins = p.oh * p.ow;
  if (r == 0 || c == 0 || bins == 0) return;
  ParallelFor(r * c, bins * 16, [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) {
      const int64_t ri = item / c, ch = item % c;
      const float* roi = rois + ri * 4;
      const float off = p.half_pixel ? 0.5f : 0.f;
      const float sw = roi[0] * p.spatial_scale - off, sh = roi[1] * p.spatial_scale - off;
      const float ew = roi[2] * p.spatial_scale - off, eh = roi[3] * p.spatial_scale - off;
      float rw = ew - sw, rh = eh - sh;
      if (!p.half_pixel) rw = std::max(rw, 1.f), rh = std::max(rh, 1.f);
      const float bh = rh / static_cast<float>(p.oh), bw = rw / static_cast<float>(p.ow);
      auto grid_of = [&](float extent, int64_t out) {
        if (p.sampling_ratio > 0) return p.sampling_ratio;
        const float g = std::ceil(extent / static_cast<float>(out));
        return !(g > 0.f) ? int64_t{0} : g > 1.0e6f ? int64_t{1000000} : static_cast<int64_t>(g);
      };
      const int64_t gh = grid_of(rh, p.oh), gw = grid_of(rw, p.ow);
      const float count = static_cast<float>(std::max<int64_t>(gh * gw, 1));
      const float* plane = x + (batch[ri] * c + ch) * h * w;
      float* out = y + item * bins;
      for (int64_t ph = 0; ph < p.oh; ++ph) {
        for (int64_t pw = 0; pw < p.ow; ++pw) {
          float acc = 0.f;
          bool any = false;
          for (int64_t iy = 0; iy < gh; ++iy) {
            float yy = sh + static_cast<float>(ph) * bh + (static_cast<float>(iy) + 0.5f) * bh / static_cast<float>(gh);
            for (int64_t ix = 0; ix < gw; ++ix) {
              float xx = sw + static_cast<float>(pw) * bw + (static_cast<float>(ix) + 0.5f) * bw / static_cast<float>(gw);
              float val = 0.f;
              // (Written so that a NaN coordinate samples nothing.)
              if (yy >= -1.f && yy <= static_cast<float>(h) && xx >= -1.f && xx <= static_cast<float>(w)) {
                float ys = std::max(yy, 0.f), xs = std::max(xx, 0.f);
                int64_t y0 = static_cast<int64_t>(ys), x0 = static_cast<int64_t>(xs), y1, x1;
                if (y0 >= h - 1) y0 = y1 = h - 1, ys = static_cast<float>(y0);
                else y1 = y0 + 1;
                if (x0 >= w - 1) x0 = x1 = w - 1, xs = static_cast<float>(x0);
                else x1 = x0 + 1;
                const float ly = ys - static_cast<float>(y0), lx = xs - static_cast<float>(x0);
                const float hy = 1.f - ly, hx = 1.f - lx;
                const float v1 = hy * hx * plane[y0 * w + x0], v2 = hy * lx * plane[y0 * w + x1];
                const float v3 = ly * hx * plane[y1 * w + x0], v4 = ly * lx * plane[y1 * w + x1];
                val = p.max_mode ? std::max(std::max(v1, v2), std::max(v3, v4)) : v1 + v2 + v3 + v4;
              }
              if (p.max_mode) {
                acc = any ? std::max(acc, val) : val;
                any = true;
              } else {
                acc += val;
              }
            }
          }
          out[ph * p.ow + pw] = p.max_mode ? acc : acc / count;
        }
      }
    }
  });
}

void DeformConv(const DeformConvParams& p, const float* x, const float* weight, const float* offset,
                const float* mask, const float* bias, float* y, float* cols) {
  const int64_t taps = p.kh * p.kw, plane = p.oh * p.ow;
  const int64_t cpg = p.c / p.group, mpg = p.m / p.group, cpog = p.c / p.offset_group;
  if (p.n == 0 || p.m == 0 || plane == 0) return;
  for (int64_t b = 0; b < p.n; ++b) {
    // Sampled (and masked) columns: [C * taps, plane].
    ParallelFor(p.c * taps, plane * 12, [&](int64_t begin, int64_t end) {
      for (int64_t row = begin; row < end; ++row) {
        const int64_t ch = row / taps, k = row % taps;
        const int64_t ki = k / p.kw, kj = k % p.kw;
        const int64_t og = ch / cpog;
        const float* img = x + (b * p.c + ch) * p.h * p.w;
        const float* off_y = offset + ((b * p.offset_group + og) * 2 * taps + 2 * k) * plane;
        const float* off_x = off_y + plane;
        const float* mk = mask ? mask + ((b * p.offset_group + og) * taps + k) * plane : nullptr;
        float* col = cols + row * plane;
        for (int64_t i = 0; i < p.oh; ++i) {
          for (int64_t j = 0; j < p.ow; ++j) {
            const int64_t q = i * p.ow + j;
            const float sy = static_cast<float>(i * p.stride_h - p.pad_h + ki * p.dil_h) + off_y[q];
            const float sx = static_cast<float>(j * p.stride_w - p.pad_w + kj * p.dil_w) + off_x[q];
            float v = 0.f;
            if (sy > -1.f && sy < static_cast<float>(p.h) && sx > -1.f && sx < static_cast<float>(p.w)) {
              const float fy = std::floor(sy), fx = std::floor(sx);
              const int64_t y0 = static_cast<int64_t>(fy), x0 = static_cast<int64_t>(fx);
              const float ly = sy - fy, lx = sx - fx;
              auto at = [&](int64_t yy, int64_t xx) {
                return (yy >= 0 && yy < p.h && xx >= 0 && xx < p.w) ? img[yy * p.w + xx] : 0.f;
              };
              v = (1.f - ly) * ((1.f - lx) * at(y0, x0) + lx * at(y0, x0 + 1)) +
                  ly * ((1.f - lx) * at(y0 + 1, x0) + lx * at(y0 + 1, x0 + 1));
            }
            col[q] = mk ? v * mk[q] : v;
          }
        }
      }
    });
    // y[b, oc] = bias + w[oc] . cols[group of oc]
    ParallelFor(p.m, cpg * taps * plane, [&](int64_t begin, int64_t end) {
      for (int64_t oc = begin; oc < end; ++oc) {
        const int64_t g = oc / mpg;
        float* out = y + (b * p.m + oc) * plane;
        const float bv = bias ? bias[oc] : 0.f;
        for (int64_t q = 0; q < plane; ++q) out[q] = bv;
        const float* wr = weight + oc * cpg * taps;
        const float* cg = cols + g * cpg * taps * plane;
        for (int64_t r = 0; r < cpg * taps; ++r) {
          const float wv = wr[r];
          const float* cr = cg + r * plane;
          for (int64_t q = 0; q < plane; ++q) out[q] += wv * cr[q];
        }
      }
    });
  }
}

}  // namespace anvil::vision
