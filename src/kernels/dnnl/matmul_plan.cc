#include "kernels/dnnl/matmul_plan.h"

#include <cstdlib>
#include <cstring>

namespace anvil::dnnl_kernels {

namespace du = dnnl_util;

memory::desc BuildMatmul(const memory::desc& src_md, const memory::desc& wei_user, bool any_weights,
                         const memory::desc& bias_md, const memory::desc& dst_md, float alpha, float sum_beta,
                         MatmulPlan* plan) {
  const dnnl::engine& eng = du::CpuEngine();
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  dnnl::post_ops ops;
  if (alpha != 1.f) ops.append_eltwise(dnnl::algorithm::eltwise_linear, alpha, 0.f);
  if (sum_beta != 0.f) ops.append_sum(sum_beta);
  if (ops.len() > 0) attr.set_post_ops(ops);
  memory::desc wei_md = any_weights ? du::Any(wei_user.get_dims()) : wei_user;
  dnnl::matmul::primitive_desc pd(eng, src_md, wei_md, bias_md, dst_md, attr);
  // For a constant B that we pack, prefer oneDNN's brgemm matmul: it reads B in a blocked layout
  // made once. On AVX2 oneDNN ranks its plain-layout GEMM first, which is 1.5x slower there on
  // Gemm/MatMul with packed weights (bench/bench_kernels.py). ANVIL_DNNL_MATMUL_IMPL=<prefix>
  // overrides the choice, for benchmarking.
  static const char* override_impl = std::getenv("ANVIL_DNNL_MATMUL_IMPL");
  const char* prefer = override_impl ? override_impl : (any_weights ? "brg" : nullptr);
  if (prefer) {
    dnnl::matmul::primitive_desc probe = pd;
    do {
      if (std::strncmp(probe.impl_info_str(), prefer, std::strlen(prefer)) == 0) {
        pd = probe;
        break;
      }
    } while (probe.next_impl());
  }
  if (plan) {
    plan->src_md = src_md;
    plan->dst_md = dst_md;
    plan->bias_md = bias_md;
    plan->wei_user = wei_user;
    plan->wei_md = pd.weights_desc();
    plan->wei_reorder = plan->wei_md != wei_user;
    if (plan->wei_reorder)
      plan->wei_r = dnnl::reorder(dnnl::reorder::primitive_desc(eng, wei_user, eng, plan->wei_md));
    plan->scratchpad = pd.scratchpad_desc().get_size();
    plan->prim = dnnl::matmul(pd);
    plan->impl = std::string("onednn:") + pd.impl_info_str();
    plan->src_m = du::Unbound(src_md);
    plan->wei_user_m = du::Unbound(wei_user);
    plan->wei_m = du::Unbound(plan->wei_md);
    plan->dst_m = du::Unbound(dst_md);
    if (bias_md.get_ndims() > 0) plan->bias_m = du::Unbound(bias_md);
    if (plan->scratchpad)
      plan->scratch_m = du::Unbound(
          memory::desc({static_cast<int64_t>(plan->scratchpad)}, memory::data_type::u8, memory::format_tag::a));
  }
  return pd.weights_desc();
}

void RunMatmul(ComputeContext& ctx, const MatmulPlan& p, const float* a, const void* w, const float* bias, float* y) {
  du::ScopedPrimitiveThreads threads(p.threads);
  ctx.NoteImpl(p.impl, p.threads);
  p.wei_user_m.set_data_handle(const_cast<void*>(w));
  const memory* wm = &p.wei_user_m;
  if (p.wei_reorder) {
    p.wei_m.set_data_handle(ScratchFor(ctx, p.wei_md));
    du::ExecuteReorder(p.wei_r, p.wei_user_m, p.wei_m);
    wm = &p.wei_m;
  }
  p.src_m.set_data_handle(const_cast<float*>(a));
  p.dst_m.set_data_handle(y);
  std::array<dnnl_exec_arg_t, 5> args{{{DNNL_ARG_SRC, p.src_m.get()}, {DNNL_ARG_WEIGHTS, wm->get()}, {DNNL_ARG_DST, p.dst_m.get()}}};
  const int nargs = BindBiasAndScratchpad(ctx, args, 3, p.bias_m, bias, p.scratch_m, p.scratchpad);
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
