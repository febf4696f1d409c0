// Shape and data-movement kernels: Shape, Reshape, Squeeze, Unsqueeze, Flatten, Identity, Concat,
// Slice, Transpose, Gather, Resize. Pure compute helpers live in src/compute/shape/.
#pragma once
#include <string>
#include <vector>

#include "compute/shape/resize.h"
#include "kernels/kernel.h"

namespace anvil {

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
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  bool allow_zero_ = false;
};

// Squeeze: axes attribute before revision 13, optional input from 13; no axes removes all 1-dims.
class SqueezeKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  bool axes_from_input_ = false;
  std::vector<int64_t> axes_;  // attribute axes (before revision 13)
};

// Unsqueeze: axes attribute before revision 13, required input from 13.
class UnsqueezeKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  bool axes_from_input_ = false;
  std::vector<int64_t> axes_;
};

class FlattenKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  int64_t axis_ = 1;
};

class IdentityKernel final : public Kernel {
 public:
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

// Resize: modes nearest and linear, any axes (fast paths when only the last two dims change).
class ResizeKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

  enum class Mode { kNearest, kLinear };

 private:
  int opset_ = 11;
  Mode mode_ = Mode::kNearest;
  shape::ResizeCoord coord_ = shape::ResizeCoord::kHalfPixel;
  shape::ResizeNearest nearest_ = shape::ResizeNearest::kRoundPreferFloor;
  std::vector<int64_t> axes_;  // revision 18+ axes attribute; empty: all axes
};

}  // namespace anvil
