#include "fusion/post_ops.h"

#include <algorithm>
#include <cmath>

#include "compute/elementwise/binary_loops.h"
#include "compute/elementwise/broadcast.h"
#include "compute/elementwise/math.h"
#include "compute/elementwise/math_simd.h"
#include "compute/elementwise/unary_simd.h"
#include "compute/nn/normalize.h"
#include "compute/parallel.h"

namespace anvil {
namespace {

using K = PostOp::Kind;

// One unary step over y[0, n).
void Unary(const PostOp& op, float* y, int64_t n) {
  const float a = op.alpha, b = op.beta;
  switch (op.kind) {
    case K::kRelu: a == 0.f ? ew::ReluArray(y, y, n) : ew::LeakyReluArray(y, y, n, a); return;
    case K::kClip: ew::ClipArray(y, y, n, a, b); return;
    case K::kSigmoid: ew::SigmoidArray(y, y, n); return;
    case K::kTanh: ew::TanhArray(y, y, n); return;
    case K::kHardSigmoid: ew::HardSigmoidArray(y, y, n, a, b); return;
    case K::kHardSwish:
      for (int64_t i = 0; i < n; ++i) y[i] = y[i] * std::max(0.f, std::min(1.f, a * y[i] + b));
      return;
    case K::kSwish:
      for (int64_t i = 0; i < n; ++i) y[i] = y[i] * ew::Sigmoid(a * y[i]);
      return;
    case K::kElu: ew::EluArray(y, y, n, a, 1.f, 1.f); return;
    case K::kLinear:
      for (int64_t i = 0; i < n; ++i) y[i] = a * y[i] + b;
      return;
    case K::kAbs:
      for (int64_t i = 0; i < n; ++i) y[i] = std::fabs(y[i]);
      return;
    case K::kGeluErf: ew::GeluErfArray(y, y, n); return;
    case K::kGeluTanh: ew::GeluTanhArray(y, y, n); return;
    default: return;
  }
}

template <typename Op>
void Accumulate(const ew::BroadcastPlan& plan, const float* b, float* y, Op op) {
  ew::RunAccumulate(plan, b, y, 1, op);
}

void Binary(const PostOp& op, const TensorView& operand, const Shape& shape, float* y) {
  Shape out;
  ew::BroadcastPlan plan;
  if (ew::MakeBroadcastPlan(shape, operand.shape, out, plan) != ew::PlanResult::kOk) return;  // checked before
  const float* b = operand.as<float>();
  switch (op.kind) {
    case K::kAdd: Accumulate(plan, b, y, [](float u, float v) { return u + v; }); return;
    case K::kSub: Accumulate(plan, b, y, [](float u, float v) { return u - v; }); return;
    case K::kMul: Accumulate(plan, b, y, [](float u, float v) { return u * v; }); return;
    case K::kDiv: Accumulate(plan, b, y, [](float u, float v) { return u / v; }); return;
    // As the Max/Min kernels: NaN in either operand gives NaN.
    case K::kMax: Accumulate(plan, b, y, [](float u, float v) { return u != u || v != v ? u + v : std::max(u, v); }); return;
    case K::kMin: Accumulate(plan, b, y, [](float u, float v) { return u != u || v != v ? u + v : std::min(u, v); }); return;
    default: return;
  }
}

// y += t zero-padded at the end of `axis` (t: y's shape with a smaller dim there): each of y's
// outer blocks starts with t's block, the rest of it is unchanged. Then the unary steps
// ops[after, end) over the same blocks while they are in cache (one pass).
void AddPadded(const TensorView& t, const Shape& shape, int32_t axis, const std::vector<PostOp>& ops, size_t after,
               size_t end, float* y) {
  int64_t outer = 1, inner = 1;
  for (int32_t d = 0; d < axis; ++d) outer *= shape[d];
  for (size_t d = axis + 1; d < shape.size(); ++d) inner *= shape[d];
  const int64_t y_block = shape[axis] * inner, t_block = t.shape[axis] * inner;
  const float* b = t.as<float>();
  // Blocks of about 1024 floats at a time.
  const int64_t per_chunk = std::max<int64_t>(1, 1024 / std::max<int64_t>(y_block, 1));
  const int64_t chunks = (outer + per_chunk - 1) / per_chunk;
  ParallelFor(chunks, per_chunk * y_block * static_cast<int64_t>(1 + end - after), [&](int64_t begin, int64_t stop) {
    for (int64_t c = begin; c < stop; ++c) {
      const int64_t o0 = c * per_chunk, o1 = std::min(outer, o0 + per_chunk);
      for (int64_t o = o0; o < o1; ++o) {
        float* __restrict p = y + o * y_block;
        const float* __restrict q = b + o * t_block;
#pragma omp simd
        for (int64_t e = 0; e < t_block; ++e) p[e] += q[e];
      }
      for (size_t k = after; k < end; ++k) Unary(ops[k], y + o0 * y_block, (o1 - o0) * y_block);
    }
  });
}

}  // namespace

void GatherPostOpOperands(const std::vector<PostOp>& ops, const ComputeContext& ctx, PostOpOperands* out) {
  for (size_t i = 0; i < ops.size() && i < kMaxPostOps; ++i)
    (*out)[i] = ops[i].binary() ? ctx.Input(ops[i].operand) : TensorView{};
}

Status CheckPostOpOperands(const std::vector<PostOp>& ops, const PostOpOperands& operands,
                           const Shape& shape) {
  for (size_t i = 0; i < ops.size(); ++i) {
    if (!ops[i].binary()) continue;
    const TensorView& t = operands[i];
    ANVIL_CHECK(t.type == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, "the operand of fused step ", i, " (",
                PostOpName(ops[i].kind), ") is not a float tensor");
    if (ops[i].kind == PostOp::Kind::kAddPadded) {
      const int32_t a = ops[i].axis;
      Shape want = shape;
      if (a >= 0 && a < static_cast<int32_t>(want.size()) && ops[i].extent <= want[a]) want[a] = ops[i].extent;
      ANVIL_CHECK(t.shape == want && want != shape, "the operand of fused step ", i, " (add_padded) has shape ",
                  ToString(t.shape), ", not the output's ", ToString(shape), " with ", ops[i].extent, " at dim ", a);
      continue;
    }
    if (ops[i].kind == PostOp::Kind::kLayerNorm)
      ANVIL_CHECK(!shape.empty() && NumElements(t.shape) == shape.back() && (t.shape.empty() || t.shape.back() == shape.back()),
                  "the scale of fused step ", i, " (layer_norm) has shape ", ToString(t.shape), ", not a row of the ",
                  "output's last axis (", ToString(shape), ")");
    Shape out;
    ew::BroadcastPlan plan;
    ANVIL_CHECK(ew::MakeBroadcastPlan(shape, t.shape, out, plan) == ew::PlanResult::kOk && out == shape,
                "the operand of fused step ", i, " (", PostOpName(ops[i].kind), ") has shape ", ToString(t.shape),
                ", which does not broadcast into the output's ", ToString(shape));
  }
  return {};
}

namespace {

// How a binary step's operand lines up with the output, seen plane by plane (a plane: the
// elements of one (n, c) of an [N, C, ...] output, or the whole output below rank 3).
enum class Fit { kFull, kScalar, kChannel, kGeneral };

Fit FitOf(const Shape& operand, const Shape& y) {
  if (NumElements(operand) == 1) return Fit::kScalar;
  if (operand == y) return Fit::kFull;
  // Right-aligned [C, 1, ...] or [1, C, 1, ...]: one value per channel (dim 1 of y).
  if (y.size() >= 3 && operand.size() >= y.size() - 1) {
    const size_t lead = y.size() - operand.size();  // 0 or 1
    bool channel = true;
    for (size_t i = 0; i < operand.size(); ++i) {
      const size_t d = i + lead;
      const int64_t want = d == 1 ? y[1] : 1;
      if (operand[i] != want) channel = false;
    }
    if (channel) return Fit::kChannel;
  }
  return Fit::kGeneral;
}

// p[e] = p[e] op b[e] (or op v, one value), with the op chosen outside the loop so that it vectorises.
template <bool kVector>
void BinaryRow(PostOp::Kind k, float* __restrict p, const float* __restrict b, float v, int64_t n) {
  auto run = [&](auto op) {
    if constexpr (kVector) {
      for (int64_t e = 0; e < n; ++e) p[e] = op(p[e], b[e]);
    } else {
      for (int64_t e = 0; e < n; ++e) p[e] = op(p[e], v);
    }
  };
  switch (k) {
    case K::kAdd: run([](float u, float w) { return u + w; }); return;
    case K::kSub: run([](float u, float w) { return u - w; }); return;
    case K::kMul: run([](float u, float w) { return u * w; }); return;
    case K::kDiv: run([](float u, float w) { return u / w; }); return;
    case K::kMax: run([](float u, float w) { return u != u || w != w ? u + w : (u < w ? w : u); }); return;
    case K::kMin: run([](float u, float w) { return u != u || w != w ? u + w : (w < u ? w : u); }); return;
    default: return;
  }
}

// Steps [i, j) over y[begin, end) (all within one plane, whose channel is `c`, starting at
// output element `begin`). None of the steps is kGeneral.
void Block(const std::vector<PostOp>& ops, const PostOpOperands& operands, const Fit* fits, size_t i, size_t j,
           int64_t c, int64_t begin, int64_t end, float* y) {
  float* p = y + begin;
  const int64_t n = end - begin;
  for (size_t k = i; k < j; ++k) {
    if (!ops[k].binary()) {
      Unary(ops[k], p, n);
      continue;
    }
    const float* b = operands[k].as<float>();
    if (fits[k] == Fit::kFull) {
      BinaryRow<true>(ops[k].kind, p, b + begin, 0.f, n);
    } else {
      BinaryRow<false>(ops[k].kind, p, nullptr, fits[k] == Fit::kScalar ? b[0] : b[c], n);
    }
  }
}

}  // namespace

void ApplyPostOps(const std::vector<PostOp>& ops, const PostOpOperands& operands, const Shape& shape, float* y,
                  size_t first) {
  const int64_t n = NumElements(shape);
  if (n <= 0) return;
  const int64_t channels = shape.size() >= 3 ? shape[1] : 1;
  const int64_t plane = shape.size() >= 3 ? n / (shape[0] * channels) : n;
  Fit fits[kMaxPostOps];
  for (size_t k = 0; k < ops.size() && k < kMaxPostOps; ++k)
    fits[k] = ops[k].binary() ? FitOf(operands[k].shape, shape) : Fit::kFull;
  // Runs of steps without a general broadcast go block by block, each block through all of the
  // run's steps while it is in cache: one pass over memory. A general broadcast is a pass of its own.
  // A LayerNorm is a pass of its own too, row by row.
  auto own_pass = [&](size_t k) { return ops[k].anvil_only() || (ops[k].binary() && fits[k] == Fit::kGeneral); };
  size_t i = first;
  while (i < ops.size()) {
    if (ops[i].kind == K::kLayerNorm) {
      const int64_t cols = shape.back();
      nn::NormalizeRows(y, y, n / cols, cols, operands[i].as<float>(), static_cast<const float*>(nullptr), 0,
                        static_cast<double>(ops[i].alpha), nullptr, nullptr);
      ++i;
      continue;
    }
    if (ops[i].kind == K::kAddPadded) {
      size_t j = i + 1;
      while (j < ops.size() && !ops[j].binary()) ++j;
      AddPadded(operands[i], shape, ops[i].axis, ops, i + 1, j, y);
      i = j;
      continue;
    }
    if (own_pass(i)) {
      Binary(ops[i], operands[i], shape, y);
      ++i;
      continue;
    }
    size_t j = i;
    while (j < ops.size() && !own_pass(j)) ++j;
    ParallelFor(n, static_cast<int64_t>(4 * (j - i)), [&](int64_t begin, int64_t end) {
      constexpr int64_t kBlock = 1024;
      int64_t s = begin;
      while (s < end) {
        const int64_t plane_index = s / plane;
        const int64_t stop = std::min({end, (plane_index + 1) * plane, s + kBlock});
        Block(ops, operands, fits, i, j, plane_index % channels, s, stop, y);
        s = stop;
      }
    });
    i = j;
  }
}

}  // namespace anvil
