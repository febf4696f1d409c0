// Normalisation, pooling, softmax and reduction kernels (NCHW).
#pragma once
#include <string>
#include <vector>

#include "compute/nn/einsum.h"
#include "compute/nn/pool.h"
#include "compute/nn/reduce.h"
#include "kernels/kernel.h"

namespace anvil {

// BatchNormalization with training_mode=1: Y, running mean and running variance.
Status BatchNormTrainingCompute(ComputeContext& ctx, float epsilon, float momentum);

// BatchNormalization, inference mode: y = x * mult[c] + offset[c], channels at dim 1.
class BatchNormKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  // `nhwc`: ORT's internal NHWC domain, channels last (inference only).
  static Status CreateAs(const NodeInfo& node, std::unique_ptr<Kernel>* out, bool nhwc);
  Status Compute(ComputeContext& ctx) const override;

 private:
  bool nhwc_ = false;
  float epsilon_ = 1e-5f;
  bool training_ = false;  // training_mode=1: batch statistics (batchnorm_training.cc)
  float momentum_ = 0.9f;
  bool precomputed_ = false;  // mult_/offset_ hold the constant parameters folded
  std::vector<float> mult_, offset_;
};

class GlobalAveragePoolKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;
};

// Attributes shared by AveragePool and MaxPool.
struct PoolAttributes {
  int spatial = 0;  // 1..3
  std::vector<int64_t> kernel, strides, dilations, pads;  // pads: begins then ends
  nn::AutoPad auto_pad = nn::AutoPad::kNotSet;
  bool ceil_mode = false;
  bool nhwc = false;  // ORT's internal NHWC domain: X and Y channels-last
  // Fills `g` for input shape x (rank 2 + spatial, channels first) and the output shape; fails on a bad shape.
  Status Geometry(const Shape& x, nn::PoolGeometry& g, Shape& out_shape) const;
};

class AveragePoolKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) { return CreateAs(node, out, false); }
  static Status CreateAs(const NodeInfo& node, std::unique_ptr<Kernel>* out, bool nhwc);
  Status Compute(ComputeContext& ctx) const override;

 private:
  PoolAttributes attrs_;
  bool count_include_pad_ = false;
};

class MaxPoolKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) { return CreateAs(node, out, false); }
  static Status CreateAs(const NodeInfo& node, std::unique_ptr<Kernel>* out, bool nhwc);
  Status Compute(ComputeContext& ctx) const override;

 private:
  PoolAttributes attrs_;
  bool column_major_ = false;  // storage_order 1
  bool indices_ = false;       // the optional Indices output is requested
};

// BatchNormalization channels-last (inference mode; a training one stays channels-first, ep.cc).
struct NhwcBatchNormKernel {
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
    return BatchNormKernel::CreateAs(node, out, true);
  }
};

// The pools in ORT's internal NHWC domain (layout=nhwc, see src/ep/ep.cc): X and Y channels-last
// ([N, spatial..., C]), the attributes and results as the NCHW kernels, whose classes they are.
// MaxPool without Indices only: with layout=nhwc Anvil does not claim a MaxPool whose Indices
// output is used, so ORT never converts one.
struct NhwcAveragePoolKernel {
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
    return AveragePoolKernel::CreateAs(node, out, true);
  }
};
struct NhwcMaxPoolKernel {
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
    return MaxPoolKernel::CreateAs(node, out, true);
  }
};

// GlobalAveragePool and GlobalMaxPool, channels-last.
class NhwcGlobalPoolKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  bool max_ = false;
};

// LpPool: (sum |x|^p)^(1/p) over each window (padding contributes nothing).
class LpPoolKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  PoolAttributes attrs_;
  int64_t p_ = 2;
};

// Softmax: revisions 1 and 11 flatten to 2-D at `axis`; 13+ normalise along `axis`.
class SoftmaxKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  int64_t axis_ = -1;
  bool flatten_ = false;
  bool double_ = false;
};

// ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd, ReduceL1, ReduceL2, ReduceLogSum,
// ReduceLogSumExp, ReduceSumSquare: one kernel, the reduction (compute/nn/reduce.h) chosen by the
// op type from a table. Axes from the attribute, or from input 1 (ReduceSum-13+, the others 18+).
class ReduceKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  nn::ReduceOp op_ = nn::ReduceOp::kSum;
  ElemType type_ = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
  bool keepdims_ = true;
  bool noop_with_empty_axes_ = false;
  bool axes_from_input_ = false;  // a non-constant axes input
  std::vector<int64_t> axes_;     // from the attribute or a constant input
};

// ArgMax and ArgMin along one axis (keepdims, select_last_index), int64 output.
class ArgReduceKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  bool max_ = true;
  ElemType type_ = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
  int64_t axis_ = 0;
  bool keepdims_ = true;
  bool select_last_ = false;
};

// LogSoftmax and Hardmax (revisions 1 and 11 flatten to 2-D at `axis`; 13+ work along `axis`) and
// LpNormalization (along `axis`): one kernel, chosen by op type (normalize.cc).
class AxisNormKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

  enum class Kind { kLogSoftmax, kHardmax, kLp };

 private:
  Kind kind_ = Kind::kLogSoftmax;
  ElemType type_ = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
  int64_t axis_ = -1;
  bool flatten_ = false;
  int p_ = 2;
};

// LayerNormalization-17: normalised over dims [axis, rank), Scale and optional B of that shape,
// optional Mean and InvStdDev outputs (float).
class LayerNormKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  ElemType type_ = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
  int64_t axis_ = -1;
  float epsilon_ = 1e-5f;
};

// InstanceNormalization ([N, C, ...], scale and B per channel) and GroupNormalization (revision 18:
// scale and bias per group; 21: per channel): one kernel (normalize.cc).
class ChannelNormKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  ElemType type_ = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
  bool group_ = false;
  bool per_channel_ = true;  // GroupNormalization-21 (and InstanceNormalization)
  int64_t groups_ = 1;
  float epsilon_ = 1e-5f;
};

// MeanVarianceNormalization (axes, default [0, 2, 3]).
class MeanVarianceNormKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  std::vector<int64_t> axes_;
};

class LrnKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  int64_t size_ = 1;
  float alpha_ = 1e-4f, beta_ = 0.75f, bias_ = 1.0f;
};

// GlobalMaxPool and GlobalLpPool ([N, C, spatial...] to [N, C, 1, ...]).
class GlobalPoolKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  bool max_ = true;
  int64_t p_ = 2;
};

// Einsum over explicit letters (diagonals, transposes, reductions, contractions of any number of
// operands); an equation with an ellipsis is not claimed (einsum.cc).
class EinsumKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  nn::EinsumSpec spec_;
  ElemType type_ = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
};

// ---- attention family (attention.cc, rms_norm.cc, rotary.cc)

// Attention-23/24 (and 25 without sliding windows): float and float16 (computed in float, rounded
// to half where ORT's CPU EP keeps half), 3-D or 4-D inputs, GQA, past/present, masks, softcap,
// qk_matmul_output, nonpad_kv_seqlen.
class AttentionKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  ElemType type_ = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
  bool causal_ = false;
  int64_t q_heads_ = 0, kv_heads_ = 0;  // attributes (0: absent)
  float scale_ = 0.0f;                  // 0: 1 / sqrt(head size)
  float softcap_ = 0.0f;
  int qk_mode_ = -1;  // -1: no qk_matmul_output
  bool present_ = false, present_key_ = false, present_value_ = false;
};

// RMSNormalization-23 (stash_type 1), float, double and float16 (in float).
class RmsNormKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  ElemType type_ = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
  int64_t axis_ = -1;
  float epsilon_ = 1e-5f;
};

// RotaryEmbedding-23, float and float16 (in float).
class RotaryKernel final : public Kernel {
 public:
  static Status Create(const NodeInfo& node, std::unique_ptr<Kernel>* out);
  Status Compute(ComputeContext& ctx) const override;

 private:
  bool half_ = false;
  bool interleaved_ = false;
  int64_t rot_ = 0, heads_ = 0;
};

}  // namespace anvil
