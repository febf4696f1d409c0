#include <algorithm>
#include <cstring>

#include "compute/nn/reduce.h"
#include "kernels/nn/nn.h"

namespace anvil {
namespace {

// Marks the reduced axes in `mask` (rank entries); fails on out-of-range or repeated axes.
Status MarkAxes(const int64_t* axes, size_t count, int64_t rank, bool* mask) {
  for (int64_t i = 0; i < rank; ++i) mask[i] = false;
  for (size_t i = 0; i < count; ++i) {
    int64_t a = 0;
    ANVIL_CHECK(NormalizeAxis(axes[i], rank, a), "axis ", axes[i], " out of range for rank ", rank);
    ANVIL_CHECK(!mask[a], "axis ", axes[i], " repeated");
    mask[a] = true;
  }
  return {};
}

}  // namespace

Status ReduceKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_CHECK(node.InputType(0) == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, "only float is supported");
  auto k = std::make_unique<ReduceKernel>();
  k->max_ = node.OpType() == "ReduceMax";
  k->keepdims_ = node.Int("keepdims", 1) != 0;
  if (node.SinceVersion() >= 18) {
    k->noop_with_empty_axes_ = node.Int("noop_with_empty_axes", 0) != 0;
    if (node.InputPresent(1)) {
      ANVIL_CHECK(node.InputType(1) == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64, "axes must be int64");
      if (auto axes = node.ConstantInput(1)) {
        ANVIL_CHECK(axes->shape.size() <= 1, "axes must be 1-D");
        k->axes_.assign(axes->as<int64_t>(), axes->as<int64_t>() + axes->size());
      } else {
        k->axes_from_input_ = true;
      }
    }
  } else {
    k->axes_ = node.Ints("axes", {});
  }
  if (auto shape = node.InputShape(0)) {
    const int64_t rank = static_cast<int64_t>(shape->size());
    ANVIL_CHECK(rank <= nn::kMaxReduceRank, "rank ", rank, " above ", nn::kMaxReduceRank);
    if (!k->axes_from_input_) {
      bool mask[nn::kMaxReduceRank];
      ANVIL_RETURN_IF_ERROR(MarkAxes(k->axes_.data(), k->axes_.size(), rank, mask));
    }
  }
  if (out) *out = std::move(k);
  return {};
}

Status ReduceKernel::Compute(ComputeContext& ctx) const {
  TensorView x = ctx.Input(0);
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  ANVIL_CHECK(rank <= nn::kMaxReduceRank, "rank ", rank, " above ", nn::kMaxReduceRank);
  const int64_t* axes = axes_.data();
  size_t naxes = axes_.size();
  if (axes_from_input_ && ctx.HasInput(1)) {
    TensorView a = ctx.Input(1);
    ANVIL_CHECK(a.type == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64 && a.shape.size() <= 1, "axes must be 1-D int64");
    axes = a.as<int64_t>();
    naxes = static_cast<size_t>(a.size());
  }
  bool mask[nn::kMaxReduceRank];
  if (naxes == 0) {
    if (noop_with_empty_axes_) {
      float* y = nullptr;
      ANVIL_RETURN_IF_ERROR(ctx.Output(0, x.shape, &y));
      if (x.size() > 0) std::memcpy(y, x.data, sizeof(float) * x.size());
      return {};
    }
    std::fill(mask, mask + rank, true);
  } else {
    ANVIL_RETURN_IF_ERROR(MarkAxes(axes, naxes, rank, mask));
  }
  Shape out_shape;
  out_shape.reserve(x.shape.size());
  for (int64_t i = 0; i < rank; ++i) {
    if (!mask[i]) out_shape.push_back(x.shape[i]);
    else if (keepdims_) out_shape.push_back(1);
  }
  float* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, out_shape, &y));
  const bool ok = max_ ? nn::ReduceMax(x.as<float>(), y, x.shape.data(), mask, static_cast<int>(rank))
                       : nn::ReduceMean(x.as<float>(), y, x.shape.data(), mask, static_cast<int>(rank));
  ANVIL_CHECK(ok, "unsupported input ", ToString(x.shape));
  return {};
}

}  // namespace anvil
