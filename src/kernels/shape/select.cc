// NonZero, Compress, TopK, CumSum, OneHot, ReverseSequence. NonZero and Compress (and TopK's k)
// decide their output shape from the data: they count first, then ask for the output.
#include "compute/shape/copy.h"
#include "compute/shape/index.h"
#include "compute/shape/values.h"
#include "kernels/shape/common.h"
#include "kernels/shape/shape.h"

namespace anvil {

using shape_detail::ReadScalarInt;
using shape_detail::VisitNumeric;

namespace {

// [outer, len, inner] around `axis`.
void AroundAxis(const Shape& s, int64_t axis, int64_t& outer, int64_t& len, int64_t& inner) {
  outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= s[d];
  for (size_t d = static_cast<size_t>(axis) + 1; d < s.size(); ++d) inner *= s[d];
  len = s[axis];
}

// Calls fn(T{}) for NonZero's element types, compared with 0 by value (so -0.0 is zero).
template <typename Fn>
Status VisitNonZero(ElemType t, Fn&& fn) {
  if (t == ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL) return fn(uint8_t{});
  return VisitNumeric(t, fn);
}

}  // namespace

// ---- NonZero

Status NonZeroKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  const ElemType t = node.InputType(0);
  ANVIL_CHECK(t == ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL || shape_detail::IsNumeric(t), "type ", ElemTypeName(t),
              " is not supported");
  if (out) *out = std::make_unique<NonZeroKernel>();
  return {};
}

Status NonZeroKernel::Compute(ComputeContext& ctx) const {
  const TensorView x = ctx.Input(0);
  const int64_t n = x.size();
  return VisitNonZero(x.type, [&](auto tag) -> Status {
    using T = decltype(tag);
    const T* v = x.as<T>();
    int64_t nnz = 0;
    for (int64_t i = 0; i < n; ++i) nnz += v[i] != T(0);
    // A scalar is treated as a 1-element vector, as ORT does.
    const int64_t rank = std::max<int64_t>(1, static_cast<int64_t>(x.shape.size()));
    int64_t* y = nullptr;
    ANVIL_RETURN_IF_ERROR(ctx.Output(0, Shape{rank, nnz}, &y));
    if (nnz == 0) return {};
    Shape coord(static_cast<size_t>(rank), 0);
    const Shape dims = x.shape.empty() ? Shape{1} : x.shape;
    int64_t j = 0;
    for (int64_t i = 0; i < n; ++i) {
      if (v[i] != T(0)) {
        for (int64_t d = 0; d < rank; ++d) y[d * nnz + j] = coord[d];
        ++j;
      }
      for (int64_t d = rank - 1; d >= 0; --d) {
        if (++coord[d] < dims[d]) break;
        coord[d] = 0;
      }
    }
    return {};
  });
}

// ---- Compress

Status CompressKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_RETURN_IF_ERROR(shape_detail::CheckCopyable(node, 0));
  ANVIL_CHECK(node.InputType(1) == ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL, "condition must be bool");
  auto k = std::make_unique<CompressKernel>();
  k->axis_ = node.Int("axis");
  if (auto s = node.InputShape(0); s && k->axis_) {
    const int64_t rank = static_cast<int64_t>(s->size());
    ANVIL_CHECK(*k->axis_ >= -rank && *k->axis_ < rank, "axis ", *k->axis_, " is out of range for rank ", rank);
  }
  if (out) *out = std::move(k);
  return {};
}

Status CompressKernel::Compute(ComputeContext& ctx) const {
  const TensorView x = ctx.Input(0), cond = ctx.Input(1);
  ANVIL_CHECK(cond.shape.size() == 1, "condition must be 1-D, got ", ToString(cond.shape));
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  int64_t outer = 1, len = x.size(), inner = 1, axis = -1;
  if (axis_) {
    ANVIL_CHECK(NormalizeAxis(*axis_, rank, axis), "axis ", *axis_, " is out of range for input ", ToString(x.shape));
    AroundAxis(x.shape, axis, outer, len, inner);
  }
  const int64_t clen = std::min(cond.size(), len);  // values beyond the input are ignored, as ORT does
  // Read as bytes: a malformed model's bool byte other than 0 or 1 counts as true, once.
  const uint8_t* c = cond.as<uint8_t>();
  int64_t kept = 0;
  for (int64_t i = 0; i < clen; ++i) kept += c[i] != 0;
  int64_t* idx = ctx.Scratch<int64_t>(static_cast<size_t>(kept) + 1);
  for (int64_t i = 0, j = 0; i < clen; ++i)
    if (c[i]) idx[j++] = i;
  Shape shape{kept};
  if (axis_) {
    shape = x.shape;
    shape[axis] = kept;
  }
  void* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, shape, &y));
  shape::GatherBlocks(y, x.data, ElemSize(x.type), outer, len, inner, idx, kept);
  return {};
}

// ---- TopK

Status TopKKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  const ElemType t = node.InputType(0);
  ANVIL_CHECK(shape_detail::IsNumeric(t), "type ", ElemTypeName(t), " is not supported");
  auto k = std::make_unique<TopKKernel>();
  k->axis_ = node.Int("axis", -1);
  // sorted = 0 allows any order of the k results: the sorted order is one of them.
  if (node.SinceVersion() >= 11) k->largest_ = node.Int("largest", 1) != 0;
  if (node.SinceVersion() < 10) {
    auto kv = node.Int("k");
    ANVIL_CHECK(kv.has_value(), "TopK needs the k attribute");
    k->k_attr_ = *kv;
  } else {
    ANVIL_CHECK(node.InputPresent(1) && node.InputType(1) == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64, "K must be int64");
  }
  if (auto s = node.InputShape(0)) {
    const int64_t rank = static_cast<int64_t>(s->size());
    ANVIL_CHECK(k->axis_ >= -rank && k->axis_ < rank, "axis ", k->axis_, " is out of range for rank ", rank);
  }
  if (out) *out = std::move(k);
  return {};
}

Status TopKKernel::Compute(ComputeContext& ctx) const {
  const TensorView x = ctx.Input(0);
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  int64_t axis = 0;
  ANVIL_CHECK(NormalizeAxis(axis_, rank, axis), "axis ", axis_, " is out of range for input ", ToString(x.shape));
  int64_t k = k_attr_.value_or(0);
  if (!k_attr_) {
    const TensorView kt = ctx.Input(1);
    ANVIL_CHECK(kt.size() == 1 && kt.shape.size() <= 1, "K must have one element, got shape ", ToString(kt.shape));
    k = kt.as<int64_t>()[0];
  }
  int64_t outer = 0, len = 0, inner = 0;
  AroundAxis(x.shape, axis, outer, len, inner);
  ANVIL_CHECK(k >= 0 && k <= len, "k ", k, " is out of range for axis ", axis, " of size ", len, " (input ",
              ToString(x.shape), ")");
  Shape shape = x.shape;
  shape[axis] = k;
  void* values = nullptr;
  int64_t* indices = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, shape, &values));
  ANVIL_RETURN_IF_ERROR(ctx.Output(1, shape, &indices));
  if (NumElements(shape) == 0) return {};
  return VisitNumeric(x.type, [&](auto tag) {
    using T = decltype(tag);
    // Unsorted output is allowed to be in any order; the sorted order is one of them.
    shape::TopK(static_cast<T*>(values), indices, x.as<T>(), outer, len, inner, k, largest_);
    return Status{};
  });
}

// ---- CumSum

Status CumSumKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  return CreateFor(false, node, out);
}

Status CumSumKernel::CreateFor(bool product, const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  const ElemType t = node.InputType(0);
  ANVIL_CHECK(shape_detail::IsNumeric(t), "type ", ElemTypeName(t), " is not supported");
  ANVIL_CHECK(shape_detail::IsIndexType(node.InputType(1)), "axis must be int32 or int64");
  auto k = std::make_unique<CumSumKernel>();
  k->exclusive_ = node.Int("exclusive", 0) != 0;
  k->reverse_ = node.Int("reverse", 0) != 0;
  k->product_ = product;
  if (out) *out = std::move(k);
  return {};
}

Status CumSumKernel::Compute(ComputeContext& ctx) const {
  const TensorView x = ctx.Input(0), a = ctx.Input(1);
  ANVIL_CHECK(a.size() == 1 && a.shape.size() <= 1, "axis must be a scalar, got shape ", ToString(a.shape));
  int64_t axis_value = 0, axis = 0;
  ANVIL_RETURN_IF_ERROR(ReadScalarInt(a, "axis", axis_value));
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  ANVIL_CHECK(NormalizeAxis(axis_value, rank, axis), "axis ", axis_value, " is out of range for input ",
              ToString(x.shape));
  void* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, x.shape, &y));
  if (x.size() == 0) return {};
  int64_t outer = 0, len = 0, inner = 0;
  AroundAxis(x.shape, axis, outer, len, inner);
  return VisitNumeric(x.type, [&](auto tag) {
    using T = decltype(tag);
    shape::CumSum(static_cast<T*>(y), x.as<T>(), outer, len, inner, exclusive_, reverse_, product_);
    return Status{};
  });
}

// ---- OneHot

Status OneHotKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  for (size_t i = 0; i < 2; ++i) {
    const ElemType t = node.InputType(i);
    ANVIL_CHECK(shape_detail::IsNumeric(t), "input ", i, " has type ", ElemTypeName(t), ", which is not supported");
  }
  ANVIL_RETURN_IF_ERROR(shape_detail::CheckCopyable(node, 2));
  auto k = std::make_unique<OneHotKernel>();
  k->axis_ = node.Int("axis", -1);
  if (auto s = node.InputShape(0)) {
    const int64_t rank = static_cast<int64_t>(s->size()) + 1;
    ANVIL_CHECK(k->axis_ >= -rank && k->axis_ < rank, "axis ", k->axis_, " is out of range for output rank ", rank);
  }
  if (out) *out = std::move(k);
  return {};
}

Status OneHotKernel::Compute(ComputeContext& ctx) const {
  const TensorView ind = ctx.Input(0), dep = ctx.Input(1), val = ctx.Input(2);
  int64_t depth = 0;
  ANVIL_RETURN_IF_ERROR(ReadScalarInt(dep, "depth", depth));
  ANVIL_CHECK(depth > 0, "depth must be positive, got ", depth);
  ANVIL_CHECK(val.size() == 2, "values must have two elements (off, on), got shape ", ToString(val.shape));
  const int64_t rank = static_cast<int64_t>(ind.shape.size()) + 1;
  int64_t axis = 0;
  ANVIL_CHECK(NormalizeAxis(axis_, rank, axis), "axis ", axis_, " is out of range for output rank ", rank);
  Shape shape = ind.shape;
  shape.insert(shape.begin() + axis, depth);
  void* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, shape, &y));
  const int64_t total = NumElements(shape);
  if (total == 0) return {};
  const size_t es = ElemSize(val.type);
  const char* off_on = static_cast<const char*>(val.data);
  shape::Fill(y, off_on, es, total);
  int64_t outer = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= shape[d];
  const int64_t inner = ind.size() / std::max<int64_t>(outer, 1);
  return VisitNumeric(ind.type, [&](auto tag) {
    using T = decltype(tag);
    const T* v = ind.as<T>();
    char* out = static_cast<char*>(y);
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < inner; ++i) {
        int64_t h = static_cast<int64_t>(v[o * inner + i]);
        if (h < 0) h += depth;
        if (h < 0 || h >= depth) continue;  // out of range: the row stays off
        std::memcpy(out + ((o * depth + h) * inner + i) * es, off_on + es, es);
      }
    }
    return Status{};
  });
}

// ---- ReverseSequence

Status ReverseSequenceKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_RETURN_IF_ERROR(shape_detail::CheckCopyable(node, 0));
  ANVIL_CHECK(node.InputType(1) == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64, "sequence_lens must be int64");
  auto k = std::make_unique<ReverseSequenceKernel>();
  k->batch_axis_ = node.Int("batch_axis", 1);
  k->time_axis_ = node.Int("time_axis", 0);
  ANVIL_CHECK((k->batch_axis_ == 0 && k->time_axis_ == 1) || (k->batch_axis_ == 1 && k->time_axis_ == 0),
              "batch_axis and time_axis must be 0 and 1 in some order, got ", k->batch_axis_, " and ", k->time_axis_);
  if (auto s = node.InputShape(0)) ANVIL_CHECK(s->size() >= 2, "the input needs rank 2 or more, got ", s->size());
  if (out) *out = std::move(k);
  return {};
}

Status ReverseSequenceKernel::Compute(ComputeContext& ctx) const {
  const TensorView x = ctx.Input(0), lens = ctx.Input(1);
  ANVIL_CHECK(x.shape.size() >= 2, "the input needs rank 2 or more, got ", ToString(x.shape));
  const int64_t batch = x.shape[batch_axis_], time = x.shape[time_axis_];
  ANVIL_CHECK(lens.shape.size() == 1 && lens.size() == batch, "sequence_lens ", ToString(lens.shape),
              " must have one value per batch entry (", batch, ")");
  const int64_t* len = lens.as<int64_t>();
  for (int64_t b = 0; b < batch; ++b)
    ANVIL_CHECK(len[b] >= 0 && len[b] <= time, "sequence length ", len[b], " (batch ", b,
                ") is out of range [0, ", time, "]");
  void* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, x.shape, &y));
  if (x.size() == 0) return {};
  const int64_t a1 = x.shape[1], blocks = x.shape[0] * a1;
  int64_t* offsets = ctx.Scratch<int64_t>(static_cast<size_t>(blocks));
  for (int64_t i = 0; i < blocks; ++i) {
    const int64_t i0 = i / a1, i1 = i % a1;
    const int64_t b = batch_axis_ == 0 ? i0 : i1;
    const int64_t t = batch_axis_ == 0 ? i1 : i0;
    const int64_t st = t < len[b] ? len[b] - 1 - t : t;
    offsets[i] = batch_axis_ == 0 ? b * a1 + st : st * a1 + b;
  }
  const int64_t block = x.size() / blocks;
  shape::CopyBlocks(y, x.data, block * static_cast<int64_t>(ElemSize(x.type)), offsets, blocks);
  return {};
}

// ---- Unique

Status UniqueKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  const ElemType t = node.InputType(0);
  ANVIL_CHECK(shape_detail::IsNumeric(t), "type ", ElemTypeName(t), " is not supported");
  auto k = std::make_unique<UniqueKernel>();
  k->axis_ = node.Int("axis");
  k->sorted_ = node.Int("sorted", 1) != 0;
  ANVIL_CHECK(node.OutputCount() >= 1 && node.OutputCount() <= 4, "Unique has 1 to 4 outputs");
  // An omitted optional output has no type.
  for (size_t i = 0; i < node.OutputCount(); ++i)
    k->outputs_[i] = node.OutputType(i) != ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
  ANVIL_CHECK(k->outputs_[0], "Unique's output Y is missing");
  if (auto s = node.InputShape(0); s && k->axis_) {
    const int64_t rank = static_cast<int64_t>(s->size());
    ANVIL_CHECK(*k->axis_ >= -rank && *k->axis_ < rank, "axis ", *k->axis_, " is out of range for rank ", rank);
  }
  if (out) *out = std::move(k);
  return {};
}

Status UniqueKernel::Compute(ComputeContext& ctx) const {
  const TensorView x = ctx.Input(0);
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  int64_t outer = 1, len = x.size(), inner = 1, axis = 0;
  if (axis_) {
    ANVIL_CHECK(NormalizeAxis(*axis_, rank, axis), "axis ", *axis_, " is out of range for input ", ToString(x.shape));
    AroundAxis(x.shape, axis, outer, len, inner);
  }
  const size_t n = static_cast<size_t>(len) + 1;
  int64_t* order = ctx.Scratch<int64_t>(n);
  int64_t* first = ctx.Scratch<int64_t>(n);
  int64_t* count = ctx.Scratch<int64_t>(n);
  int64_t* inverse = ctx.Scratch<int64_t>(n);
  int64_t groups = 0;
  // Slices of a zero-sized tensor along a non-empty axis are all equal (and empty).
  const bool empty_slices = outer * inner == 0 && len > 0;
  if (empty_slices) {
    groups = 1;
    first[0] = 0;
    count[0] = len;
    for (int64_t i = 0; i < len; ++i) inverse[i] = 0;
  } else {
    ANVIL_RETURN_IF_ERROR(VisitNumeric(x.type, [&](auto tag) {
      using T = decltype(tag);
      groups = shape::Unique(x.as<T>(), outer, len, inner, sorted_, order, first, count, inverse);
      return Status{};
    }));
  }
  Shape shape{groups};
  if (axis_) {
    shape = x.shape;
    shape[axis] = groups;
  }
  void* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, shape, &y));
  shape::GatherBlocks(y, x.data, ElemSize(x.type), outer, len, inner, first, groups);
  const std::pair<const int64_t*, int64_t> extra[3] = {{first, groups}, {inverse, len}, {count, groups}};
  for (size_t i = 1; i < 4; ++i) {
    if (i >= ctx.OutputCount() || !outputs_[i]) continue;
    int64_t* o = nullptr;
    ANVIL_RETURN_IF_ERROR(ctx.Output(i, Shape{extra[i - 1].second}, &o));
    std::copy(extra[i - 1].first, extra[i - 1].first + extra[i - 1].second, o);
  }
  return {};
}

}  // namespace anvil
