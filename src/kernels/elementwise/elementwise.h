#pragma once
#include "kernels/kernel.h"

namespace anvil {

class ReluKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;
};

}  // namespace anvil
