// DepthToSpace (DCR, CRD), SpaceToDepth: a reshape and a transpose, done as one strided copy.
// Trilu: the upper or lower triangle of the last two dims.
#include "compute/shape/copy.h"
#include "compute/shape/index.h"
#include "kernels/shape/common.h"
#include "kernels/shape/shape.h"

namespace anvil {

namespace {

Status CheckBlock(const NodeInfo& node, int64_t& block) {
  auto b = node.Int("blocksize");
  ANVIL_CHECK(b.has_value() && *b > 0, "blocksize must be given and positive");
  block = *b;
  if (auto s = node.InputShape(0)) ANVIL_CHECK(s->size() == 4, "the input must be 4-D, got rank ", s->size());
  return {};
}

}  // namespace

// ---- DepthToSpace

Status DepthToSpaceKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_RETURN_IF_ERROR(shape_detail::CheckCopyable(node, 0));
  auto k = std::make_unique<DepthToSpaceKernel>();
  ANVIL_RETURN_IF_ERROR(CheckBlock(node, k->block_));
  const std::string mode = node.SinceVersion() >= 11 ? node.String("mode", "DCR") : "DCR";
  ANVIL_CHECK(mode == "DCR" || mode == "CRD", "mode '", mode, "' is not supported");
  k->crd_ = mode == "CRD";
  if (out) *out = std::move(k);
  return {};
}

Status DepthToSpaceKernel::Compute(ComputeContext& ctx) const {
  const TensorView x = ctx.Input(0);
  ANVIL_CHECK(x.shape.size() == 4, "the input must be 4-D, got ", ToString(x.shape));
  const int64_t n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3], b = block_;
  ANVIL_CHECK(c % (b * b) == 0, "channels ", c, " of input ", ToString(x.shape), " are not a multiple of blocksize^2 ",
              b * b);
  const int64_t oc = c / (b * b);
  const Shape shape{n, oc, h * b, w * b};
  void* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, shape, &y));
  if (NumElements(shape) == 0) return {};
  shape::DepthToSpace(y, x.data, ElemSize(x.type), n, c, h, w, b, crd_);
  return {};
}

// ---- SpaceToDepth

Status SpaceToDepthKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_RETURN_IF_ERROR(shape_detail::CheckCopyable(node, 0));
  auto k = std::make_unique<SpaceToDepthKernel>();
  ANVIL_RETURN_IF_ERROR(CheckBlock(node, k->block_));
  const std::string mode = node.String("mode", "DCR");  // revision 28
  ANVIL_CHECK(mode == "DCR", "mode '", mode, "' is not supported");
  if (out) *out = std::move(k);
  return {};
}

Status SpaceToDepthKernel::Compute(ComputeContext& ctx) const {
  const TensorView x = ctx.Input(0);
  ANVIL_CHECK(x.shape.size() == 4, "the input must be 4-D, got ", ToString(x.shape));
  const int64_t n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3], b = block_;
  ANVIL_CHECK(h % b == 0 && w % b == 0, "height and width of input ", ToString(x.shape),
              " are not multiples of blocksize ", b);
  const Shape shape{n, c * b * b, h / b, w / b};
  void* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, shape, &y));
  if (NumElements(shape) == 0) return {};
  // Output as [n, b1, b2, c, h', w'] reading x[n, c, h' * b + b1, w' * b + b2].
  int64_t dims[6] = {n, b, b, c, h / b, w / b};
  int64_t strides[6] = {c * h * w, w, 1, h * w, b * w, b};
  shape::StridedCopy(y, x.data, ElemSize(x.type), 6, dims, strides, 0);
  return {};
}

// ---- Trilu

Status TriluKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_RETURN_IF_ERROR(shape_detail::CheckCopyable(node, 0));
  if (node.InputPresent(1))
    ANVIL_CHECK(node.InputType(1) == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64, "k must be int64");
  auto k = std::make_unique<TriluKernel>();
  k->upper_ = node.Int("upper", 1) != 0;
  if (auto s = node.InputShape(0)) ANVIL_CHECK(s->size() >= 2, "Trilu needs rank 2 or more, got ", s->size());
  if (out) *out = std::move(k);
  return {};
}

Status TriluKernel::Compute(ComputeContext& ctx) const {
  const TensorView x = ctx.Input(0);
  const size_t rank = x.shape.size();
  ANVIL_CHECK(rank >= 2, "Trilu needs rank 2 or more, got ", ToString(x.shape));
  int64_t k = 0;
  if (ctx.HasInput(1)) ANVIL_RETURN_IF_ERROR(shape_detail::ReadScalarInt(ctx.Input(1), "k", k));
  void* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, x.shape, &y));
  const int64_t rows = x.shape[rank - 2], cols = x.shape[rank - 1];
  const int64_t batch = rows * cols != 0 ? x.size() / (rows * cols) : 0;
  shape::Triangle(y, x.data, ElemSize(x.type), batch, rows, cols, k, upper_);
  return {};
}

}  // namespace anvil
