// Vision compute: GridSample, NonMaxSuppression, AffineGrid, Col2Im. No ORT types.
#pragma once
#include <cstdint>
#include <vector>

namespace anvil::vision {

enum class GridMode { kNearest, kLinear, kCubic };
enum class GridPadding { kZeros, kBorder, kReflection };

// x: [N, C, spatial...] (2 or 3 spatial dims), grid: [N, out..., nsp] with coordinates in
// (x, y[, z]) order, normalised to [-1, 1]; y: [N, C, out...]. Cubic only for 2 spatial dims.
void GridSample(const float* x, const float* grid, float* y, int64_t n, int64_t c, const int64_t* in_sp,
                const int64_t* out_sp, int nsp, GridMode mode, GridPadding padding, bool align_corners);

// One batch and class of NonMaxSuppression: boxes [num, 4], scores [num]; appends the selected
// box indices (highest score first) to `selected`.
void NmsOneClass(const float* boxes, const float* scores, int64_t num, bool center_point_box,
                 int64_t max_output, float iou_threshold, bool has_score_threshold, float score_threshold,
                 std::vector<int64_t>& selected);

// AffineGrid: theta [N, nsp, nsp + 1], sizes out_sp (H, W or D, H, W); grid [N, out..., nsp].
void AffineGrid(const float* theta, float* grid, int64_t n, const int64_t* out_sp, int nsp, bool align_corners);

// Col2Im: x [N, C * prod(block), L] -> y [N, C, image...]; per spatial dim: image size, block,
// dilation, stride, pad begin, and the count of block positions.
void Col2Im(const float* x, float* y, int64_t n, int64_t c, int nsp, const int64_t* image, const int64_t* block,
            const int64_t* dilation, const int64_t* stride, const int64_t* pad_begin, const int64_t* blocks_per_dim);

// RoiAlign: x [N, C, H, W], rois [R, 4] (x1, y1, x2, y2), batch [R] (checked in range); y [R, C, oh, ow].
struct RoiAlignParams {
  int64_t oh = 1, ow = 1, sampling_ratio = 0;
  float spatial_scale = 1.f;
  bool half_pixel = true;  // coordinate_transformation_mode half_pixel (else output_half_pixel)
  bool max_mode = false;
};
void RoiAlign(const float* x, const float* rois, const int64_t* batch, float* y, int64_t r, int64_t c, int64_t h,
              int64_t w, const RoiAlignParams& p);

// DeformConv (2-D): x [N, C, H, W], w [M, C / group, kh, kw], offset [N, og * 2 * kh * kw, oh, ow]
// ((dy, dx) pairs per kernel tap), mask [N, og * kh * kw, oh, ow] or null, bias [M] or null;
// y [N, M, oh, ow]. Samples outside the image read 0.
struct DeformConvParams {
  int64_t n = 0, c = 0, h = 0, w = 0, m = 0, kh = 1, kw = 1, oh = 0, ow = 0;
  int64_t group = 1, offset_group = 1;
  int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1;
};
// `cols` is scratch of C * kh * kw * oh * ow floats.
void DeformConv(const DeformConvParams& p, const float* x, const float* weight, const float* offset,
                const float* mask, const float* bias, float* y, float* cols);

}  // namespace anvil::vision
