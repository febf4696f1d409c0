// Pieces shared by the oneDNN kernels: pre-packed weight buffers and primitive execution.
#pragma once
#include <array>
#include <optional>
#include <string_view>
#include <vector>

#include "compute/dnnl/dnnl_util.h"
#include "kernels/kernel.h"

namespace anvil::dnnl_kernels {

using dnnl::memory;

// A weight after UsePacked: its layout (decoded from the buffer's own header) and its data.
struct PackedWeight {
  bool valid = false;
  memory::desc md;
  const void* data = nullptr;
  // A 2-D [K, N] weight in one of oneDNN's column-panel layouts (BA<r>a<width>b, which its brgemm
  // matmul picks: BA8a24b on AVX2): the panel width and padded row count, for nn::GemvPanels.
  // 0: another layout.
  int64_t gemv_width = 0, gemv_rows = 0;
};

// The weight a Compute call reads: the packed copy when there is one (with the shape the node
// declared), else the plain input `input` (never read once the weight is packed).
struct WeightInput {
  Shape shape;
  const void* data = nullptr;
};
inline WeightInput WeightFor(const PackedWeight& packed, const std::optional<Shape>& packed_shape,
                             const ComputeContext& ctx, size_t input) {
  if (packed.valid) return {*packed_shape, packed.data};
  TensorView w = ctx.Input(input);
  return {w.shape, w.data};
}

// Reorders `plain` (layout plain_md) into layout want_md, into two buffers from `sink`: the
// encoded descriptor, then the data. The bytes depend only on the weight value and want_md.
Status PackInto(const memory::desc& plain_md, const void* plain, const memory::desc& want_md, PackSink& sink);

// Reads buffers written by PackInto; `expected_dims` are the weight's logical oneDNN dims.
Status ReadPacked(const std::vector<const void*>& buffers, const std::vector<size_t>& sizes,
                  const memory::dims& expected_dims, PackedWeight* out);

// Memory from ctx.Scratch for a descriptor (64-byte aligned).
inline void* ScratchFor(ComputeContext& ctx, const memory::desc& md) { return ctx.Scratch(md.get_size()); }

// Appends the optional execution arguments, bound to this call's buffers: the bias (if any) and
// the scratchpad (if the primitive asked for one, from ctx's scratch memory). Returns the count.
template <size_t N>
int BindBiasAndScratchpad(ComputeContext& ctx, std::array<dnnl_exec_arg_t, N>& args, int nargs,
                          const memory& bias_m, const float* bias, const memory& scratch_m, size_t scratchpad) {
  if (bias) {
    bias_m.set_data_handle(const_cast<float*>(bias));
    args[nargs++] = {DNNL_ARG_BIAS, bias_m.get()};
  }
  if (scratchpad) {
    scratch_m.set_data_handle(ctx.Scratch(scratchpad));
    args[nargs++] = {DNNL_ARG_SCRATCHPAD, scratch_m.get()};
  }
  return nargs;
}

// A fused group's element-wise tail (PostOp) as oneDNN post-ops on an output of logical dims
// `dst`; binary steps read their operand (of shape operands[i].shape, right-aligned to dst) as
// a plain tensor. Returns false when a step has no oneDNN form.
struct DnnlTail {
  dnnl::post_ops ops;
  // The first step (an Add of a tensor of the output's shape) as oneDNN's sum post-op: the
  // caller puts the operand into the destination before the primitive runs.
  bool sum_first = false;
  struct BinaryArg {
    int index;  // the post-op's position in `ops`
    int step;   // the PostOp whose operand it reads
  };
  std::vector<BinaryArg> binaries;
  std::vector<memory::desc> operand_mds;  // per binary: its operand's layout
};
// Lowers post[0, count) (all of it by default).
// `channels_last`: the output (and the operands' ONNX shapes) are [N, spatial..., C] while `dst`
// is the logical [N, C, spatial...].
bool MakeDnnlTail(const std::vector<PostOp>& post, const TensorView* operands, const memory::dims& dst,
                  int first_index, DnnlTail* out, bool sum_first = false, size_t count = kMaxPostOps,
                  bool channels_last = false);
// Whether oneDNN would turn a NaN into something else at this step, where Anvil's kernels, like
// ORT's, keep it. Its binary Max and Min take max/min in that order; so do its eltwise Relu, Clip
// and HardSigmoid, unless this oneDNN has Anvil's patch for them (ANVIL_DNNL_KEEPS_NAN).
bool DropsNan(const PostOp& op);
// How many leading steps of a tail may go to oneDNN: up to the first that drops NaN or has no
// oneDNN form (a LayerNorm, a padded Add); the rest runs in Anvil's pass.
size_t DnnlTailSteps(const std::vector<PostOp>& post);
// Whether a tail may start with the sum post-op: its first step adds a tensor of dims `dst`.
bool CanSumFirst(const std::vector<PostOp>& post, const TensorView* operands, const memory::dims& dst,
                 bool channels_last = false);

// Binds a tail's operands for one call: appends {DNNL_ARG_ATTR_MULTIPLE_POST_OP(k) | SRC_1, m}
// per binary post-op to args. `mems` are the plan's memory objects over tail.operand_mds.
template <size_t N>
int BindTail(const TensorView* operands, const DnnlTail& tail, const std::vector<memory>& mems,
             std::array<dnnl_exec_arg_t, N>& args, int nargs) {
  for (size_t b = 0; b < tail.binaries.size(); ++b) {
    const DnnlTail::BinaryArg& a = tail.binaries[b];
    mems[b].set_data_handle(const_cast<void*>(operands[a.step].data));
    args[nargs++] = {DNNL_ARG_ATTR_MULTIPLE_POST_OP(a.index) | DNNL_ARG_SRC_1, mems[b].get()};
  }
  return nargs;
}

// The most binary post-ops a tail may have (the argument arrays are fixed-size): its tensor
// tensor operands.
constexpr size_t kMaxTailOperands = 8;

// Whether a primitive of this implementation (impl_info_str, with or without Anvil's "onednn:"
// prefix) applies post-ops inside its own kernel. oneDNN's reference code and its GEMM-based
// convolution and matmul apply them with scalar code, 10x slower than Anvil's pass.
bool AppliesPostOpsInKernel(std::string_view impl);

// A tail an anchor kernel's Fuse accepts: at most kMaxPostOps steps, kMaxTailOperands operands.
Status CheckTailSize(const std::vector<PostOp>& ops);

}  // namespace anvil::dnnl_kernels
