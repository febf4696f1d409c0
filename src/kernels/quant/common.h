// Helpers shared by the quantized kernels (internal to src/kernels/quant/).
#pragma once
#include <optional>

#include "compute/quant/quant.h"
#include "kernels/kernel.h"

namespace anvil::quant_detail {

// The QKind of an ONNX element type, or nullopt for a type the quantized kernels do not handle.
inline std::optional<quant::QKind> KindOf(ElemType t) {
  switch (t) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8: return quant::QKind::kInt8;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8: return quant::QKind::kUint8;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16: return quant::QKind::kInt16;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16: return quant::QKind::kUint16;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32: return quant::QKind::kInt32;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT4: return quant::QKind::kInt4;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT4: return quant::QKind::kUint4;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT2: return quant::QKind::kInt2;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT2: return quant::QKind::kUint2;
    default: return std::nullopt;
  }
}

// The ONNX TensorProto number of a C API element type (they differ for the 2-bit types and
// float8e8m0), for comparing with attributes such as output_dtype.
inline int64_t OnnxNumberOf(ElemType t) {
  switch (t) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT2: return 25;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT2: return 26;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT8E8M0: return 24;
    default: return static_cast<int64_t>(t);
  }
}

// A scalar or a 1-D tensor of one element (ORT's test for a per-tensor parameter).
inline bool IsScalarLike(const Shape& s) { return s.empty() || (s.size() == 1 && s[0] == 1); }

// The one value of a per-tensor zero point of int8/uint8 type (0 when absent).
inline int32_t ScalarZeroPoint(const TensorView& t) {
  if (t.data == nullptr || t.size() == 0) return 0;
  return t.type == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8 ? int32_t{t.as<int8_t>()[0]} : int32_t{t.as<uint8_t>()[0]};
}

}  // namespace anvil::quant_detail
