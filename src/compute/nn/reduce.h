// Reductions over an arbitrary set of axes of a dense tensor (ReduceSum, Mean, Max, Min, Prod, L1,
// L2, LogSum, LogSumExp, SumSquare) and ArgMax / ArgMin along one axis: plain C++, no ORT types.
#pragma once
#include <cstdint>

namespace anvil::nn {

constexpr int kMaxReduceRank = 16;

enum class ReduceOp { kSum, kMean, kMax, kMin, kProd, kL1, kL2, kLogSum, kLogSumExp, kSumSquare };

// y = op over x's axes with reduce[axis] set; y is laid out like x with the reduced axes removed.
// `rank` <= kMaxReduceRank (returns false otherwise). No axis reduced (or only size-1 axes) means
// every element is reduced on its own (the op's per-element transform still applies: |x| for L1,
// x^2 for SumSquare, log x for LogSum). Over zero elements the result is the op's identity as
// ONNX Runtime's CPU provider gives it: 0 (Sum, Mean, L1, L2, SumSquare), 1 (Prod), -inf / the
// type's lowest (Max, LogSum, LogSumExp), +inf / the type's highest (Min). NaN propagates through
// Max and Min. Integer results of L2 and LogSum are computed in double and truncated
// (out-of-range: the type's minimum); the integer Mean truncates; integer LogSumExp follows ORT
// (reduce.cc). `scratch` holds out_count Ts
// (used by LogSumExp only; may be null for the other ops).
// T: float, double, int32_t, int64_t, int8_t, uint8_t.
template <typename T>
bool Reduce(ReduceOp op, const T* x, T* y, const int64_t* dims, const bool* reduce, int rank, T* scratch);

// Number of output elements (the product of the kept dims).
int64_t ReduceOutputCount(const int64_t* dims, const bool* reduce, int rank);

// ArgMax / ArgMin along the middle axis of x viewed as [outer, n, inner] (n >= 1): the first index
// of the extreme value, or the last with select_last. A NaN is the extreme (the first NaN wins).
template <typename T>
void ArgReduce(bool is_max, bool select_last, const T* x, int64_t* y, int64_t outer, int64_t n, int64_t inner);

}  // namespace anvil::nn
