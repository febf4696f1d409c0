#include "kernels/dnnl/matmul_plan.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <optional>

namespace anvil::dnnl_kernels {

namespace du = dnnl_util;

namespace {

// The tail's operands over the primitive's dst dims: the same shapes when dst has the output's
// rank; when the product is folded to 2-D ({rows, n}), an operand must be a row ([.., 1, n]) or
// the whole output. False: one is neither (the tail then runs in Anvil's pass).
bool OperandsOverDst(const MatmulTail& t, const memory::dims& dst, std::array<TensorView, kMaxPostOps>* out) {
  const std::vector<PostOp>& post = *t.post;
  for (size_t i = 0; i < post.size() && i < kMaxPostOps; ++i) {
    (*out)[i] = t.operands[i];
    if (!post[i].binary() || dst.size() == t.y.size()) continue;
    const Shape& s = t.operands[i].shape;
    if (s.size() > t.y.size() || dst.size() != 2) return false;
    Shape padded(t.y.size() - s.size(), 1);
    padded.insert(padded.end(), s.begin(), s.end());
    bool row = true;
    for (size_t d = 0; d + 1 < padded.size(); ++d) row = row && padded[d] == 1;
    if (row)
      (*out)[i].shape = {1, padded.back()};
    else if (padded == t.y)
      (*out)[i].shape = {dst[0], dst[1]};
    else
      return false;
  }
  return true;
}

}  // namespace

memory::desc BuildMatmul(const memory::desc& src_md, const memory::desc& wei_user, bool any_weights,
                         const memory::desc& bias_md, const memory::desc& dst_md, float alpha, float sum_beta,
                         MatmulPlan* plan, const MatmulTail* tail) {
  const dnnl::engine& eng = du::CpuEngine();
  memory::desc wei_md = any_weights ? du::Any(wei_user.get_dims()) : wei_user;
  // For a constant B that we pack, prefer oneDNN's brgemm matmul: it reads B in a blocked layout
  // made once. On AVX2 oneDNN ranks its plain-layout GEMM first, which is 1.5x slower there on
  // Gemm/MatMul with packed weights (bench/bench_kernels.py); and the GEMM-based matmul applies
  // post-ops with scalar code. ANVIL_DNNL_MATMUL_IMPL=<prefix> overrides the choice, for
  // benchmarking.
  static const char* override_impl = std::getenv("ANVIL_DNNL_MATMUL_IMPL");
  auto make = [&](const DnnlTail* t) {
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    dnnl::post_ops ops;
    if (alpha != 1.f) ops.append_eltwise(dnnl::algorithm::eltwise_linear, alpha, 0.f);
    if (sum_beta != 0.f) ops.append_sum(sum_beta);
    if (t) ops = t->ops;  // (a tail goes to oneDNN only without alpha and sum_beta)
    if (ops.len() > 0) attr.set_post_ops(ops);
    dnnl::matmul::primitive_desc pd(eng, src_md, wei_md, bias_md, dst_md, attr);
    du::PreferImpl(pd, override_impl ? override_impl : (any_weights || t ? "brg" : nullptr));
    return pd;
  };
  DnnlTail dnnl_tail;
  size_t steps = 0;
  std::optional<dnnl::matmul::primitive_desc> pd;
  if (tail && plan && alpha == 1.f && sum_beta == 0.f) {
    std::array<TensorView, kMaxPostOps> operands;
    steps = DnnlTailSteps(*tail->post);
    if (steps > 0 && OperandsOverDst(*tail, dst_md.get_dims(), &operands) &&
        MakeDnnlTail(*tail->post, operands.data(), dst_md.get_dims(), 0, &dnnl_tail, false, steps)) {
      try {
        pd = make(&dnnl_tail);
        if (!AppliesPostOpsInKernel(pd->impl_info_str())) pd.reset();
      } catch (const dnnl::error&) {
        pd.reset();
      }
    }
  }
  if (!pd) {
    pd = make(nullptr);
    steps = 0;
  }
  if (plan) {
    plan->src_md = src_md;
    plan->dst_md = dst_md;
    plan->bias_md = bias_md;
    plan->wei_user = wei_user;
    plan->wei_md = pd->weights_desc();
    plan->wei_reorder = plan->wei_md != wei_user;
    if (plan->wei_reorder)
      plan->wei_r = dnnl::reorder(dnnl::reorder::primitive_desc(eng, wei_user, eng, plan->wei_md));
    plan->scratchpad = pd->scratchpad_desc().get_size();
    plan->prim = dnnl::matmul(*pd);
    plan->impl = std::string("onednn:") + pd->impl_info_str();
    plan->src_m = du::Unbound(src_md);
    plan->wei_user_m = du::Unbound(wei_user);
    plan->wei_m = du::Unbound(plan->wei_md);
    plan->dst_m = du::Unbound(dst_md);
    if (bias_md.get_ndims() > 0) plan->bias_m = du::Unbound(bias_md);
    if (plan->scratchpad)
      plan->scratch_m = du::Unbound(
          memory::desc({static_cast<int64_t>(plan->scratchpad)}, memory::data_type::u8, memory::format_tag::a));
    plan->dnnl_steps = steps;
    plan->operand_m.clear();
    if (steps) {
      plan->tail = std::move(dnnl_tail);
      for (const memory::desc& md : plan->tail.operand_mds) plan->operand_m.push_back(du::Unbound(md));
    }
  }
  return pd->weights_desc();
}

void ReorderConstantWeight(MatmulPlan* p, const void* w) {
  if (!p->wei_reorder) return;
  const size_t bytes = (p->wei_md.get_size() + 63) / 64 * 64;
  p->wei_own.reset(std::aligned_alloc(64, bytes ? bytes : 64));
  if (!p->wei_own) throw std::bad_alloc();
  p->wei_user_m.set_data_handle(const_cast<void*>(w));
  p->wei_m.set_data_handle(p->wei_own.get());
  du::ExecuteReorder(p->wei_r, p->wei_user_m, p->wei_m);
}

void RunMatmul(ComputeContext& ctx, const MatmulPlan& p, const float* a, const void* w, const float* bias, float* y,
               const TensorView* operands) {
  du::ScopedPrimitiveThreads threads(p.threads);
  ctx.NoteImpl(p.impl, p.threads);
  const memory* wm = &p.wei_user_m;
  if (p.wei_own) {
    p.wei_m.set_data_handle(p.wei_own.get());
    wm = &p.wei_m;
  } else {
    p.wei_user_m.set_data_handle(const_cast<void*>(w));
    if (p.wei_reorder) {
      p.wei_m.set_data_handle(ScratchFor(ctx, p.wei_md));
      du::ExecuteReorder(p.wei_r, p.wei_user_m, p.wei_m);
      wm = &p.wei_m;
    }
  }
  p.src_m.set_data_handle(const_cast<float*>(a));
  p.dst_m.set_data_handle(y);
  std::array<dnnl_exec_arg_t, 5 + kMaxTailOperands> args{
      {{DNNL_ARG_SRC, p.src_m.get()}, {DNNL_ARG_WEIGHTS, wm->get()}, {DNNL_ARG_DST, p.dst_m.get()}}};
  int nargs = BindBiasAndScratchpad(ctx, args, 3, p.bias_m, bias, p.scratch_m, p.scratchpad);
  if (p.dnnl_steps) nargs = BindTail(operands, p.tail, p.operand_m, args, nargs);
  du::Execute(p.prim, args, nargs);
}

Status PackMatmulWeight(const memory::desc& src, const memory::desc& plain, const memory::desc& dst,
                        const TensorView& weight, PackSink& sink, bool& packed) {
  packed = false;
  memory::desc want;
  Status s = du::Catch("MatMul weight layout", [&]() -> Status {
    du::ScopedPrimitiveThreads creating(du::MostThreads());
    want = BuildMatmul(src, plain, true, memory::desc(), dst, 1.f, 0.f, nullptr);
    return {};
  });
  if (!s.ok()) return {};
  ANVIL_RETURN_IF_ERROR(PackInto(plain, weight.data, want, sink));
  packed = true;
  return {};
}

}  // namespace anvil::dnnl_kernels
