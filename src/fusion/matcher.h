// Finds fused groups in a graph (GetCapability) from the list in fusion/patterns.inc: a head (an
// anchor node, or a function: several nodes that compute one ONNX op Anvil has a kernel for) and
// the chain of element-wise patterns after it, each turned into PostOp steps.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "ep/node_info_ort.h"
#include "ep/ort_api.h"
#include "kernels/kernel.h"

namespace anvil::fusion {

// A function head: the op Anvil runs for the matched nodes, with its attributes and inputs.
struct Function {
  std::string op;  // "" for an anchor head
  int since = 0;   // the op's revision (of the ai.onnx domain)
  FunctionNodeInfo::Attrs attrs;
  std::vector<std::string> inputs;  // value names ("" for a missing optional input)
};

struct Group {
  std::vector<const OrtNode*> nodes;       // the head's nodes first; valid while the graph is
  std::string head_output;                 // the head's output value: the group's key
  Function function;                       // a function head (function.op empty: an anchor)
  std::vector<PostOp> steps;               // binary steps: `operand` indexes operand_values
  std::vector<std::string> operand_values; // the tensor operands' value names
  std::string description;                 // "Conv + HardSwish (x*Clip(x+3,0,6)/6) + Add a tensor"
};

// `claimable(node)`: Anvil would run the node on its own. `accepts(anchor, steps)`: the anchor's
// kernel takes the tail (Kernel::Fuse). `runs(info)`: Anvil's kernel for a function's op accepts
// it (a function's tail is applied by the group when its kernel does not take it). Nodes end up in
// at most one group.
std::vector<Group> FindGroups(const std::vector<const OrtNode*>& nodes,
                              const std::function<bool(const OrtNode*)>& claimable,
                              const std::function<bool(const OrtNode*, const std::vector<PostOp>&)>& accepts,
                              const std::function<bool(const NodeInfo&)>& runs);

// The value name of a value info ("" for a missing optional input).
std::string ValueName(const OrtValueInfo* value);

}  // namespace anvil::fusion
