// Max and Min over 1..N inputs with numpy broadcasting. The output has the broadcast shape of all
// inputs; the inputs are folded into it pairwise, in place: the first two through the binary
// broadcast loops when they already span the output (always so for two inputs), else the first is
// broadcast-copied in; every further input is then accumulated with out = op(out, input). No
// temporary, no heap allocation.
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "compute/elementwise/binary_loops.h"
#include "compute/elementwise/broadcast.h"
#include "compute/parallel.h"
#include "kernels/elementwise/common.h"
#include "kernels/elementwise/half_ops.h"
#include "kernels/elementwise/elementwise.h"

namespace anvil {
namespace {

constexpr ElemType kF32 = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
constexpr ElemType kI32 = ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32;
constexpr ElemType kI64 = ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;

// NaN propagates from either side (as numpy's maximum / minimum); branch-free, so it vectorises.
template <typename T>
inline bool IsNan(T v) {
  if constexpr (std::is_floating_point_v<T>) {
    return v != v;
  } else {
    return false;
  }
}
template <typename T>
struct MaxOf {
  T operator()(T a, T b) const { return ((a > b) | IsNan(a)) ? a : b; }
};
template <typename T>
struct MinOf {
  T operator()(T a, T b) const { return ((a < b) | IsNan(a)) ? a : b; }
};

template <typename T>
Status FoldFor(bool is_max, ComputeContext& ctx) {
  return is_max ? ew_kernels::FoldInputs<T>("Max", ctx, MaxOf<T>{}) : ew_kernels::FoldInputs<T>("Min", ctx, MinOf<T>{});
}

}  // namespace

Status MinMaxKernel::CreateFor(bool is_max, const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  const char* name = is_max ? "Max" : "Min";
  const size_t n = node.InputCount();
  ANVIL_CHECK(n >= 1, name, " has no input");
  for (size_t i = 0; i < n; ++i) ANVIL_CHECK(node.InputPresent(i), name, ": input ", i, " is missing");
  const ElemType t = node.InputType(0);
  const int since = node.SinceVersion();
  // ORT's CPU EP: float (6+), double (8+), int8/uint8/int32/int64/uint32/uint64 (12+).
  const bool ints = t == kI32 || t == kI64 || t == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8 ||
                    t == ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8 || t == ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32 ||
                    t == ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64;
  const bool ok = t == kF32 || (since >= 8 && t == ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE) ||
                  (since >= 12 && (ints || t == ew_kernels::kF16));
  ANVIL_CHECK(ok, name, "-", since, ": type ", ElemTypeName(t), " is not supported");
  for (size_t i = 1; i < n; ++i) {
    ANVIL_CHECK(node.InputType(i) == t, name, ": input ", i, " has type ", ElemTypeName(node.InputType(i)),
                ", input 0 has ", ElemTypeName(t));
  }
  ANVIL_RETURN_IF_ERROR(ew_kernels::CheckRanks(node));
  if (out) *out = std::make_unique<MinMaxKernel>(is_max, t);
  return {};
}

Status MinMaxKernel::Compute(ComputeContext& ctx) const {
  if (type_ == ew_kernels::kF16) {
    return is_max_ ? ew_kernels::FoldInputs<uint16_t>("Max", ctx, ew_kernels::HalfMaxOf{})
                   : ew_kernels::FoldInputs<uint16_t>("Min", ctx, ew_kernels::HalfMinOf{});
  }
  return ew_kernels::DispatchNumeric(type_, [&](auto zero) {
    using T = decltype(zero);
    return FoldFor<T>(is_max_, ctx);
  });
}

Status MaxKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  return CreateFor(true, node, out);
}
Status MinKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  return CreateFor(false, node, out);
}

}  // namespace anvil
