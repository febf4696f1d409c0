// Size, ConstantOfShape, EyeLike, Range: outputs made from a shape or a few scalars.
#include <cmath>

#include "compute/shape/index.h"
#include "compute/shape/values.h"
#include "kernels/shape/common.h"
#include "kernels/shape/shape.h"

namespace anvil {

using shape_detail::ReadInts;
using shape_detail::VisitNumeric;

namespace {

// The bytes of the value 1 in `type` (for EyeLike); false for a type without one.
bool OneOf(ElemType type, uint64_t& bits) {
  bits = 0;
  switch (type) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT: { float v = 1; std::memcpy(&bits, &v, 4); return true; }
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE: { double v = 1; std::memcpy(&bits, &v, 8); return true; }
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16: bits = 0x3C00; return true;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16: bits = 0x3F80; return true;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8: case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16: case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32: case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64: case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64:
      bits = 1;  // little-endian: the low byte
      return true;
    default: return false;
  }
}

}  // namespace

// ---- Size

Status SizeKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  (void)node;
  if (out) *out = std::make_unique<SizeKernel>();
  return {};
}

Status SizeKernel::Compute(ComputeContext& ctx) const {
  int64_t* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, Shape{}, &y));
  *y = ctx.Input(0).size();
  return {};
}

// ---- ConstantOfShape

Status ConstantOfShapeKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_CHECK(node.InputType(0) == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64, "the shape input must be int64, got ",
              ElemTypeName(node.InputType(0)));
  auto k = std::make_unique<ConstantOfShapeKernel>();
  k->type_ = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;  // default: float 0
  if (auto v = node.Tensor("value")) {
    ANVIL_CHECK(NumElements(v->shape) == 1, "value must have one element, got shape ", ToString(v->shape));
    ANVIL_CHECK(v->bytes.size() <= sizeof(k->value_), "value of type ", ElemTypeName(v->type), " is not supported");
    k->type_ = v->type;
    std::memcpy(&k->value_, v->bytes.data(), v->bytes.size());
  } else {
    // An attribute Anvil cannot read (not absent) must not silently become 0.
    const ElemType ot = node.OutputType(0);
    ANVIL_CHECK(ot == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT || ot == ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED,
                "output type ", ElemTypeName(ot), " without a readable value attribute");
  }
  if (auto s = node.InputShape(0)) ANVIL_CHECK(s->size() == 1, "the shape input must be 1-D, got rank ", s->size());
  if (out) *out = std::move(k);
  return {};
}

Status ConstantOfShapeKernel::Compute(ComputeContext& ctx) const {
  Shape shape;
  ANVIL_RETURN_IF_ERROR(ReadInts(ctx.Input(0), "ConstantOfShape's shape input", shape));
  for (int64_t d : shape) ANVIL_CHECK(d >= 0, "shape ", ToString(shape), " has a negative dimension");
  void* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, shape, &y));
  shape::Fill(y, &value_, ElemSize(type_), NumElements(shape));
  return {};
}

// ---- EyeLike

Status EyeLikeKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  auto k = std::make_unique<EyeLikeKernel>();
  k->type_ = node.OutputType(0);
  uint64_t one = 0;
  ANVIL_CHECK(OneOf(k->type_, one), "output type ", ElemTypeName(k->type_), " is not supported");
  k->k_ = node.Int("k", 0);
  if (auto s = node.InputShape(0)) ANVIL_CHECK(s->size() == 2, "EyeLike needs a 2-D input, got rank ", s->size());
  if (out) *out = std::move(k);
  return {};
}

Status EyeLikeKernel::Compute(ComputeContext& ctx) const {
  const TensorView x = ctx.Input(0);
  ANVIL_CHECK(x.shape.size() == 2, "EyeLike needs a 2-D input, got ", ToString(x.shape));
  const int64_t rows = x.shape[0], cols = x.shape[1];
  char* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, x.shape, &y));
  const size_t es = ElemSize(type_);
  const uint64_t zero = 0;
  shape::Fill(y, &zero, es, rows * cols);
  uint64_t one = 0;
  OneOf(type_, one);
  for (int64_t r = std::max<int64_t>(0, -k_); r < rows; ++r) {
    const int64_t c = r + k_;
    if (c >= cols) break;
    std::memcpy(y + (r * cols + c) * es, &one, es);
  }
  return {};
}

// ---- Range

Status RangeKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  const ElemType t = node.InputType(0);
  ANVIL_CHECK(shape_detail::IsNumeric(t), "type ", ElemTypeName(t), " is not supported");
  ANVIL_CHECK(!node.Int("stash_type").has_value(), "stash_type is not supported");  // revision 27
  if (out) *out = std::make_unique<RangeKernel>();
  return {};
}

Status RangeKernel::Compute(ComputeContext& ctx) const {
  const TensorView start = ctx.Input(0), limit = ctx.Input(1), delta = ctx.Input(2);
  for (const TensorView* v : {&start, &limit, &delta})
    ANVIL_CHECK(v->size() == 1 && v->shape.size() <= 1, "Range's inputs must be scalars, got shape ",
                ToString(v->shape));
  return VisitNumeric(start.type, [&](auto tag) -> Status {
    using T = decltype(tag);
    const T s = start.as<T>()[0], l = limit.as<T>()[0], d = delta.as<T>()[0];
    ANVIL_CHECK(d != T(0), "delta must not be zero");
    double diff = 0;
    if constexpr (std::is_floating_point_v<T>) {
      diff = static_cast<double>(static_cast<T>(l - s));
    } else {
      diff = static_cast<double>(l) - static_cast<double>(s);
    }
    const double count = std::ceil(diff / static_cast<double>(d));
    ANVIL_CHECK(!(count > 9.0e18), "Range would have ", count, " elements");
    const int64_t n = count > 0 ? static_cast<int64_t>(count) : 0;  // NaN -> 0
    T* y = nullptr;
    ANVIL_RETURN_IF_ERROR(ctx.Output(0, Shape{n}, &y));
    shape::Range(y, s, d, n);
    return {};
  });
}

}  // namespace anvil
