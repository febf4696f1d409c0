// Scaled dot-product attention (ONNX Attention-23/24), RMS normalisation and rotary embedding:
// plain C++, no ORT types. Float throughout; a float16 node is computed in float with the
// intermediate results rounded to half where ORT's CPU EP keeps them in half (after Q*K', after
// softcap, after the mask, after softmax), so Anvil matches it to the last bit or so.
#pragma once
#include <cstdint>

namespace anvil::nn {

// IEEE half <-> float, round to nearest even (NaN stays NaN, overflow gives inf).
uint16_t FloatToHalf(float f);
float HalfToFloat(uint16_t h);
inline float RoundToHalf(float f) { return HalfToFloat(FloatToHalf(f)); }
void HalfToFloatArray(const uint16_t* x, float* y, int64_t n);
void FloatToHalfArray(const float* x, uint16_t* y, int64_t n);

// A row whose keys are all masked (causal, nonpad, mask entries <= filter) gets zero
// probabilities (Y row 0).
// What qk_matmul_output holds (ORT's numbering): -1 none, 0 scale * Q K', 1 after softcap,
// 2 after the mask (and nonpad_kv_seqlen), 3 after softmax.
struct AttentionShape {
  int64_t batch = 0, q_heads = 0, kv_heads = 0;  // q_heads % kv_heads == 0 (group of kv head h: h * kv / q)
  int64_t q_len = 0, total_len = 0;              // total_len = past + new kv positions
  int64_t past_len = 0;
  int64_t head = 0, v_head = 0;
  float scale = 1.0f;
  float softcap = 0.0f;  // > 0: scores = softcap * tanh(scores / softcap), before the mask
  bool causal = false;   // key t is masked for query s when t > s + offset (past_len, or nonpad[b] - q_len)
  int qk_mode = -1;
  bool half = false;     // round intermediates to half (a float16 node)
  bool y_3d = false;     // Y as [B, S, q_heads * v_head] (3-D inputs), else [B, q_heads, S, v_head]
  // Additive mask, float, viewed as [mask_b, mask_h, q_len, total_len] (broadcast: index % dim);
  // nullptr for none. Masked positions (causal, nonpad, bool masks) use `filter` instead.
  const float* mask = nullptr;
  int64_t mask_b = 1, mask_h = 1;
  float filter = -3.4028234663852886e38f;  // the value ORT writes at masked positions
  const int64_t* nonpad = nullptr;         // per batch: keys t >= nonpad[b] are masked
};

// q: [B, q_heads, S, head]; k: [B, kv_heads, T, head]; v: [B, kv_heads, T, v_head] (float,
// contiguous). y: see y_3d. qk (may be null): [B, q_heads, S, T]. Parallel over batch * q_heads.
void Attention(const AttentionShape& p, const float* q, const float* k, const float* v, float* y, float* qk);

// RMSNormalization over rows of `cols`: y = x / sqrt(mean(x^2) + epsilon) * scale[r * scale_row_stride + c]
// (c taken as 0 when scale_size is 1, else scale_size == cols). Accumulates in double.
template <typename T>
void RmsNormRows(const T* x, const T* scale, int64_t scale_size, int64_t scale_row_stride, T* y, int64_t rows,
                 int64_t cols, double epsilon);

// RotaryEmbedding over x viewed as [B, S, H, D] with strides (in elements) for b, s, h (d is
// contiguous); y uses the same layout as x. cos / sin: one row of rot/2 values per (b, s) given by
// `cache_row(b, s)` (the position id or b * S + s). The first `rot` entries of each head are
// rotated (interleaved pairs or halves); the rest is copied.
struct RotaryShape {
  int64_t batch = 0, seq = 0, heads = 0, head = 0, rot = 0;
  int64_t stride_b = 0, stride_s = 0, stride_h = 0;
  bool interleaved = false;
};
void Rotary(const RotaryShape& p, const float* x, const float* cos_cache, const float* sin_cache,
            const int64_t* cache_rows, float* y);

}  // namespace anvil::nn
