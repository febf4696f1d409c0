// Split: parts from the split attribute (before 13) or input (13+), num_outputs (18+), or equal
// parts; each output is one strided copy of its rows.
#include "compute/shape/copy.h"
#include "kernels/shape/common.h"
#include "kernels/shape/shape.h"

namespace anvil {

Status SplitKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_RETURN_IF_ERROR(shape_detail::CheckCopyable(node, 0));
  auto k = std::make_unique<SplitKernel>();
  k->axis_ = node.Int("axis", 0);
  ANVIL_CHECK(node.OutputCount() >= 1, "Split needs at least one output");
  if (node.SinceVersion() >= 13) {
    k->split_from_input_ = node.InputPresent(1);
    if (k->split_from_input_)
      ANVIL_CHECK(node.InputType(1) == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64, "split must be int64");
    if (node.SinceVersion() >= 18) {
      k->num_outputs_ = node.Int("num_outputs", 0);
      ANVIL_CHECK(!(k->split_from_input_ && k->num_outputs_ > 0), "split and num_outputs are both given");
      ANVIL_CHECK(k->num_outputs_ == 0 || k->num_outputs_ == static_cast<int64_t>(node.OutputCount()),
                  "num_outputs ", k->num_outputs_, " does not match the ", node.OutputCount(), " outputs");
    }
  } else {
    k->split_ = node.Ints("split", {});
    ANVIL_CHECK(k->split_.empty() || k->split_.size() == node.OutputCount(), "split has ", k->split_.size(),
                " values for ", node.OutputCount(), " outputs");
  }
  if (auto s = node.InputShape(0)) {
    const int64_t rank = static_cast<int64_t>(s->size());
    ANVIL_CHECK(k->axis_ >= -rank && k->axis_ < rank, "axis ", k->axis_, " is out of range for rank ", rank);
  }
  if (out) *out = std::move(k);
  return {};
}

Status SplitKernel::Compute(ComputeContext& ctx) const {
  const TensorView x = ctx.Input(0);
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  int64_t axis = 0;
  ANVIL_CHECK(NormalizeAxis(axis_, rank, axis), "axis ", axis_, " is out of range for input ", ToString(x.shape));
  const size_t n = ctx.OutputCount();
  const int64_t dim = x.shape[axis];
  Shape parts;
  if (split_from_input_) {
    ANVIL_RETURN_IF_ERROR(shape_detail::ReadInts(ctx.Input(1), "split", parts));
  } else if (!split_.empty()) {
    parts = split_;
  } else if (num_outputs_ > 0) {
    ANVIL_CHECK(num_outputs_ <= dim, "num_outputs ", num_outputs_, " exceeds axis ", axis, "'s size ", dim,
                " (input ", ToString(x.shape), ")");  // as ORT
    const int64_t chunk = (dim + num_outputs_ - 1) / num_outputs_;
    for (size_t i = 0; i < n; ++i) parts.push_back(std::clamp<int64_t>(dim - chunk * static_cast<int64_t>(i), 0, chunk));
  } else {
    ANVIL_CHECK(dim % static_cast<int64_t>(n) == 0, "axis ", axis, " of input ", ToString(x.shape),
                " cannot be split into ", n, " equal parts");
    parts.assign(n, dim / static_cast<int64_t>(n));
  }
  ANVIL_CHECK(parts.size() == n, "split has ", parts.size(), " values for ", n, " outputs");
  int64_t total = 0;
  for (int64_t p : parts) {
    ANVIL_CHECK(p >= 0, "split ", ToString(parts), " has a negative value");
    total += p;
  }
  ANVIL_CHECK(total == dim, "split ", ToString(parts), " adds up to ", total, ", not to axis ", axis, "'s ", dim,
              " (input ", ToString(x.shape), ")");
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.shape[d];
  for (int64_t d = axis + 1; d < rank; ++d) inner *= x.shape[d];
  int64_t start = 0;
  for (size_t i = 0; i < n; ++i) {
    Shape shape = x.shape;
    shape[axis] = parts[i];
    void* y = nullptr;
    ANVIL_RETURN_IF_ERROR(ctx.Output(i, shape, &y));
    if (NumElements(shape) > 0) {
      int64_t dims[2] = {outer, parts[i] * inner};
      int64_t strides[2] = {dim * inner, 1};
      shape::StridedCopy(y, x.data, ElemSize(x.type), 2, dims, strides, start * inner);
    }
    start += parts[i];
  }
  return {};
}

}  // namespace anvil
