// BatchNormalization with training_mode=1 (revision 14+): statistics of the batch (mean and
// population variance over every dim but the channels), Y normalised with them, and the running
// statistics input * momentum + batch * (1 - momentum) as outputs 1 and 2.
#include <cmath>
#include <vector>

#include "compute/parallel.h"
#include "kernels/nn/nn.h"

namespace anvil {

Status BatchNormTrainingCompute(ComputeContext& ctx, float epsilon, float momentum) {
  const TensorView x = ctx.Input(0);
  ANVIL_CHECK(x.shape.size() >= 2, "BatchNormalization: input ", ToString(x.shape), " must have rank >= 2");
  const int64_t n = x.shape[0], c = x.shape[1];
  const int64_t inner = c == 0 || n == 0 ? 0 : x.size() / (n * c);
  TensorView p[4];
  for (int i = 0; i < 4; ++i) {
    p[i] = ctx.Input(1 + i);
    ANVIL_CHECK(p[i].type == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT && p[i].shape.size() == 1 && p[i].shape[0] == c,
                "BatchNormalization: parameter ", i + 1, " has shape ", ToString(p[i].shape), ", expected [", c, "]");
  }
  float* y = nullptr;
  float* run_mean = nullptr;
  float* run_var = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, x.shape, &y));
  if (ctx.OutputCount() > 1) ANVIL_RETURN_IF_ERROR(ctx.Output(1, Shape{c}, &run_mean));
  if (ctx.OutputCount() > 2) ANVIL_RETURN_IF_ERROR(ctx.Output(2, Shape{c}, &run_var));
  const float* px = x.as<float>();
  const float *scale = p[0].as<float>(), *bias = p[1].as<float>(), *in_mean = p[2].as<float>(),
              *in_var = p[3].as<float>();
  const int64_t count = n * inner;
  ParallelFor(c, 2 * count + 1, [&](int64_t cb, int64_t ce) {
    for (int64_t ch = cb; ch < ce; ++ch) {
      double sum = 0, sq = 0;
      for (int64_t b = 0; b < n; ++b) {
        const float* row = px + (b * c + ch) * inner;
        for (int64_t i = 0; i < inner; ++i) sum += row[i];
      }
      const double mean = count > 0 ? sum / static_cast<double>(count) : 0.0;
      for (int64_t b = 0; b < n; ++b) {
        const float* row = px + (b * c + ch) * inner;
        for (int64_t i = 0; i < inner; ++i) sq += (row[i] - mean) * (row[i] - mean);
      }
      const double var = count > 0 ? sq / static_cast<double>(count) : 0.0;
      const double mult = scale[ch] / std::sqrt(var + static_cast<double>(epsilon));
      const double off = bias[ch] - mean * mult;
      for (int64_t b = 0; b < n; ++b) {
        const float* row = px + (b * c + ch) * inner;
        float* out = y + (b * c + ch) * inner;
        for (int64_t i = 0; i < inner; ++i) out[i] = static_cast<float>(row[i] * mult + off);
      }
      if (run_mean) run_mean[ch] = static_cast<float>(in_mean[ch] * momentum + mean * (1.0 - momentum));
      if (run_var) run_var[ch] = static_cast<float>(in_var[ch] * momentum + var * (1.0 - momentum));
    }
  });
  return {};
}

}  // namespace anvil
