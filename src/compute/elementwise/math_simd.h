// Vectorised float versions of some one-input math (math_simd.cc), in parallel. Pure compute.
#pragma once
#include <cstdint>

namespace anvil::ew {

// tanh, within 4e-7 relative of the exact value (exact to rounding for tiny |x|).
void TanhArray(const float* x, float* y, int64_t n);
// erf, and Gelu (approximate = "none") as 0.5 x erfc(-x / sqrt 2).
void ErfArray(const float* x, float* y, int64_t n);
void GeluErfArray(const float* x, float* y, int64_t n);
// gamma * (x < 0 ? alpha (e^(x inv_alpha) - 1) : x): Elu (gamma 1, inv_alpha 1), Selu (inv_alpha 1),
// Celu (gamma 1, inv_alpha 1 / alpha). NaN propagates.
void EluArray(const float* x, float* y, int64_t n, float alpha, float gamma, float inv_alpha);
// log(1 + e^x) without overflow, within a few ulp.
void SoftplusArray(const float* x, float* y, int64_t n);
// x tanh(softplus(x)), within a few ulp.
void MishArray(const float* x, float* y, int64_t n);
// Gelu with approximate = "tanh", in the sigmoid form (no cancellation below 0).
void GeluTanhArray(const float* x, float* y, int64_t n);

}  // namespace anvil::ew
