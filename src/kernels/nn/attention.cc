// Attention-23/24 (ONNX's scaled dot-product attention), float and float16, matching ORT's CPU
// EP: softcap before the mask, masked positions (bool masks, causal, nonpad_kv_seqlen) at the
// lowest finite value, fully masked rows giving 0, the causal mask aligned bottom-right (to the
// past, or to nonpad_kv_seqlen), GQA by contiguous groups of query heads.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "compute/nn/attention.h"
#include "kernels/nn/nn.h"

namespace anvil {
namespace {

constexpr ElemType kF32 = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
constexpr ElemType kF16 = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16;
constexpr ElemType kBoolT = ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL;
constexpr ElemType kI64 = ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;

bool OutputExists(const NodeInfo& node, size_t i) {
  return node.OutputCount() > i && node.OutputType(i) != ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
}

// Copies x ([B, len, heads * dim] when `three_d`, else [B, heads, len, dim]) of type `type` into
// dst as float [B, heads, len, dim] starting at sequence position `at` of `dst_len`.
void Gather(const TensorView& x, bool three_d, int64_t B, int64_t heads, int64_t len, int64_t dim, float* dst,
            int64_t dst_len, int64_t at) {
  const bool half = x.type == kF16;
  const float* xf = x.as<float>();
  const uint16_t* xh = x.as<uint16_t>();
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t h = 0; h < heads; ++h) {
      for (int64_t s = 0; s < len; ++s) {
        const int64_t src = three_d ? ((b * len + s) * heads + h) * dim : ((b * heads + h) * len + s) * dim;
        float* d = dst + ((b * heads + h) * dst_len + at + s) * dim;
        if (half) {
          for (int64_t j = 0; j < dim; ++j) d[j] = nn::HalfToFloat(xh[src + j]);
        } else {
          std::memcpy(d, xf + src, sizeof(float) * dim);
        }
      }
    }
  }
}

// Writes float data to an output of `type` (float: copy unless it is already there).
void Store(const float* src, void* dst, ElemType type, int64_t n) {
  if (type == kF16) {
    nn::FloatToHalfArray(src, static_cast<uint16_t*>(dst), n);
  } else if (src != dst) {
    std::memcpy(dst, src, sizeof(float) * n);
  }
}

}  // namespace

Status AttentionKernel::Create(const NodeInfo& node, std::unique_ptr<Kernel>* out) {
  const ElemType t = node.InputType(0);
  ANVIL_CHECK(t == kF32 || t == kF16, "Attention: only float and float16 are supported");
  ANVIL_CHECK(node.InputType(1) == t && node.InputType(2) == t, "Attention: Q, K and V must have one type");
  const bool has_mask = node.InputPresent(3), has_past = node.InputPresent(4) || node.InputPresent(5);
  const bool has_nonpad = node.InputPresent(6);
  if (has_mask) {
    const ElemType m = node.InputType(3);
    ANVIL_CHECK(m == kBoolT || m == t, "Attention: attn_mask must be bool or of Q's type");
  }
  if (has_past) {
    ANVIL_CHECK(node.InputPresent(4) && node.InputPresent(5), "Attention: past_key and past_value go together");
    ANVIL_CHECK(node.InputType(4) == t && node.InputType(5) == t, "Attention: past_key / past_value type");
    ANVIL_CHECK(OutputExists(node, 1) && OutputExists(node, 2),
                "Attention: past_key needs the present_key and present_value outputs (as ORT's CPU EP)");
  }
  if (has_nonpad) {
    ANVIL_CHECK(node.InputType(6) == kI64, "Attention: nonpad_kv_seqlen must be int64");
    ANVIL_CHECK(!has_past, "Attention: nonpad_kv_seqlen cannot be combined with past_key / past_value");
  }
  if (node.SinceVersion() >= 25) {
    ANVIL_CHECK(node.Int("left_window_size", -1) == -1 && node.Int("right_window_size", -1) == -1,
                "Attention: sliding windows are not supported");
  }
  const int64_t mode = node.Int("qk_matmul_output_mode", 0);
  ANVIL_CHECK(mode >= 0 && mode <= 3, "Attention: qk_matmul_output_mode must be 0..3");
  const auto scale = node.Float("scale");
  ANVIL_CHECK(!scale || *scale > 0.0f, "Attention: scale must be positive");
  const int64_t qh = node.Int("q_num_heads", 0), kvh = node.Int("kv_num_heads", 0);
  ANVIL_CHECK(qh >= 0 && kvh >= 0, "Attention: negative head counts");
  const int64_t is_causal = node.Int("is_causal", 0);
  ANVIL_CHECK(is_causal == 0 || is_causal == 1, "Attention: is_causal must be 0 or 1");
  for (size_t i = 0; i < 3; ++i) {
    auto s = node.InputShape(i);
    if (!s) continue;
    ANVIL_CHECK(s->size() == 3 || s->size() == 4, "Attention: Q, K and V must be 3-D or 4-D");
    if (s->size() == 3) {
      ANVIL_CHECK(qh > 0 && kvh > 0, "Attention: 3-D inputs need q_num_heads and kv_num_heads");
      ANVIL_CHECK(qh % kvh == 0, "Attention: q_num_heads must be a multiple of kv_num_heads");
    }
  }
  if (out) {
    auto k = std::make_unique<AttentionKernel>();
    k->type_ = t;
    k->causal_ = is_causal == 1;
    k->q_heads_ = qh;
    k->kv_heads_ = kvh;
    k->scale_ = scale.value_or(0.0f);
    k->softcap_ = node.Float("softcap", 0.0f);
    k->qk_mode_ = OutputExists(node, 3) ? static_cast<int>(mode) : -1;
    k->present_ = OutputExists(node, 1) || OutputExists(node, 2);
    k->present_key_ = OutputExists(node, 1);
    k->present_value_ = OutputExists(node, 2);
    *out = std::move(k);
  }
  return {};
}

Status AttentionKernel::Compute(ComputeContext& ctx) const {
  const TensorView Q = ctx.Input(0), K = ctx.Input(1), V = ctx.Input(2);
  const TensorView mask = ctx.HasInput(3) ? ctx.Input(3) : TensorView{};
  const TensorView pk = ctx.HasInput(4) ? ctx.Input(4) : TensorView{};
  const TensorView pv = ctx.HasInput(5) ? ctx.Input(5) : TensorView{};
  const TensorView nonpad = ctx.HasInput(6) ? ctx.Input(6) : TensorView{};
  const size_t rank = Q.shape.size();
  ANVIL_CHECK((rank == 3 || rank == 4) && K.shape.size() == rank && V.shape.size() == rank,
              "Attention: Q, K, V must all be 3-D or all 4-D, got ", ToString(Q.shape), ", ", ToString(K.shape), ", ",
              ToString(V.shape));
  const bool three_d = rank == 3;
  const int64_t B = Q.shape[0];
  ANVIL_CHECK(B > 0 && K.shape[0] == B && V.shape[0] == B, "Attention: inconsistent or zero batch size");
  int64_t Hq, Hkv, S, L, D, Dv;
  if (three_d) {
    ANVIL_CHECK(q_heads_ > 0 && kv_heads_ > 0, "Attention: 3-D inputs need q_num_heads and kv_num_heads");
    Hq = q_heads_, Hkv = kv_heads_;
    ANVIL_CHECK(Q.shape[2] % Hq == 0 && K.shape[2] % Hkv == 0 && V.shape[2] % Hkv == 0,
                "Attention: hidden sizes must be multiples of the head counts");
    S = Q.shape[1], L = K.shape[1], D = Q.shape[2] / Hq, Dv = V.shape[2] / Hkv;
    ANVIL_CHECK(K.shape[2] / Hkv == D, "Attention: Q and K head sizes differ");
    ANVIL_CHECK(V.shape[1] == L, "Attention: K and V sequence lengths differ");
  } else {
    Hq = Q.shape[1], Hkv = K.shape[1], S = Q.shape[2], L = K.shape[2], D = Q.shape[3], Dv = V.shape[3];
    ANVIL_CHECK(q_heads_ == 0 || q_heads_ == Hq, "Attention: q_num_heads differs from Q.shape[1]");
    ANVIL_CHECK(kv_heads_ == 0 || kv_heads_ == Hkv, "Attention: kv_num_heads differs from K.shape[1]");
    ANVIL_CHECK(V.shape[1] == Hkv && V.shape[2] == L && K.shape[3] == D,
                "Attention: inconsistent K / V shapes ", ToString(K.shape), ", ", ToString(V.shape));
  }
  ANVIL_CHECK(Hkv > 0 && Hq % Hkv == 0, "Attention: q_num_heads must be a multiple of kv_num_heads");
  // As ORT's CPU EP: every size must be positive (the new K / V included).
  ANVIL_CHECK(Hq > 0 && S > 0 && L > 0 && D > 0 && Dv > 0, "Attention: zero-sized inputs ", ToString(Q.shape), ", ",
              ToString(K.shape), ", ", ToString(V.shape), " (every size must be positive)");
  int64_t P = 0;
  if (pk.data) {
    ANVIL_CHECK(pv.data && pk.shape.size() == 4 && pv.shape.size() == 4, "Attention: past_key / past_value must be 4-D");
    P = pk.shape[2];
    ANVIL_CHECK(pk.shape == Shape({B, Hkv, P, D}) && pv.shape == Shape({B, Hkv, P, Dv}),
                "Attention: past_key ", ToString(pk.shape), " / past_value ", ToString(pv.shape),
                " do not match the inputs");
  }
  const int64_t T = P + L;
  int64_t mask_b = 1, mask_h = 1;
  if (mask.data) {
    const size_t mr = mask.shape.size();
    ANVIL_CHECK(mr >= 2 && mr <= 4, "Attention: attn_mask must be 2-D, 3-D or 4-D");
    ANVIL_CHECK(mask.shape[mr - 1] == T && mask.shape[mr - 2] == S, "Attention: attn_mask ", ToString(mask.shape),
                " does not end in (q_sequence_length ", S, ", total_sequence_length ", T, ")");
    if (mr >= 3) mask_h = mask.shape[mr - 3];
    if (mr == 4) mask_b = mask.shape[0];
    ANVIL_CHECK(mask_h == 1 || mask_h == Hq, "Attention: attn_mask is not broadcastable to the query heads");
    ANVIL_CHECK(mask_b == 1 || mask_b == B, "Attention: attn_mask is not broadcastable to the batch");
  }
  if (nonpad.data) {
    ANVIL_CHECK(nonpad.shape.size() == 1 && nonpad.shape[0] == B, "Attention: nonpad_kv_seqlen must have shape [",
                B, "]");
    for (int64_t b = 0; b < B; ++b) {
      const int64_t n = nonpad.as<int64_t>()[b];
      ANVIL_CHECK(n >= 0 && n <= T, "Attention: nonpad_kv_seqlen[", b, "] = ", n, " is out of range [0, ", T, "]");
    }
  }

  const Shape y_shape = three_d ? Shape{B, S, Hq * Dv} : Shape{B, Hq, S, Dv};
  void* y = nullptr;
  ANVIL_RETURN_IF_ERROR(ctx.Output(0, y_shape, &y));
  void* pko = nullptr;
  void* pvo = nullptr;
  if (present_key_) ANVIL_RETURN_IF_ERROR(ctx.Output(1, {B, Hkv, T, D}, &pko));
  if (present_value_) ANVIL_RETURN_IF_ERROR(ctx.Output(2, {B, Hkv, T, Dv}, &pvo));
  void* qko = nullptr;
  if (qk_mode_ >= 0) ANVIL_RETURN_IF_ERROR(ctx.Output(3, {B, Hq, S, T}, &qko));

  const bool f32 = type_ == kF32;
  // Float [B, heads, len, dim] views of Q and of the whole K and V (past then new).
  const float* q = nullptr;
  if (f32 && !three_d) {
    q = Q.as<float>();
  } else {
    float* qs = ctx.Scratch<float>(static_cast<size_t>(B * Hq * S * D));
    Gather(Q, three_d, B, Hq, S, D, qs, S, 0);
    q = qs;
  }
  auto kv = [&](const TensorView& x, const TensorView& past, int64_t dim, void* present) -> const float* {
    if (f32 && !three_d && !past.data) return x.as<float>();
    float* dst = f32 && present ? static_cast<float*>(present) : ctx.Scratch<float>(static_cast<size_t>(B * Hkv * T * dim));
    if (past.data) Gather(past, false, B, Hkv, P, dim, dst, T, 0);
    Gather(x, three_d, B, Hkv, L, dim, dst, T, P);
    return dst;
  };
  const float* k = kv(K, pk, D, pko);
  const float* v = kv(V, pv, Dv, pvo);
  if (pko) Store(k, pko, type_, B * Hkv * T * D);
  if (pvo) Store(v, pvo, type_, B * Hkv * T * Dv);

  nn::AttentionShape p;
  p.batch = B, p.q_heads = Hq, p.kv_heads = Hkv, p.q_len = S, p.total_len = T, p.past_len = P;
  p.head = D, p.v_head = Dv;
  p.scale = scale_ > 0.0f ? scale_ : static_cast<float>(1.0 / std::sqrt(static_cast<double>(D)));
  p.softcap = softcap_;
  p.causal = causal_;
  p.qk_mode = qk_mode_;
  p.half = !f32;
  p.y_3d = three_d;
  p.filter = f32 ? -3.4028234663852886e38f : -65504.0f;
  p.nonpad = nonpad.data ? nonpad.as<int64_t>() : nullptr;
  if (mask.data) {
    p.mask_b = mask_b, p.mask_h = mask_h;
    const int64_t n = mask.size();
    if (mask.type == kF32) {
      p.mask = mask.as<float>();
    } else {
      float* m = ctx.Scratch<float>(static_cast<size_t>(n));
      if (mask.type == kBoolT) {
        const bool* mb = mask.as<bool>();
        for (int64_t i = 0; i < n; ++i) m[i] = mb[i] ? 0.0f : p.filter;
      } else {
        nn::HalfToFloatArray(mask.as<uint16_t>(), m, n);
      }
      p.mask = m;
    }
  }
  float* yf = f32 ? static_cast<float*>(y) : ctx.Scratch<float>(static_cast<size_t>(B * Hq * S * Dv));
  float* qkf = nullptr;
  if (qko) qkf = f32 ? static_cast<float*>(qko) : ctx.Scratch<float>(static_cast<size_t>(B * Hq * S * T));
  nn::Attention(p, q, k, v, yf, qkf);
  if (!f32) {
    Store(yf, y, type_, B * Hq * S * Dv);
    if (qko) Store(qkf, qko, type_, B * Hq * S * T);
  }
  return {};
}

}  // namespace anvil
