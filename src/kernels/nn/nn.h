#pragma once
#include "kernels/kernel.h"

namespace anvil {

// Not yet implemented: Create declines, so these nodes go to ORT's CPU EP.
struct BatchNormKernel { static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out); };
struct GlobalAveragePoolKernel { static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out); };
struct AveragePoolKernel { static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out); };
struct MaxPoolKernel { static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out); };
struct SoftmaxKernel { static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out); };
struct ReduceMeanKernel { static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out); };

}  // namespace anvil
