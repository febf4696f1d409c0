// The Reduce* family and ArgMax / ArgMin.
#include <algorithm>
#include <cstring>
#include <string>
#include <type_traits>

#include "compute/nn/reduce.h"
#include "kernels/nn/nn.h"

namespace anvil {
namespace {

constexpr ElemType kF32 = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
constexpr ElemType kF64 = ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE;
constexpr ElemType kI32 = ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32;
constexpr ElemType kI64 = ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;
constexpr ElemType kI8 = ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8;
constexpr ElemType kU8 = ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8;
constexpr ElemType kB8 = ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL;

struct ReduceEntry {
  const char* op;
  nn::ReduceOp reduce;
  int axes_input_since;  // the revision that takes axes as input 1
};

constexpr ReduceEntry kReduceTable[] = {
    {"ReduceSum", nn::ReduceOp::kSum, 13},
    {"ReduceMean", nn::ReduceOp::kMean, 18},
    {"ReduceMax", nn::ReduceOp::kMax, 18},
    {"ReduceMin", nn::ReduceOp::kMin, 18},
    {"ReduceProd", nn::ReduceOp::kProd, 18},
    {"ReduceL1", nn::ReduceOp::kL1, 18},
    {"ReduceL2", nn::ReduceOp::kL2, 18},
    {"ReduceLogSum", nn::ReduceOp::kLogSum, 18},
    {"ReduceLogSumExp", nn::ReduceOp::kLogSumExp, 18},
    {"ReduceSumSquare", nn::ReduceOp::kSumSquare, 18},
};

// The types ORT's CPU provider registers: float, double, int32, int64 for every op; Max and Min
// add int8 and uint8 from revision 12 and bool from 20.
bool TypeSupported(nn::ReduceOp op, int since, ElemType t) {
  if (t == kF32 || t == kF64 || t == kI32 || t == kI64) return true;
  const bool minmax = op == nn::ReduceOp::kMax || op == nn::ReduceOp::kMin;
  if (minmax && since >= 12 && (t == kI8 || t == kU8)) return true;
  return minmax && since >= 20 && t == kB8;
}

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

template <typename T>
Status RunReduce(ComputeContext& ctx, nn::ReduceOp op, const TensorView& x, void* y, const bool* mask, int rank) {
  const int64_t* dims = x.shape.data();
  const int64_t out_count = nn::ReduceOutputCount(dims, mask, rank);
  T* scratch = nullptr;
  if (op == nn::ReduceOp::kLogSumExp) {
    scratch = ctx.Scratch<T>(static_cast<size_t>(std::max<int64_t>(out_count, 1)));  // the maxima
  }
  const bool ok = nn::Reduce<T>(op, x.as<T>(), static_cast<T*>(y), dims, mask, rank, scratch);
  ANVIL_CHECK(ok, "unsupported input ", ToString(x.shape));
  return {};
}

}  // namespace

Status ReduceKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  const std::string op = node.OpType();
  const int since = node.SinceVersion();
  const ReduceEntry* entry = nullptr;
  for (const ReduceEntry& e : kReduceTable) {
    if (op == e.op) entry = &e;
  }
  ANVIL_CHECK(entry != nullptr, "no reduction for ", op);
  ANVIL_CHECK(node.InputPresent(0), op, " has no input");
  const ElemType t = node.InputType(0);
  ANVIL_CHECK(TypeSupported(entry->reduce, since, t), op, "-", since, ": type ", ElemTypeName(t),
              " is not supported");
  auto k = std::make_unique<ReduceKernel>();
  k->op_ = entry->reduce;
  k->type_ = t;
  k->keepdims_ = node.Int("keepdims", 1) != 0;
  if (since >= entry->axes_input_since) {
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
    // No axes: all of them, or (noop_with_empty_axes) none: every element reduced on its own,
    // which still applies the op's per-element transform (as ORT's CPU provider does).
    std::fill(mask, mask + rank, !noop_with_empty_axes_);
  } else {
    ANVIL_RETURN_IF_ERROR(MarkAxes(axes, naxes, rank, mask));
  }
  Shape out_shape;
  out_shape.reserve(x.shape.size());
  for (int64_t i = 0; i < rank; ++i) {
    if (!mask[i]) out_shape.push_back(x.shape[i]);
    else if (keepdims_) out_shape.push_back(1);
  }
  void* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, out_shape, &y));
  const int r = static_cast<int>(rank);
  switch (type_) {
    case kF32: return RunReduce<float>(ctx, op_, x, y, mask, r);
    case kF64: return RunReduce<double>(ctx, op_, x, y, mask, r);
    case kI32: return RunReduce<int32_t>(ctx, op_, x, y, mask, r);
    case kI64: return RunReduce<int64_t>(ctx, op_, x, y, mask, r);
    case kI8: return RunReduce<int8_t>(ctx, op_, x, y, mask, r);
    case kU8:
    case kB8:  // bytes holding 0 or 1: max is "any", min is "all"
      return RunReduce<uint8_t>(ctx, op_, x, y, mask, r);
    default: return Fail("unexpected type ", ElemTypeName(type_));
  }
}

// ---- ArgMax, ArgMin ----

Status ArgReduceKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  const std::string op = node.OpType();
  ANVIL_CHECK(node.InputPresent(0), op, " has no input");
  const ElemType t = node.InputType(0);
  ANVIL_CHECK(t == kF32 || t == kF64 || t == kI32 || t == kI64 || t == kI8 || t == kU8, op, ": type ",
              ElemTypeName(t), " is not supported");
  auto k = std::make_unique<ArgReduceKernel>();
  k->max_ = op == "ArgMax";
  k->type_ = t;
  k->axis_ = node.Int("axis", 0);
  k->keepdims_ = node.Int("keepdims", 1) != 0;
  k->select_last_ = node.SinceVersion() >= 12 && node.Int("select_last_index", 0) != 0;
  if (auto shape = node.InputShape(0)) {
    const int64_t rank = static_cast<int64_t>(shape->size());
    int64_t a = 0;
    ANVIL_CHECK(NormalizeAxis(k->axis_, rank, a), op, ": axis ", k->axis_, " out of range for rank ", rank);
    ANVIL_CHECK((*shape)[a] != 0, op, ": the reduced axis is empty");
  }
  if (out) *out = std::move(k);
  return {};
}

Status ArgReduceKernel::Compute(ComputeContext& ctx) const {
  const TensorView x = ctx.Input(0);
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  int64_t axis = 0;
  ANVIL_CHECK(NormalizeAxis(axis_, rank, axis), "axis ", axis_, " out of range for input ", ToString(x.shape));
  const int64_t n = x.shape[axis];
  ANVIL_CHECK(n > 0, "cannot take the arg", max_ ? "max" : "min", " of an empty axis (input ", ToString(x.shape),
              ")");
  Shape out_shape;
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < rank; ++i) {
    if (i < axis) outer *= x.shape[i];
    if (i > axis) inner *= x.shape[i];
    if (i != axis) out_shape.push_back(x.shape[i]);
    else if (keepdims_) out_shape.push_back(1);
  }
  int64_t* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, out_shape, &y));
  if (outer * inner == 0) return {};
  switch (type_) {
    case kF32: nn::ArgReduce(max_, select_last_, x.as<float>(), y, outer, n, inner); break;
    case kF64: nn::ArgReduce(max_, select_last_, x.as<double>(), y, outer, n, inner); break;
    case kI32: nn::ArgReduce(max_, select_last_, x.as<int32_t>(), y, outer, n, inner); break;
    case kI64: nn::ArgReduce(max_, select_last_, x.as<int64_t>(), y, outer, n, inner); break;
    case kI8: nn::ArgReduce(max_, select_last_, x.as<int8_t>(), y, outer, n, inner); break;
    case kU8: nn::ArgReduce(max_, select_last_, x.as<uint8_t>(), y, outer, n, inner); break;
    default: return Fail("unexpected type ", ElemTypeName(type_));
  }
  return {};
}

}  // namespace anvil
