// Numpy-style broadcasting of two operands, reduced to a compact loop plan. Pure compute: no ORT.
//
// The two shapes are right-aligned; size-1 output dims are dropped and adjacent dims whose
// broadcast pattern is the same (both operands vary / only A varies / only B varies) are merged.
// What is left is a short list of dims; the innermost one becomes a contiguous "row" processed
// by one of three inner loops (vector-vector, scalar-vector, vector-scalar) and the others are
// walked with strides. The common cases fall out of this as fast paths:
//   same shape                   -> one row of N elements, vector-vector
//   one side a single element    -> one row, vector-scalar or scalar-vector
//   [N,C,H,W] op [1,C,1,1]/[C,1,1] -> rows of H*W against one B element each
//   trailing [.., W] op [W]       -> rows of W, vector-vector, B offset always 0
//   anything else                -> the same row loop over a strided N-d index
#pragma once
#include <cstdint>

#include "core/shape.h"

namespace anvil::ew {

constexpr int kMaxPlanDims = 16;  // merged dims; a plan for more cannot be built

struct BroadcastPlan {
  int64_t size = 0;   // output elements
  int64_t inner = 1;  // elements in one row (the innermost merged dim)
  int64_t a_step = 1, b_step = 1;  // 1 if that operand varies along the row, else 0
  int outer_rank = 0;              // merged dims outside the row, outermost first
  int64_t outer_dims[kMaxPlanDims] = {};
  int64_t a_strides[kMaxPlanDims] = {};  // element strides of A and B along each outer dim
  int64_t b_strides[kMaxPlanDims] = {};
};

enum class PlanResult { kOk, kIncompatible, kTooManyDims };

// Computes the broadcast output shape of a and b (all dims known) and a plan. The plan is only
// filled when the output is non-empty.
PlanResult MakeBroadcastPlan(const Shape& a, const Shape& b, Shape& out, BroadcastPlan& plan);

}  // namespace anvil::ew
