// Vision family: GridSample, NonMaxSuppression, AffineGrid, Col2Im, RoiAlign, MaxUnpool, DeformConv (2-D). Compute in src/compute/vision/.
#pragma once
#include <vector>

#include "compute/vision/vision.h"
#include "kernels/kernel.h"

namespace anvil {

class GridSampleKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  vision::GridMode mode_ = vision::GridMode::kLinear;
  vision::GridPadding padding_ = vision::GridPadding::kZeros;
  bool align_corners_ = false;
};

class NonMaxSuppressionKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  bool center_point_box_ = false;
};

class AffineGridKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  bool align_corners_ = false;
};

class Col2ImKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  std::vector<int64_t> dilations_, pads_, strides_;  // empty: defaults
};

class RoiAlignKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  vision::RoiAlignParams params_;
};

class MaxUnpoolKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  std::vector<int64_t> kernel_, pads_, strides_;
};

class DeformConvKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  std::vector<int64_t> kernel_, pads_, strides_, dilations_;
  int64_t group_ = 1, offset_group_ = 1;
};

}  // namespace anvil
