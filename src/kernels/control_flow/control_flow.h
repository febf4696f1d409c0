// Control flow: ORT implements If (and, later, Loop and Scan) for plugin EPs and runs the branch
// subgraphs itself, each node of a branch on whichever EP claimed it (ORT asks GetCapability for
// every subgraph). Anvil registers the op and hands the kernel creation to ORT
// (OrtEpApi::CreateIfKernel): these classes have CreateOrtKernel instead of a Kernel.
#pragma once
#include "kernels/kernel.h"

namespace anvil {

struct IfKernel {
  // Claim-time check: every If whose types the registration covers (cond is a bool scalar on CPU).
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  static OrtStatus* CreateOrtKernel(const OrtKernelInfo* info, OrtKernelImpl** out);
  static constexpr uint32_t kCpuInputs = 1u << 0;  // 'cond' is read by ORT on the CPU
};

}  // namespace anvil
