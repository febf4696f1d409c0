// LogSoftmax, Hardmax, LpNormalization, LayerNormalization, InstanceNormalization,
// GroupNormalization, MeanVarianceNormalization, LRN, GlobalMaxPool, GlobalLpPool.
#include <string>
#include <type_traits>

#include "compute/nn/normalize.h"
#include "compute/nn/softmax.h"
#include "kernels/nn/nn.h"

namespace anvil {
namespace {

constexpr ElemType kF32 = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
constexpr ElemType kF64 = ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE;

bool AllKnown(const Shape& s) {
  for (int64_t d : s) {
    if (d < 0) return false;
  }
  return true;
}

// Checks a per-channel / per-column parameter input's shape when it is known.
Status CheckParamSize(const NodeInfo& node, size_t i, int64_t want, const char* what) {
  if (!node.InputPresent(i)) return {};
  auto s = node.InputShape(i);
  if (s && AllKnown(*s) && want >= 0) {
    ANVIL_CHECK(NumElements(*s) == want, node.OpType(), ": ", what, " has shape ", ToString(*s), ", expected ",
                want, " elements");
  }
  return {};
}

}  // namespace

// ---- LogSoftmax, Hardmax, LpNormalization ----

Status AxisNormKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  const std::string op = node.OpType();
  const int since = node.SinceVersion();
  ANVIL_CHECK(node.InputPresent(0), op, " has no input");
  const ElemType t = node.InputType(0);
  auto k = std::make_unique<AxisNormKernel>();
  k->type_ = t;
  if (op == "LpNormalization") {
    ANVIL_CHECK(t == kF32 || t == kF64, op, ": type ", ElemTypeName(t), " is not supported");
    k->kind_ = AxisNormKernel::Kind::kLp;
    k->axis_ = node.Int("axis", -1);
    const int64_t p = node.Int("p", 2);
    ANVIL_CHECK(p == 1 || p == 2, "LpNormalization: p must be 1 or 2, not ", p);
    k->p_ = static_cast<int>(p);
  } else {
    const bool hard = op == "Hardmax";
    ANVIL_CHECK(t == kF32 || (!hard && t == kF64), op, ": type ", ElemTypeName(t), " is not supported");
    k->kind_ = hard ? AxisNormKernel::Kind::kHardmax : AxisNormKernel::Kind::kLogSoftmax;
    k->flatten_ = since < 13;
    k->axis_ = node.Int("axis", k->flatten_ ? 1 : -1);
  }
  if (auto shape = node.InputShape(0)) {
    const int64_t rank = static_cast<int64_t>(shape->size());
    int64_t a = 0;
    ANVIL_CHECK(rank >= 1, op, ": input must have rank >= 1");
    ANVIL_CHECK(NormalizeAxis(k->axis_, rank, a), op, ": axis ", k->axis_, " out of range for rank ", rank);
  }
  if (out) *out = std::move(k);
  return {};
}

Status AxisNormKernel::Compute(ComputeContext& ctx) const {
  const TensorView x = ctx.Input(0);
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  int64_t axis = 0;
  ANVIL_CHECK(rank >= 1 && NormalizeAxis(axis_, rank, axis), "axis ", axis_, " out of range for input ",
              ToString(x.shape));
  void* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, x.shape, &y));
  if (x.size() == 0) return {};
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= x.shape[i];
  for (int64_t i = axis + 1; i < rank; ++i) inner *= x.shape[i];
  int64_t n = x.shape[axis];
  if (flatten_) {
    n *= inner;
    inner = 1;
  }
  auto run = [&](auto zero) {
    using T = decltype(zero);
    const T* px = x.as<T>();
    T* py = static_cast<T*>(y);
    switch (kind_) {
      case Kind::kLogSoftmax:
        if constexpr (std::is_same_v<T, float>) {
          if (inner == 1) {
            nn::LogSoftmaxRows(px, py, outer, n);  // contiguous rows: the vectorised path
            break;
          }
        }
        nn::LogSoftmax(px, py, outer, n, inner);
        break;
      case Kind::kHardmax: nn::Hardmax(px, py, outer, n, inner); break;
      case Kind::kLp: nn::LpNormalize(px, py, outer, n, inner, p_); break;
    }
  };
  if (type_ == kF64) run(double{});
  else run(float{});
  return {};
}

// ---- LayerNormalization ----

Status LayerNormKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_CHECK(node.InputPresent(0) && node.InputPresent(1), "LayerNormalization needs X and Scale");
  const ElemType t = node.InputType(0);
  ANVIL_CHECK(t == kF32 || t == kF64, "LayerNormalization: type ", ElemTypeName(t), " is not supported");
  ANVIL_CHECK(node.InputType(1) == t && (!node.InputPresent(2) || node.InputType(2) == t),
              "LayerNormalization: Scale and B must have X's type");
  ANVIL_CHECK(node.Int("stash_type", 1) == 1, "LayerNormalization: only stash_type 1 (float) is supported");
  for (size_t i = 1; i < node.OutputCount() && i < 3; ++i) {
    ANVIL_CHECK(node.OutputType(i) == kF32 || node.OutputType(i) == ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED,
                "LayerNormalization: output ", i, " must be float");
  }
  auto k = std::make_unique<LayerNormKernel>();
  k->type_ = t;
  k->axis_ = node.Int("axis", -1);
  k->epsilon_ = node.Float("epsilon", 1e-5f);
  if (auto shape = node.InputShape(0)) {
    const int64_t rank = static_cast<int64_t>(shape->size());
    int64_t a = 0;
    ANVIL_CHECK(NormalizeAxis(k->axis_, rank, a), "LayerNormalization: axis ", k->axis_, " out of range for rank ",
                rank);
    Shape tail(shape->begin() + a, shape->end());
    const int64_t cols = AllKnown(tail) ? NumElements(tail) : -1;
    ANVIL_RETURN_IF_ERROR(CheckParamSize(node, 1, cols, "Scale"));
    ANVIL_RETURN_IF_ERROR(CheckParamSize(node, 2, cols, "B"));
  }
  if (out) *out = std::move(k);
  return {};
}

Status LayerNormKernel::Compute(ComputeContext& ctx) const {
  const TensorView x = ctx.Input(0), scale = ctx.Input(1);
  const bool has_bias = ctx.HasInput(2) && ctx.Input(2).data != nullptr;
  const TensorView bias = has_bias ? ctx.Input(2) : TensorView{};
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  int64_t axis = 0;
  ANVIL_CHECK(NormalizeAxis(axis_, rank, axis), "axis ", axis_, " out of range for input ", ToString(x.shape));
  int64_t rows = 1, cols = 1;
  for (int64_t i = 0; i < rank; ++i) (i < axis ? rows : cols) *= x.shape[i];
  ANVIL_CHECK(scale.size() == cols, "Scale has shape ", ToString(scale.shape), ", the normalised shape has ", cols,
              " elements (input ", ToString(x.shape), ")");
  ANVIL_CHECK(!has_bias || bias.size() == cols, "B has shape ", ToString(bias.shape), ", the normalised shape has ",
              cols, " elements");
  void* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, x.shape, &y));
  Shape stat_shape(x.shape.begin(), x.shape.begin() + axis);
  stat_shape.resize(static_cast<size_t>(rank), 1);
  float* mean = nullptr;
  float* inv_std = nullptr;
  if (ctx.OutputCount() > 1) ANVIL_RETURN_IF_ERROR(ctx.Output(1, stat_shape, &mean));
  if (ctx.OutputCount() > 2) ANVIL_RETURN_IF_ERROR(ctx.Output(2, stat_shape, &inv_std));
  if (rows == 0) return {};
  ANVIL_CHECK(cols > 0, "the normalised shape (input ", ToString(x.shape), " from axis ", axis,
              ") has no elements");  // as ORT's CPU EP
  if (type_ == kF64) {
    nn::NormalizeRows(x.as<double>(), static_cast<double*>(y), rows, cols, scale.as<double>(),
                      has_bias ? bias.as<double>() : nullptr, 0, epsilon_, mean, inv_std);
  } else {
    nn::NormalizeRows(x.as<float>(), static_cast<float*>(y), rows, cols, scale.as<float>(),
                      has_bias ? bias.as<float>() : nullptr, 0, epsilon_, mean, inv_std);
  }
  return {};
}

// ---- InstanceNormalization, GroupNormalization ----

Status ChannelNormKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  const std::string op = node.OpType();
  ANVIL_CHECK(node.InputPresent(0) && node.InputPresent(1) && node.InputPresent(2), op, " needs three inputs");
  const ElemType t = node.InputType(0);
  auto k = std::make_unique<ChannelNormKernel>();
  k->type_ = t;
  k->group_ = op == "GroupNormalization";
  k->epsilon_ = node.Float("epsilon", 1e-5f);
  ANVIL_CHECK(t == kF32 || (k->group_ && t == kF64), op, ": type ", ElemTypeName(t), " is not supported");
  ANVIL_CHECK(node.InputType(1) == t && node.InputType(2) == t, op, ": scale and bias must have the input's type");
  if (k->group_) {
    auto g = node.Int("num_groups");
    ANVIL_CHECK(g && *g > 0, "GroupNormalization: num_groups must be given and positive");
    k->groups_ = *g;
    k->per_channel_ = node.SinceVersion() >= 21;
    ANVIL_CHECK(node.Int("stash_type", 1) == 1, "GroupNormalization: only stash_type 1 (float) is supported");
  }
  if (auto shape = node.InputShape(0)) {
    // InstanceNormalization needs rank 3+ (as ORT's CPU EP).
    const size_t min_rank = k->group_ ? 2 : 3;
    ANVIL_CHECK(shape->size() >= min_rank, op, ": input must have rank >= ", min_rank, ", has ", shape->size());
    const int64_t c = (*shape)[1];
    if (c >= 0) {
      if (k->group_) {
        ANVIL_CHECK(c % k->groups_ == 0, op, ": ", c, " channels do not split into ", k->groups_, " groups");
      }
      const int64_t want = k->per_channel_ ? c : k->groups_;
      ANVIL_RETURN_IF_ERROR(CheckParamSize(node, 1, want, "scale"));
      ANVIL_RETURN_IF_ERROR(CheckParamSize(node, 2, want, "bias"));
    }
  }
  if (out) *out = std::move(k);
  return {};
}

Status ChannelNormKernel::Compute(ComputeContext& ctx) const {
  const TensorView x = ctx.Input(0), scale = ctx.Input(1), bias = ctx.Input(2);
  ANVIL_CHECK(x.shape.size() >= (group_ ? 2u : 3u), "input rank too low: shape ", ToString(x.shape));
  const int64_t n = x.shape[0], c = x.shape[1];
  int64_t spatial = 1;
  for (size_t i = 2; i < x.shape.size(); ++i) spatial *= x.shape[i];
  ANVIL_CHECK(!group_ || c % groups_ == 0, c, " channels do not split into ", groups_, " groups");
  const int64_t want = per_channel_ ? c : groups_;
  ANVIL_CHECK(scale.size() == want && bias.size() == want, "scale ", ToString(scale.shape), " and bias ",
              ToString(bias.shape), " must have ", want, " elements");
  void* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, x.shape, &y));
  if (x.size() == 0) return {};
  auto run = [&](auto zero) {
    using T = decltype(zero);
    if (group_) {
      nn::GroupNormalize(x.as<T>(), static_cast<T*>(y), n, groups_, c / groups_, spatial, scale.as<T>(),
                         bias.as<T>(), per_channel_, epsilon_);
    } else {
      nn::NormalizeRows(x.as<T>(), static_cast<T*>(y), n * c, spatial, scale.as<T>(), bias.as<T>(), c, epsilon_,
                        nullptr, nullptr);
    }
  };
  if (type_ == kF64) run(double{});
  else run(float{});
  return {};
}

// ---- MeanVarianceNormalization ----

Status MeanVarianceNormKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_CHECK(node.InputPresent(0) && node.InputType(0) == kF32, "MeanVarianceNormalization: only float");
  auto k = std::make_unique<MeanVarianceNormKernel>();
  k->axes_ = node.Ints("axes", {0, 2, 3});
  if (auto shape = node.InputShape(0)) {
    const int64_t rank = static_cast<int64_t>(shape->size());
    ANVIL_CHECK(rank <= 16, "rank ", rank, " above 16");
    std::vector<bool> seen(static_cast<size_t>(rank), false);
    for (int64_t a : k->axes_) {
      int64_t n = 0;
      ANVIL_CHECK(NormalizeAxis(a, rank, n), "MeanVarianceNormalization: axis ", a, " out of range for rank ", rank);
      ANVIL_CHECK(!seen[n], "MeanVarianceNormalization: axis ", a, " repeated");
      seen[n] = true;
    }
  }
  if (out) *out = std::move(k);
  return {};
}

Status MeanVarianceNormKernel::Compute(ComputeContext& ctx) const {
  const TensorView x = ctx.Input(0);
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  ANVIL_CHECK(rank <= 16, "rank ", rank, " above 16");
  bool mask[16] = {};
  for (int64_t a : axes_) {
    int64_t n = 0;
    ANVIL_CHECK(NormalizeAxis(a, rank, n) && !mask[n], "axes ", ToString(axes_), " invalid for input ",
                ToString(x.shape));
    mask[n] = true;
  }
  float* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, x.shape, &y));
  nn::MeanVarianceNormalize(x.as<float>(), y, x.shape.data(), mask, static_cast<int>(rank));
  return {};
}

// ---- LRN ----

Status LrnKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_CHECK(node.InputPresent(0) && node.InputType(0) == kF32, "LRN: only float is supported");
  auto size = node.Int("size");
  ANVIL_CHECK(size && *size > 0, "LRN: size must be given and positive");
  if (auto shape = node.InputShape(0)) ANVIL_CHECK(shape->size() >= 2, "LRN: input must have rank >= 2");
  auto k = std::make_unique<LrnKernel>();
  k->size_ = *size;
  k->alpha_ = node.Float("alpha", 1e-4f);
  k->beta_ = node.Float("beta", 0.75f);
  k->bias_ = node.Float("bias", 1.0f);
  if (out) *out = std::move(k);
  return {};
}

Status LrnKernel::Compute(ComputeContext& ctx) const {
  const TensorView x = ctx.Input(0);
  ANVIL_CHECK(x.shape.size() >= 2, "input must have rank >= 2, has shape ", ToString(x.shape));
  int64_t spatial = 1;
  for (size_t i = 2; i < x.shape.size(); ++i) spatial *= x.shape[i];
  float* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, x.shape, &y));
  if (x.size() == 0) return {};
  nn::Lrn(x.as<float>(), y, x.shape[0], x.shape[1], spatial, size_, alpha_, beta_, bias_);
  return {};
}

// ---- GlobalMaxPool, GlobalLpPool ----

Status GlobalPoolKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  const std::string op = node.OpType();
  ANVIL_CHECK(node.InputPresent(0) && node.InputType(0) == kF32, op, ": only float is supported");
  if (auto shape = node.InputShape(0)) ANVIL_CHECK(shape->size() >= 3, op, ": input must have rank >= 3");
  auto k = std::make_unique<GlobalPoolKernel>();
  k->max_ = op == "GlobalMaxPool";
  k->p_ = node.Int("p", 2);
  ANVIL_CHECK(k->max_ || k->p_ >= 1, op, ": p must be positive, not ", k->p_);
  if (out) *out = std::move(k);
  return {};
}

Status GlobalPoolKernel::Compute(ComputeContext& ctx) const {
  const TensorView x = ctx.Input(0);
  ANVIL_CHECK(x.shape.size() >= 3, "input must have rank >= 3, has shape ", ToString(x.shape));
  Shape out_shape = x.shape;
  int64_t spatial = 1;
  for (size_t i = 2; i < x.shape.size(); ++i) {
    spatial *= x.shape[i];
    out_shape[i] = 1;
  }
  float* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, out_shape, &y));
  const int64_t rows = x.shape[0] * x.shape[1];
  if (rows == 0) return {};
  if (max_) nn::GlobalMax(x.as<float>(), y, rows, spatial);
  else nn::GlobalLp(x.as<float>(), y, rows, spatial, p_);
  return {};
}

}  // namespace anvil
