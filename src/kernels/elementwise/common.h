// Helpers the element-wise kernels share: broadcast planning with error messages naming the
// shapes, and the claim-time rank check.
#pragma once
#include "compute/elementwise/broadcast.h"
#include "kernels/kernel.h"

namespace anvil::ew_kernels {

// Rejects statically known ranks that a broadcast plan cannot hold (every input of the node).
inline Status CheckRanks(const NodeInfo& node) {
  for (size_t i = 0; i < node.InputCount(); ++i) {
    if (!node.InputPresent(i)) continue;
    auto s = node.InputShape(i);
    ANVIL_CHECK(!s || s->size() <= static_cast<size_t>(ew::kMaxPlanDims), "input ", i, " has rank ", s->size(),
                "; at most ", ew::kMaxPlanDims, " is supported");
  }
  return {};
}

// Plans the broadcast of a and b and allocates output 0 with the broadcast shape.
template <typename O>
Status PlanAndAllocate(ComputeContext& ctx, const TensorView& a, const TensorView& b, ew::BroadcastPlan& plan,
                       O** out) {
  Shape out_shape;
  switch (ew::MakeBroadcastPlan(a.shape, b.shape, out_shape, plan)) {
    case ew::PlanResult::kOk:
      break;
    case ew::PlanResult::kIncompatible:
      return Fail("input shapes ", ToString(a.shape), " and ", ToString(b.shape), " cannot be broadcast together");
    case ew::PlanResult::kTooManyDims:
      return Fail("broadcasting ", ToString(a.shape), " with ", ToString(b.shape), " needs more than ",
                  ew::kMaxPlanDims, " dims");
  }
  return ctx.Output(0, out_shape, out);
}

}  // namespace anvil::ew_kernels
