// Pieces shared by the oneDNN kernels: pre-packed weight buffers and primitive execution.
#pragma once
#include <array>
#include <optional>
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

}  // namespace anvil::dnnl_kernels
