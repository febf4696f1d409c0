// Finds fused groups in a graph (GetCapability) from the list in fusion/patterns.inc: an anchor
// node and the chain of element-wise patterns after it, each turned into PostOp steps.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "ep/ort_api.h"
#include "kernels/kernel.h"

namespace anvil::fusion {

struct Group {
  std::vector<const OrtNode*> nodes;       // anchor first; valid while the graph is
  std::string anchor_output;               // the anchor's output value: the group's key
  std::vector<PostOp> steps;               // binary steps: `operand` indexes operand_values
  std::vector<std::string> operand_values; // the tensor operands' value names
  std::string description;                 // "Conv + HardSwish (x*Clip(x+3,0,6)/6) + Add a tensor"
};

// `claimable(node)`: Anvil would run the node on its own. `accepts(anchor, steps)`: the anchor's
// kernel takes the tail (Kernel::Fuse). Nodes end up in at most one group.
std::vector<Group> FindGroups(const std::vector<const OrtNode*>& nodes,
                              const std::function<bool(const OrtNode*)>& claimable,
                              const std::function<bool(const OrtNode*, const std::vector<PostOp>&)>& accepts);

// The value name of a value info ("" for a missing optional input).
std::string ValueName(const OrtValueInfo* value);

}  // namespace anvil::fusion
