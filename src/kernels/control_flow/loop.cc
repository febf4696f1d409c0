// Loop: ORT runs the body; Anvil's helper concatenates the per-iteration scan outputs into the
// output ORT allocated ([iterations, ...per-iteration shape]).
#include <cstring>

#include "ep/boundary.h"
#include "kernels/control_flow/control_flow.h"

namespace anvil {

namespace control_flow_detail {

int ElemBits(ElemType type) {
  switch (type) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT8E4M3FN:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT8E4M3FNUZ:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT8E5M2:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT8E5M2FNUZ:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT8E8M0:
      return 8;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT4:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT4:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT4E2M1:
      return 4;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT2:
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT2:
      return 2;
    default:
      return static_cast<int>(ElemSize(type) * 8);
  }
}

}  // namespace control_flow_detail

namespace {

using control_flow_detail::ElemBits;

// Copies `count` packed elements of `bits` bits (bits < 8, dividing 8) from element 0 of src to
// element `first` of dst. ONNX packs the lowest-numbered element in the lowest bits of a byte.
void CopyPacked(uint8_t* dst, int64_t first, const uint8_t* src, int64_t count, int bits) {
  const int per_byte = 8 / bits;
  const uint8_t mask = static_cast<uint8_t>((1u << bits) - 1);
  for (int64_t j = 0; j < count; ++j) {
    const uint8_t v = static_cast<uint8_t>((src[j / per_byte] >> ((j % per_byte) * bits)) & mask);
    const int64_t d = first + j;
    const int shift = static_cast<int>(d % per_byte) * bits;
    uint8_t& byte = dst[d / per_byte];
    byte = static_cast<uint8_t>((byte & ~(mask << shift)) | (v << shift));
  }
}

struct LoopHelper : OrtLoopKernelHelper {
  LoopHelper() : OrtLoopKernelHelper{} {
    ort_version_supported = ORT_API_VERSION;
    Release = ReleaseImpl;
    ConcatOutput = ConcatOutputImpl;
  }

  static void ORT_API_CALL ReleaseImpl(OrtLoopKernelHelper* p) noexcept { delete static_cast<LoopHelper*>(p); }

  static OrtStatus* ORT_API_CALL ConcatOutputImpl(OrtLoopKernelHelper*, void* /*stream*/,
                                                  const OrtValue* const* outputs, size_t count, void* output,
                                                  size_t output_bytes) noexcept {
    return Guard("Loop output concatenation", [&]() -> Status { return Concat(outputs, count, output, output_bytes); });
  }

  static Status Concat(const OrtValue* const* outputs, size_t count, void* output, size_t output_bytes) {
    if (count == 0) return {};  // zero iterations: an empty output, nothing to copy
    ANVIL_CHECK(outputs != nullptr && outputs[0] != nullptr, "Loop: no per-iteration output to concatenate");
    Ort::ConstValue first(outputs[0]);
    ANVIL_CHECK(first.IsTensor(), "Loop: a scan output is not a tensor");
    const auto info = first.GetTensorTypeAndShapeInfo();
    const ElemType type = info.GetElementType();
    const int bits = ElemBits(type);
    ANVIL_CHECK(bits > 0, "Loop: cannot concatenate scan outputs of type ", ElemTypeName(type));
    const std::vector<int64_t> shape = info.GetShape();
    const int64_t elems = static_cast<int64_t>(info.GetElementCount());
    const size_t total_bits = static_cast<size_t>(elems) * static_cast<size_t>(bits) * count;
    ANVIL_CHECK((total_bits + 7) / 8 <= output_bytes, "Loop: ", count, " iterations of ", ToString(Shape(shape)),
                " do not fit the ", output_bytes, "-byte output");
    uint8_t* dst = static_cast<uint8_t*>(output);
    const size_t bytes_each = static_cast<size_t>(elems) * static_cast<size_t>(bits) / 8;
    for (size_t i = 0; i < count; ++i) {
      ANVIL_CHECK(outputs[i] != nullptr, "Loop: iteration ", i, " has no scan output");
      Ort::ConstValue v(outputs[i]);
      ANVIL_CHECK(v.IsTensor(), "Loop: iteration ", i, "'s scan output is not a tensor");
      const auto vi = v.GetTensorTypeAndShapeInfo();
      ANVIL_CHECK(vi.GetElementType() == type && vi.GetShape() == shape, "Loop: iteration ", i, "'s scan output is ",
                  ElemTypeName(vi.GetElementType()), " ", ToString(Shape(vi.GetShape())), ", iteration 0's was ",
                  ElemTypeName(type), " ", ToString(Shape(shape)), " (scan outputs must not change across iterations)");
      if (elems == 0) continue;
      const void* src = v.GetTensorRawData();
      if (bits % 8 == 0) {
        std::memcpy(dst + i * bytes_each, src, bytes_each);
      } else {
        CopyPacked(dst, static_cast<int64_t>(i) * elems, static_cast<const uint8_t*>(src), elems, bits);
      }
    }
    return {};
  }
};

}  // namespace

Status LoopKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_CHECK(node.InputCount() >= 2, "Loop needs the M and cond inputs (maybe empty)");
  if (node.InputExists(0))
    ANVIL_CHECK(node.InputType(0) == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64, "Loop's M must be int64");
  if (node.InputExists(1))
    ANVIL_CHECK(node.InputType(1) == ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL, "Loop's cond must be bool");
  for (size_t i = 0; i < node.OutputCount(); ++i)
    ANVIL_CHECK(ElemBits(node.OutputType(i)) > 0, "Loop output ", i, " has type ", ElemTypeName(node.OutputType(i)),
                ", which Anvil's Loop does not copy");
  ANVIL_CHECK(out == nullptr, "Loop kernels are made by ORT (CreateOrtKernel)");
  return {};
}

OrtStatus* LoopKernel::CreateOrtKernel(const OrtKernelInfo* info, OrtKernelImpl** out) {
  auto helper = std::make_unique<LoopHelper>();
  if (OrtStatus* st = Ort::GetEpApi().CreateLoopKernel(info, helper.get(), out)) return st;
  helper.release();  // ORT owns the helper once the kernel exists and releases it through Release
  return nullptr;
}

}  // namespace anvil
