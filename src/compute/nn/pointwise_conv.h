// A pointwise (1x1, stride 1, unpadded, ungrouped) convolution on channels-last activations, with
// its bias, a residual Add and a Relu or Clip applied in registers before the store. It is the
// product Y[P, M] = X[P, C] W^T. oneDNN's 1x1 kernels split M into 16-lane vectors (at M = 24 a
// third of their multiply-adds are padding) and add a residual as a sum post-op, the operand
// copied into Y first; here consecutive pixels' outputs are packed into whole vectors (a vector
// that straddles two pixels takes its inputs from both) and the residual is read once. Plain C++,
// no ORT types.
#pragma once
#include <cstdint>

namespace anvil::nn {

// Whether PointwiseConv runs M output and C input channels here: M a multiple of 8 from 16 to
// 128, or 20, 28 or 36; C from 1 to kPointwiseMaxChannels; on a CPU with AVX-512.
constexpr int64_t kPointwiseMaxChannels = 4096;
bool PointwiseConvAvailable(int64_t out_channels, int64_t in_channels);

// Floats per input channel in the packed weights: lcm(M, 16), that input channel's M weights
// repeated until they fill whole vectors.
int64_t PointwisePackedRow(int64_t out_channels);

// w: the ONNX weight [M, C] (a 1x1 Conv's W). packed: C * PointwisePackedRow(M) floats.
void PackPointwiseWeights(const float* w, int64_t m, int64_t c, float* packed);

// What follows the bias, in this order.
struct PointwiseTail {
  const float* residual = nullptr;  // [P, R] added, or null
  // R, the residual's channels per pixel: 0 for M; fewer, and each pixel's first R outputs get
  // them, the others nothing (an Add of a tensor zero-padded in channels: BlazeFace's channel pad).
  int64_t residual_channels = 0;
  enum class Act : uint8_t { kNone, kRelu, kClip };
  Act act = Act::kNone;
  float alpha = 0.f;         // kRelu: the slope below zero (0: Relu, else LeakyRelu)
  float lo = 0.f, hi = 0.f;  // kClip: the bounds
};

// y[p, :] = tail(bias + sum_c x[p, c] * w[:, c]) for p in [0, pixels): x [P, C] and y [P, M]
// (channels-last; y must not overlap x), `packed` from PackPointwiseWeights, `bias` [M] or null.
// NaN propagates as in ORT's Relu and Clip. Runs on the current TaskRunner (compute/parallel.h).
void PointwiseConv(const float* x, int64_t pixels, int64_t c, const float* packed, int64_t m, const float* bias,
                   const PointwiseTail& tail, float* y);

}  // namespace anvil::nn
