#include "kernels/elementwise/elementwise.h"

namespace anvil {

Status AddKernel::Create(const NodeInfo&, std::unique_ptr<Kernel>*) { return Fail("not implemented yet"); }
Status SubKernel::Create(const NodeInfo&, std::unique_ptr<Kernel>*) { return Fail("not implemented yet"); }
Status MulKernel::Create(const NodeInfo&, std::unique_ptr<Kernel>*) { return Fail("not implemented yet"); }
Status DivKernel::Create(const NodeInfo&, std::unique_ptr<Kernel>*) { return Fail("not implemented yet"); }
Status PowKernel::Create(const NodeInfo&, std::unique_ptr<Kernel>*) { return Fail("not implemented yet"); }
Status SqrtKernel::Create(const NodeInfo&, std::unique_ptr<Kernel>*) { return Fail("not implemented yet"); }
Status SigmoidKernel::Create(const NodeInfo&, std::unique_ptr<Kernel>*) { return Fail("not implemented yet"); }
Status HardSigmoidKernel::Create(const NodeInfo&, std::unique_ptr<Kernel>*) { return Fail("not implemented yet"); }
Status HardSwishKernel::Create(const NodeInfo&, std::unique_ptr<Kernel>*) { return Fail("not implemented yet"); }
Status ClipKernel::Create(const NodeInfo&, std::unique_ptr<Kernel>*) { return Fail("not implemented yet"); }
Status CastKernel::Create(const NodeInfo&, std::unique_ptr<Kernel>*) { return Fail("not implemented yet"); }

}  // namespace anvil
