// Dropout (inference, and training with a random mask), BitCast, Det, TensorScatter; the Cast type set.
#pragma once
#include "kernels/kernel.h"

namespace anvil {

constexpr TypeSet kF16Bit = TypeBit(ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16);  // float16 paths of element-wise ops
constexpr TypeSet kHalfTypes =
    TypeBit(ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16) | TypeBit(ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16);
constexpr TypeSet kFixedNumbers = kMovable | TypeBit(ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16) |
                                  TypeBit(ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16) |
                                  TypeBit(ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32) |
                                  TypeBit(ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64);
// Cast: every integer, bool, float, double, float16 (and bfloat16 from revision 13).
constexpr TypeSet kCastTypes = kFixedNumbers | kHalfTypes;
constexpr TypeSet kCastTypes6 = kFixedNumbers | TypeBit(ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16);
constexpr TypeSet kDropoutTypes = kFloat | kDouble | TypeBit(ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16);
constexpr TypeSet kBitCastTypes = (kFixedNumbers & ~kBool) | kHalfTypes;

// Dropout. Without training (revisions 7-11 always; 12+ unless training_mode is true) the output
// is the input and the mask all true. With training_mode true and a non-zero ratio, each element
// is kept with probability 1 - ratio and scaled by 1 / (1 - ratio) (random; `seed` seeds it).
class DropoutKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  ElemType type_ = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
  bool has_mask_ = false;
  bool inputs_ = false;  // revision 12+: ratio and training_mode are inputs
  float ratio_attr_ = 0.5f;
  std::optional<int64_t> seed_;
};

// BitCast: the input's bytes reinterpreted as another type of the same size.
class BitCastKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;
};

// Det of [..., M, M] float matrices: LU with partial pivoting, in double.
class DetKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;
};

// TensorScatter: present = past with `update` written along `axis` at each batch's write index
// (linear: must fit; circular: modulo the cache length).
class TensorScatterKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  int64_t axis_ = -2;
  bool circular_ = false;
};

}  // namespace anvil
