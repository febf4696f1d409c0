#include "compute/elementwise/broadcast.h"

#include <algorithm>

namespace anvil::ew {

namespace {
enum Pattern { kBoth = 0, kOnlyA = 1, kOnlyB = 2 };
}

PlanResult MakeBroadcastPlan(const Shape& a, const Shape& b, Shape& out, BroadcastPlan& plan) {
  const size_t rank = std::max(a.size(), b.size());
  out.assign(rank, 1);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t da = i + a.size() >= rank ? a[i + a.size() - rank] : 1;
    const int64_t db = i + b.size() >= rank ? b[i + b.size() - rank] : 1;
    if (da == db || db == 1) {
      out[i] = da;
    } else if (da == 1) {
      out[i] = db;
    } else {
      return PlanResult::kIncompatible;
    }
  }
  plan = BroadcastPlan{};
  plan.size = NumElements(out);
  if (plan.size == 0) return PlanResult::kOk;

  // Merge, outermost first.
  int64_t dims[kMaxPlanDims];
  Pattern pats[kMaxPlanDims];
  int n = 0;
  for (size_t i = 0; i < rank; ++i) {
    if (out[i] == 1) continue;
    const int64_t da = i + a.size() >= rank ? a[i + a.size() - rank] : 1;
    const int64_t db = i + b.size() >= rank ? b[i + b.size() - rank] : 1;
    const Pattern p = da == db ? kBoth : (db == 1 ? kOnlyA : kOnlyB);
    if (n > 0 && pats[n - 1] == p) {
      dims[n - 1] *= out[i];
      continue;
    }
    if (n == kMaxPlanDims) return PlanResult::kTooManyDims;
    dims[n] = out[i];
    pats[n] = p;
    ++n;
  }
  if (n == 0) {  // every dim is 1: a single element on each side
    plan.inner = 1;
    return PlanResult::kOk;
  }
  plan.inner = dims[n - 1];
  plan.a_step = pats[n - 1] == kOnlyB ? 0 : 1;
  plan.b_step = pats[n - 1] == kOnlyA ? 0 : 1;
  int64_t sa = plan.a_step ? plan.inner : 1;
  int64_t sb = plan.b_step ? plan.inner : 1;
  plan.outer_rank = n - 1;
  for (int k = n - 2; k >= 0; --k) {
    plan.outer_dims[k] = dims[k];
    const bool va = pats[k] != kOnlyB, vb = pats[k] != kOnlyA;
    plan.a_strides[k] = va ? sa : 0;
    plan.b_strides[k] = vb ? sb : 0;
    if (va) sa *= dims[k];
    if (vb) sb *= dims[k];
  }
  return PlanResult::kOk;
}

}  // namespace anvil::ew
