#pragma once
#include "kernels/kernel.h"

namespace anvil {

class ReluKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;
};

// Not yet implemented: Create declines, so these nodes go to ORT's CPU EP.
struct AddKernel { static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out); };
struct SubKernel { static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out); };
struct MulKernel { static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out); };
struct DivKernel { static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out); };
struct PowKernel { static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out); };
struct SqrtKernel { static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out); };
struct SigmoidKernel { static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out); };
struct HardSigmoidKernel { static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out); };
struct HardSwishKernel { static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out); };
struct ClipKernel { static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out); };
struct CastKernel { static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out); };

}  // namespace anvil
