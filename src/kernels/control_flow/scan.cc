// Scan: ORT runs the body; Anvil's helper transposes the scan inputs and outputs whose scan axis
// is not 0 (any rank, any permutation, any element size: one strided copy).
#include "compute/shape/copy.h"
#include "ep/boundary.h"
#include "kernels/control_flow/control_flow.h"

namespace anvil {

namespace {

using control_flow_detail::ElemBits;

struct ScanHelper : OrtScanKernelHelper {
  ScanHelper() : OrtScanKernelHelper{} {
    ort_version_supported = ORT_API_VERSION;
    Release = ReleaseImpl;
    Transpose = TransposeImpl;
  }

  static void ORT_API_CALL ReleaseImpl(OrtScanKernelHelper* p) noexcept { delete static_cast<ScanHelper*>(p); }

  static OrtStatus* ORT_API_CALL TransposeImpl(OrtScanKernelHelper*, const size_t* perm, size_t rank,
                                               const OrtValue* input, OrtSyncStream* /*stream*/,
                                               OrtValue* output) noexcept {
    return Guard("Scan transpose", [&]() -> Status { return Run(perm, rank, input, output); });
  }

  // output[i_0, ..., i_{r-1}] = input[j] where j_{perm[k]} = i_k: output axis k is input axis perm[k].
  static Status Run(const size_t* perm, size_t rank, const OrtValue* input, OrtValue* output) {
    ANVIL_CHECK(input != nullptr && output != nullptr, "Scan transpose: missing tensor");
    Ort::ConstValue in(input);
    Ort::UnownedValue out(output);
    const auto in_info = in.GetTensorTypeAndShapeInfo();
    const auto out_info = out.GetTensorTypeAndShapeInfo();
    const ElemType type = in_info.GetElementType();
    const std::vector<int64_t> in_shape = in_info.GetShape();
    const std::vector<int64_t> out_shape = out_info.GetShape();
    ANVIL_CHECK(out_info.GetElementType() == type, "Scan transpose: output type ", ElemTypeName(out_info.GetElementType()),
                " differs from the input's ", ElemTypeName(type));
    const int bits = ElemBits(type);
    ANVIL_CHECK(bits >= 8, "Scan transpose: cannot transpose elements of type ", ElemTypeName(type));
    ANVIL_CHECK(rank == in_shape.size() && (rank == 0 || perm != nullptr), "Scan transpose: permutation of ", rank,
                " axes for a tensor of rank ", in_shape.size());
    ANVIL_CHECK(rank <= static_cast<size_t>(shape::kMaxRank), "Scan transpose: rank ", rank, " exceeds Anvil's limit of ",
                shape::kMaxRank);
    ANVIL_CHECK(out_shape.size() == rank, "Scan transpose: output rank ", out_shape.size(), " differs from ", rank);
    bool seen[shape::kMaxRank] = {};
    int64_t dims[shape::kMaxRank], strides[shape::kMaxRank], in_strides[shape::kMaxRank];
    int64_t stride = 1;
    for (size_t a = rank; a-- > 0;) in_strides[a] = stride, stride *= in_shape[a];
    for (size_t k = 0; k < rank; ++k) {
      ANVIL_CHECK(perm[k] < rank && !seen[perm[k]], "Scan transpose: not a permutation of ", rank, " axes");
      seen[perm[k]] = true;
      dims[k] = in_shape[perm[k]];
      strides[k] = in_strides[perm[k]];
      ANVIL_CHECK(out_shape[k] == dims[k], "Scan transpose: output shape ", ToString(Shape(out_shape)),
                  " is not the permuted input shape ", ToString(Shape(in_shape)));
    }
    if (in_info.GetElementCount() == 0) return {};
    shape::StridedCopy(out.GetTensorMutableRawData(), in.GetTensorRawData(), static_cast<size_t>(bits / 8),
                       static_cast<int>(rank), dims, strides, 0);
    return {};
  }
};

}  // namespace

Status ScanKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_CHECK(node.SinceVersion() >= 9,
              "Scan revision 8 (sequence_lens) is not available to plugin EPs in ORT 1.29 (CreateScanKernel needs 9+)");
  for (size_t i = 0; i < node.InputCount(); ++i)
    if (node.InputExists(i))
      ANVIL_CHECK(ElemBits(node.InputType(i)) >= 8, "Scan input ", i, " has type ", ElemTypeName(node.InputType(i)),
                  ", which Anvil's Scan does not transpose");
  for (size_t i = 0; i < node.OutputCount(); ++i)
    ANVIL_CHECK(ElemBits(node.OutputType(i)) >= 8, "Scan output ", i, " has type ", ElemTypeName(node.OutputType(i)),
                ", which Anvil's Scan does not transpose");
  ANVIL_CHECK(out == nullptr, "Scan kernels are made by ORT (CreateOrtKernel)");
  return {};
}

OrtStatus* ScanKernel::CreateOrtKernel(const OrtKernelInfo* info, OrtKernelImpl** out) {
  auto helper = std::make_unique<ScanHelper>();
  if (OrtStatus* st = Ort::GetEpApi().CreateScanKernel(info, helper.get(), out)) return st;
  helper.release();  // ORT owns the helper once the kernel exists and releases it through Release
  return nullptr;
}

}  // namespace anvil
