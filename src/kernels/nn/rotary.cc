// RotaryEmbedding-23: X [B, H, S, D] or [B, S, H * D] (num_heads), cos / sin caches indexed by
// position_ids ([B, S] into [max_position, rot / 2]) or given per (b, s) ([B, S, rot / 2]).
#include <vector>

#include "compute/nn/attention.h"
#include "kernels/nn/nn.h"

namespace anvil {

Status RotaryKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  const ElemType t = node.InputType(0);
  ANVIL_CHECK(t == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT || t == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16,
              "RotaryEmbedding: only float and float16 are supported");
  ANVIL_CHECK(node.InputType(1) == t && node.InputType(2) == t, "RotaryEmbedding: caches must have X's type");
  if (node.InputPresent(3))
    ANVIL_CHECK(node.InputType(3) == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64, "RotaryEmbedding: position_ids must be int64");
  const int64_t interleaved = node.Int("interleaved", 0), rot = node.Int("rotary_embedding_dim", 0);
  const int64_t heads = node.Int("num_heads", 0);
  ANVIL_CHECK(interleaved == 0 || interleaved == 1, "RotaryEmbedding: interleaved must be 0 or 1");
  ANVIL_CHECK(rot >= 0 && heads >= 0, "RotaryEmbedding: negative rotary_embedding_dim or num_heads");
  if (auto s = node.InputShape(0)) {
    ANVIL_CHECK(s->size() == 3 || s->size() == 4, "RotaryEmbedding: X must be 3-D or 4-D");
    ANVIL_CHECK(s->size() == 4 || heads > 0, "RotaryEmbedding: 3-D X needs num_heads");
  }
  if (out) {
    auto k = std::make_unique<RotaryKernel>();
    k->half_ = t == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16;
    k->interleaved_ = interleaved == 1;
    k->rot_ = rot;
    k->heads_ = heads;
    *out = std::move(k);
  }
  return {};
}

Status RotaryKernel::Compute(ComputeContext& ctx) const {
  const TensorView x = ctx.Input(0), cos = ctx.Input(1), sin = ctx.Input(2);
  const TensorView pos = ctx.HasInput(3) ? ctx.Input(3) : TensorView{};
  const size_t rank = x.shape.size();
  ANVIL_CHECK(rank == 3 || rank == 4, "RotaryEmbedding: X must be 3-D or 4-D, got ", ToString(x.shape));
  nn::RotaryShape p;
  p.batch = x.shape[0];
  if (rank == 4) {
    p.heads = x.shape[1], p.seq = x.shape[2], p.head = x.shape[3];
    p.stride_h = p.seq * p.head, p.stride_s = p.head, p.stride_b = p.heads * p.seq * p.head;
  } else {
    ANVIL_CHECK(heads_ > 0 && x.shape[2] % heads_ == 0, "RotaryEmbedding: hidden size ", x.shape[2],
                " is not a multiple of num_heads ", heads_);
    p.heads = heads_, p.seq = x.shape[1], p.head = x.shape[2] / heads_;
    p.stride_h = p.head, p.stride_s = x.shape[2], p.stride_b = p.seq * x.shape[2];
  }
  p.rot = rot_ > 0 ? rot_ : p.head;
  p.interleaved = interleaved_;
  ANVIL_CHECK(p.rot <= p.head && p.rot % 2 == 0, "RotaryEmbedding: rotary_embedding_dim ", p.rot,
              " must be even and at most the head size ", p.head);
  const int64_t half = p.rot / 2;
  ANVIL_CHECK(cos.shape == sin.shape, "RotaryEmbedding: cos_cache ", ToString(cos.shape), " and sin_cache ",
              ToString(sin.shape), " differ");
  std::vector<int64_t> rows(static_cast<size_t>(p.batch * p.seq));
  if (pos.data) {
    ANVIL_CHECK(cos.shape.size() == 2 && cos.shape[1] == half, "RotaryEmbedding: cos_cache ", ToString(cos.shape),
                " must be [max_position, ", half, "] with position_ids");
    ANVIL_CHECK(pos.shape == Shape({p.batch, p.seq}), "RotaryEmbedding: position_ids ", ToString(pos.shape),
                " must be [", p.batch, ", ", p.seq, "]");
    for (int64_t b = 0; b < p.batch; ++b) {
      for (int64_t s = 0; s < p.seq; ++s) {
        const int64_t id = pos.as<int64_t>()[b * p.seq + s];
        ANVIL_CHECK(id >= 0 && id < cos.shape[0], "RotaryEmbedding: position id ", id, " out of range [0, ",
                    cos.shape[0], ")");
        rows[b * p.seq + s] = id;
      }
    }
  } else {
    ANVIL_CHECK(cos.shape == Shape({p.batch, p.seq, half}), "RotaryEmbedding: cos_cache ", ToString(cos.shape),
                " must be [", p.batch, ", ", p.seq, ", ", half, "] without position_ids");
    for (int64_t i = 0; i < p.batch * p.seq; ++i) rows[i] = i;
  }
  void* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, x.shape, &y));
  if (x.size() == 0) return {};
  if (!half_) {
    nn::Rotary(p, x.as<float>(), cos.as<float>(), sin.as<float>(), rows.data(), static_cast<float*>(y));
    return {};
  }
  // float16: in float, rounded to half at the end.
  float* xs = ctx.Scratch<float>(static_cast<size_t>(x.size()));
  float* cs = ctx.Scratch<float>(static_cast<size_t>(cos.size()));
  float* ss = ctx.Scratch<float>(static_cast<size_t>(sin.size()));
  float* ys = ctx.Scratch<float>(static_cast<size_t>(x.size()));
  nn::HalfToFloatArray(x.as<uint16_t>(), xs, x.size());
  nn::HalfToFloatArray(cos.as<uint16_t>(), cs, cos.size());
  nn::HalfToFloatArray(sin.as<uint16_t>(), ss, sin.size());
  nn::Rotary(p, xs, cs, ss, rows.data(), ys);
  nn::FloatToHalfArray(ys, static_cast<uint16_t*>(y), x.size());
  return {};
}

}  // namespace anvil
