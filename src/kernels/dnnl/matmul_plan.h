// The matmul plan shared by MatMul, Gemm and the ConvTranspose that is one matrix product
// (kernel == stride): build once per shape, run with this call's buffers.
#pragma once
#include <array>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "kernels/dnnl/common.h"

namespace anvil::dnnl_kernels {

using dnnl::memory;

// How a MatMul runs for given shapes.
struct MatmulShapes {
  Shape y;
  bool folded = false;  // B is a single matrix: A's leading dims fold into M (a 2-D product)
  memory::dims src, wei, dst;
  int64_t k = 0;
};

// One shape's matmul: the primitive, a weight reorder when B is not pre-packed in the layout the
// primitive wants, and memory objects each call rebinds (a plan serves one call at a time).
struct MatmulPlan {
  MatmulShapes shapes;  // MatMul only (Gemm's shapes are a few scalars)
  int threads = 1;
  dnnl::matmul prim;
  memory::desc src_md, wei_user, wei_md, dst_md, bias_md;
  bool wei_reorder = false;
  dnnl::reorder wei_r;
  memory src_m, wei_user_m, wei_m, dst_m, bias_m, scratch_m;
  size_t scratchpad = 0;
  std::string impl;  // "onednn:" + the primitive's impl_info_str, for the profiler
  // A fused tail (Kernel::Fuse): its first dnnl_steps steps run as oneDNN post-ops after alpha and
  // sum_beta; the caller applies the rest (ApplyPostOps) after RunMatmul.
  size_t dnnl_steps = 0;
  DnnlTail tail;
  std::vector<memory> operand_m;
  // A constant B the primitive wants in another layout than it was packed in (the packing guessed
  // M): reordered once, when the plan is built (ReorderConstantWeight), and kept here.
  struct FreeBytes {
    void operator()(void* p) const { std::free(p); }
  };
  std::unique_ptr<void, FreeBytes> wei_own;
};

// A fused tail for BuildMatmul: the steps and this call's operands (by step, each of a shape that
// broadcasts into `y`, the ONNX output shape, which the primitive's dst may fold to 2-D).
struct MatmulTail {
  const std::vector<PostOp>* post = nullptr;
  const TensorView* operands = nullptr;
  Shape y;
};

// Builds the primitive (into `plan` if not null); returns the weight layout it wants. `wei_md` is
// format any when packing, else equal to wei_user. y = tail(alpha * (A x B) + sum_beta * y (+ bias)).
// With a tail, the leading steps oneDNN can run without dropping NaN go in as post-ops
// (plan->dnnl_steps of them) unless that makes oneDNN pick its reference or GEMM-based code,
// which apply post-ops with scalar code; then none do.
memory::desc BuildMatmul(const memory::desc& src_md, const memory::desc& wei_user, bool any_weights,
                         const memory::desc& bias_md, const memory::desc& dst_md, float alpha, float sum_beta,
                         MatmulPlan* plan, const MatmulTail* tail = nullptr);

// A packed constant B (data `w`) that the plan wants in another layout: reordered into the plan
// once (plan->wei_own), so that no call reorders it.
void ReorderConstantWeight(MatmulPlan* plan, const void* w);

// Runs a plan on this call's buffers (ctx gives scratch memory). `operands`: the tail's, by step.
void RunMatmul(ComputeContext& ctx, const MatmulPlan& p, const float* a, const void* w, const float* bias, float* y,
               const TensorView* operands = nullptr);

// Packs a constant B (layout `plain`) into the layout the matmul primitive prefers for a nominal
// problem src x B -> dst. If oneDNN cannot build that primitive, B stays unpacked (packed=false).
Status PackMatmulWeight(const memory::desc& src, const memory::desc& plain, const memory::desc& dst,
                        const TensorView& weight, PackSink& sink, bool& packed);

}  // namespace anvil::dnnl_kernels
