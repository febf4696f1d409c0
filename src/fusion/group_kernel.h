// The Compile side of fused groups: one OrtNodeComputeInfo per group, running the anchor's own
// kernel (created from the anchor node, like any Anvil kernel) with the group's tail fused into
// it (Kernel::Fuse). Constant inputs are packed (through the factory's weight cache) or copied
// here, so ORT need not keep the group's initializers.
#pragma once
#include <memory>

#include "ep/weight_cache.h"
#include "fusion/matcher.h"
#include "kernels/kernel.h"

namespace anvil::fusion {

// Builds the compute info for one fused node; `group` is what GetCapability found for it.
// The graph and nodes are valid only during the call.
Status CompileGroup(const OrtGraph* graph, const OrtNode* fused_node, const Group& group, const EpConfig& config,
                    std::shared_ptr<PackedWeightCache> cache, OrtNodeComputeInfo** out);

// Releases what CompileGroup made.
void ReleaseGroup(OrtNodeComputeInfo* info);

}  // namespace anvil::fusion
