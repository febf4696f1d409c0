// Control flow: ORT implements If, Loop and Scan for plugin EPs and runs the subgraphs itself, each
// node of a subgraph on whichever EP claimed it (ORT asks GetCapability for every subgraph). Anvil
// registers the op and hands the kernel creation to ORT (OrtEpApi::CreateIfKernel /
// CreateLoopKernel / CreateScanKernel): these classes have CreateOrtKernel instead of a Kernel.
// Loop and Scan give ORT a helper for the tensor work it cannot do on an EP's memory itself:
// concatenating Loop's per-iteration scan outputs, and Scan's transposes for non-zero axes.
#pragma once
#include "kernels/kernel.h"

namespace anvil {

// The tensor types ORT's CPU EP runs Loop and Scan with (not strings: the helpers copy bytes), as
// the schema revisions admit them: bfloat16 from revision 16, float8 from 19 (ORT 1.29 rejects the
// 4-bit types in these ops).
constexpr TypeSet kLoopScanTypes =
    kFloat | kDouble | kInt8 | kUint8 | kInt32 | kInt64 | kBool | TypeBit(ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16) |
    TypeBit(ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16) | TypeBit(ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32) |
    TypeBit(ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64) | TypeBit(ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16);
constexpr TypeSet kLoopScanTypes16 = kLoopScanTypes | TypeBit(ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16);
constexpr TypeSet kLoopScanTypes19 =
    kLoopScanTypes16 | TypeBit(ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT8E4M3FN) |
    TypeBit(ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT8E4M3FNUZ) | TypeBit(ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT8E5M2) |
    TypeBit(ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT8E5M2FNUZ);

struct IfKernel {
  // Claim-time check: every If whose types the registration covers (cond is a bool scalar on CPU).
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  static OrtStatus* CreateOrtKernel(const OrtKernelInfo* info, OrtKernelImpl** out);
  static constexpr uint32_t kCpuInputs = 1u << 0;  // 'cond' is read by ORT on the CPU
};

struct LoopKernel {
  // Claim-time check: M (int64) and cond (bool), when present, and loop-carried values of types
  // the concatenation helper copies.
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  static OrtStatus* CreateOrtKernel(const OrtKernelInfo* info, OrtKernelImpl** out);
  static constexpr uint32_t kCpuInputs = (1u << 0) | (1u << 1);  // 'M' and 'cond' are read on the CPU
};

struct ScanKernel {
  // Claim-time check: revision 9 or newer (ORT 1.29 cannot make a plugin EP's Scan 8 kernel) and
  // element types the transpose helper copies.
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  static OrtStatus* CreateOrtKernel(const OrtKernelInfo* info, OrtKernelImpl** out);
};

namespace control_flow_detail {
// Bits per element of a tensor type the helpers copy (8, 16, 32, 64, or 4 and 2 for the packed
// types); 0 for a type they do not (strings, undefined).
int ElemBits(ElemType type);
}  // namespace control_flow_detail

}  // namespace anvil
