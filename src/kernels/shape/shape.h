// Shape and data-movement kernels: Shape, Reshape, Squeeze, Unsqueeze, Flatten, Identity, Concat,
// Slice, Transpose, Gather, Resize, and (shape_ops) Size, ConstantOfShape, Pad, Where, Expand, Range,
// Split, Tile, GatherElements, GatherND, ScatterElements, ScatterND, Scatter, DepthToSpace,
// SpaceToDepth, Trilu, OneHot, NonZero, TopK, CumSum, EyeLike, Compress, ReverseSequence. Pure compute helpers live in src/compute/shape/.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "compute/shape/resize.h"
#include "kernels/kernel.h"

namespace anvil {

// Type sets of the shape family, as ORT's CPU EP registers them (its lists without string).
constexpr TypeSet kInt16 = TypeBit(ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16);
constexpr TypeSet kUint16 = TypeBit(ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16);
constexpr TypeSet kUint32 = TypeBit(ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32);
constexpr TypeSet kUint64 = TypeBit(ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64);
constexpr TypeSet kFloat16 = TypeBit(ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16);
constexpr TypeSet kBfloat16 = TypeBit(ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16);
// Every fixed-size type but the 8-bit floats: what ORT's data-movement kernels take.
constexpr TypeSet kAllFixed =
    kMovable | kInt16 | kUint16 | kUint32 | kUint64 | kFloat16 | kBfloat16;
constexpr TypeSet kAllFixedNoHalf = kAllFixed & ~(kFloat16 | kBfloat16);  // Size, Tile
constexpr TypeSet kIndex = kInt32 | kInt64;
// Pad (13+; 11-12 without bool): ORT's list.
constexpr TypeSet kPadTypes = kFloat | kDouble | kInt32 | kInt64 | kInt8 | kUint8 | kUint32 | kUint64 | kBool;

// Shape (revision 15+: start/end attributes select a range of dims).
class ShapeKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  int64_t start_ = 0;
  std::optional<int64_t> end_;
};

// Reshape (shape as input 1; allowzero from revision 14).
class ReshapeKernel final : public Kernel {
 public:
  static constexpr bool kOutputViewsInput = true;
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  bool allow_zero_ = false;
};

// Squeeze: axes attribute before revision 13, optional input from 13; no axes removes all 1-dims.
class SqueezeKernel final : public Kernel {
 public:
  static constexpr bool kOutputViewsInput = true;
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  bool axes_from_input_ = false;
  std::vector<int64_t> axes_;  // attribute axes (before revision 13)
};

// Unsqueeze: axes attribute before revision 13, required input from 13.
class UnsqueezeKernel final : public Kernel {
 public:
  static constexpr bool kOutputViewsInput = true;
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  bool axes_from_input_ = false;
  std::vector<int64_t> axes_;
};

class FlattenKernel final : public Kernel {
 public:
  static constexpr bool kOutputViewsInput = true;
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  int64_t axis_ = 1;
};

class IdentityKernel final : public Kernel {
 public:
  static constexpr bool kOutputViewsInput = true;
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;
};

class ConcatKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  int64_t axis_ = 0;
};

// Slice: revision 1 reads starts/ends/axes attributes; 10+ reads them (and steps) from inputs.
class SliceKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  bool from_inputs_ = true;
  std::vector<int64_t> starts_, ends_, axes_;  // revision 1 attributes
};

class TransposeKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  std::vector<int64_t> perm_;  // empty: reverse the dims
};

class GatherKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  int64_t axis_ = 0;
};

// Resize (and Upsample): modes nearest, linear and cubic, any axes, tf_crop_and_resize with its roi,
// keep_aspect_ratio_policy (fast paths when only the last two dims change).
class ResizeKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

  enum class Mode { kNearest, kLinear, kCubic };
  enum class Policy { kStretch, kNotLarger, kNotSmaller };

 private:
  Status ComputeGeneral(ComputeContext& ctx, const TensorView& x, const Shape& out_shape,
                        const std::vector<shape::ResizeScale>& scale, const std::vector<double>& roi) const;

  int opset_ = 11;
  bool upsample_ = false;              // the Upsample op (revisions 7 and 9)
  std::vector<float> attr_scales_;     // Upsample-7's scales attribute
  Mode mode_ = Mode::kNearest;
  Policy policy_ = Policy::kStretch;
  float cubic_a_ = -0.75f;
  bool exclude_outside_ = false;
  bool antialias_ = false;
  float extrapolation_ = 0.f;
  shape::ResizeCoord coord_ = shape::ResizeCoord::kHalfPixel;
  shape::ResizeNearest nearest_ = shape::ResizeNearest::kRoundPreferFloor;
  std::vector<int64_t> axes_;  // revision 18+ axes attribute; empty: all axes
};

// Resize in ORT's internal NHWC domain: the same kernel on the channels-last tensor. Resize treats
// every axis alike, and ORT's layout transformer permutes constant scales and sizes with the data,
// so only what it leaves in channels-first order is refused (ResizeRunsChannelsLast).
struct NhwcResizeKernel {
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
};
// Whether a Resize node is correct when ORT moves it to channels-last: revision 11 or later, no axes
// attribute, no tf_crop_and_resize (its roi is not permuted), scales and sizes constant.
Status ResizeRunsChannelsLast(const NodeInfo& node);

// ---- shape_ops: src/kernels/shape/{fill,pad,broadcast,split,scatter,space,select}.cc

class SizeKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;
};

class ConstantOfShapeKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  ElemType type_{};
  uint64_t value_ = 0;
};

class EyeLikeKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  ElemType type_{};
  int64_t k_ = 0;
};

class RangeKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;
};

// Pad: revision 2 reads pads/value attributes; 11+ reads pads, constant_value and (18+) axes inputs.
class PadKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

  enum class Mode { kConstant, kReflect, kEdge, kWrap };

 private:
  Mode mode_ = Mode::kConstant;
  bool from_inputs_ = true;
  std::vector<int64_t> pads_;
  float value_ = 0;
};

class WhereKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;
};

class ExpandKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;
};

class TileKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;
};

// Split: split attribute (before 13) or input (13+), equal parts, or num_outputs (18+).
class SplitKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  int64_t axis_ = 0;
  bool split_from_input_ = false;
  std::vector<int64_t> split_;
  int64_t num_outputs_ = 0;
};

class GatherElementsKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  int64_t axis_ = 0;
};

class GatherNDKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  int64_t batch_dims_ = 0;
};

// ScatterElements (and the deprecated Scatter): reduction none/add/mul/max/min.
class ScatterElementsKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  int64_t axis_ = 0;
  int reduction_ = 0;
};

class ScatterNDKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  int reduction_ = 0;
};

class DepthToSpaceKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  int64_t block_ = 0;
  bool crd_ = false;
};

class SpaceToDepthKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  int64_t block_ = 0;
};

class TriluKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  bool upper_ = true;
};

class OneHotKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  int64_t axis_ = -1;
};

class NonZeroKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;
};

class TopKKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  int64_t axis_ = -1;
  bool largest_ = true;
  std::optional<int64_t> k_attr_;  // TopK-1's k attribute; from input 1 since opset 10
};

class CumSumKernel : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  static Status CreateFor(bool product, const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  bool exclusive_ = false;
  bool reverse_ = false;
  bool product_ = false;
};

// CumProd: CumSum's loop with a product.
class CumProdKernel final : public CumSumKernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) { return CreateFor(true, node, out); }
};

class CompressKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  std::optional<int64_t> axis_;
};

// Unique: sorted or in order of appearance, flattened or along an axis; outputs after counting.
class UniqueKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  std::optional<int64_t> axis_;
  bool sorted_ = true;
  std::array<bool, 4> outputs_{};
};

class ReverseSequenceKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  int64_t batch_axis_ = 1;
  int64_t time_axis_ = 0;
};

}  // namespace anvil
