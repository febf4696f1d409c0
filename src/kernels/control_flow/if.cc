#include "kernels/control_flow/control_flow.h"

namespace anvil {

Status IfKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_CHECK(node.InputCount() == 1 && node.InputType(0) == ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL,
              "If needs one bool condition");
  ANVIL_CHECK(out == nullptr, "If kernels are made by ORT (CreateOrtKernel)");
  return {};
}

OrtStatus* IfKernel::CreateOrtKernel(const OrtKernelInfo* info, OrtKernelImpl** out) {
  return Ort::GetEpApi().CreateIfKernel(info, out);
}

}  // namespace anvil
