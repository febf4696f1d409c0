#include "kernels/dnnl/common.h"

#include <algorithm>
#include <cstring>

#include "compute/nn/gemv.h"

namespace anvil::dnnl_kernels {

Status PackInto(const memory::desc& plain_md, const void* plain, const memory::desc& want_md, PackSink& sink) {
  return dnnl_util::Catch("packing weights", [&]() -> Status {
    const std::vector<uint8_t> enc = dnnl_util::EncodeDesc(want_md);
    void* header = sink.Allocate(enc.size(), dnnl_util::DescIdentity(want_md));
    std::memcpy(header, enc.data(), enc.size());
    const size_t bytes = want_md.get_size();
    void* data = sink.Allocate(bytes);
    std::memset(data, 0, bytes);  // blocked layouts pad; keep the padding deterministic
    dnnl_util::Reorder(plain_md, plain, want_md, data);
    return {};
  });
}

Status ReadPacked(const std::vector<const void*>& buffers, const std::vector<size_t>& sizes,
                  const memory::dims& expected_dims, PackedWeight* out) {
  ANVIL_CHECK(buffers.size() == 2 && sizes.size() == 2, "pre-packed weight has an unexpected buffer layout");
  memory::desc md;
  ANVIL_CHECK(dnnl_util::DecodeDesc(buffers[0], sizes[0], &md), "pre-packed weight has an invalid header");
  ANVIL_CHECK(md.get_dims() == expected_dims, "pre-packed weight has other dimensions than the node expects");
  ANVIL_CHECK(sizes[1] >= md.get_size(), "pre-packed weight buffer is too small");
  out->md = md;
  out->data = buffers[1];
  out->valid = true;
  out->gemv_width = out->gemv_rows = 0;
  // oneDNN's BA<r>a<w>b: [N/w][K/r][r][w], i.e. panels of w columns, each K (padded) rows of w.
  if (expected_dims.size() == 2 && md.get_data_type() == memory::data_type::f32) {
    const memory::dims blocks = md.get_inner_blks(), idxs = md.get_inner_idxs(), strides = md.get_strides();
    const memory::dims padded = md.get_padded_dims();
    if (blocks.size() == 2 && idxs == memory::dims{0, 1} && nn::IsGemvPanelWidth(blocks[1]) &&
        strides[0] == blocks[0] * blocks[1] && strides[1] == padded[0] * blocks[1]) {
      out->gemv_width = blocks[1];
      out->gemv_rows = padded[0];
    }
  }
  return {};
}

}  // namespace anvil::dnnl_kernels

namespace anvil::dnnl_kernels {

namespace {
// A binary operand of ONNX shape d (already of the output's rank) over the logical dims.
memory::desc OperandDesc(const memory::dims& d, bool channels_last) {
  if (!channels_last || d.size() < 3) return dnnl_util::RowMajor(d);
  memory::dims strides(d.size());
  int64_t s = 1;
  for (size_t i = d.size(); i-- > 0;) {
    strides[i] = s;
    s *= d[i];
  }
  // logical [N, C, spatial...] from ONNX [N, spatial..., C]
  memory::dims ld = {d[0], d[d.size() - 1]}, ls = {strides[0], strides[d.size() - 1]};
  for (size_t i = 1; i + 1 < d.size(); ++i) {
    ld.push_back(d[i]);
    ls.push_back(strides[i]);
  }
  return dnnl_util::Strided(ld, ls);
}
}  // namespace

bool MakeDnnlTail(const std::vector<PostOp>& post, const TensorView* operands, const memory::dims& dst,
                  int first_index, DnnlTail* out, bool sum_first, size_t count, bool channels_last) {
  count = std::min(count, post.size());
  using K = PostOp::Kind;
  using A = dnnl::algorithm;
  *out = DnnlTail{};
  auto binary = [&](A alg, const memory::desc& md, int step) {
    out->binaries.push_back({first_index + out->ops.len(), step});
    out->operand_mds.push_back(md);
    out->ops.append_binary(alg, md);
  };
  if (sum_first) {
    if (!CanSumFirst(post, operands, dst, channels_last)) return false;
    out->ops.append_sum(1.f);
    out->sum_first = true;
  }
  for (size_t i = sum_first ? 1 : 0; i < count; ++i) {
    const PostOp& op = post[i];
    if (op.binary()) {
      A alg;
      switch (op.kind) {
        case K::kAdd: alg = A::binary_add; break;
        case K::kSub: alg = A::binary_sub; break;
        case K::kMul: alg = A::binary_mul; break;
        case K::kDiv: alg = A::binary_div; break;
        case K::kMax: alg = A::binary_max; break;
        case K::kMin: alg = A::binary_min; break;
        default: return false;
      }
      const Shape& s = operands[i].shape;
      if (s.size() > dst.size()) return false;
      memory::dims d(dst.size() - s.size(), 1);
      d.insert(d.end(), s.begin(), s.end());
      if (DropsNan(op)) return false;
      binary(alg, OperandDesc(d, channels_last), static_cast<int>(i));
      continue;
    }
    if (DropsNan(op)) return false;
    A alg;
    switch (op.kind) {
      case K::kRelu: alg = A::eltwise_relu; break;
      case K::kSigmoid: alg = A::eltwise_logistic; break;
      case K::kTanh: alg = A::eltwise_tanh; break;
      case K::kHardSwish: alg = A::eltwise_hardswish; break;
      case K::kSwish: alg = A::eltwise_swish; break;
      case K::kElu: alg = A::eltwise_elu; break;
      case K::kLinear: alg = A::eltwise_linear; break;
      case K::kAbs: alg = A::eltwise_abs; break;
      case K::kGeluErf: alg = A::eltwise_gelu_erf; break;
      case K::kGeluTanh: alg = A::eltwise_gelu_tanh; break;
      case K::kClip: alg = A::eltwise_clip; break;  // [alpha, beta]; +-inf for a missing bound
      case K::kHardSigmoid: alg = A::eltwise_hardsigmoid; break;
      default: return false;
    }
    out->ops.append_eltwise(alg, op.alpha, op.beta);
  }
  return out->binaries.size() <= kMaxTailOperands;
}

bool AppliesPostOpsInKernel(std::string_view impl) {
  if (impl.substr(0, 7) == "onednn:") impl.remove_prefix(7);
  return impl.substr(0, 3) != "ref" && impl.find("gemm") == std::string_view::npos;
}

Status CheckTailSize(const std::vector<PostOp>& ops) {
  ANVIL_CHECK(ops.size() <= kMaxPostOps, "a fused tail of ", ops.size(), " steps is too long");
  size_t binaries = 0;
  for (const PostOp& op : ops) binaries += op.binary();
  ANVIL_CHECK(binaries <= kMaxTailOperands, "a fused tail with ", binaries, " tensor operands");
  return {};
}

bool DropsNan(const PostOp& op) {
  using K = PostOp::Kind;
#if ANVIL_DNNL_KEEPS_NAN
  constexpr bool kUnaryDropsNan = false;  // scripts/onednn_patches/keep-nan-in-relu-clip-hardsigmoid.patch
#else
  constexpr bool kUnaryDropsNan = true;
#endif
  return (kUnaryDropsNan && ((op.kind == K::kRelu && op.alpha == 0.f) || op.kind == K::kClip ||
                             op.kind == K::kHardSigmoid)) ||
         op.kind == K::kMax || op.kind == K::kMin;
}

size_t DnnlTailSteps(const std::vector<PostOp>& post) {
  size_t n = 0;
  while (n < post.size() && !DropsNan(post[n]) && !post[n].anvil_only()) ++n;
  return n;
}

bool CanSumFirst(const std::vector<PostOp>& post, const TensorView* operands, const memory::dims& dst,
                 bool channels_last) {
  if (post.empty() || post[0].kind != PostOp::Kind::kAdd) return false;
  // channels-last: the ONNX [N, spatial..., C] against the logical [N, C, spatial...]
  const Shape s = channels_last ? ChannelsFirst(operands[0].shape) : operands[0].shape;
  return s.size() == dst.size() && std::equal(s.begin(), s.end(), dst.begin());
}

}  // namespace anvil::dnnl_kernels
