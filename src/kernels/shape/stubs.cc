#include "kernels/shape/shape.h"

namespace anvil {

Status ShapeKernel::Create(const NodeInfo&, std::unique_ptr<Kernel>*) { return Fail("not implemented yet"); }
Status ReshapeKernel::Create(const NodeInfo&, std::unique_ptr<Kernel>*) { return Fail("not implemented yet"); }
Status SqueezeKernel::Create(const NodeInfo&, std::unique_ptr<Kernel>*) { return Fail("not implemented yet"); }
Status UnsqueezeKernel::Create(const NodeInfo&, std::unique_ptr<Kernel>*) { return Fail("not implemented yet"); }
Status FlattenKernel::Create(const NodeInfo&, std::unique_ptr<Kernel>*) { return Fail("not implemented yet"); }
Status IdentityKernel::Create(const NodeInfo&, std::unique_ptr<Kernel>*) { return Fail("not implemented yet"); }
Status ConcatKernel::Create(const NodeInfo&, std::unique_ptr<Kernel>*) { return Fail("not implemented yet"); }
Status SliceKernel::Create(const NodeInfo&, std::unique_ptr<Kernel>*) { return Fail("not implemented yet"); }
Status TransposeKernel::Create(const NodeInfo&, std::unique_ptr<Kernel>*) { return Fail("not implemented yet"); }
Status GatherKernel::Create(const NodeInfo&, std::unique_ptr<Kernel>*) { return Fail("not implemented yet"); }
Status ResizeKernel::Create(const NodeInfo&, std::unique_ptr<Kernel>*) { return Fail("not implemented yet"); }

}  // namespace anvil
