// GatherElements, GatherND, ScatterElements (and the deprecated Scatter), ScatterND. Indices are
// validated and turned into element (or slice) offsets first; the moves then need no checks.
#include "compute/shape/index.h"
#include "compute/shape/values.h"
#include "kernels/shape/common.h"
#include "kernels/shape/shape.h"

namespace anvil {

using shape::Reduction;
using shape_detail::Strides;

namespace {

Status ParseReduction(const NodeInfo& node, int& out) {
  const std::string r = node.String("reduction", "none");
  const int since = node.SinceVersion();
  Reduction red = Reduction::kNone;
  if (r == "none") {
    red = Reduction::kNone;
  } else if (r == "add" && since >= 16) {
    red = Reduction::kAdd;
  } else if (r == "mul" && since >= 16) {
    red = Reduction::kMul;
  } else if (r == "max" && since >= 18) {
    red = Reduction::kMax;
  } else if (r == "min" && since >= 18) {
    red = Reduction::kMin;
  } else {
    return Fail("reduction '", r, "' is not supported");
  }
  if (red != Reduction::kNone)
    ANVIL_CHECK(shape_detail::IsNumeric(node.InputType(0)), "reduction '", r, "' on ", ElemTypeName(node.InputType(0)),
                " is not supported");
  out = static_cast<int>(red);
  return {};
}

// Indices (rank r, same as data) must not exceed data's dims off the axis.
Status CheckElementsShapes(const TensorView& data, const TensorView& ind, int64_t axis) {
  ANVIL_CHECK(ind.shape.size() == data.shape.size(), "indices ", ToString(ind.shape), " must have the rank of data ",
              ToString(data.shape));
  for (size_t d = 0; d < data.shape.size(); ++d)
    ANVIL_CHECK(static_cast<int64_t>(d) == axis || ind.shape[d] <= data.shape[d], "indices ", ToString(ind.shape),
                " exceed data ", ToString(data.shape), " on axis ", d);
  return {};
}

// Slice offsets for GatherND / ScatterND: for each index tuple, its slice of data (in slice units).
Status NDOffsets(const TensorView& data, const TensorView& ind, int64_t batch_dims, int64_t* offsets,
                 int64_t& slice) {
  const int64_t r = static_cast<int64_t>(data.shape.size()), q = static_cast<int64_t>(ind.shape.size());
  ANVIL_CHECK(q >= 1, "indices must have rank 1 or more");
  const int64_t k = ind.shape[q - 1];
  ANVIL_CHECK(batch_dims < q && batch_dims < r, "batch_dims ", batch_dims, " must be less than the ranks of data ",
              ToString(data.shape), " and indices ", ToString(ind.shape));
  ANVIL_CHECK(k >= 1 && k <= r - batch_dims, "the last dim of indices ", ToString(ind.shape),
              " must be in [1, ", r - batch_dims, "] for data ", ToString(data.shape));
  int64_t batches = 1;
  for (int64_t d = 0; d < batch_dims; ++d) {
    ANVIL_CHECK(ind.shape[d] == data.shape[d], "batch dim ", d, " of indices ", ToString(ind.shape),
                " differs from data ", ToString(data.shape));
    batches *= data.shape[d];
  }
  slice = 1;
  for (int64_t d = batch_dims + k; d < r; ++d) slice *= data.shape[d];
  int64_t batch_slices = 1;  // slices per batch of data
  for (int64_t d = batch_dims; d < batch_dims + k; ++d) batch_slices *= data.shape[d];
  const int64_t tuples = ind.size() / k;
  const int64_t per_batch = batches ? tuples / batches : 0;
  const int64_t* idx = ind.as<int64_t>();
  for (int64_t t = 0; t < tuples; ++t) {
    int64_t off = 0;
    for (int64_t j = 0; j < k; ++j) {
      const int64_t dim = data.shape[batch_dims + j];
      int64_t v = idx[t * k + j];
      const int64_t w = v < 0 ? v + dim : v;
      ANVIL_CHECK(w >= 0 && w < dim, "index ", v, " (tuple ", t, " of indices ", ToString(ind.shape),
                  ") is out of range for axis ", batch_dims + j, " of size ", dim, " (data ", ToString(data.shape), ")");
      off = off * dim + w;
    }
    offsets[t] = (per_batch ? t / per_batch : 0) * batch_slices + off;
  }
  return {};
}

}  // namespace

// ---- GatherElements

Status GatherElementsKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_RETURN_IF_ERROR(shape_detail::CheckCopyable(node, 0));
  ANVIL_CHECK(shape_detail::IsIndexType(node.InputType(1)), "indices must be int32 or int64");
  auto k = std::make_unique<GatherElementsKernel>();
  k->axis_ = node.Int("axis", 0);
  if (auto s = node.InputShape(0)) {
    const int64_t rank = static_cast<int64_t>(s->size());
    ANVIL_RETURN_IF_ERROR(shape_detail::CheckRank(s->size()));
    ANVIL_CHECK(k->axis_ >= -rank && k->axis_ < rank, "axis ", k->axis_, " is out of range for rank ", rank);
  }
  if (out) *out = std::move(k);
  return {};
}

Status GatherElementsKernel::Compute(ComputeContext& ctx) const {
  const TensorView data = ctx.Input(0), ind = ctx.Input(1);
  const int64_t rank = static_cast<int64_t>(data.shape.size());
  ANVIL_RETURN_IF_ERROR(shape_detail::CheckRank(data.shape.size()));
  int64_t axis = 0;
  ANVIL_CHECK(NormalizeAxis(axis_, rank, axis), "axis ", axis_, " is out of range for data ", ToString(data.shape));
  ANVIL_RETURN_IF_ERROR(CheckElementsShapes(data, ind, axis));
  void* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, ind.shape, &y));
  if (ind.size() == 0) return {};
  const Shape strides = Strides(data.shape);
  const bool idx64 = ind.type == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;
  const int64_t bad = shape::GatherElements(y, data.data, ElemSize(data.type), static_cast<int>(rank), ind.shape.data(),
                                            strides.data(), static_cast<int>(axis), data.shape[axis], ind.data, idx64);
  if (bad >= 0) {
    const int64_t v = idx64 ? ind.as<int64_t>()[bad] : ind.as<int32_t>()[bad];
    return Fail("index value ", v, " (at position ", bad, ") is out of range for axis ", axis, " of size ",
                data.shape[axis], " (data ", ToString(data.shape), ")");
  }
  return {};
}

// ---- ScatterElements, Scatter

Status ScatterElementsKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_RETURN_IF_ERROR(shape_detail::CheckCopyable(node, 0));
  ANVIL_CHECK(shape_detail::IsIndexType(node.InputType(1)), "indices must be int32 or int64");
  auto k = std::make_unique<ScatterElementsKernel>();
  k->axis_ = node.Int("axis", 0);
  ANVIL_RETURN_IF_ERROR(ParseReduction(node, k->reduction_));
  if (auto s = node.InputShape(0)) {
    const int64_t rank = static_cast<int64_t>(s->size());
    ANVIL_RETURN_IF_ERROR(shape_detail::CheckRank(s->size()));
    ANVIL_CHECK(k->axis_ >= -rank && k->axis_ < rank, "axis ", k->axis_, " is out of range for rank ", rank);
  }
  if (out) *out = std::move(k);
  return {};
}

Status ScatterElementsKernel::Compute(ComputeContext& ctx) const {
  const TensorView data = ctx.Input(0), ind = ctx.Input(1), upd = ctx.Input(2);
  const int64_t rank = static_cast<int64_t>(data.shape.size());
  ANVIL_RETURN_IF_ERROR(shape_detail::CheckRank(data.shape.size()));
  int64_t axis = 0;
  ANVIL_CHECK(NormalizeAxis(axis_, rank, axis), "axis ", axis_, " is out of range for data ", ToString(data.shape));
  ANVIL_RETURN_IF_ERROR(CheckElementsShapes(data, ind, axis));
  ANVIL_CHECK(upd.shape == ind.shape, "updates ", ToString(upd.shape), " must have the shape of indices ",
              ToString(ind.shape));
  const int64_t n = ind.size();
  int64_t* idx = ctx.Scratch<int64_t>(static_cast<size_t>(n));
  ANVIL_RETURN_IF_ERROR(shape_detail::ReadIndices(ind, "index", data.shape[axis], idx));
  void* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, data.shape, &y));
  const size_t es = ElemSize(data.type);
  shape::ParallelCopy(y, data.data, static_cast<size_t>(data.size()) * es);
  if (n == 0) return {};
  const Shape strides = Strides(data.shape);
  shape::AxisOffsets(idx, static_cast<int>(rank), ind.shape.data(), strides.data(), static_cast<int>(axis), idx);
  const auto red = static_cast<Reduction>(reduction_);
  if (red == Reduction::kNone) {
    shape::ScatterBlocks(y, upd.data, static_cast<int64_t>(es), idx, n);
    return {};
  }
  return shape_detail::VisitNumeric(data.type, [&](auto tag) {
    using T = decltype(tag);
    shape::ScatterAt(static_cast<T*>(y), upd.as<T>(), idx, n, red);
    return Status{};
  });
}

// ---- GatherND

Status GatherNDKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_RETURN_IF_ERROR(shape_detail::CheckCopyable(node, 0));
  ANVIL_CHECK(node.InputType(1) == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64, "indices must be int64");
  auto k = std::make_unique<GatherNDKernel>();
  k->batch_dims_ = node.SinceVersion() >= 12 ? node.Int("batch_dims", 0) : 0;
  ANVIL_CHECK(k->batch_dims_ >= 0, "batch_dims must not be negative");
  if (out) *out = std::move(k);
  return {};
}

Status GatherNDKernel::Compute(ComputeContext& ctx) const {
  const TensorView data = ctx.Input(0), ind = ctx.Input(1);
  ANVIL_CHECK(!ind.shape.empty(), "indices must have rank 1 or more");
  const int64_t k = ind.shape.back();
  ANVIL_CHECK(k >= 1, "the last dim of indices ", ToString(ind.shape), " must be at least 1");
  const int64_t tuples = ind.size() / k;
  int64_t* offsets = ctx.Scratch<int64_t>(static_cast<size_t>(tuples) + 1);
  int64_t slice = 1;
  ANVIL_RETURN_IF_ERROR(NDOffsets(data, ind, batch_dims_, offsets, slice));
  Shape shape(ind.shape.begin(), ind.shape.end() - 1);
  shape.insert(shape.end(), data.shape.begin() + batch_dims_ + k, data.shape.end());
  void* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, shape, &y));
  shape::CopyBlocks(y, data.data, slice * static_cast<int64_t>(ElemSize(data.type)), offsets, tuples);
  return {};
}

// ---- ScatterND

Status ScatterNDKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_RETURN_IF_ERROR(shape_detail::CheckCopyable(node, 0));
  ANVIL_CHECK(node.InputType(1) == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64, "indices must be int64");
  auto k = std::make_unique<ScatterNDKernel>();
  ANVIL_RETURN_IF_ERROR(ParseReduction(node, k->reduction_));
  if (out) *out = std::move(k);
  return {};
}

Status ScatterNDKernel::Compute(ComputeContext& ctx) const {
  const TensorView data = ctx.Input(0), ind = ctx.Input(1), upd = ctx.Input(2);
  ANVIL_CHECK(!ind.shape.empty(), "indices must have rank 1 or more");
  const int64_t k = ind.shape.back();
  ANVIL_CHECK(k >= 1, "the last dim of indices ", ToString(ind.shape), " must be at least 1");
  Shape want(ind.shape.begin(), ind.shape.end() - 1);
  if (k <= static_cast<int64_t>(data.shape.size())) want.insert(want.end(), data.shape.begin() + k, data.shape.end());
  ANVIL_CHECK(upd.shape == want, "updates ", ToString(upd.shape), " must have shape ", ToString(want),
              " for data ", ToString(data.shape), " and indices ", ToString(ind.shape));
  const int64_t tuples = ind.size() / k;
  int64_t* offsets = ctx.Scratch<int64_t>(static_cast<size_t>(tuples) + 1);
  int64_t slice = 1;
  ANVIL_RETURN_IF_ERROR(NDOffsets(data, ind, 0, offsets, slice));
  void* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, data.shape, &y));
  const size_t es = ElemSize(data.type);
  shape::ParallelCopy(y, data.data, static_cast<size_t>(data.size()) * es);
  const auto red = static_cast<Reduction>(reduction_);
  if (red == Reduction::kNone) {
    shape::ScatterBlocks(y, upd.data, slice * static_cast<int64_t>(es), offsets, tuples);
    return {};
  }
  return shape_detail::VisitNumeric(data.type, [&](auto tag) {
    using T = decltype(tag);
    shape::ScatterBlocks(static_cast<T*>(y), upd.as<T>(), offsets, tuples, slice, red);
    return Status{};
  });
}

}  // namespace anvil
