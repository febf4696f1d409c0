#include "compute/nn/batchnorm.h"

#include <cmath>

#include "compute/parallel.h"

namespace anvil::nn {

void BatchNormCoefficients(const float* scale, const float* bias, const float* mean, const float* var, float epsilon,
                           int64_t channels, float* mult, float* offset) {
  for (int64_t c = 0; c < channels; ++c) {
    const float m = scale[c] / std::sqrt(var[c] + epsilon);
    mult[c] = m;
    offset[c] = bias[c] - mean[c] * m;
  }
}

void ChannelAffine(const float* x, float* y, const float* mult, const float* offset, int64_t batch, int64_t channels,
                   int64_t inner) {
  if (inner == 1) {  // [N, C]: vectorise across channels
    ParallelFor(batch, 2 * channels, [&](int64_t b, int64_t e) {
      for (int64_t n = b; n < e; ++n) {
        const float* xr = x + n * channels;
        float* yr = y + n * channels;
#pragma omp simd
        for (int64_t c = 0; c < channels; ++c) yr[c] = xr[c] * mult[c] + offset[c];
      }
    });
    return;
  }
  ParallelFor(batch * channels, 2 * inner, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const int64_t c = r % channels;
      const float m = mult[c], o = offset[c];
      const float* xr = x + r * inner;
      float* yr = y + r * inner;
#pragma omp simd
      for (int64_t i = 0; i < inner; ++i) yr[i] = xr[i] * m + o;
    }
  });
}

}  // namespace anvil::nn
