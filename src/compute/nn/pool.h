// Max and average pooling over up to three spatial dims, NC[D][H]W float layout: plain C++.
#pragma once
#include <cstdint>
#include <vector>

namespace anvil::nn {

// Geometry of one pooling node, normalised to three spatial dims (1-D and 2-D pools use leading
// dims of size 1 with kernel 1, stride 1, dilation 1, no padding).
struct PoolGeometry {
  int64_t in[3] = {1, 1, 1};
  int64_t out[3] = {1, 1, 1};
  int64_t kernel[3] = {1, 1, 1};
  int64_t stride[3] = {1, 1, 1};
  int64_t dilation[3] = {1, 1, 1};
  int64_t pad_begin[3] = {0, 0, 0};
  int64_t pad_end[3] = {0, 0, 0};
};

enum class AutoPad { kNotSet, kSameUpper, kSameLower, kValid };

// Output size and padding along one dim per the ONNX pooling rules. Returns false when the window
// does not fit (output size would be < 1 for non-empty input) or arguments are invalid.
bool PoolOutputDim(int64_t in, int64_t kernel, int64_t stride, int64_t dilation, AutoPad auto_pad, bool ceil_mode,
                   int64_t& pad_begin, int64_t& pad_end, int64_t& out);

// Per output position along one dim: the first valid input position, the number of valid taps
// (inside the input) and the number of taps inside the padded input (for count_include_pad).
struct PoolTaps {
  int64_t first;
  int64_t valid;
  int64_t padded;
};
// Fills taps[0..out) for dim `d` of `g`.
void ComputePoolTaps(const PoolGeometry& g, int d, PoolTaps* taps);

// `taps[d]` points at out[d] entries from ComputePoolTaps. `channels` = N*C.
void AveragePool(const float* x, float* y, int64_t channels, const PoolGeometry& g, const PoolTaps* const taps[3],
                 bool count_include_pad);
// `indices` may be null; otherwise receives the flattened input index of each maximum, row-major
// (storage_order 0) or column-major over the spatial dims (storage_order 1), including the
// batch/channel offset. Windows entirely in padding give -inf and index -1.
void MaxPool(const float* x, float* y, int64_t* indices, int64_t channels, const PoolGeometry& g,
             const PoolTaps* const taps[3], bool column_major);

// Channels-last (NHWC) pools: x [batch, in0, in1, in2, channels], y [batch, out0, out1, out2,
// channels] (1-D and 2-D pools with leading size-1 dims), the same results as the NCHW ones (the
// average sums its taps in another order). The loops run along the channels, which vectorise.
void AveragePoolNhwc(const float* x, float* y, int64_t batch, int64_t channels, const PoolGeometry& g,
                     const PoolTaps* const taps[3], bool count_include_pad);
void MaxPoolNhwc(const float* x, float* y, int64_t batch, int64_t channels, const PoolGeometry& g,
                 const PoolTaps* const taps[3]);
// Global pools over [batch, spatial (n elements), channels]: y [batch, channels].
void GlobalPoolNhwc(const float* x, float* y, int64_t batch, int64_t spatial, int64_t channels, bool max);

// (sum of |x|^p over the window's taps inside the input)^(1/p); padding contributes nothing.
void LpPool(const float* x, float* y, int64_t channels, const PoolGeometry& g, const PoolTaps* const taps[3],
            int64_t p);

}  // namespace anvil::nn
