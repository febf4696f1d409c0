// Float activations over contiguous arrays with explicit vectors: GCC does not vectorise these
// loops itself under the default -ftrapping-math and -fmath-errno. AVX2+FMA when the CPU has it
// (chosen at run time), else SSE4.1 (the build's x86-64-v2 baseline) with scalar tails that use
// the same formulas (compute/elementwise/math.h). Either way every element of an array gets the
// same formula whatever its position. Pure compute: no ORT.
#pragma once
#include <cstdint>

namespace anvil::ew {

void SqrtArray(const float* x, float* y, int64_t n);
// pow(x, 0.5): sqrt except that -inf gives +inf (as std::pow does).
void PowHalfArray(const float* x, float* y, int64_t n);
void SigmoidArray(const float* x, float* y, int64_t n);
void HardSigmoidArray(const float* x, float* y, int64_t n, float alpha, float beta);
void HardSwishArray(const float* x, float* y, int64_t n);
// x < 0 ? 0 : x (NaN and -0 pass through).
void ReluArray(const float* x, float* y, int64_t n);
// (x < lo ? lo : x) then (v > hi ? hi : v): NaN passes through, lo > hi gives hi everywhere.
void ClipArray(const float* x, float* y, int64_t n, float lo, float hi);
// x < 0 ? alpha * x : x (NaN passes through).
void LeakyReluArray(const float* x, float* y, int64_t n, float alpha);
// exp(x) over the whole float range, about 1 ulp: denormal results and results up to FLT_MAX
// come out right (not flushed or clamped), overflow gives +inf, NaN stays NaN.
void ExpArray(const float* x, float* y, int64_t n);
// Natural log, about 1 ulp, denormal inputs included: log(0) = -inf, log(x < 0) = NaN,
// log(+inf) = +inf, NaN stays NaN.
void LogArray(const float* x, float* y, int64_t n);

}  // namespace anvil::ew
