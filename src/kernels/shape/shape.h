#pragma once
#include "kernels/kernel.h"

namespace anvil {

// Not yet implemented: Create declines, so these nodes go to ORT's CPU EP.
struct ShapeKernel { static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out); };
struct ReshapeKernel { static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out); };
struct SqueezeKernel { static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out); };
struct UnsqueezeKernel { static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out); };
struct FlattenKernel { static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out); };
struct IdentityKernel { static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out); };
struct ConcatKernel { static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out); };
struct SliceKernel { static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out); };
struct TransposeKernel { static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out); };
struct GatherKernel { static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out); };
struct ResizeKernel { static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out); };

}  // namespace anvil
