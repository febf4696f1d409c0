// float16 element-wise paths: each element is widened to float, computed in float and rounded back
// to float16 (nearest even), as ORT's CPU EP does for these ops.
#pragma once
#include <cmath>

#include "compute/elementwise/half.h"
#include "kernels/elementwise/common.h"

namespace anvil::ew_kernels {

constexpr ElemType kF16 = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16;

// y = half(fn(float(a), float(b))) with numpy broadcasting.
template <typename Fn>
Status HalfBinary(ComputeContext& ctx, const TensorView& a, const TensorView& b, int64_t cost, Fn fn) {
  ew::BroadcastPlan plan;
  uint16_t* y = nullptr;
  ANVIL_RETURN_IF_ERROR(PlanAndAllocate(ctx, a, b, plan, &y));
  if (plan.size == 0) return {};
  ew::RunBinary(plan, a.as<uint16_t>(), b.as<uint16_t>(), y, cost,
                [fn](uint16_t x, uint16_t z) { return ew::FloatToHalf(fn(ew::HalfToFloat(x), ew::HalfToFloat(z))); });
  return {};
}

// Max / Min of float16 bits, NaN propagating (returns one of the inputs unchanged).
struct HalfMaxOf {
  uint16_t operator()(uint16_t a, uint16_t b) const {
    const float fa = ew::HalfToFloat(a), fb = ew::HalfToFloat(b);
    return (fa > fb || fa != fa) ? a : b;
  }
};
struct HalfMinOf {
  uint16_t operator()(uint16_t a, uint16_t b) const {
    const float fa = ew::HalfToFloat(a), fb = ew::HalfToFloat(b);
    return (fa < fb || fa != fa) ? a : b;
  }
};

// IsNaN / IsInf on float16 bits.
inline void HalfIsNaN(const uint16_t* x, uint8_t* y, int64_t n) {
  ParallelFor(n, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) y[i] = (x[i] & 0x7fffu) > 0x7c00u;
  });
}
inline void HalfIsInf(const uint16_t* x, uint8_t* y, int64_t n, bool negative, bool positive) {
  ParallelFor(n, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) y[i] = (x[i] == 0x7c00u && positive) || (x[i] == 0xfc00u && negative);
  });
}

}  // namespace anvil::ew_kernels
