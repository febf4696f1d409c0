#pragma once
#include "kernels/kernel.h"

namespace anvil {

// Not yet implemented: Create declines, so these nodes go to ORT's CPU EP.
struct ConvKernel { static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out); };
// Conv in ORT's internal NHWC domain (com.ms.internal.nhwc): X and Y channels-last, W as in ONNX.
struct NhwcConvKernel { static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out); };
struct ConvTransposeKernel { static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out); };
struct NhwcConvTransposeKernel { static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out); };
struct MatMulKernel { static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out); };
struct GemmKernel { static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out); };

}  // namespace anvil
