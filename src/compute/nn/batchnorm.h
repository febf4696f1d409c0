// Inference batch normalisation as a per-channel affine map: plain C++, no ORT types.
#pragma once
#include <cstdint>

namespace anvil::nn {

// mult[c] = scale[c] / sqrt(var[c] + epsilon); offset[c] = bias[c] - mean[c] * mult[c].
void BatchNormCoefficients(const float* scale, const float* bias, const float* mean, const float* var, float epsilon,
                           int64_t channels, float* mult, float* offset);

// y[n, c, i] = x[n, c, i] * mult[c] + offset[c] for x viewed as [batch, channels, inner].
void ChannelAffine(const float* x, float* y, const float* mult, const float* offset, int64_t batch, int64_t channels,
                   int64_t inner);

}  // namespace anvil::nn
