#include "kernels/nn/nn.h"

namespace anvil {

Status BatchNormKernel::Create(const NodeInfo&, std::unique_ptr<Kernel>*) { return Fail("not implemented yet"); }
Status GlobalAveragePoolKernel::Create(const NodeInfo&, std::unique_ptr<Kernel>*) { return Fail("not implemented yet"); }
Status AveragePoolKernel::Create(const NodeInfo&, std::unique_ptr<Kernel>*) { return Fail("not implemented yet"); }
Status MaxPoolKernel::Create(const NodeInfo&, std::unique_ptr<Kernel>*) { return Fail("not implemented yet"); }
Status SoftmaxKernel::Create(const NodeInfo&, std::unique_ptr<Kernel>*) { return Fail("not implemented yet"); }
Status ReduceMeanKernel::Create(const NodeInfo&, std::unique_ptr<Kernel>*) { return Fail("not implemented yet"); }

}  // namespace anvil
