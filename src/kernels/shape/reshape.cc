// Shape, Reshape, Squeeze, Unsqueeze, Flatten, Identity: a new shape over a copy of the data.
#include <algorithm>

#include "kernels/shape/common.h"
#include "kernels/shape/shape.h"

namespace anvil {

using shape_detail::CheckCopyable;
using shape_detail::CopyWithShape;
using shape_detail::ReadInts;

// ---- Shape

Status ShapeKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  auto k = std::make_unique<ShapeKernel>();
  k->start_ = node.Int("start", 0);
  k->end_ = node.Int("end");
  if (out) *out = std::move(k);
  return {};
}

Status ShapeKernel::Compute(ComputeContext& ctx) const {
  const TensorView x = ctx.Input(0);
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  auto clamp = [rank](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + rank : v, 0, rank); };
  const int64_t start = clamp(start_);
  const int64_t end = end_ ? clamp(*end_) : rank;
  const int64_t n = std::max<int64_t>(0, end - start);
  int64_t* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, Shape{n}, &y));
  for (int64_t i = 0; i < n; ++i) y[i] = x.shape[start + i];
  return {};
}

// ---- Reshape

Status ReshapeKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_RETURN_IF_ERROR(CheckCopyable(node, 0));
  ANVIL_CHECK(node.InputPresent(1), "Reshape needs the shape input");
  const ElemType st = node.InputType(1);
  ANVIL_CHECK(st == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64, "the shape input must be int64, got ", ElemTypeName(st));
  auto k = std::make_unique<ReshapeKernel>();
  k->allow_zero_ = node.SinceVersion() >= 14 && node.Int("allowzero", 0) != 0;
  if (out) *out = std::move(k);
  return {};
}

Status ReshapeKernel::Compute(ComputeContext& ctx) const {
  const TensorView x = ctx.Input(0);
  const TensorView s = ctx.Input(1);
  Shape shape;
  ANVIL_RETURN_IF_ERROR(ReadInts(s, "Reshape's shape input", shape));
  int64_t infer = -1, known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    int64_t& d = shape[i];
    if (d == 0 && !allow_zero_) {
      ANVIL_CHECK(i < x.shape.size(), "shape ", ToString(shape), " copies dim ", i, " (0) but the input ",
                  ToString(x.shape), " has rank ", x.shape.size());
      d = x.shape[i];
    }
    if (d == -1) {
      ANVIL_CHECK(infer < 0, "shape ", ToString(shape), " has more than one -1");
      infer = static_cast<int64_t>(i);
      continue;
    }
    ANVIL_CHECK(d >= 0, "shape ", ToString(shape), " has an invalid dim ", d);
    ANVIL_CHECK(!__builtin_mul_overflow(known, d, &known), "cannot reshape input ", ToString(x.shape), " to ", ToString(shape),
                ": it has more elements than int64 holds");
  }
  if (infer >= 0) {
    ANVIL_CHECK(known != 0 && x.size() % known == 0, "cannot reshape input ", ToString(x.shape), " (", x.size(),
                " elements) to ", ToString(shape), ": the -1 dim cannot be inferred");
    shape[infer] = x.size() / known;
  }
  ANVIL_CHECK(NumElements(shape) == x.size(), "cannot reshape input ", ToString(x.shape), " (", x.size(),
              " elements) to ", ToString(shape), " (", NumElements(shape), " elements)");
  return CopyWithShape(ctx, x, shape);
}

// ---- Squeeze

Status SqueezeKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_RETURN_IF_ERROR(CheckCopyable(node, 0));
  auto k = std::make_unique<SqueezeKernel>();
  if (node.SinceVersion() >= 13) {
    k->axes_from_input_ = node.InputPresent(1);
    if (k->axes_from_input_) {
      const ElemType t = node.InputType(1);
      ANVIL_CHECK(t == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64, "the axes input must be int64, got ", ElemTypeName(t));
    }
  } else {
    k->axes_ = node.Ints("axes", {});
  }
  if (out) *out = std::move(k);
  return {};
}

Status SqueezeKernel::Compute(ComputeContext& ctx) const {
  const TensorView x = ctx.Input(0);
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  Shape axes;  // inline storage: no allocation per call
  if (axes_from_input_) {
    ANVIL_RETURN_IF_ERROR(ReadInts(ctx.Input(1), "Squeeze's axes input", axes));
  } else {
    axes = axes_;
  }
  Shape shape;
  if (axes.empty()) {
    for (int64_t d : x.shape)
      if (d != 1) shape.push_back(d);
    return CopyWithShape(ctx, x, shape);
  }
  Shape drop(static_cast<size_t>(rank), 0);
  for (int64_t a : axes) {
    int64_t axis = 0;
    ANVIL_CHECK(NormalizeAxis(a, rank, axis), "axis ", a, " is out of range for input ", ToString(x.shape));
    ANVIL_CHECK(!drop[axis], "axis ", a, " is repeated");
    ANVIL_CHECK(x.shape[axis] == 1, "cannot squeeze axis ", a, " of input ", ToString(x.shape),
                ": its size is not 1");
    drop[axis] = 1;
  }
  for (int64_t i = 0; i < rank; ++i)
    if (!drop[i]) shape.push_back(x.shape[i]);
  return CopyWithShape(ctx, x, shape);
}

// ---- Unsqueeze

Status UnsqueezeKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_RETURN_IF_ERROR(CheckCopyable(node, 0));
  auto k = std::make_unique<UnsqueezeKernel>();
  if (node.SinceVersion() >= 13) {
    ANVIL_CHECK(node.InputPresent(1), "Unsqueeze needs the axes input");
    const ElemType t = node.InputType(1);
    ANVIL_CHECK(t == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64, "the axes input must be int64, got ", ElemTypeName(t));
    k->axes_from_input_ = true;
  } else {
    auto axes = node.Ints("axes");
    ANVIL_CHECK(axes.has_value(), "Unsqueeze needs the axes attribute");
    k->axes_ = *axes;
  }
  if (out) *out = std::move(k);
  return {};
}

Status UnsqueezeKernel::Compute(ComputeContext& ctx) const {
  const TensorView x = ctx.Input(0);
  Shape axes;  // inline storage: no allocation per call
  if (axes_from_input_) {
    ANVIL_RETURN_IF_ERROR(ReadInts(ctx.Input(1), "Unsqueeze's axes input", axes));
  } else {
    axes = axes_;
  }
  const int64_t out_rank = static_cast<int64_t>(x.shape.size() + axes.size());
  Shape insert(static_cast<size_t>(out_rank), 0);
  for (int64_t a : axes) {
    int64_t axis = 0;
    ANVIL_CHECK(NormalizeAxis(a, out_rank, axis), "axis ", a, " is out of range for output rank ", out_rank,
                " (input ", ToString(x.shape), ")");
    ANVIL_CHECK(!insert[axis], "axis ", a, " is repeated");
    insert[axis] = 1;
  }
  Shape shape(static_cast<size_t>(out_rank));
  size_t next = 0;
  for (int64_t i = 0; i < out_rank; ++i) shape[i] = insert[i] ? 1 : x.shape[next++];
  return CopyWithShape(ctx, x, shape);
}

// ---- Flatten

Status FlattenKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_RETURN_IF_ERROR(CheckCopyable(node, 0));
  auto k = std::make_unique<FlattenKernel>();
  k->axis_ = node.Int("axis", 1);
  if (auto s = node.InputShape(0)) {
    const int64_t rank = static_cast<int64_t>(s->size());
    ANVIL_CHECK(k->axis_ >= -rank && k->axis_ <= rank, "axis ", k->axis_, " is out of range for rank ", rank);
  }
  if (out) *out = std::move(k);
  return {};
}

Status FlattenKernel::Compute(ComputeContext& ctx) const {
  const TensorView x = ctx.Input(0);
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  ANVIL_CHECK(axis_ >= -rank && axis_ <= rank, "axis ", axis_, " is out of range for input ", ToString(x.shape));
  const int64_t axis = axis_ < 0 ? axis_ + rank : axis_;
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < rank; ++i) (i < axis ? outer : inner) *= x.shape[i];
  return CopyWithShape(ctx, x, Shape{outer, inner});
}

// ---- Identity

Status IdentityKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_RETURN_IF_ERROR(CheckCopyable(node, 0));
  if (out) *out = std::make_unique<IdentityKernel>();
  return {};
}

Status IdentityKernel::Compute(ComputeContext& ctx) const {
  const TensorView x = ctx.Input(0);
  return CopyWithShape(ctx, x, x.shape);
}

}  // namespace anvil
