// Builds ORT's kernel registry from Anvil's one list (src/kernels/kernels.inc) and adapts Anvil's
// Kernel objects to OrtKernelImpl.
#pragma once
#include "kernels/kernel.h"

namespace anvil {

// Creates a registry holding every entry of AllKernels() for the EP named `ep_name`.
Status BuildKernelRegistry(const char* ep_name, OrtKernelRegistry** out);

}  // namespace anvil
