// Mean and max reductions over an arbitrary set of axes of a dense float tensor: plain C++, no ORT types.
#pragma once
#include <cstdint>

namespace anvil::nn {

constexpr int kMaxReduceRank = 16;

// y = mean of x over the axes with reduce[axis] set; y is laid out like x with the reduced axes
// removed. `rank` <= kMaxReduceRank (returns false otherwise). A mean over zero elements is 0,
// like ONNX Runtime's CPU provider.
bool ReduceMean(const float* x, float* y, const int64_t* dims, const bool* reduce, int rank);
// The same for the maximum (NaN propagates; the maximum of nothing is -inf, as ONNX specifies).
bool ReduceMax(const float* x, float* y, const int64_t* dims, const bool* reduce, int rank);

}  // namespace anvil::nn
