#include "kernels/dnnl/dnnl.h"

namespace anvil {

Status ConvKernel::Create(const NodeInfo&, std::unique_ptr<Kernel>*) { return Fail("not implemented yet"); }
Status ConvTransposeKernel::Create(const NodeInfo&, std::unique_ptr<Kernel>*) { return Fail("not implemented yet"); }
Status MatMulKernel::Create(const NodeInfo&, std::unique_ptr<Kernel>*) { return Fail("not implemented yet"); }
Status GemmKernel::Create(const NodeInfo&, std::unique_ptr<Kernel>*) { return Fail("not implemented yet"); }

}  // namespace anvil
