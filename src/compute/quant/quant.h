// Quantized arithmetic as ORT's CPU EP does it on x86 (MLAS), in plain reference loops: no ORT
// types. Quantization divides by the scale, clamps to the range shifted by the zero point (NaN
// takes the low end, as SSE's max does), rounds half to even and adds the zero point;
// requantization of an int32 accumulator converts it to float, multiplies by the scale and then
// clamps and rounds the same way. Integer products accumulate in int32 (wrapping).
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace anvil::quant {

// The integer element types of the quantized ops. The 4- and 2-bit ones are packed, lowest
// element in the lowest bits of a byte.
enum class QKind { kInt8, kUint8, kInt16, kUint16, kInt32, kInt4, kUint4, kInt2, kUint2 };

struct QRange {
  int bits;
  int32_t min, max;
};
QRange RangeOf(QKind k);
inline bool IsPacked(QKind k) { return RangeOf(k).bits < 8; }
// Bytes that `n` elements of kind `k` occupy.
int64_t BytesFor(QKind k, int64_t n);

// Element i of `data` (kind k) as int32.
int32_t Load(const void* data, QKind k, int64_t i);
// Stores `v` (in range) as element i of `data`.
void Store(void* data, QKind k, int64_t i, int32_t v);
// All n elements to int32.
void LoadAll(const void* data, QKind k, int64_t n, int32_t* out);

// x / scale, clamped to [qmin - zp, qmax - zp] (NaN -> qmin - zp), rounded half to even, + zp.
inline int32_t QuantizeValue(float x, float scale, int32_t zp, int32_t qmin, int32_t qmax) {
  float v = x / scale;
  const float lo = static_cast<float>(qmin - zp), hi = static_cast<float>(qmax - zp);
  v = v > lo ? v : lo;
  v = v < hi ? v : hi;
  return static_cast<int32_t>(std::nearbyint(v)) + zp;
}

// The other order ORT's CPU EP uses for some packed outputs (2-bit ones, 4-bit ones per axis):
// round x / scale to int32 first (NaN and values outside int32 become INT32_MIN, as x86's
// conversion gives), add zp with int32 wrap-around, then clamp to [qmin, qmax].
inline int32_t QuantizeValueIntFirst(float x, float scale, int32_t zp, int32_t qmin, int32_t qmax) {
  const float r = std::nearbyint(x / scale);
  const int32_t i = r >= -2147483648.0f && r < 2147483648.0f ? static_cast<int32_t>(r) : INT32_MIN;
  const int32_t q = static_cast<int32_t>(static_cast<uint32_t>(i) + static_cast<uint32_t>(zp));
  return q < qmin ? qmin : (q > qmax ? qmax : q);
}

// float(acc) * scale, clamped to [qmin - zp, qmax - zp] (NaN -> qmin - zp), rounded, + zp.
inline int32_t RequantizeValue(int32_t acc, float scale, int32_t zp, int32_t qmin, int32_t qmax) {
  float v = static_cast<float>(acc) * scale;
  const float lo = static_cast<float>(qmin - zp), hi = static_cast<float>(qmax - zp);
  v = v > lo ? v : lo;
  v = v < hi ? v : hi;
  return static_cast<int32_t>(std::nearbyint(v)) + zp;
}

// How QuantizeLinear / DequantizeLinear parameters map onto x, viewed as [outer, dim, inner]:
// one scale (per tensor), one per index along dim (per axis), or one per block of `block`
// indices along dim (blocked: params shaped [outer, ceil(dim / block), inner]).
struct QdqLayout {
  int64_t outer = 1, dim = 1, inner = 1;
  int64_t block = 0;  // > 0: blocked
  bool per_tensor = true;
  int64_t Param(int64_t o, int64_t d, int64_t i) const {
    if (per_tensor) return 0;
    if (block == 0) return d;
    return (o * ((dim + block - 1) / block) + d / block) * inner + i;
  }
};

// y (kind `out`) = QuantizeValue(x, scale[p], zp[p]) with p from the layout; zp may be null (0).
// Packed outputs use QuantizeValueIntFirst where ORT's CPU EP does: 2-bit kinds, and 4-bit kinds
// quantized per axis.
void QuantizeLinear(const float* x, const float* scale, const int32_t* zp, const QdqLayout& layout, QKind out,
                    void* y);
// y = float(x - zp[p]) * scale[p]; zp may be null (0).
void DequantizeLinear(const void* x, QKind in, const float* scale, const int32_t* zp, const QdqLayout& layout,
                      float* y);

// DynamicQuantizeLinear: the uint8 scale and zero point of x (range widened to include 0), as ORT
// computes them; then QuantizeLinear with them.
void DynamicQuantParams(const float* x, int64_t n, float* scale, uint8_t* zero_point);

// Batched integer matrix product: for each batch b, C_b[m, n] = sum_k (A[m, k] - a_zp) *
// (B[k, n] - b_zp[n or 0]) with A at a + a_offset[b], B at b + b_offset[b], its zero points at
// b_zp + b_param_offset[b] (per column when b_zp_per_column), C at c + b * M * N.
struct IntMatMul {
  int64_t batch = 1, M = 0, N = 0, K = 0;
  const int64_t* a_offset = nullptr;        // per batch, in elements
  const int64_t* b_offset = nullptr;        // per batch, in elements
  const int64_t* b_param_offset = nullptr;  // per batch, in elements of the per-column params
  bool a_signed = false, b_signed = false;
  bool b_per_column = false;
};
void MatMulInteger(const IntMatMul& g, const void* a, int32_t a_zp, const void* b, const int32_t* b_zp, int32_t* c);

// Integer convolution, NC + up to 3 spatial dims (1-D and 2-D normalised with leading dims of 1).
// y[n, m, o...] = sum over the group's channels and taps inside x of (x - x_zp) * (w - w_zp[m or 0]);
// taps in the padding contribute nothing.
struct IntConv {
  int64_t n = 0, c = 0, m = 0, group = 1;
  int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1}, kernel[3] = {1, 1, 1};
  int64_t stride[3] = {1, 1, 1}, dilation[3] = {1, 1, 1}, pad_begin[3] = {0, 0, 0};
  bool x_signed = false, w_signed = false;
  bool w_per_channel = false;
};
void ConvInteger(const IntConv& g, const void* x, int32_t x_zp, const void* w, const int32_t* w_zp, int32_t* y);

// y[i] (int8 or uint8 by y_signed) = RequantizeValue(acc[i] + bias[channel], scale[channel], zp)
// where the channel of element i is (i / inner) % channels (bias may be null; channels 1 for a
// single scale).
void Requantize(const int32_t* acc, int64_t count, int64_t channels, int64_t inner, const int32_t* bias,
                const float* scale, int32_t zp, bool y_signed, void* y);

}  // namespace anvil::quant
