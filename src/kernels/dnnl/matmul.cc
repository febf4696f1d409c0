// MatMul (numpy semantics) and Gemm on oneDNN's matmul primitive.
#include <array>
#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "compute/nn/gemv.h"
#include "compute/parallel.h"
#include "fusion/post_ops.h"
#include "kernels/dnnl/common.h"
#include "kernels/dnnl/dnnl.h"
#include "kernels/dnnl/matmul_plan.h"

namespace anvil {
namespace {

using dnnl::memory;
using dnnl_kernels::BuildMatmul;
using dnnl_kernels::MatmulPlan;
using dnnl_kernels::MatmulShapes;
using dnnl_kernels::PackedWeight;
using dnnl_kernels::PackMatmulWeight;
using dnnl_kernels::RunMatmul;
namespace du = dnnl_util;

constexpr ElemType kF32 = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;

bool FullyKnown(const std::optional<Shape>& s) {
  if (!s) return false;
  for (int64_t d : *s)
    if (d < 0) return false;
  return true;
}

// A fused group's element-wise tail on a MatMul's or Gemm's output (Kernel::Fuse): as many
// leading steps as oneDNN takes run as post-ops of the primitive (BuildMatmul), the rest in
// Anvil's pass over the output.
struct MatmulFusedTail {
  std::vector<PostOp> post;

  // Kernel::Fuse of MatMul and Gemm.
  Status Set(const std::vector<PostOp>& ops) {
    ANVIL_RETURN_IF_ERROR(dnnl_kernels::CheckTailSize(ops));
    post = ops;
    return {};
  }

  // This call's operands, their shapes added to the plan key (a plan fixes the operands' layouts).
  Status Gather(const ComputeContext& ctx, du::PlanKey& key, PostOpOperands* operands) const {
    if (post.empty()) return {};
    GatherPostOpOperands(post, ctx, operands);
    for (size_t i = 0; i < post.size(); ++i)
      if (post[i].binary()) ANVIL_CHECK(key.Add(operands->at(i).shape), "shape too large for the plan key");
    return {};
  }
  // The tail for BuildMatmul (null without one, or when an operand does not fit the output).
  const dnnl_kernels::MatmulTail* For(const PostOpOperands& operands, const Shape& y,
                                      dnnl_kernels::MatmulTail* storage) const {
    if (post.empty() || !CheckPostOpOperands(post, operands, y).ok()) return nullptr;
    *storage = {&post, operands.data(), y};
    return storage;
  }
  // After the primitive: the steps oneDNN did not run.
  void Finish(const dnnl_kernels::MatmulPlan& plan, const PostOpOperands& operands, const Shape& y,
              float* data) const {
    if (plan.dnnl_steps < post.size()) ApplyPostOps(post, operands, y, data, plan.dnnl_steps);
  }
};

// What the dispatch log says of a plan.
std::string Describe(const char* op, const dnnl_kernels::MatmulPlan& p, size_t tail_steps) {
  std::string s = std::string(op) + ": " + p.impl + (p.wei_own ? ", constant B reordered once for this shape" : "") +
                  (p.wei_reorder && !p.wei_own ? ", B reordered per call" : "");
  if (tail_steps)
    s += "; fused tail of " + std::to_string(tail_steps) + " steps: " + std::to_string(p.dnnl_steps) +
         " as oneDNN post-ops, " + std::to_string(tail_steps - p.dnnl_steps) + " in one Anvil pass";
  return s;
}

// A row vector times a constant B packed in column panels (PackedWeight::gemv_width): Anvil's
// GEMV instead of a oneDNN primitive, whose per-call setup (argument maps, scratchpad, the
// parallel dispatch) costs more than this product's arithmetic; the tail runs in Anvil's pass.
struct RowTimesPanels {
  static constexpr const char* kImpl = "anvil:gemv";
  mutable std::atomic<bool> explained{false};

  // `tail` is the fused tail; its first step, a Relu or a Clip, goes into `ep` (applied in
  // registers as y is stored). Returns how many of the tail's steps the GEMV ran.
  size_t Run(ComputeContext& ctx, const char* op, const dnnl_kernels::PackedWeight& b, const float* a, int64_t k,
             int64_t n, float* y, const std::vector<PostOp>& tail, nn::GemvEpilogue ep = {}) const {
    size_t in_registers = 0;
    if (!tail.empty() && tail[0].kind == PostOp::Kind::kRelu && tail[0].alpha == 0.f) {
      ep.lo = 0.f;
      in_registers = 1;
    } else if (!tail.empty() && tail[0].kind == PostOp::Kind::kClip) {
      ep.lo = tail[0].alpha;
      ep.hi = tail[0].beta;
      in_registers = 1;
    }
    if (ctx.explaining() && !explained.exchange(true))
      ctx.Explain(std::string(op) + ": " + kImpl + " (a row times B in " + std::to_string(b.gemv_width) +
                  "-column panels, " + (ep.bias ? "C added " : "") + "in registers)" +
                  (tail.empty() ? "" : "; fused tail of " + std::to_string(tail.size()) + " steps: " +
                                           std::to_string(in_registers) + " in registers, " +
                                           std::to_string(tail.size() - in_registers) + " in one Anvil pass"));
    ctx.NoteImpl(kImpl, du::ThreadsFor(2 * k * n));
    nn::GemvPanels(a, k, static_cast<const float*>(b.data), b.gemv_rows, n, b.gemv_width, y, ep);
    return in_registers;
  }
};

// ---------------------------------------------------------------------------------------------
// MatMul

Status MatmulGeometry(const Shape& a, const Shape& b, MatmulShapes* s) {
  ANVIL_CHECK(!a.empty() && !b.empty(), "MatMul operands must have rank >= 1 (", ToString(a), " x ", ToString(b), ")");
  ANVIL_CHECK(a.size() <= 12 && b.size() <= 12, "MatMul rank above 12 is not supported");
  Shape a2 = a.size() == 1 ? Shape{1, a[0]} : a;
  Shape b2 = b.size() == 1 ? Shape{b[0], 1} : b;
  const int64_t m = a2[a2.size() - 2], k = a2.back(), kb = b2[b2.size() - 2], n = b2.back();
  ANVIL_CHECK(k == kb, "MatMul shapes ", ToString(a), " and ", ToString(b), " do not agree on K");
  Shape ba(a2.begin(), a2.end() - 2), bb(b2.begin(), b2.end() - 2), batch;
  ANVIL_CHECK(BroadcastShapes(ba, bb, batch), "MatMul batch dims of ", ToString(a), " and ", ToString(b),
              " do not broadcast");
  s->y = batch;
  if (a.size() > 1) s->y.push_back(m);
  if (b.size() > 1) s->y.push_back(n);
  s->k = k;
  s->folded = NumElements(bb) == 1 || NumElements(batch) == 0;
  if (s->folded) {
    const int64_t rows = NumElements(ba) * m;
    s->src = {rows, k};
    s->wei = {k, n};
    s->dst = {rows, n};
    return {};
  }
  const size_t nb = batch.size();
  s->src.assign(nb - ba.size(), 1);
  s->src.insert(s->src.end(), ba.begin(), ba.end());
  s->src.insert(s->src.end(), {m, k});
  s->wei.assign(nb - bb.size(), 1);
  s->wei.insert(s->wei.end(), bb.begin(), bb.end());
  s->wei.insert(s->wei.end(), {k, n});
  s->dst = memory::dims(batch.begin(), batch.end());
  s->dst.insert(s->dst.end(), {m, n});
  return {};
}

class MatMulImpl : public Kernel {
 public:
  MatMulImpl(std::optional<Shape> a_shape, std::optional<Shape> b_shape)
      : a_shape_(std::move(a_shape)), b_shape_(std::move(b_shape)) {}

  Status PrePack(const TensorView& weight, int input_index, PackSink& sink, bool& packed) override {
    packed = false;
    if (input_index != 1 || weight.type != kF32 || weight.shape.size() != 2 || weight.size() == 0) return {};
    const int64_t k = weight.shape[0], n = weight.shape[1];
    int64_t m = 64;  // nominal rows: the known dims of A before K, 1 for unknown batch, 64 for unknown M
    if (a_shape_ && a_shape_->size() >= 2) {
      m = 1;
      for (size_t i = 0; i + 1 < a_shape_->size(); ++i) {
        const int64_t d = (*a_shape_)[i];
        m *= d > 0 ? d : (i + 2 == a_shape_->size() ? 64 : 1);
      }
      m = std::max<int64_t>(m, 1);
    } else if (a_shape_ && a_shape_->size() == 1) {
      m = 1;
    }
    return PackMatmulWeight(du::RowMajor({m, k}), du::RowMajor({k, n}), du::RowMajor({m, n}), weight, sink, packed);
  }

  Status UsePacked(int input_index, const std::vector<const void*>& buffers,
                   const std::vector<size_t>& sizes) override {
    ANVIL_CHECK(input_index == 1, "no packed input ", input_index);
    ANVIL_CHECK(FullyKnown(b_shape_) && b_shape_->size() == 2, "B's shape is not known");
    return dnnl_kernels::ReadPacked(buffers, sizes, du::ToDims(*b_shape_), &packed_);
  }

  Status Compute(ComputeContext& ctx) const override {
    return du::Catch("MatMul", [&]() -> Status { return DoCompute(ctx); });
  }
  const char* Impl() const override { return "onednn:none"; }  // a call that ran no primitive (RunMatmul notes it)

  Status Fuse(const std::vector<PostOp>& ops) override { return tail_.Set(ops); }

 private:
  Status DoCompute(ComputeContext& ctx) const {
    TensorView a = ctx.Input(0);
    const auto [b_shape, b_data] = dnnl_kernels::WeightFor(packed_, b_shape_, ctx, 1);
    if (packed_.gemv_width > 0 && NumElements(a.shape) == b_shape[0] && !a.shape.empty() && a.shape.back() == b_shape[0])
      return RunRow(ctx, a, b_shape);
    du::PlanKey key;
    ANVIL_CHECK(key.Add(a.shape) && key.Add(b_shape), "shape too large for the plan key");
    PostOpOperands operands;
    ANVIL_RETURN_IF_ERROR(tail_.Gather(ctx, key, &operands));
    du::PlanPool<MatmulPlan>::Lease plan;
    ANVIL_RETURN_IF_ERROR(plans_.Acquire(key, [&](MatmulPlan* fresh) -> Status {
      MatmulShapes& s = fresh->shapes;
      ANVIL_RETURN_IF_ERROR(MatmulGeometry(a.shape, b_shape, &s));
      const int64_t total = NumElements(s.y);
      if (total == 0 || s.k == 0) return {};
      fresh->threads = du::ThreadsFor(2 * total * s.k);
      du::ScopedPrimitiveThreads creating(fresh->threads);
      const bool packed = packed_.valid && s.folded;
      memory::desc wei_user = packed ? packed_.md : du::RowMajor(s.wei);
      dnnl_kernels::MatmulTail storage;
      BuildMatmul(du::RowMajor(s.src), wei_user, packed, memory::desc(), du::RowMajor(s.dst), 1.f, 0.f, fresh,
                  tail_.For(operands, s.y, &storage));
      if (packed) dnnl_kernels::ReorderConstantWeight(fresh, b_data);
      if (ctx.explaining()) ctx.Explain(Describe("MatMul", *fresh, tail_.post.size()));
      return {};
    }, &plan));
    const MatmulShapes& s = plan->shapes;
    if (!tail_.post.empty()) ANVIL_RETURN_IF_ERROR(CheckPostOpOperands(tail_.post, operands, s.y));
    float* y = nullptr;
    ANVIL_RETURN_IF_ERROR(ctx.Output(0, s.y, &y));
    const int64_t total = NumElements(s.y);
    if (total == 0) return {};
    if (s.k == 0) {
      for (int64_t i = 0; i < total; ++i) y[i] = 0.f;
    } else {
      RunMatmul(ctx, *plan, a.as<float>(), b_data, nullptr, y, operands.data());
    }
    tail_.Finish(*plan, operands, s.y, y);
    return {};
  }

  // A with one row ([K], or [1, ..., 1, K]) times the packed 2-D B.
  Status RunRow(ComputeContext& ctx, const TensorView& a, const Shape& b_shape) const {
    const int64_t k = b_shape[0], n = b_shape[1];
    Shape y_shape = a.shape;
    y_shape.back() = n;
    if (a.shape.size() == 1) y_shape = Shape{n};
    PostOpOperands operands;
    if (!tail_.post.empty()) {
      GatherPostOpOperands(tail_.post, ctx, &operands);
      ANVIL_RETURN_IF_ERROR(CheckPostOpOperands(tail_.post, operands, y_shape));
    }
    float* y = nullptr;
    ANVIL_RETURN_IF_ERROR(ctx.Output(0, y_shape, &y));
    if (n == 0) return {};
    size_t done = 0;  // the tail's steps already applied
    if (k == 0) {
      for (int64_t j = 0; j < n; ++j) y[j] = 0.f;
    } else {
      done = row_.Run(ctx, "MatMul", packed_, a.as<float>(), k, n, y, tail_.post);
    }
    if (done < tail_.post.size()) ApplyPostOps(tail_.post, operands, y_shape, y, done);
    return {};
  }

  std::optional<Shape> a_shape_, b_shape_;
  PackedWeight packed_;
  MatmulFusedTail tail_;
  mutable du::PlanPool<MatmulPlan> plans_;
  RowTimesPanels row_;
};

// ---------------------------------------------------------------------------------------------
// Gemm

struct GemmAttrs {
  bool trans_a = false, trans_b = false;
  float alpha = 1.f, beta = 1.f;
};

class GemmImpl : public Kernel {
 public:
  GemmImpl(GemmAttrs attrs, std::optional<Shape> a_shape, std::optional<Shape> b_shape, bool has_c)
      : at_(attrs), a_shape_(std::move(a_shape)), b_shape_(std::move(b_shape)), has_c_(has_c) {}

  Status PrePack(const TensorView& weight, int input_index, PackSink& sink, bool& packed) override {
    packed = false;
    if (input_index != 1 || weight.type != kF32 || weight.shape.size() != 2 || weight.size() == 0) return {};
    const int64_t k = at_.trans_b ? weight.shape[1] : weight.shape[0];
    const int64_t n = at_.trans_b ? weight.shape[0] : weight.shape[1];
    int64_t m = 64;
    if (a_shape_ && a_shape_->size() == 2) {
      const int64_t d = at_.trans_a ? (*a_shape_)[1] : (*a_shape_)[0];
      if (d > 0) m = d;
    }
    return PackMatmulWeight(ADesc(m, k), BDesc(k, n), du::RowMajor({m, n}), weight, sink, packed);
  }

  Status UsePacked(int input_index, const std::vector<const void*>& buffers,
                   const std::vector<size_t>& sizes) override {
    ANVIL_CHECK(input_index == 1, "no packed input ", input_index);
    ANVIL_CHECK(FullyKnown(b_shape_) && b_shape_->size() == 2, "B's shape is not known");
    const Shape& b = *b_shape_;
    memory::dims kn = at_.trans_b ? memory::dims{b[1], b[0]} : memory::dims{b[0], b[1]};
    return dnnl_kernels::ReadPacked(buffers, sizes, kn, &packed_);
  }

  Status Compute(ComputeContext& ctx) const override {
    return du::Catch("Gemm", [&]() -> Status { return DoCompute(ctx); });
  }
  const char* Impl() const override { return "onednn:none"; }  // a call that ran no primitive (RunMatmul notes it)

  Status Fuse(const std::vector<PostOp>& ops) override { return tail_.Set(ops); }

 private:
  memory::desc ADesc(int64_t m, int64_t k) const {
    return at_.trans_a ? du::Strided({m, k}, {1, m}) : du::RowMajor({m, k});
  }
  memory::desc BDesc(int64_t k, int64_t n) const {
    return at_.trans_b ? du::Strided({k, n}, {1, k}) : du::RowMajor({k, n});
  }

  Status DoCompute(ComputeContext& ctx) const {
    TensorView a = ctx.Input(0);
    ANVIL_CHECK(a.shape.size() == 2, "A must be 2-D, got ", ToString(a.shape));
    const auto [b_shape, b_data] = dnnl_kernels::WeightFor(packed_, b_shape_, ctx, 1);
    ANVIL_CHECK(b_shape.size() == 2, "B must be 2-D, got ", ToString(b_shape));
    const int64_t m = at_.trans_a ? a.shape[1] : a.shape[0], k = at_.trans_a ? a.shape[0] : a.shape[1];
    const int64_t kb = at_.trans_b ? b_shape[1] : b_shape[0], n = at_.trans_b ? b_shape[0] : b_shape[1];
    ANVIL_CHECK(k == kb, "Gemm shapes ", ToString(a.shape), " and ", ToString(b_shape), " do not agree on K");

    TensorView c;
    if (has_c_ && ctx.HasInput(2)) c = ctx.Input(2);
    const bool use_c = c.data != nullptr && at_.beta != 0.f;
    int64_t c_rows = 1, c_cols = 1;  // C broadcast to [M, N]: each of its dims is 1 or the full size
    if (c.data != nullptr) {
      ANVIL_CHECK(c.shape.size() <= 2, "C must have rank <= 2, got ", ToString(c.shape));
      if (c.shape.size() == 2) c_rows = c.shape[0], c_cols = c.shape[1];
      if (c.shape.size() == 1) c_cols = c.shape[0];
      ANVIL_CHECK((c_rows == 1 || c_rows == m) && (c_cols == 1 || c_cols == n), "C of shape ", ToString(c.shape),
                  " does not broadcast to [", m, ",", n, "]");
    }
    const Shape y_shape{m, n};
    du::PlanKey key;
    PostOpOperands operands;
    ANVIL_RETURN_IF_ERROR(tail_.Gather(ctx, key, &operands));
    if (!tail_.post.empty()) ANVIL_RETURN_IF_ERROR(CheckPostOpOperands(tail_.post, operands, y_shape));
    float* y = nullptr;
    ANVIL_RETURN_IF_ERROR(ctx.Output(0, y_shape, &y));
    if (m == 0 || n == 0) return {};
    auto fill_c = [&](float scale) {
      const float* pc = c.as<float>();
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j)
          y[i * n + j] = use_c ? scale * pc[(c_rows == 1 ? 0 : i) * c_cols + (c_cols == 1 ? 0 : j)] : 0.f;
    };
    if (k == 0) {
      fill_c(at_.beta);
      if (!tail_.post.empty()) ApplyPostOps(tail_.post, operands, y_shape, y);
      return {};
    }
    if (m == 1 && packed_.gemv_width > 0) {  // A's one row (or column) is K contiguous floats
      nn::GemvEpilogue ep;  // alpha * A B + beta * C, in registers
      ep.alpha = at_.alpha;
      if (use_c) {
        ep.bias = c.as<float>();
        ep.beta = at_.beta;
        ep.bias_scalar = c_cols == 1;
      }
      const size_t done = row_.Run(ctx, "Gemm", packed_, a.as<float>(), k, n, y, tail_.post, ep);
      if (done < tail_.post.size()) ApplyPostOps(tail_.post, operands, y_shape, y, done);
      return {};
    }
    // A row vector C with beta = alpha = 1 is a fused bias; otherwise Y is pre-filled with C and
    // the product is accumulated onto it (sum post-op with scale beta).
    const bool as_bias = use_c && c_rows == 1 && c_cols == n && at_.beta == 1.f && at_.alpha == 1.f;
    const bool prefill = use_c && !as_bias;
    const int threads = du::ThreadsFor(2 * m * n * k);
    ANVIL_CHECK(key.Add(a.shape) && key.Add(b_shape) && key.Add(use_c ? c_rows * 2 + (c_cols == n) : -1) &&
                    key.Add(threads),
                "shape too large for the plan key");
    du::PlanPool<MatmulPlan>::Lease plan;
    ANVIL_RETURN_IF_ERROR(plans_.Acquire(key, [&](MatmulPlan* fresh) -> Status {
      du::ScopedPrimitiveThreads creating(threads);
      fresh->threads = threads;
      memory::desc wei_user = packed_.valid ? packed_.md : BDesc(k, n);
      memory::desc bias_md = as_bias ? du::RowMajor({1, n}) : memory::desc();
      dnnl_kernels::MatmulTail storage;
      BuildMatmul(ADesc(m, k), wei_user, packed_.valid, bias_md, du::RowMajor({m, n}), at_.alpha,
                  prefill ? at_.beta : 0.f, fresh, tail_.For(operands, y_shape, &storage));
      if (packed_.valid) dnnl_kernels::ReorderConstantWeight(fresh, b_data);
      if (ctx.explaining()) ctx.Explain(Describe("Gemm", *fresh, tail_.post.size()));
      return {};
    }, &plan));
    if (prefill) fill_c(1.f);
    RunMatmul(ctx, *plan, a.as<float>(), b_data, as_bias ? c.as<float>() : nullptr, y, operands.data());
    tail_.Finish(*plan, operands, y_shape, y);
    return {};
  }

  GemmAttrs at_;
  std::optional<Shape> a_shape_, b_shape_;
  bool has_c_;
  PackedWeight packed_;
  MatmulFusedTail tail_;
  mutable du::PlanPool<MatmulPlan> plans_;
  RowTimesPanels row_;
};

std::optional<Shape> ShapeOf(const NodeInfo& node, size_t i) {
  if (std::optional<TensorView> c = node.ConstantInput(i)) return c->shape;
  return node.InputShape(i);
}

}  // namespace

Status MatMulKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_CHECK(node.InputType(0) == kF32 && node.InputType(1) == kF32, "only float is supported");
  std::optional<Shape> a = node.InputShape(0), b = ShapeOf(node, 1);
  ANVIL_CHECK(!a || !a->empty(), "A must have rank >= 1");
  ANVIL_CHECK(!b || !b->empty(), "B must have rank >= 1");
  ANVIL_CHECK((!a || a->size() <= 12) && (!b || b->size() <= 12), "rank above 12 is not supported");
  if (a && b && a->back() >= 0) {
    const int64_t kb = b->size() == 1 ? (*b)[0] : (*b)[b->size() - 2];
    ANVIL_CHECK(kb < 0 || kb == a->back(), "shapes ", ToString(*a), " and ", ToString(*b), " do not agree on K");
  }
  if (out) *out = std::make_unique<MatMulImpl>(a, b);
  return {};
}

Status GemmKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  ANVIL_CHECK(node.InputType(0) == kF32 && node.InputType(1) == kF32, "only float is supported");
  if (node.InputPresent(2)) ANVIL_CHECK(node.InputType(2) == kF32, "only float is supported");
  GemmAttrs at;
  at.trans_a = node.Int("transA", 0) != 0;
  at.trans_b = node.Int("transB", 0) != 0;
  at.alpha = node.Float("alpha", 1.f);
  at.beta = node.Float("beta", 1.f);
  std::optional<Shape> a = node.InputShape(0), b = ShapeOf(node, 1);
  ANVIL_CHECK(!a || a->size() == 2, "A must be 2-D");
  ANVIL_CHECK(!b || b->size() == 2, "B must be 2-D");
  if (node.InputPresent(2)) {
    std::optional<Shape> c = node.InputShape(2);
    ANVIL_CHECK(!c || c->size() <= 2, "C must have rank <= 2");
  }
  if (out) *out = std::make_unique<GemmImpl>(at, a, b, node.InputPresent(2));
  return {};
}

}  // namespace anvil
