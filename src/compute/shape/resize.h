// Resize compute: per-axis coordinate tables and the nearest / linear passes. No ORT types.
#pragma once
#include <cstdint>

namespace anvil::shape {

enum class ResizeCoord {
  kHalfPixel, kHalfPixelSymmetric, kAsymmetric, kAlignCorners, kPytorchHalfPixel, kTfHalfPixelForNN,
  kTfCropAndResize  // source = roi-relative; only through ResizeTapTable (needs the roi)
};
// kLegacy10: Resize revision 10 (asymmetric coordinates; floor when upsampling, ceil when downsampling).
enum class ResizeNearest { kRoundPreferFloor, kRoundPreferCeil, kFloor, kCeil, kLegacy10 };

// How a scale was given, which sets the arithmetic of the coordinate transform (as the ONNX
// reference does it): a float `scales` value -> float arithmetic; from `sizes` -> double, with
// scale = out_len / in_len.
struct ResizeScale {
  double value = 1.0;
  bool from_sizes = false;
};

// The source coordinate of output coordinate `x` along an axis.
double ResizeSourceCoord(ResizeCoord coord, int64_t x, ResizeScale scale, int64_t in_len, int64_t out_len);

// idx[j] = nearest source index of output j, in [0, in_len).
void NearestTable(ResizeCoord coord, ResizeNearest rounding, ResizeScale scale, int64_t in_len, int64_t out_len,
                  int64_t* idx);
// Linear: out[j] = in[i0[j]] * (1 - w[j]) + in[i1[j]] * w[j], i0/i1 in [0, in_len).
void LinearTable(ResizeCoord coord, ResizeScale scale, int64_t in_len, int64_t out_len, int64_t* i0, int64_t* i1,
                 float* w);

// Resizes `planes` H x W planes to out_h x out_w by nearest-neighbour tables ih (out_h) and iw (out_w).
// Integer-factor upsampling with floor-like tables takes a specialised row-replicating path.
void ResizeNearest2D(const float* src, float* dst, int64_t planes, int64_t in_h, int64_t in_w, int64_t out_h,
                     int64_t out_w, const int64_t* ih, const int64_t* iw);
// Bilinear over the last two dims.
void ResizeLinear2D(const float* src, float* dst, int64_t planes, int64_t in_h, int64_t in_w, int64_t out_h,
                    int64_t out_w, const int64_t* y0, const int64_t* y1, const float* wy, const int64_t* x0,
                    const int64_t* x1, const float* wx);

// The middle two dims of [batch, in_h, in_w, c] (channels-last planes): every output pixel copies
// (nearest) or blends (bilinear) whole c-float pixels; an output row whose source row repeats the
// previous one is a copy of it.
void ResizeNearestChannelsLast(const float* src, float* dst, int64_t batch, int64_t in_h, int64_t in_w, int64_t out_h,
                               int64_t out_w, int64_t c, const int64_t* ih, const int64_t* iw);
void ResizeLinearChannelsLast(const float* src, float* dst, int64_t batch, int64_t in_h, int64_t in_w, int64_t out_h,
                              int64_t out_w, int64_t c, const int64_t* y0, const int64_t* y1, const float* wy,
                              const int64_t* x0, const int64_t* x1, const float* wx);

// One axis of a separable resize: src is [outer, in_len, inner], dst is [outer, out_len, inner].
void ResizeAxisNearest(const float* src, float* dst, int64_t outer, int64_t in_len, int64_t out_len,
                       int64_t inner, const int64_t* idx);
void ResizeAxisLinear(const float* src, float* dst, int64_t outer, int64_t in_len, int64_t out_len,
                      int64_t inner, const int64_t* i0, const int64_t* i1, const float* w);

// ---- General separable path (cubic, tf_crop_and_resize): every output index j of an axis reads
// `taps` source indices idx[j * taps + k] with weights w[j * taps + k]; outside[j] != 0 means the
// source coordinate fell outside the input (tf_crop_and_resize) and the output is the
// extrapolation value instead.
enum class ResizeFilter { kNearest, kLinear, kCubic };
struct ResizeAxisSpec {
  ResizeFilter filter = ResizeFilter::kNearest;
  ResizeCoord coord = ResizeCoord::kHalfPixel;
  ResizeNearest rounding = ResizeNearest::kRoundPreferFloor;
  ResizeScale scale;
  int64_t in_len = 1, out_len = 1;
  double roi_start = 0.0, roi_end = 1.0;  // tf_crop_and_resize only
  float cubic_a = -0.75f;
  bool exclude_outside = false;
  bool antialias = false;  // linear / cubic: widen the filter by 1 / scale when downsampling
};
int64_t ResizeTapCount(ResizeFilter filter);
// Taps per output index of the axis `spec` describes (wider with antialias).
int64_t ResizeTapCount(const ResizeAxisSpec& spec);
void ResizeTapTable(const ResizeAxisSpec& spec, int64_t* idx, float* w, uint8_t* outside);
// src is [outer, in_len, inner], dst is [outer, out_len, inner].
void ResizeAxisTaps(const float* src, float* dst, int64_t outer, int64_t in_len, int64_t out_len, int64_t inner,
                    int64_t taps, const int64_t* idx, const float* w, const uint8_t* outside, float extrapolation);

}  // namespace anvil::shape
