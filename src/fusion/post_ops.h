// Anvil's own implementation of a fused group's element-wise tail (PostOp, kernels/kernel.h), for
// the cases where the anchor kernel cannot hand the steps to oneDNN as post-ops (a shape oneDNN
// runs with its reference code once post-ops are attached, Anvil's own output paths). It applies
// the steps in order over the output in place, with the same vector code as the element-wise
// kernels.
#pragma once
#include <array>
#include <vector>

#include "kernels/kernel.h"

namespace anvil {

// The operands of a tail's binary steps as one call sees them (by step; unary steps' are empty).
// Fixed-size: the steady-state Compute path makes no allocation.
using PostOpOperands = std::array<TensorView, kMaxPostOps>;
void GatherPostOpOperands(const std::vector<PostOp>& ops, const ComputeContext& ctx, PostOpOperands* out);

// Checks that each binary step's operand is float and broadcasts into `shape` without expanding it.
Status CheckPostOpOperands(const std::vector<PostOp>& ops, const PostOpOperands& operands,
                           const Shape& shape);

// y (contiguous, `shape`) = ops[first, end)(y). The operands must have passed CheckPostOpOperands.
void ApplyPostOps(const std::vector<PostOp>& ops, const PostOpOperands& operands, const Shape& shape,
                  float* y, size_t first = 0);

}  // namespace anvil
