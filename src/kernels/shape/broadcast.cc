// Where, Expand, Tile: broadcast reads, as strided copies with stride 0 on repeated dims.
#include "compute/shape/copy.h"
#include "compute/shape/index.h"
#include "kernels/shape/common.h"
#include "kernels/shape/shape.h"

namespace anvil {

using shape_detail::ReadInts;

namespace {

// Strides (in elements) of `in` read as the broadcast shape `out` (0 on broadcast dims).
void BroadcastStrides(const Shape& in, const Shape& out, int64_t* strides) {
  const size_t rank = out.size(), lead = rank - in.size();
  int64_t s = 1;
  for (size_t d = rank; d-- > 0;) {
    if (d < lead) {
      strides[d] = 0;
      continue;
    }
    const int64_t dim = in[d - lead];
    strides[d] = dim == 1 ? 0 : s;
    s *= dim;
  }
}

}  // namespace

// ---- Where

Status WhereKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_CHECK(node.InputType(0) == ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL, "condition must be bool");
  ANVIL_RETURN_IF_ERROR(shape_detail::CheckCopyable(node, 1));
  for (size_t i = 0; i < 3; ++i)
    if (auto s = node.InputShape(i)) ANVIL_RETURN_IF_ERROR(shape_detail::CheckRank(s->size()));
  if (out) *out = std::make_unique<WhereKernel>();
  return {};
}

Status WhereKernel::Compute(ComputeContext& ctx) const {
  const TensorView c = ctx.Input(0), x = ctx.Input(1), y = ctx.Input(2);
  Shape cx, shape;
  ANVIL_CHECK(BroadcastShapes(c.shape, x.shape, cx) && BroadcastShapes(cx, y.shape, shape), "condition ",
              ToString(c.shape), ", X ", ToString(x.shape), " and Y ", ToString(y.shape), " do not broadcast");
  ANVIL_RETURN_IF_ERROR(shape_detail::CheckRank(shape.size()));
  void* out = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, shape, &out));
  if (NumElements(shape) == 0) return {};
  int64_t cs[shape::kMaxRank], xs[shape::kMaxRank], ys[shape::kMaxRank];
  BroadcastStrides(c.shape, shape, cs);
  BroadcastStrides(x.shape, shape, xs);
  BroadcastStrides(y.shape, shape, ys);
  shape::Select(out, c.as<bool>(), x.data, y.data, ElemSize(x.type), static_cast<int>(shape.size()), shape.data(), cs,
                xs, ys);
  return {};
}

// ---- Expand

Status ExpandKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_RETURN_IF_ERROR(shape_detail::CheckCopyable(node, 0));
  ANVIL_CHECK(node.InputType(1) == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64, "the shape input must be int64");
  if (auto s = node.InputShape(0)) ANVIL_RETURN_IF_ERROR(shape_detail::CheckRank(s->size()));
  if (out) *out = std::make_unique<ExpandKernel>();
  return {};
}

Status ExpandKernel::Compute(ComputeContext& ctx) const {
  const TensorView x = ctx.Input(0);
  Shape target, shape;
  ANVIL_RETURN_IF_ERROR(ReadInts(ctx.Input(1), "Expand's shape input", target));
  for (int64_t d : target) ANVIL_CHECK(d >= 0, "shape ", ToString(target), " has a negative dimension");
  ANVIL_CHECK(BroadcastShapes(x.shape, target, shape), "input ", ToString(x.shape), " cannot be expanded to ",
              ToString(target));
  ANVIL_RETURN_IF_ERROR(shape_detail::CheckRank(shape.size()));
  void* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, shape, &y));
  if (NumElements(shape) == 0) return {};
  int64_t dims[shape::kMaxRank], strides[shape::kMaxRank];
  BroadcastStrides(x.shape, shape, strides);
  for (size_t d = 0; d < shape.size(); ++d) dims[d] = shape[d];
  shape::StridedCopy(y, x.data, ElemSize(x.type), static_cast<int>(shape.size()), dims, strides, 0);
  return {};
}

// ---- Tile

Status TileKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_RETURN_IF_ERROR(shape_detail::CheckCopyable(node, 0));
  ANVIL_CHECK(node.InputType(1) == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64, "repeats must be int64");
  if (auto s = node.InputShape(0)) ANVIL_RETURN_IF_ERROR(shape_detail::CheckRank(2 * s->size()));
  if (out) *out = std::make_unique<TileKernel>();
  return {};
}

Status TileKernel::Compute(ComputeContext& ctx) const {
  const TensorView x = ctx.Input(0);
  const size_t rank = x.shape.size();
  ANVIL_RETURN_IF_ERROR(shape_detail::CheckRank(2 * rank));
  Shape repeats;
  ANVIL_RETURN_IF_ERROR(ReadInts(ctx.Input(1), "repeats", repeats));
  ANVIL_CHECK(repeats.size() == rank, "repeats has ", repeats.size(), " values but the input ", ToString(x.shape),
              " has rank ", rank);
  Shape shape(rank);
  for (size_t d = 0; d < rank; ++d) {
    ANVIL_CHECK(repeats[d] >= 0, "repeats ", ToString(repeats), " has a negative value");
    ANVIL_CHECK(x.shape[d] == 0 || repeats[d] <= (int64_t{1} << 62) / x.shape[d], "repeats ", ToString(repeats),
                " make axis ", d, " of input ", ToString(x.shape), " too large");
    shape[d] = x.shape[d] * repeats[d];
  }
  void* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, shape, &y));
  if (NumElements(shape) == 0) return {};
  // Output as [r0, d0, r1, d1, ...]: the repeat dims read with stride 0.
  int64_t dims[shape::kMaxRank], strides[shape::kMaxRank];
  int64_t s = 1;
  for (size_t d = rank; d-- > 0;) {
    dims[2 * d] = repeats[d];
    strides[2 * d] = 0;
    dims[2 * d + 1] = x.shape[d];
    strides[2 * d + 1] = s;
    s *= x.shape[d];
  }
  shape::StridedCopy(y, x.data, ElemSize(x.type), static_cast<int>(2 * rank), dims, strides, 0);
  return {};
}

}  // namespace anvil
