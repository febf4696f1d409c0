// One-input math and activations over contiguous arrays (float and double), element predicates
// (IsNaN, IsInf) and integer-capable ones (Sign, Shrink), in parallel. Pure compute: no ORT.
// Transcendentals use the C++ library's functions (correctly rounded or close to it), so tiny
// inputs keep their full relative accuracy (erf, tanh, expm1 near 0).
#pragma once
#include <cstdint>

namespace anvil::ew {

enum class MathOp {
  kReciprocal, kTanh, kErf, kFloor, kCeil, kRound, kSin, kCos, kTan, kAsin, kAcos, kAtan,
  kSinh, kCosh, kAsinh, kAcosh, kAtanh, kSoftplus, kSoftsign, kElu, kSelu, kCelu,
  kThresholdedRelu, kGeluErf, kGeluTanh, kMish, kExp, kLog, kSqrt, kSigmoid, kRelu, kNeg, kAbs,
  kLeakyRelu,
};

// Attribute values the parameterised ops read (Elu / Celu / LeakyRelu / ThresholdedRelu: alpha;
// Selu: alpha, gamma).
struct MathParams {
  double alpha = 0, gamma = 0;
};

// y[i] = op(x[i]) for i in [0, n). T is float or double.
template <typename T>
void RunMath(MathOp op, const MathParams& p, const T* x, T* y, int64_t n);

// Sign: -1, 0, 1 (NaN stays NaN). Any arithmetic T.
template <typename T>
void RunSign(const T* x, T* y, int64_t n);

// Shrink: x < -lambd ? x + bias : (x > lambd ? x - bias : 0), computed in T's arithmetic like
// ONNX's reference (integer results wrap).
template <typename T>
void RunShrink(const T* x, T* y, int64_t n, float lambd, float bias);

// IsNaN / IsInf into bytes (bool tensors).
template <typename T>
void RunIsNaN(const T* x, uint8_t* y, int64_t n);
template <typename T>
void RunIsInf(const T* x, uint8_t* y, int64_t n, bool negative, bool positive);

}  // namespace anvil::ew
