// Slice: attributes (revision 1) or inputs (10+: starts, ends, optional axes and steps).
#include <algorithm>
#include <limits>

#include "kernels/shape/common.h"
#include "kernels/shape/shape.h"

namespace anvil {

using shape_detail::ReadInts;

Status SliceKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_RETURN_IF_ERROR(shape_detail::CheckCopyable(node, 0));
  auto k = std::make_unique<SliceKernel>();
  if (node.SinceVersion() < 10) {
    k->from_inputs_ = false;
    auto starts = node.Ints("starts"), ends = node.Ints("ends");
    ANVIL_CHECK(starts && ends, "Slice needs the starts and ends attributes");
    k->starts_ = *starts;
    k->ends_ = *ends;
    k->axes_ = node.Ints("axes", {});
    ANVIL_CHECK(k->starts_.size() == k->ends_.size(), "starts has ", k->starts_.size(), " values but ends has ",
                k->ends_.size());
    ANVIL_CHECK(k->axes_.empty() || k->axes_.size() == k->starts_.size(), "axes has ", k->axes_.size(),
                " values but starts has ", k->starts_.size());
  } else {
    ANVIL_CHECK(node.InputPresent(1) && node.InputPresent(2), "Slice needs the starts and ends inputs");
    for (size_t i = 1; i <= 4; ++i) {
      if (!node.InputPresent(i)) continue;
      const ElemType t = node.InputType(i);
      ANVIL_CHECK(t == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64 || t == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32, "input ", i,
                  " must be int32 or int64, got ", ElemTypeName(t));
    }
  }
  if (auto s = node.InputShape(0)) ANVIL_RETURN_IF_ERROR(shape_detail::CheckRank(s->size()));
  if (out) *out = std::move(k);
  return {};
}

Status SliceKernel::Compute(ComputeContext& ctx) const {
  const TensorView x = ctx.Input(0);
  const int rank = static_cast<int>(x.shape.size());
  ANVIL_RETURN_IF_ERROR(shape_detail::CheckRank(x.shape.size()));
  Shape starts, ends, axes, steps;  // inline storage: no allocation per call
  if (from_inputs_) {
    ANVIL_RETURN_IF_ERROR(ReadInts(ctx.Input(1), "starts", starts));
    ANVIL_RETURN_IF_ERROR(ReadInts(ctx.Input(2), "ends", ends));
    if (ctx.HasInput(3)) ANVIL_RETURN_IF_ERROR(ReadInts(ctx.Input(3), "axes", axes));
    if (ctx.HasInput(4)) ANVIL_RETURN_IF_ERROR(ReadInts(ctx.Input(4), "steps", steps));
  } else {
    starts = starts_;
    ends = ends_;
    axes = axes_;
  }
  const size_t n = starts.size();
  ANVIL_CHECK(ends.size() == n, "starts has ", n, " values but ends has ", ends.size());
  ANVIL_CHECK(axes.empty() || axes.size() == n, "axes has ", axes.size(), " values but starts has ", n);
  ANVIL_CHECK(steps.empty() || steps.size() == n, "steps has ", steps.size(), " values but starts has ", n);

  int64_t first[shape::kMaxRank], step[shape::kMaxRank], count[shape::kMaxRank];
  bool seen[shape::kMaxRank] = {};
  for (int d = 0; d < rank; ++d) first[d] = 0, step[d] = 1, count[d] = x.shape[d];
  for (size_t i = 0; i < n; ++i) {
    const int64_t a = axes.empty() ? static_cast<int64_t>(i) : axes[i];
    int64_t axis = 0;
    ANVIL_CHECK(NormalizeAxis(a, rank, axis), "axis ", a, " is out of range for input ", ToString(x.shape));
    ANVIL_CHECK(!seen[axis], "axis ", a, " is repeated");
    seen[axis] = true;
    const int64_t s = steps.empty() ? 1 : steps[i];
    ANVIL_CHECK(s != 0, "step 0 on axis ", a);
    const int64_t dim = x.shape[axis];
    int64_t b = starts[i], e = ends[i];
    if (b < 0) b += dim;
    if (e < 0) e += dim;
    int64_t c = 0;
    if (dim == 0) {
      b = 0;
    } else if (s > 0) {
      b = std::clamp<int64_t>(b, 0, dim);
      e = std::clamp<int64_t>(e, 0, dim);
      c = e > b ? 1 + (e - b - 1) / s : 0;
    } else {
      b = std::clamp<int64_t>(b, 0, dim - 1);
      e = std::clamp<int64_t>(e, -1, dim - 1);
      const int64_t back = s == std::numeric_limits<int64_t>::min() ? std::numeric_limits<int64_t>::max() : -s;
      c = b > e ? 1 + (b - e - 1) / back : 0;
    }
    first[axis] = b;
    step[axis] = s;
    count[axis] = c;
  }
  Shape out_shape(count, count + rank);
  void* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, out_shape, &y));
  if (NumElements(out_shape) == 0) return {};
  int64_t strides[shape::kMaxRank];
  int64_t offset = 0, stride = 1;
  for (int d = rank - 1; d >= 0; --d) {
    offset += first[d] * stride;
    strides[d] = count[d] > 1 ? stride * step[d] : 0;  // a single element needs no step (and may not fit one)
    stride *= x.shape[d];
  }
  shape::StridedCopy(y, x.data, ElemSize(x.type), rank, count, strides, offset);
  return {};
}

}  // namespace anvil
