// Concat: any number of inputs along one axis, copied by element size.
#include "compute/parallel.h"
#include "kernels/shape/common.h"
#include "kernels/shape/shape.h"

namespace anvil {

Status ConcatKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_CHECK(node.InputCount() >= 1, "Concat needs at least one input");
  ANVIL_RETURN_IF_ERROR(shape_detail::CheckCopyable(node, 0));
  auto axis = node.Int("axis");
  ANVIL_CHECK(axis.has_value(), "Concat needs the axis attribute");
  for (size_t i = 0; i < node.InputCount(); ++i) {
    ANVIL_CHECK(node.InputPresent(i), "Concat input ", i, " is missing");
    if (auto s = node.InputShape(i)) {
      const int64_t rank = static_cast<int64_t>(s->size());
      ANVIL_CHECK(*axis >= -rank && *axis < rank, "axis ", *axis, " is out of range for input ", i, " of rank ", rank);
    }
  }
  auto k = std::make_unique<ConcatKernel>();
  k->axis_ = *axis;
  if (out) *out = std::move(k);
  return {};
}

Status ConcatKernel::Compute(ComputeContext& ctx) const {
  const size_t n = ctx.InputCount();
  const TensorView first = ctx.Input(0);
  const int64_t rank = static_cast<int64_t>(first.shape.size());
  int64_t axis = 0;
  ANVIL_CHECK(NormalizeAxis(axis_, rank, axis), "axis ", axis_, " is out of range for input 0 ", ToString(first.shape));
  const int64_t es = static_cast<int64_t>(ElemSize(first.type));

  Shape out_shape = first.shape;
  out_shape[axis] = 0;
  const char** src = ctx.Scratch<const char*>(n);
  int64_t* row_bytes = ctx.Scratch<int64_t>(n);
  for (size_t i = 0; i < n; ++i) {
    const TensorView v = ctx.Input(i);
    ANVIL_CHECK(v.shape.size() == first.shape.size(), "input ", i, " ", ToString(v.shape),
                " has another rank than input 0 ", ToString(first.shape));
    for (int64_t d = 0; d < rank; ++d)
      ANVIL_CHECK(d == axis || v.shape[d] == first.shape[d], "input ", i, " ", ToString(v.shape),
                  " differs from input 0 ", ToString(first.shape), " outside axis ", axis);
    ANVIL_CHECK(v.type == first.type, "input ", i, " has type ", ElemTypeName(v.type), ", input 0 has ",
                ElemTypeName(first.type));
    out_shape[axis] += v.shape[axis];
    int64_t inner = es;
    for (int64_t d = axis; d < rank; ++d) inner *= v.shape[d];
    src[i] = static_cast<const char*>(v.data);
    row_bytes[i] = inner;
  }
  char* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, out_shape, &y));
  if (NumElements(out_shape) == 0) return {};
  int64_t outer = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= out_shape[d];
  int64_t out_row = 0;
  for (size_t i = 0; i < n; ++i) out_row += row_bytes[i];

  if (outer >= 4 * static_cast<int64_t>(ctx.config().threads)) {
    // Many rows: one thread copies whole output rows (one slice of each input).
    ParallelFor(outer, out_row / 4 + 1, [&](int64_t begin, int64_t end) {
      for (int64_t o = begin; o < end; ++o) {
        char* d = y + o * out_row;
        for (size_t i = 0; i < n; ++i) {
          if (row_bytes[i] == 0) continue;
          std::memcpy(d, src[i] + o * row_bytes[i], static_cast<size_t>(row_bytes[i]));
          d += row_bytes[i];
        }
      }
    });
  } else {
    // Few, long rows: split each slice's copy across threads.
    for (int64_t o = 0; o < outer; ++o) {
      char* d = y + o * out_row;
      for (size_t i = 0; i < n; ++i) {
        shape::ParallelCopy(d, src[i] + o * row_bytes[i], static_cast<size_t>(row_bytes[i]));
        d += row_bytes[i];
      }
    }
  }
  return {};
}

}  // namespace anvil
