// Conv and ConvTranspose on oneDNN's convolution / deconvolution primitives (1-D, 2-D, 3-D, NCHW
// and NHWC), and the two shapes Anvil runs better itself: ConvTranspose whose kernel equals its
// stride (one matrix product + a scatter) and channels-last pointwise Conv (compute/nn/pointwise_conv.h).
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <array>
#include <string>
#include <vector>

#include "compute/nn/pointwise_conv.h"
#include "compute/parallel.h"
#include "fusion/post_ops.h"
#include "kernels/dnnl/common.h"
#include "kernels/dnnl/dnnl.h"
#include "kernels/dnnl/matmul_plan.h"

namespace anvil {
namespace {

using dnnl::memory;
using dnnl_kernels::PackedWeight;
namespace du = dnnl_util;

constexpr ElemType kF32 = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;

struct ConvAttrs {
  bool transpose = false;
  bool nhwc = false;  // the com.ms.internal.nhwc domain: X and Y are [N, spatial..., C]
  int64_t nsp = 0;  // spatial rank
  std::string auto_pad = "NOTSET";
  int64_t group = 1;
  std::vector<int64_t> kernel_shape, strides, dilations, pads, output_padding, output_shape;
};

// NHWC nodes: ONNX shapes are [N, spatial..., C]; the kernel computes on the logical
// [N, C, spatial...] (oneDNN's dims) and reads and writes channels-last memory.
Shape Logical(const Shape& s, bool nhwc) { return nhwc ? ChannelsFirst(s) : s; }
Shape Physical(const Shape& logical, bool nhwc) { return nhwc ? ChannelsLast(logical) : logical; }

Status ParseAttrs(const NodeInfo& node, bool transpose, bool nhwc, ConvAttrs* a) {
  a->transpose = transpose;
  a->nhwc = nhwc;
  ANVIL_CHECK(node.InputType(0) == kF32, "only float is supported");
  ANVIL_CHECK(node.InputPresent(1) && node.InputType(1) == kF32, "W must be a float tensor");
  if (node.InputPresent(2)) ANVIL_CHECK(node.InputType(2) == kF32, "B must be a float tensor");
  a->auto_pad = node.String("auto_pad", "NOTSET");
  ANVIL_CHECK(a->auto_pad == "NOTSET" || a->auto_pad == "SAME_UPPER" || a->auto_pad == "SAME_LOWER" ||
                  a->auto_pad == "VALID",
              "unknown auto_pad '", a->auto_pad, "'");
  a->group = node.Int("group", 1);
  ANVIL_CHECK(a->group >= 1, "group must be positive");
  a->kernel_shape = node.Ints("kernel_shape", {});
  a->strides = node.Ints("strides", {});
  a->dilations = node.Ints("dilations", {});
  a->pads = node.Ints("pads", {});
  // As ORT's CPU EP: explicit pads only with auto_pad NOTSET (it refuses the node otherwise).
  ANVIL_CHECK(a->auto_pad == "NOTSET" || !node.Ints("pads").has_value(), "auto_pad ", a->auto_pad,
              " together with explicit pads is not valid");
  if (transpose) {
    a->output_padding = node.Ints("output_padding", {});
    a->output_shape = node.Ints("output_shape", {});
  }

  std::optional<Shape> x = node.InputShape(0), w = node.InputShape(1);
  if (x) x = Logical(*x, nhwc);
  int64_t rank = -1;
  if (x) rank = static_cast<int64_t>(x->size());
  if (w) {
    ANVIL_CHECK(rank < 0 || static_cast<int64_t>(w->size()) == rank, "X has rank ", rank, " but W has rank ",
                w->size());
    rank = static_cast<int64_t>(w->size());
  }
  if (rank < 0 && !a->kernel_shape.empty()) rank = static_cast<int64_t>(a->kernel_shape.size()) + 2;
  ANVIL_CHECK(rank >= 0, "the rank of X and W is unknown");
  ANVIL_CHECK(rank >= 3 && rank <= 5, "only 1-D, 2-D and 3-D convolutions are supported (rank ", rank, ")");
  const int64_t nsp = rank - 2;
  a->nsp = nsp;
  auto sized = [&](const std::vector<int64_t>& v, int64_t n) { return v.empty() || static_cast<int64_t>(v.size()) == n; };
  ANVIL_CHECK(sized(a->kernel_shape, nsp), "kernel_shape has ", a->kernel_shape.size(), " values for ", nsp, " spatial dims");
  ANVIL_CHECK(sized(a->strides, nsp), "strides has ", a->strides.size(), " values for ", nsp, " spatial dims");
  ANVIL_CHECK(sized(a->dilations, nsp), "dilations has ", a->dilations.size(), " values for ", nsp, " spatial dims");
  ANVIL_CHECK(sized(a->pads, 2 * nsp), "pads has ", a->pads.size(), " values for ", nsp, " spatial dims");
  ANVIL_CHECK(sized(a->output_padding, nsp), "output_padding has ", a->output_padding.size(), " values");
  if (static_cast<int64_t>(a->output_shape.size()) == nsp + 2)
    a->output_shape.erase(a->output_shape.begin(), a->output_shape.begin() + 2);
  ANVIL_CHECK(sized(a->output_shape, nsp), "output_shape has ", a->output_shape.size(), " values");
  for (int64_t v : a->strides) ANVIL_CHECK(v >= 1, "strides must be positive");
  for (int64_t v : a->dilations) ANVIL_CHECK(v >= 1, "dilations must be positive");
  for (int64_t v : a->pads) ANVIL_CHECK(v >= 0, "pads must be non-negative");
  for (int64_t v : a->kernel_shape) ANVIL_CHECK(v >= 1, "kernel_shape must be positive");
  for (int64_t v : a->output_padding) ANVIL_CHECK(v >= 0, "output_padding must be non-negative");
  for (int64_t v : a->output_shape) ANVIL_CHECK(v >= 0, "output_shape must be non-negative");
  if (w) {
    for (int64_t i = 0; i < nsp && !a->kernel_shape.empty(); ++i) {
      const int64_t k = (*w)[2 + i];
      ANVIL_CHECK(k < 0 || k == a->kernel_shape[i], "kernel_shape disagrees with W's shape ", ToString(*w));
    }
    const int64_t w0 = (*w)[0], w1 = (*w)[1];
    ANVIL_CHECK(w0 < 0 || w0 % a->group == 0, "W's first dim ", w0, " is not a multiple of group ", a->group);
    if (x && (*x)[1] >= 0) {
      if (!transpose) ANVIL_CHECK(w1 < 0 || (*x)[1] == w1 * a->group, "X has ", (*x)[1], " channels, W expects ", w1, "x", a->group);
      if (transpose) ANVIL_CHECK(w0 < 0 || (*x)[1] == w0, "X has ", (*x)[1], " channels, W expects ", w0);
    }
  }
  if (node.InputPresent(2)) {
    std::optional<Shape> b = node.InputShape(2);
    ANVIL_CHECK(!b || b->size() == 1, "B must be 1-D");
  }
  return {};
}

// Everything one (shape-specific) run needs to know, in ONNX and oneDNN terms.
struct Geometry {
  Shape y;                                    // ONNX output shape, logical (NCHW) order
  Shape y_out;                                // the output as ORT sees it (NHWC for NHWC nodes)
  memory::dims src, wei, dst;                 // oneDNN logical dims
  memory::dims strides, dil, pl, pr;          // oneDNN: dilation 0 = dense
  int64_t out_channels = 0;
  bool bias_only = false;                     // nothing to convolve: the output is the bias (or 0)
  // ConvTranspose whose pads oneDNN cannot express (negative after output_padding/output_shape):
  // oneDNN computes `dst`, which is copied into y shifted by `offset` (y[o] = dst[o + offset]).
  bool crop = false;
  int64_t offset[3] = {0, 0, 0};
};

int64_t At(const std::vector<int64_t>& v, int64_t i, int64_t dflt) { return v.empty() ? dflt : v[i]; }

memory::dims WeightDims(const ConvAttrs& a, const Shape& w) {
  const int64_t g = a.group;
  memory::dims d;
  if (!a.transpose) {
    if (g > 1) d = {g, w[0] / g, w[1]};
    else d = {w[0], w[1]};
  } else {
    if (g > 1) d = {g, w[1], w[0] / g};
    else d = {w[1], w[0]};
  }
  for (size_t i = 2; i < w.size(); ++i) d.push_back(w[i]);
  return d;
}

// The plain (ONNX) layout of W as a oneDNN descriptor over WeightDims.
memory::desc PlainWeightDesc(const ConvAttrs& a, const Shape& w) {
  memory::dims dims = WeightDims(a, w);
  if (!a.transpose) return du::RowMajor(dims);
  // ONNX ConvTranspose W is [G * C/G, M/G, k...]; oneDNN's logical order is [G,] M/G, C/G, k...
  int64_t k = 1;
  for (size_t i = 2; i < w.size(); ++i) k *= w[i];
  const int64_t mg = w[1], cg = w[0] / a.group;
  memory::dims strides;
  if (a.group > 1) strides = {cg * mg * k, k, mg * k};
  else strides = {k, mg * k};
  int64_t s = 1;
  memory::dims sp;
  for (size_t i = w.size(); i-- > 2;) {
    sp.insert(sp.begin(), s);
    s *= w[i];
  }
  strides.insert(strides.end(), sp.begin(), sp.end());
  return du::Strided(dims, strides);
}

Status ComputeGeometry(const ConvAttrs& a, const Shape& x, const Shape& w, Geometry* g) {
  const int64_t nsp = a.nsp;
  ANVIL_CHECK(static_cast<int64_t>(x.size()) == nsp + 2, "X has shape ", ToString(x), ", expected rank ", nsp + 2);
  ANVIL_CHECK(static_cast<int64_t>(w.size()) == nsp + 2, "W has shape ", ToString(w), ", expected rank ", nsp + 2);
  const int64_t n = x[0], c = x[1], grp = a.group;
  ANVIL_CHECK(w[0] % grp == 0, "W's first dim ", w[0], " is not a multiple of group ", grp);
  int64_t m;
  if (!a.transpose) {
    ANVIL_CHECK(c == w[1] * grp, "X has ", c, " channels but W ", ToString(w), " with group ", grp, " expects ", w[1] * grp);
    m = w[0];
  } else {
    ANVIL_CHECK(c == w[0], "X has ", c, " channels but W ", ToString(w), " expects ", w[0]);
    m = w[1] * grp;
  }
  g->out_channels = m;
  g->y = {n, m};
  g->src = {n, c};
  g->dst = {n, m};
  g->wei = WeightDims(a, w);
  g->strides.clear(), g->dil.clear(), g->pl.clear(), g->pr.clear();
  bool empty_kernel = c == 0 || m == 0;
  for (int64_t i = 0; i < nsp; ++i) {
    const int64_t k = w[2 + i], in = x[2 + i];
    ANVIL_CHECK(a.kernel_shape.empty() || a.kernel_shape[i] == k, "kernel_shape disagrees with W ", ToString(w));
    if (k == 0) empty_kernel = true;
    const int64_t s = At(a.strides, i, 1), d = At(a.dilations, i, 1);
    const int64_t dk = (std::max<int64_t>(k, 1) - 1) * d + 1;
    int64_t pl = 0, pr = 0, out = 0;
    if (!a.transpose) {
      if (in == 0) empty_kernel = true;  // all padding: the output is the bias
      if (a.auto_pad == "NOTSET") {
        pl = At(a.pads, i, 0), pr = At(a.pads, i + nsp, 0);
        ANVIL_CHECK(in + pl + pr >= dk, "input size ", in, " (padded ", in + pl + pr, ") is smaller than the kernel extent ", dk);
        out = (in + pl + pr - dk) / s + 1;
      } else if (a.auto_pad == "VALID") {
        ANVIL_CHECK(in >= dk, "input size ", in, " is smaller than the kernel extent ", dk);
        out = (in - dk) / s + 1;
      } else {
        out = (in + s - 1) / s;
        const int64_t total = std::max<int64_t>(0, (out - 1) * s + dk - in);
        pl = a.auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
        pr = total - pl;
      }
      g->src.push_back(in);
      g->dst.push_back(out);
      g->y.push_back(out);
      g->pl.push_back(pl);
      g->pr.push_back(pr);
    } else {
      const int64_t op = At(a.output_padding, i, 0);
      const int64_t full = s * (in - 1) + op + dk;
      if (!a.output_shape.empty() || a.auto_pad == "SAME_UPPER" || a.auto_pad == "SAME_LOWER") {
        out = !a.output_shape.empty() ? a.output_shape[i] : in * s;
        const int64_t total = full - out;
        // Floor division keeps the split right for negative totals too.
        const int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2);
        pl = a.auto_pad == "SAME_UPPER" ? half : total - half;
        pr = total - pl;
      } else if (a.auto_pad == "VALID") {
        out = full;
      } else {
        pl = At(a.pads, i, 0), pr = At(a.pads, i + nsp, 0);
        out = full - pl - pr;
      }
      ANVIL_CHECK(out >= 0, "ConvTranspose output size would be ", out);
      g->y.push_back(out);
      g->src.push_back(in);
      // oneDNN's natural output is s*(in-1)+dk; output_padding is a negative right pad.
      const int64_t rpad = pr - op;
      int64_t l = pl, r = rpad;
      if (l < 0 || r < 0) {
        g->crop = true;
        l = std::max<int64_t>(l, 0);
        r = std::max<int64_t>(r, 0);
      }
      const int64_t inner = s * (in - 1) + dk - l - r;
      if (inner <= 0 || in == 0) empty_kernel = true;
      g->dst.push_back(std::max<int64_t>(inner, 0));
      g->pl.push_back(l);
      g->pr.push_back(r);
      if (nsp <= 3) g->offset[3 - nsp + i] = pl - l;  // y[o] = dst[o + pl - l]
    }
    g->strides.push_back(s);
    g->dil.push_back(d - 1);
  }
  g->bias_only = empty_kernel;
  return {};
}

// ---- plans ----

enum class Layout { kAuto, kAny, kPlain, kBlocked };

Layout LayoutOverride() {
  static const Layout layout = [] {
    const char* v = std::getenv("ANVIL_DNNL_CONV_LAYOUT");
    if (v && std::strcmp(v, "any") == 0) return Layout::kAny;
    if (v && std::strcmp(v, "plain") == 0) return Layout::kPlain;
    if (v && std::strcmp(v, "blocked") == 0) return Layout::kBlocked;
    return Layout::kAuto;
  }();
  return layout;
}

// Whether to run the convolution directly on plain NCHW activations instead of letting oneDNN
// choose a blocked layout and reordering in and out.
bool UsePlainActivations(const ConvAttrs& a, const Geometry& g) {
  switch (LayoutOverride()) {
    case Layout::kAny:
    case Layout::kBlocked: return false;
    case Layout::kPlain: return true;
    case Layout::kAuto: break;
  }
  // Measured (bench/bench_kernels.py, oneDNN 2.6 on AVX-512, 2 threads): on plain tensors oneDNN
  // falls back to its GEMM-based convolution. That is as fast or faster than blocked layouts plus
  // reorders for pointwise (1x1, stride 1, unpadded, ungrouped) convolutions, which are plain
  // GEMMs, and for PaddleOCR's 2x2 stride-2 ConvTranspose; depthwise and spatial kernels are 2-6x
  // slower on plain tensors, so those use blocked layouts (UseBlockedActivations).
  // ANVIL_DNNL_CONV_LAYOUT=any|plain|blocked overrides the choice, for benchmarking.
  if (a.transpose) return true;
  if (a.group != 1) return false;
  for (size_t i = 2; i < g.wei.size(); ++i)
    if (g.wei[i] != 1) return false;
  for (size_t i = 0; i < g.strides.size(); ++i)
    if (g.strides[i] != 1 || g.pl[i] != 0 || g.pr[i] != 0) return false;
  return true;
}

// Whether to ask for channel-blocked activations (nChw16c / nChw8c) rather than letting oneDNN
// choose: see BuildPrimitive.
bool UseBlockedActivations(const ConvAttrs& a, const Geometry& g) {
  switch (LayoutOverride()) {
    case Layout::kBlocked: return true;
    case Layout::kAny:
    case Layout::kPlain: return false;
    case Layout::kAuto: break;
  }
  // Left to choose, oneDNN 2.6 picks nhwc activations for most float convolutions on AVX-512,
  // and the nchw <-> nhwc reorders then cost 2-3x the convolution itself for depthwise layers.
  // nchw <-> nChw16c reorders are much cheaper, and the direct/depthwise kernels on nChw16c are
  // as fast (measured: depthwise 3x3 C=480 @20x20 0.11 ms vs 0.25 ms, 1 thread). With few input
  // channels (a network's first layer) the blocked kernels pad C to 16 and a slow implementation
  // is picked, so there oneDNN chooses.
  return !a.transpose && g.src[1] >= 16;
}

// The channel-blocked format for `ndims`-D activations on this CPU (16 lanes with AVX-512, else 8).
memory::format_tag BlockedTag(size_t ndims) {
  const bool wide = du::WideVectors();
  using tag = memory::format_tag;
  if (ndims == 3) return wide ? tag::nCw16c : tag::nCw8c;
  if (ndims == 4) return wide ? tag::nChw16c : tag::nChw8c;
  return wide ? tag::nCdhw16c : tag::nCdhw8c;
}

// Everything one shape needs: the primitive, the reorders around it, and memory objects that each
// call rebinds to its own buffers (a plan serves one call at a time, see du::PlanPool).
struct Plan {
  Geometry g;
  int threads = 1;
  bool pointwise = false;  // runs on Anvil's pointwise kernel (nothing of oneDNN's below is set)
  bool nhwc = false;       // channels-last activations (the NHWC domain)
  dnnl_kernels::MatmulPlan patches;  // ConvTranspose as one matrix product (IsPatchScatter)
  dnnl::primitive prim;
  memory::desc src_user, dst_user, wei_user;  // plain activations; the weight as we hold it
  memory::desc src_md, dst_md, wei_md;        // what the primitive wants
  bool src_reorder = false, dst_reorder = false, wei_reorder = false;
  dnnl::reorder src_r, dst_r, wei_r;
  memory src_user_m, src_m, wei_user_m, wei_m, dst_m, dst_user_m, bias_m, scratch_m;
  size_t scratchpad = 0;
  std::string impl;  // "onednn:" + the primitive's impl_info_str, for the profiler
  // A fused tail: its first dnnl_steps steps as oneDNN post-ops (tail_in_dnnl), the rest applied
  // by ApplyPostOps after the run.
  bool tail_in_dnnl = false;
  size_t dnnl_steps = 0;
  dnnl_kernels::DnnlTail tail;
  std::vector<memory> operand_m;
  dnnl::reorder sum_r;  // tail.sum_first with a reordered output: the operand into dst_md
  memory sum_src_m;
  // A constant weight the primitive wants in another layout than it was packed in (the packing
  // guessed the shape): reordered once, when the plan is built, and kept here.
  struct FreeBytes {
    void operator()(void* p) const { std::free(p); }
  };
  std::unique_ptr<void, FreeBytes> wei_own;
};

template <typename PD>
void FillPlan(const PD& pd, bool has_bias, Plan* p) {
  const dnnl::engine& eng = du::CpuEngine();
  p->src_md = pd.src_desc();
  p->dst_md = pd.dst_desc();
  p->wei_md = pd.weights_desc();
  p->scratchpad = pd.scratchpad_desc().get_size();
  p->src_reorder = p->src_md != p->src_user;
  p->dst_reorder = p->dst_md != p->dst_user;
  p->wei_reorder = p->wei_md != p->wei_user;
  if (p->src_reorder) p->src_r = dnnl::reorder(dnnl::reorder::primitive_desc(eng, p->src_user, eng, p->src_md));
  if (p->dst_reorder) p->dst_r = dnnl::reorder(dnnl::reorder::primitive_desc(eng, p->dst_md, eng, p->dst_user));
  if (p->wei_reorder) p->wei_r = dnnl::reorder(dnnl::reorder::primitive_desc(eng, p->wei_user, eng, p->wei_md));
  p->src_user_m = du::Unbound(p->src_user);
  p->src_m = du::Unbound(p->src_md);
  p->wei_user_m = du::Unbound(p->wei_user);
  p->wei_m = du::Unbound(p->wei_md);
  p->dst_m = du::Unbound(p->dst_md);
  p->dst_user_m = du::Unbound(p->dst_user);
  if (has_bias) p->bias_m = du::Unbound(du::RowMajor({p->g.out_channels}));
  if (p->scratchpad)
    p->scratch_m = du::Unbound(memory::desc({static_cast<int64_t>(p->scratchpad)}, memory::data_type::u8,
                                            memory::format_tag::a));
}

// The primitive descriptor's weight layout only (for pre-packing), or a full plan.
template <typename PD>
memory::desc TakePrimitive(const PD& pd, bool has_bias, Plan* plan, bool* reference_impl) {
  *reference_impl = std::strncmp(pd.impl_info_str(), "ref", 3) == 0;
  if (plan) {
    FillPlan(pd, has_bias, plan);
    plan->prim = dnnl::primitive(pd);
    plan->impl = std::string("onednn:") + pd.impl_info_str();
  }
  return pd.weights_desc();
}

memory::desc BuildWith(const ConvAttrs& a, const Geometry& g, const memory::desc& src_md, const memory::desc& dst_md,
                       const memory::desc& bias_md, const dnnl::post_ops* post, Plan* plan, bool* reference_impl) {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (post != nullptr && post->len() > 0) attr.set_post_ops(*post);
  const memory::desc wei_md = du::Any(g.wei);
  const bool has_bias = bias_md.get_ndims() > 0;
  const dnnl::engine& eng = du::CpuEngine();
  if (!a.transpose) {
    dnnl::convolution_forward::primitive_desc pd(eng, dnnl::prop_kind::forward_inference,
                                                 dnnl::algorithm::convolution_direct, src_md, wei_md, bias_md, dst_md,
                                                 g.strides, g.dil, g.pl, g.pr, attr);
    // A depthwise convolution (one input and one output channel per group): oneDNN 3.7 ranks its
    // brgemm kernel (brdgmm_dw) first, but on AVX-512 its direct kernel (jit_dw) ran every
    // depthwise shape of the public models as fast (within 5 %) or up to 40 % faster alone, and
    // BlazeFace 9 % faster whole (AMD Zen 5). Only there: on an AVX2-only CPU nothing was
    // measured, and oneDNN's choice stays. Pre-packing goes through here too, so the packed
    // weights are in the chosen kernel's layout. ANVIL_DNNL_CONV_IMPL=<prefix> overrides the
    // choice, for benchmarking.
    static const char* override_impl = std::getenv("ANVIL_DNNL_CONV_IMPL");
    const bool depthwise = g.wei.size() >= 5 && g.wei[1] == 1 && g.wei[2] == 1;
    du::PreferImpl(pd, override_impl ? override_impl : depthwise ? "jit_dw:avx512" : nullptr);
    return TakePrimitive(pd, has_bias, plan, reference_impl);
  }
  dnnl::deconvolution_forward::primitive_desc pd(eng, dnnl::prop_kind::forward_inference,
                                                 dnnl::algorithm::deconvolution_direct, src_md, wei_md, bias_md, dst_md,
                                                 g.strides, g.dil, g.pl, g.pr, attr);
  return TakePrimitive(pd, has_bias, plan, reference_impl);
}

// Activations as ORT holds them: row-major NCHW, or channels-last for NHWC nodes.
memory::desc ActivationDesc(const memory::dims& d, bool nhwc) {
  if (!nhwc) return du::RowMajor(d);
  memory::dims strides(d.size());
  int64_t s = 1;
  strides[1] = s;
  s *= d[1];
  for (size_t i = d.size(); i-- > 2;) {
    strides[i] = s;
    s *= d[i];
  }
  strides[0] = s;
  return du::Strided(d, strides);
}

// Creates the primitive (and with `plan`, everything to run it); returns its weight layout.
// `post`: oneDNN post-ops to attach (a fused tail), or null.
memory::desc BuildPrimitive(const ConvAttrs& a, const Geometry& g, bool has_bias, const memory::desc& wei_user,
                            const dnnl::post_ops* post, Plan* plan) {
  memory::desc src_user = ActivationDesc(g.src, a.nhwc), dst_user = ActivationDesc(g.dst, a.nhwc);
  memory::desc bias_md = has_bias ? du::RowMajor({g.out_channels}) : memory::desc();
  if (plan) {  // plan->g already holds g (DoCompute computes it in place)
    plan->src_user = src_user;
    plan->dst_user = dst_user;
    plan->wei_user = wei_user;
  }
  bool reference_impl = false;
  if (a.nhwc) {  // the point of NHWC: oneDNN runs on the tensors as they are
    memory::desc wei = BuildWith(a, g, src_user, dst_user, bias_md, post, plan, &reference_impl);
    if (!reference_impl) return wei;
    return BuildWith(a, g, du::Any(g.src), du::Any(g.dst), bias_md, post, plan, &reference_impl);
  }
  if (UsePlainActivations(a, g)) return BuildWith(a, g, src_user, dst_user, bias_md, post, plan, &reference_impl);
  if (UseBlockedActivations(a, g)) {
    const memory::format_tag tag = BlockedTag(g.src.size());
    try {
      memory::desc wei = BuildWith(a, g, memory::desc(g.src, memory::data_type::f32, tag),
                                   memory::desc(g.dst, memory::data_type::f32, tag), bias_md, post, plan,
                                   &reference_impl);
      if (!reference_impl) return wei;
    } catch (const dnnl::error&) {
      // no implementation for that layout
    }
  }
  // Let oneDNN choose.
  return BuildWith(a, g, du::Any(g.src), du::Any(g.dst), bias_md, post, plan, &reference_impl);
}

// y[n, m, o] = dst[n, m, o + offset] where inside dst, else bias[m] (or 0).
// Channels-last (nhwc): y[n, o, m] = dst[n, o + offset, m], a pixel of the m channels at a time.
void CropCopy(const Geometry& g, const float* dst, const float* bias, float* y, bool nhwc) {
  int64_t od[3] = {1, 1, 1}, id[3] = {1, 1, 1};
  const size_t nsp = g.y.size() - 2;
  for (size_t i = 0; i < nsp; ++i) {
    od[3 - nsp + i] = g.y[2 + i];
    id[3 - nsp + i] = g.dst[2 + i];
  }
  if (nhwc) {
    const int64_t m = g.y[1], rows = g.y[0] * od[0] * od[1];
    ParallelFor(rows, od[2] * m, [&](int64_t b, int64_t e) {
      for (int64_t row = b; row < e; ++row) {
        const int64_t r = row % od[1], z = (row / od[1]) % od[0], n = row / (od[0] * od[1]);
        const int64_t sz = z + g.offset[0], sr = r + g.offset[1];
        const bool inside = sz >= 0 && sz < id[0] && sr >= 0 && sr < id[1];
        float* out = y + row * od[2] * m;
        for (int64_t c = 0; c < od[2]; ++c) {
          const int64_t sc = c + g.offset[2];
          float* px = out + c * m;
          if (inside && sc >= 0 && sc < id[2]) {
            std::memcpy(px, dst + (((n * id[0] + sz) * id[1] + sr) * id[2] + sc) * m, sizeof(float) * m);
          } else {
            for (int64_t k = 0; k < m; ++k) px[k] = bias ? bias[k] : 0.f;
          }
        }
      }
    });
    return;
  }
  const int64_t planes = g.y[0] * g.y[1], osz = od[0] * od[1] * od[2], isz = id[0] * id[1] * id[2];
  const int64_t m = g.y[1];
  ParallelFor(planes, osz, [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      const float fill = bias ? bias[p % m] : 0.f;
      const float* src = dst + p * isz;
      float* out = y + p * osz;
      for (int64_t z = 0; z < od[0]; ++z) {
        const int64_t sz = z + g.offset[0];
        for (int64_t r = 0; r < od[1]; ++r) {
          const int64_t sr = r + g.offset[1];
          float* row = out + (z * od[1] + r) * od[2];
          const bool inside = sz >= 0 && sz < id[0] && sr >= 0 && sr < id[1];
          for (int64_t c = 0; c < od[2]; ++c) {
            const int64_t sc = c + g.offset[2];
            row[c] = inside && sc >= 0 && sc < id[2] ? src[(sz * id[1] + sr) * id[2] + sc] : fill;
          }
        }
      }
    }
  });
}

Status Run(ComputeContext& ctx, const Plan& p, const float* x, const void* wei, const float* bias, float* y,
           const PostOpOperands& operands) {
  du::ScopedPrimitiveThreads threads(p.threads);
  ctx.NoteImpl(p.impl, p.threads);
  p.src_user_m.set_data_handle(const_cast<float*>(x));
  const memory* src = &p.src_user_m;
  if (p.src_reorder) {
    p.src_m.set_data_handle(dnnl_kernels::ScratchFor(ctx, p.src_md));
    du::ExecuteReorder(p.src_r, p.src_user_m, p.src_m);
    src = &p.src_m;
  }
  p.wei_user_m.set_data_handle(const_cast<void*>(wei));
  const memory* w = &p.wei_user_m;
  if (p.wei_own) {
    p.wei_m.set_data_handle(p.wei_own.get());
    w = &p.wei_m;
  } else if (p.wei_reorder) {
    p.wei_m.set_data_handle(dnnl_kernels::ScratchFor(ctx, p.wei_md));
    du::ExecuteReorder(p.wei_r, p.wei_user_m, p.wei_m);
    w = &p.wei_m;
  }
  float* plain_out = p.g.crop ? static_cast<float*>(dnnl_kernels::ScratchFor(ctx, p.dst_user)) : y;
  p.dst_user_m.set_data_handle(plain_out);
  const memory* out = &p.dst_user_m;
  if (p.dst_reorder) {
    p.dst_m.set_data_handle(dnnl_kernels::ScratchFor(ctx, p.dst_md));
    out = &p.dst_m;
  }
  std::array<dnnl_exec_arg_t, 5 + dnnl_kernels::kMaxTailOperands> args{
      {{DNNL_ARG_SRC, src->get()}, {DNNL_ARG_WEIGHTS, w->get()}, {DNNL_ARG_DST, out->get()}}};
  int nargs = dnnl_kernels::BindBiasAndScratchpad(ctx, args, 3, p.bias_m, bias, p.scratch_m, p.scratchpad);
  if (p.tail_in_dnnl) nargs = dnnl_kernels::BindTail(operands.data(), p.tail, p.operand_m, args, nargs);
  if (p.tail_in_dnnl && p.tail.sum_first) {  // the sum post-op adds to what the output holds
    if (p.dst_reorder) {
      p.sum_src_m.set_data_handle(const_cast<void*>(operands[0].data));
      du::ExecuteReorder(p.sum_r, p.sum_src_m, *out);
    } else {
      std::memcpy(plain_out, operands[0].data, p.dst_user.get_size());
    }
  }
  du::Execute(p.prim, args, nargs);
  if (p.dst_reorder) du::ExecuteReorder(p.dst_r, p.dst_m, p.dst_user_m);
  if (p.g.crop) CropCopy(p.g, plain_out, bias, y, p.nhwc);
  return {};
}

// ---- ConvTranspose as one matrix product ----
// When the kernel equals the stride (no dilation, padding or groups), output patches do not
// overlap: ConvTranspose is T = W^T X, a matmul of W seen as [M*K, C] (K = kernel volume) by X
// [N, C, HW], then each row of T (one channel and kernel tap, over all input positions) is
// strided into the output (plus the bias). That runs at GEMM speed where oneDNN's deconvolution
// falls back to a slow generic path, and the scatter reads T and writes Y sequentially.

bool IsPatchScatter(const ConvAttrs& a, const Shape& w) {
  if (!a.transpose || a.group != 1 || !a.output_shape.empty() || static_cast<int64_t>(w.size()) != a.nsp + 2) return false;
  if (a.nhwc && w[1] != 1) return false;  // channels-last: one output channel only (PatchMatmulDescsNhwc)
  if (a.auto_pad != "NOTSET" && a.auto_pad != "VALID") return false;
  for (int64_t v : a.pads)
    if (v != 0) return false;
  for (int64_t v : a.output_padding)
    if (v != 0) return false;
  for (int64_t v : a.dilations)
    if (v != 1) return false;
  for (int64_t i = 0; i < a.nsp; ++i)
    if (w[2 + i] <= 0 || At(a.strides, i, 1) != w[2 + i]) return false;
  return a.nsp <= 3 && w[0] > 0;
}

// W^T as the matmul's source: [1, M*K, C], a transposed view of W [C, M*K] (or its packed copy).
memory::dims PatchWeightDims(const Shape& w) { return {1, NumElements(w) / w[0], w[0]}; }
memory::desc PatchWeightView(const Shape& w) {
  const int64_t c = w[0], mk = NumElements(w) / c;
  return du::Strided({1, mk, c}, {mk * c, 1, mk});
}

// X [N, C, spatial] as [N, C, HW]; T [N, M*K, HW].
void PatchMatmulDescs(const Shape& x, const Shape& w, memory::desc* wei, memory::desc* dst) {
  const int64_t n = x[0], c = x[1], hw = NumElements(x) / std::max<int64_t>(n * c, 1);
  *wei = du::RowMajor({n, c, hw});
  *dst = du::RowMajor({n, NumElements(w) / w[0], hw});
}

// Channels-last with one output channel (M = 1, where [N, spatial..., 1] is [N, 1, spatial...]):
// the same T [N, K, HW] = W^T X, X [N, HW, C] read transposed as [N, C, HW]; ScatterPatches then
// writes the output as for channels-first. (With more output channels a channels-last scatter
// gathers T with a stride: oneDNN's deconvolution runs those faster, 1.4 against 2.2 ms on
// PaddleOCR det's 24 -> 24.)
void PatchMatmulDescsNhwc(const Shape& x, const Shape& w, memory::desc* wei, memory::desc* dst) {
  const int64_t n = x[0], c = x.back(), hw = NumElements(x) / std::max<int64_t>(n * c, 1);
  *wei = du::Strided({n, c, hw}, {hw * c, 1, c});
  *dst = du::RowMajor({n, NumElements(w) / w[0], hw});
}

// y[n, m, (i*k + r) per axis] = t[n, m*K + r, i] + bias[m], for the 1 to 3 spatial axes (padded
// to 3 with size 1).
void ScatterPatches(const Shape& x, const Shape& w, const float* t, const float* bias, float* y) {
  const size_t nsp = x.size() - 2;
  int64_t in[3] = {1, 1, 1}, k[3] = {1, 1, 1};
  for (size_t i = 0; i < nsp; ++i) in[3 - nsp + i] = x[2 + i], k[3 - nsp + i] = w[2 + i];
  const int64_t m = w[1], kvol = k[0] * k[1] * k[2];
  const int64_t hw = in[0] * in[1] * in[2];
  const int64_t ow = in[2] * k[2], oh = in[1] * k[1], od = in[0] * k[0];
  ParallelFor(x[0] * m, hw * kvol, [&](int64_t b, int64_t e) {
    for (int64_t plane = b; plane < e; ++plane) {
      const float add = bias ? bias[plane % m] : 0.f;
      float* out = y + plane * od * oh * ow;
      const float* taps = t + plane * kvol * hw;  // rows (kz, ki, kj) of this (n, m)
      for (int64_t z = 0; z < in[0]; ++z)
        for (int64_t kz = 0; kz < k[0]; ++kz)
          for (int64_t i = 0; i < in[1]; ++i)
            for (int64_t ki = 0; ki < k[1]; ++ki) {
              float* row = out + ((z * k[0] + kz) * oh + i * k[1] + ki) * ow;
              const float* src = taps + ((kz * k[1] + ki) * k[2]) * hw + (z * in[1] + i) * in[2];
              if (k[2] == 2) {
                const float* s0 = src;
                const float* s1 = src + hw;
                for (int64_t j = 0; j < in[2]; ++j) {
                  row[2 * j] = s0[j] + add;
                  row[2 * j + 1] = s1[j] + add;
                }
              } else {
                for (int64_t kj = 0; kj < k[2]; ++kj) {
                  const float* s = src + kj * hw;
                  for (int64_t j = 0; j < in[2]; ++j) row[j * k[2] + kj] = s[j] + add;
                }
              }
            }
    }
  });
}

// ---- channels-last pointwise Conv on Anvil's own kernel ----
// A 1x1, stride-1, unpadded, ungrouped NHWC Conv is the matrix product Y[P, M] = X[P, C] W^T.
// oneDNN's brgconv_1x1 splits M into 16-lane vectors: at M = 24 a third of its multiply-adds are
// padding, and a residual Add goes in as a sum post-op (the operand copied into Y first). Anvil's
// kernel packs consecutive pixels' outputs into whole vectors and adds the residual and the
// activation in registers: BlazeFace back's 24-channel Conv + Add + Relu ran in 0.81-0.88 of
// oneDNN's time at 128x128 and 0.65-0.89 at 64x64 (1 thread, AMD Zen 5, in the model); BlazeFace
// front's 28 and 36-channel ones 0.70-0.95 and 0.81-0.89. It takes
// the weights packed in its own layout (PrePack) and a tail of an Add of a tensor then a Relu,
// LeakyRelu or Clip (each optional); ANVIL_POINTWISE_CONV=0 turns it off, for benchmarking.

bool PointwiseEnabled() {
  static const bool enabled = [] {
    const char* v = std::getenv("ANVIL_POINTWISE_CONV");
    return !(v && std::strcmp(v, "0") == 0);
  }();
  return enabled;
}

// Whether the tail is one the pointwise kernel applies itself (PointwiseTailFor): an Add of a
// tensor (or of one zero-padded in channels), then a Relu or Clip, each optional.
bool PointwiseTailFits(const std::vector<PostOp>& post) {
  size_t i = 0;
  if (i < post.size() && (post[i].kind == PostOp::Kind::kAdd || post[i].kind == PostOp::Kind::kAddPadded)) ++i;
  if (i < post.size() && (post[i].kind == PostOp::Kind::kRelu || post[i].kind == PostOp::Kind::kClip)) ++i;
  return i == post.size();
}

bool IsPointwise(const ConvAttrs& a, const Shape& w, const std::vector<PostOp>& post) {
  if (!PointwiseEnabled() || a.transpose || !a.nhwc || a.group != 1 || static_cast<int64_t>(w.size()) != a.nsp + 2)
    return false;
  for (size_t i = 2; i < w.size(); ++i)
    if (w[i] != 1) return false;
  for (int64_t i = 0; i < a.nsp; ++i)
    if (At(a.strides, i, 1) != 1) return false;
  for (int64_t v : a.pads)
    if (v != 0) return false;
  // Only where oneDNN wastes lanes (M = 8 mod 16, and M = 20, 28, 36): at M = 48 and 96
  // (BlazeFace) its 1x1 kernel ran as fast or up to 14 % faster. BlazeFace front's 24 -> 28 at
  // 64x64 and 32 -> 36 at 32x32 (with their residual Add and Relu) took 0.70-0.95 and 0.81-0.89 of
  // oneDNN's time here.
  return w[0] % 16 != 0 && nn::PointwiseConvAvailable(w[0], w[1]) && PointwiseTailFits(post);
}

// The packed pointwise weight's first buffer: what it is, for UsePacked to tell it from oneDNN's.
struct PointwiseHeader {
  char magic[8] = {'a', 'n', 'v', 'i', 'l', '1', 'x', '1'};
  int64_t out_channels = 0, in_channels = 0, row = 0;
};

Status PackPointwise(const TensorView& weight, PackSink& sink) {
  PointwiseHeader h;
  h.out_channels = weight.shape[0];
  h.in_channels = weight.shape[1];
  h.row = nn::PointwisePackedRow(h.out_channels);
  void* header = sink.Allocate(sizeof(h));
  std::memcpy(header, &h, sizeof(h));
  float* data = static_cast<float*>(sink.Allocate(sizeof(float) * h.in_channels * h.row));
  ANVIL_CHECK(header && data, "cannot allocate the packed weight");
  nn::PackPointwiseWeights(weight.as<float>(), h.out_channels, h.in_channels, data);
  return {};
}

// The packed weight UsePacked received, when it is in the pointwise layout.
struct PointwiseWeight {
  const float* data = nullptr;
  int64_t out_channels = 0, in_channels = 0;
};

bool ReadPointwise(const std::vector<const void*>& buffers, const std::vector<size_t>& sizes, PointwiseWeight* out) {
  PointwiseHeader h, want;
  if (buffers.size() != 2 || sizes.size() != 2 || sizes[0] != sizeof(h)) return false;
  std::memcpy(&h, buffers[0], sizeof(h));
  if (std::memcmp(h.magic, want.magic, sizeof(h.magic)) != 0) return false;
  if (sizes[1] < sizeof(float) * static_cast<size_t>(h.in_channels * h.row)) return false;
  out->data = static_cast<const float*>(buffers[1]);
  out->out_channels = h.out_channels;
  out->in_channels = h.in_channels;
  return true;
}

// The tail as the kernel applies it: false when a step cannot go in (an Add whose operand is
// broadcast, or a tail PointwiseTailFits refuses); then the whole tail runs in Anvil's pass.
bool PointwiseTailFor(const std::vector<PostOp>& post, const PostOpOperands& operands, const Shape& y,
                      nn::PointwiseTail* tail) {
  *tail = {};
  if (!PointwiseTailFits(post)) return false;
  size_t i = 0;
  if (i < post.size() && post[i].kind == PostOp::Kind::kAdd) {
    // Broadcasting into y with as many elements as y: the operand is y's own layout.
    if (NumElements(operands[i].shape) != NumElements(y)) return false;
    tail->residual = operands[i].as<float>();
    ++i;
  } else if (i < post.size() && post[i].kind == PostOp::Kind::kAddPadded) {
    // Padded in channels (the last axis, channels-last); checked against y by CheckPostOpOperands.
    if (post[i].axis + 1 != static_cast<int32_t>(y.size())) return false;
    tail->residual = operands[i].as<float>();
    tail->residual_channels = operands[i].shape.back();  // at least 1 (the matcher's extent)
    ++i;
  }
  if (i < post.size()) {
    const PostOp& op = post[i];
    if (op.kind == PostOp::Kind::kRelu) {
      tail->act = nn::PointwiseTail::Act::kRelu;
      tail->alpha = op.alpha;
    } else {
      tail->act = nn::PointwiseTail::Act::kClip;
      tail->lo = op.alpha;
      tail->hi = op.beta;
    }
  }
  return true;
}

// One dispatch-log line about a plan (option log=dispatch).
std::string Describe(const Plan& p, const Shape& x, const Shape& w, size_t tail_steps) {
  std::string s = "X " + ToString(x) + ", W " + ToString(w) + ": ";
  if (p.pointwise)
    return s + "Anvil's pointwise kernel (anvil:pointwise_conv) on the tensors as they are" +
           (tail_steps ? ", its tail of " + std::to_string(tail_steps) + " steps in registers" : std::string());
  if (p.impl.empty()) return s + (p.g.bias_only ? "nothing to convolve (bias only)" : "one matrix product (oneDNN matmul) + Anvil's patch scatter");
  s += p.impl;
  s += p.src_reorder ? "; activations reordered in" : "; activations read as they are";
  s += p.dst_reorder ? ", reordered out" : ", written as they are";
  if (p.wei_own) s += "; weights reordered once more for this shape (packed for another)";
  else if (p.wei_reorder) s += "; weights reordered on every call (not constant)";
  if (tail_steps)
    s += "; fused tail of " + std::to_string(tail_steps) + " steps: " + std::to_string(p.dnnl_steps) +
         (p.tail.sum_first ? " as oneDNN post-ops (an Add as sum), " : " as oneDNN post-ops, ") +
         std::to_string(tail_steps - p.dnnl_steps) + " in one Anvil pass";
  return s;
}

class ConvKernelImpl : public Kernel {
 public:
  ConvKernelImpl(ConvAttrs a, bool has_bias, std::optional<Shape> x_shape, std::optional<Shape> w_shape)
      : a_(std::move(a)), has_bias_(has_bias), x_shape_(std::move(x_shape)), w_shape_(std::move(w_shape)) {
    patch_scatter_ = w_shape_ && IsPatchScatter(a_, *w_shape_);
  }

  Status PrePack(const TensorView& weight, int input_index, PackSink& sink, bool& packed) override {
    packed = false;
    if (input_index != 1 || weight.type != kF32 || static_cast<int64_t>(weight.shape.size()) != a_.nsp + 2 ||
        weight.size() == 0)
      return {};
    const Shape& w = weight.shape;
    if (IsPointwise(a_, w, post_)) {
      ANVIL_RETURN_IF_ERROR(PackPointwise(weight, sink));
      packed = true;
      return {};
    }
    if (patch_scatter_) {
      if (w != *w_shape_) return {};
      // W^T made contiguous once: the matmul then reads its source row by row.
      ANVIL_RETURN_IF_ERROR(dnnl_kernels::PackInto(PatchWeightView(w), weight.data, du::RowMajor(PatchWeightDims(w)), sink));
      packed = true;
      return {};
    }
    // A nominal input: the known dims of X, N=1, and for unknown spatial dims 64 or the dilated
    // kernel's extent when that is larger (an STFT's 256-tap Conv would not fit in 64).
    Shape x(a_.nsp + 2, 64);
    x[0] = 1;
    x[1] = a_.transpose ? w[0] : w[1] * a_.group;
    for (int64_t i = 2; i < a_.nsp + 2; ++i)
      x[i] = std::max<int64_t>(64, (w[i] - 1) * At(a_.dilations, i - 2, 1) + 1);
    const Shape nominal = x;
    if (x_shape_ && static_cast<int64_t>(x_shape_->size()) == a_.nsp + 2) {
      const Shape known = Logical(*x_shape_, a_.nhwc);
      for (int64_t i = 2; i < a_.nsp + 2; ++i)
        if (known[i] > 0) x[i] = known[i];
    }
    Geometry g;
    if (!ComputeGeometry(a_, x, w, &g).ok() || g.bias_only) {
      x = nominal;  // known dims unusable: all nominal
      if (!ComputeGeometry(a_, x, w, &g).ok() || g.bias_only) return {};
    }
    memory::desc plain = PlainWeightDesc(a_, w);
    memory::desc want;
    Status s = du::Catch("conv weight layout", [&]() -> Status {
      // The layout the primitive wants when Compute runs it on all threads (the EP installs a
      // runner with the session's thread count while pre-packing).
      du::ScopedPrimitiveThreads creating(du::MostThreads());
      // With the fused tail's unary steps attached (binary ones need their operands' shapes):
      // oneDNN may pick another weight layout with post-ops, and a mismatch costs a reorder per call.
      std::vector<PostOp> unary;
      for (const PostOp& op : post_)
        if (!op.binary()) unary.push_back(op);
      dnnl_kernels::DnnlTail tail;
      const bool with_tail = !unary.empty() && dnnl_kernels::MakeDnnlTail(unary, nullptr, g.dst, 0, &tail, false,
                                                                          dnnl_kernels::DnnlTailSteps(unary));
      want = BuildPrimitive(a_, g, has_bias_, plain, with_tail ? &tail.ops : nullptr, nullptr);
      return {};
    });
    if (!s.ok()) return {};  // not packed: Compute reorders per call
    ANVIL_RETURN_IF_ERROR(dnnl_kernels::PackInto(plain, weight.data, want, sink));
    packed = true;
    return {};
  }

  Status UsePacked(int input_index, const std::vector<const void*>& buffers,
                   const std::vector<size_t>& sizes) override {
    ANVIL_CHECK(input_index == 1, "no packed input ", input_index);
    ANVIL_CHECK(w_shape_ && NumElements(*w_shape_) > 0, "W's shape is unknown");
    for (int64_t d : *w_shape_) ANVIL_CHECK(d > 0, "W's shape is not fully known");
    if (ReadPointwise(buffers, sizes, &pointwise_)) {
      ANVIL_CHECK(pointwise_.out_channels == (*w_shape_)[0] && pointwise_.in_channels == (*w_shape_)[1],
                  "pre-packed weight has other dimensions than the node expects");
      return {};
    }
    return dnnl_kernels::ReadPacked(buffers, sizes, patch_scatter_ ? PatchWeightDims(*w_shape_) : WeightDims(a_, *w_shape_),
                                    &packed_);
  }

  Status Compute(ComputeContext& ctx) const override {
    return du::Catch(a_.transpose ? "ConvTranspose" : "Conv", [&]() -> Status { return DoCompute(ctx); });
  }
  const char* Impl() const override { return "onednn:none"; }  // a call that ran no primitive (Run notes it)

  Status Fuse(const std::vector<PostOp>& ops) override {
    ANVIL_RETURN_IF_ERROR(dnnl_kernels::CheckTailSize(ops));
    for (const PostOp& op : ops)  // its last axis is not the channels: a matrix product's tail only
      ANVIL_CHECK(op.kind != PostOp::Kind::kLayerNorm, "a LayerNorm does not follow a convolution in a fused group");
    post_ = ops;
    return {};
  }

 private:
  // The steady state: look up this shape's plan (geometry, primitive, memory objects), bind this
  // call's buffers, run. Everything shape-dependent is computed once, when the plan is built.
  Status DoCompute(ComputeContext& ctx) const {
    TensorView x = ctx.Input(0);
    const bool pointwise = pointwise_.data != nullptr;
    const auto [w_shape, w_data] = pointwise ? dnnl_kernels::WeightInput{*w_shape_, pointwise_.data}
                                             : dnnl_kernels::WeightFor(packed_, w_shape_, ctx, 1);
    const bool has_bias = has_bias_ && ctx.HasInput(2);
    du::PlanKey key;
    ANVIL_CHECK(key.Add(x.shape) && key.Add(w_shape) && key.Add(has_bias), "shape too large for the plan key");
    PostOpOperands operands;
    if (!post_.empty()) {
      GatherPostOpOperands(post_, ctx, &operands);
      for (size_t i = 0; i < post_.size(); ++i)
        if (post_[i].binary()) ANVIL_CHECK(key.Add(operands[i].shape), "shape too large for the plan key");
    }
    du::PlanPool<Plan>::Lease plan;
    ANVIL_RETURN_IF_ERROR(plans_.Acquire(key, [&](Plan* fresh) -> Status {
      ANVIL_RETURN_IF_ERROR(ComputeGeometry(a_, Logical(x.shape, a_.nhwc), w_shape, &fresh->g));
      fresh->g.y_out = Physical(fresh->g.y, a_.nhwc);
      fresh->nhwc = a_.nhwc;
      const Geometry& g = fresh->g;
      const int64_t total = NumElements(g.y);
      if (total == 0 || g.bias_only) return {};
      if (pointwise) {
        fresh->pointwise = true;
        if (ctx.explaining()) ctx.Explain(Describe(*fresh, x.shape, w_shape, post_.size()));
        return {};
      }
      // Multiply-adds: output elements x weights per output element (weights per output channel).
      const int64_t macs = total * (NumElements(w_shape) / std::max<int64_t>(g.out_channels, 1));
      fresh->threads = du::ThreadsFor(2 * macs, du::kMinOpsPerConvThread);
      du::ScopedPrimitiveThreads creating(fresh->threads);
      if (patch_scatter_) {
        memory::desc wei, dst;
        if (a_.nhwc)
          PatchMatmulDescsNhwc(x.shape, w_shape, &wei, &dst);
        else
          PatchMatmulDescs(x.shape, w_shape, &wei, &dst);
        const memory::desc src = packed_.valid ? packed_.md : PatchWeightView(w_shape);
        fresh->patches.threads = fresh->threads;
        dnnl_kernels::BuildMatmul(src, wei, false, memory::desc(), dst, 1.f, 0.f, &fresh->patches);
        return {};
      }
      memory::desc wei_user = packed_.valid ? packed_.md : PlainWeightDesc(a_, w_shape);
      // A fused tail goes into the primitive as post-ops unless that makes oneDNN fall back to
      // its reference code (or it has no oneDNN form, or the output is cropped afterwards).
      // A residual Add first in the tail may also go in as oneDNN's sum post-op (the operand is
      // put into the output first), which more implementations take than a binary post-op.
      const size_t steps = dnnl_kernels::DnnlTailSteps(post_);
      if (steps > 0 && !g.crop && CheckPostOpOperands(post_, operands, g.y_out).ok()) {
        for (bool sum_first : {false, true}) {
          if (!dnnl_kernels::MakeDnnlTail(post_, operands.data(), g.dst, 0, &fresh->tail, sum_first, steps, a_.nhwc))
            continue;
          try {
            BuildPrimitive(a_, g, has_bias, wei_user, &fresh->tail.ops, fresh);
            fresh->tail_in_dnnl = dnnl_kernels::AppliesPostOpsInKernel(fresh->impl);
          } catch (const dnnl::error&) {
            fresh->tail_in_dnnl = false;
          }
          if (fresh->tail_in_dnnl) break;
        }
        if (fresh->tail_in_dnnl) {
          fresh->dnnl_steps = steps;
          for (const memory::desc& md : fresh->tail.operand_mds) fresh->operand_m.push_back(du::Unbound(md));
          if (fresh->tail.sum_first && fresh->dst_reorder) {
            const dnnl::engine& eng = du::CpuEngine();
            fresh->sum_r = dnnl::reorder(dnnl::reorder::primitive_desc(eng, fresh->dst_user, eng, fresh->dst_md));
            fresh->sum_src_m = du::Unbound(fresh->dst_user);
          }
        }
      }
      if (!fresh->tail_in_dnnl) BuildPrimitive(a_, g, has_bias, wei_user, nullptr, fresh);
      if (fresh->wei_reorder && packed_.valid) {  // constant: reorder it for this plan once
        const size_t bytes = (fresh->wei_md.get_size() + 63) / 64 * 64;
        fresh->wei_own.reset(std::aligned_alloc(64, bytes ? bytes : 64));
        ANVIL_CHECK(fresh->wei_own != nullptr, "cannot allocate ", bytes, " bytes for the weights");
        fresh->wei_user_m.set_data_handle(const_cast<void*>(w_data));
        fresh->wei_m.set_data_handle(fresh->wei_own.get());
        du::ExecuteReorder(fresh->wei_r, fresh->wei_user_m, fresh->wei_m);
      }
      if (ctx.explaining()) ctx.Explain(Describe(*fresh, x.shape, w_shape, post_.size()));
      return {};
    }, &plan));
    const Geometry& g = plan->g;
    const float* bias = nullptr;
    if (has_bias) {
      TensorView b = ctx.Input(2);
      ANVIL_CHECK(b.shape.size() == 1 && b.shape[0] == g.out_channels, "B has shape ", ToString(b.shape), ", expected [",
                  g.out_channels, "]");
      bias = b.as<float>();
    }
    if (!post_.empty()) ANVIL_RETURN_IF_ERROR(CheckPostOpOperands(post_, operands, g.y_out));
    float* y = nullptr;
    ANVIL_RETURN_IF_ERROR(ctx.Output(0, g.y_out, &y));
    const int64_t total = NumElements(g.y);
    if (total == 0) return {};
    if (g.bias_only) {
      const int64_t plane = total / (g.y[0] * g.y[1]);
      for (int64_t i = 0; i < total; ++i)
        y[i] = bias ? bias[a_.nhwc ? i % g.y[1] : (i / plane) % g.y[1]] : 0.f;
    } else if (plan->pointwise) {
      ctx.NoteImpl("anvil:pointwise_conv", ThreadsForWork(2 * total * pointwise_.in_channels));
      nn::PointwiseTail tail;
      const bool in_kernel = PointwiseTailFor(post_, operands, g.y_out, &tail);
      nn::PointwiseConv(x.as<float>(), total / g.out_channels, pointwise_.in_channels, pointwise_.data, g.out_channels,
                        bias, tail, y);
      if (!in_kernel) ApplyPostOps(post_, operands, g.y_out, y);
      return {};
    } else if (patch_scatter_) {
      float* t = static_cast<float*>(dnnl_kernels::ScratchFor(ctx, plan->patches.dst_md));
      dnnl_kernels::RunMatmul(ctx, plan->patches, static_cast<const float*>(w_data), x.data, nullptr, t);
      ScatterPatches(a_.nhwc ? ChannelsFirst(x.shape) : x.shape, w_shape, t, bias, y);
    } else {
      ANVIL_RETURN_IF_ERROR(Run(ctx, *plan, x.as<float>(), w_data, bias, y, operands));
    }
    if (plan->dnnl_steps < post_.size()) ApplyPostOps(post_, operands, g.y_out, y, plan->dnnl_steps);
    return {};
  }

  ConvAttrs a_;
  bool has_bias_;
  std::optional<Shape> x_shape_, w_shape_;
  bool patch_scatter_ = false;  // ConvTranspose run as one matrix product (IsPatchScatter)
  PackedWeight packed_;
  PointwiseWeight pointwise_;  // packed in the pointwise kernel's layout (IsPointwise)
  std::vector<PostOp> post_;  // a fused group's element-wise tail (Fuse)
  mutable du::PlanPool<Plan> plans_;
};

Status CreateConv(const NodeInfo& node, bool transpose, bool nhwc, std::unique_ptr<Kernel>* out) {
  ConvAttrs a;
  ANVIL_RETURN_IF_ERROR(ParseAttrs(node, transpose, nhwc, &a));
  if (out) {
    std::optional<Shape> w = node.InputShape(1);
    if (std::optional<TensorView> c = node.ConstantInput(1)) w = c->shape;
    *out = std::make_unique<ConvKernelImpl>(std::move(a), node.InputPresent(2), node.InputShape(0), w);
  }
  return {};
}

}  // namespace

Status ConvKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  return CreateConv(node, false, false, out);
}
Status NhwcConvKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  return CreateConv(node, false, true, out);
}
Status ConvTransposeKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  return CreateConv(node, true, false, out);
}
Status NhwcConvTransposeKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  return CreateConv(node, true, true, out);
}

}  // namespace anvil
