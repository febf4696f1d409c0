#include "compute/nn/batchnorm.h"

#include "kernels/nn/nn.h"

namespace anvil {
namespace {

constexpr const char* kParamNames[4] = {"scale", "B", "mean", "var"};

// Checks that parameter `p` (input 1 + p) is a float vector of `channels` values.
Status CheckParam(const TensorView& v, int p, int64_t channels) {
  ANVIL_CHECK(v.type == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, "BatchNormalization: ", kParamNames[p],
              " must be float");
  ANVIL_CHECK(v.shape.size() == 1 && v.shape[0] == channels, "BatchNormalization: ", kParamNames[p], " has shape ",
              ToString(v.shape), ", expected [", channels, "]");
  return {};
}

}  // namespace

Status BatchNormKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  return CreateAs(node, out, false);
}

Status BatchNormKernel::CreateAs(const NodeInfo& node, std::unique_ptr<Kernel>* out, bool nhwc) {
  ANVIL_CHECK(node.InputType(0) == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, "BatchNormalization: only float is supported");
  ANVIL_CHECK(node.InputCount() == 5, "BatchNormalization: expected 5 inputs");
  for (size_t i = 1; i < 5; ++i) {
    ANVIL_CHECK(node.InputPresent(i), "BatchNormalization: input ", i, " is missing");
    ANVIL_CHECK(node.InputType(i) == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, "BatchNormalization: ",
                kParamNames[i - 1], " must be float");
  }
  // training_mode=1 (revision 14+): batch statistics, outputs Y and the running mean and variance
  // (batchnorm_training.cc).
  const bool training = node.Int("training_mode", 0) != 0;
  ANVIL_CHECK(!training || node.SinceVersion() >= 14, "BatchNormalization: training before revision 14");
  ANVIL_CHECK(!training || !nhwc, "BatchNormalization: training mode runs channels-first only");
  for (size_t i = training ? 3 : 1; i < node.OutputCount(); ++i) {
    ANVIL_CHECK(node.OutputType(i) == ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED,
                "BatchNormalization: only the Y output is supported (inference mode), node requests output ", i);
  }
  if (node.SinceVersion() < 9)
    ANVIL_CHECK(node.Int("spatial", 1) == 1, "BatchNormalization: spatial=0 (per-activation statistics) is not supported");
  int64_t channels = -1;
  if (auto shape = node.InputShape(0)) {
    ANVIL_CHECK(shape->size() >= 2, "BatchNormalization: input must have rank >= 2 (N, C, ...)");
    channels = nhwc ? shape->back() : (*shape)[1];
  }
  auto k = std::make_unique<BatchNormKernel>();
  k->nhwc_ = nhwc;
  k->epsilon_ = node.Float("epsilon", 1e-5f);
  k->training_ = training;
  k->momentum_ = node.Float("momentum", 0.9f);
  if (training) {
    if (out) *out = std::move(k);
    return {};
  }
  std::optional<TensorView> params[4];
  bool all_constant = true;
  for (int p = 0; p < 4; ++p) {
    params[p] = node.ConstantInput(1 + p);
    all_constant = all_constant && params[p].has_value();
  }
  if (all_constant) {
    const int64_t c = params[0]->size();
    ANVIL_CHECK(channels < 0 || channels == c, "BatchNormalization: input has ", channels, " channels but scale has ",
                c);
    for (int p = 0; p < 4; ++p) ANVIL_RETURN_IF_ERROR(CheckParam(*params[p], p, c));
    k->precomputed_ = true;
    k->mult_.resize(c);
    k->offset_.resize(c);
    nn::BatchNormCoefficients(params[0]->as<float>(), params[1]->as<float>(), params[2]->as<float>(),
                              params[3]->as<float>(), k->epsilon_, c, k->mult_.data(), k->offset_.data());
  }
  if (out) *out = std::move(k);
  return {};
}

Status BatchNormKernel::Compute(ComputeContext& ctx) const {
  if (training_) return BatchNormTrainingCompute(ctx, epsilon_, momentum_);
  TensorView x = ctx.Input(0);
  ANVIL_CHECK(x.shape.size() >= 2, "BatchNormalization: input ", ToString(x.shape), " must have rank >= 2");
  const int64_t channels = nhwc_ ? x.shape.back() : x.shape[1];
  const float* mult = mult_.data();
  const float* offset = offset_.data();
  if (precomputed_) {
    ANVIL_CHECK(static_cast<int64_t>(mult_.size()) == channels, "BatchNormalization: input ", ToString(x.shape),
                " does not have ", mult_.size(), " channels");
  } else {
    TensorView p[4];
    for (int i = 0; i < 4; ++i) {
      p[i] = ctx.Input(1 + i);
      ANVIL_RETURN_IF_ERROR(CheckParam(p[i], i, channels));
    }
    float* m = ctx.Scratch<float>(2 * static_cast<size_t>(channels));
    nn::BatchNormCoefficients(p[0].as<float>(), p[1].as<float>(), p[2].as<float>(), p[3].as<float>(), epsilon_,
                              channels, m, m + channels);
    mult = m;
    offset = m + channels;
  }
  float* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, x.shape, &y));
  if (x.size() == 0) return {};
  if (nhwc_)  // [N, spatial..., C]: every position a vector of the channels
    nn::ChannelAffine(x.as<float>(), y, mult, offset, x.size() / channels, channels, 1);
  else
    nn::ChannelAffine(x.as<float>(), y, mult, offset, x.shape[0], channels, x.size() / (x.shape[0] * channels));
  return {};
}

}  // namespace anvil
