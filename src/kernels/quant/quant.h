// Quantized ops, bit-exact with ORT's CPU EP on x86 (see src/compute/quant/quant.h for the
// arithmetic): QuantizeLinear / DequantizeLinear (per tensor, per axis, blocked; 8-, 16-, 4- and
// 2-bit integers, int32 for DequantizeLinear), DynamicQuantizeLinear, MatMulInteger,
// ConvInteger, QLinearMatMul, QLinearConv. Float scales and data only.
#pragma once
#include <string>
#include <vector>

#include "compute/quant/quant.h"
#include "kernels/kernel.h"

namespace anvil {

constexpr TypeSet kQuant8 = kInt8 | kUint8;
constexpr TypeSet kQuant16 = TypeBit(ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16) | TypeBit(ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16);
constexpr TypeSet kQuant4 = TypeBit(ONNX_TENSOR_ELEMENT_DATA_TYPE_INT4) | TypeBit(ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT4);
// ORT 1.29's C enum numbers the 2-bit types UINT2 = 24, INT2 = 25 (and FLOAT8E8M0 = 26), ONNX's
// TensorProto UINT2 = 25, INT2 = 26 (FLOAT8E8M0 = 24); OrtEpApi::GetTensorDataType, which turns
// the registration's bits into types, reads the number as ONNX's. So these bits are ONNX's numbers
// (what a node reports, KernelInfo / OrtNode element types, is the C enum: see KindOf).
constexpr int kOnnxUint2 = 25, kOnnxInt2 = 26;
constexpr TypeSet kQuant2 = (TypeSet{1} << kOnnxUint2) | (TypeSet{1} << kOnnxInt2);
// The integer types of QuantizeLinear's output / DequantizeLinear's input by schema revision.
constexpr TypeSet kQuant21 = kQuant8 | kQuant16 | kQuant4;
constexpr TypeSet kQuant25 = kQuant21 | kQuant2;

// QuantizeLinear (revisions 10 to 25; float x and scale): y = saturate(round(x / scale) + zp).
class QuantizeLinearKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  int64_t axis_ = 1;
  int64_t block_size_ = 0;
  quant::QKind out_ = quant::QKind::kUint8;
};

// DequantizeLinear (revisions 10 to 25; float scale and output): y = (x - zp) * scale.
class DequantizeLinearKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  int64_t axis_ = 1;
  int64_t block_size_ = 0;
  quant::QKind in_ = quant::QKind::kUint8;
};

// DynamicQuantizeLinear: uint8 y, scale and zero point from x's range.
class DynamicQuantizeLinearKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;
};

// MatMulInteger (int32 output) and QLinearMatMul (requantized to int8/uint8): numpy matmul
// broadcasting; A's zero point per tensor, B's per tensor or per column.
class MatMulIntegerKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  bool qlinear_ = false;
};

// ConvInteger (int32 output) and QLinearConv (requantized, optional int32 bias): NCHW with 1 to 3
// spatial dims, groups, strides, dilations, pads / auto_pad.
class ConvIntegerKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  bool qlinear_ = false;
  std::string auto_pad_ = "NOTSET";
  int64_t group_ = 1;
  std::vector<int64_t> kernel_shape_, strides_, dilations_, pads_;
};

}  // namespace anvil
