// Numerically stable softmax over float rows: plain C++, no ORT types.
#pragma once
#include <cstdint>

namespace anvil::nn {

// y[r, :] = softmax(x[r, :]) for r in [0, rows), each row `n` contiguous floats.
void SoftmaxRows(const float* x, float* y, int64_t rows, int64_t n);

// Softmax along the middle axis of x viewed as [outer, n, inner] (inner > 1: strided axis).
void SoftmaxStrided(const float* x, float* y, int64_t outer, int64_t n, int64_t inner);

// y[r, :] = log_softmax(x[r, :]) = x - (max + log(sum(exp(x - max)))) over contiguous rows; a row
// whose maximum is not finite uses 0 as the shift (so -inf / +inf / NaN come out as the limits).
void LogSoftmaxRows(const float* x, float* y, int64_t rows, int64_t n);

}  // namespace anvil::nn
