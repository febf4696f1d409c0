// Normalisations along axes of dense tensors (float or double): LogSoftmax, Hardmax, layer /
// instance / group normalisation statistics, Lp normalisation, mean-variance normalisation, LRN,
// global max and Lp pooling. Statistics accumulate in double. Plain C++, no ORT types; parallel
// over independent rows.
#pragma once
#include <cstdint>

namespace anvil::nn {

// Along the middle axis of x viewed as [outer, n, inner] (n >= 1).
template <typename T>
void LogSoftmax(const T* x, T* y, int64_t outer, int64_t n, int64_t inner);
// Softmax in double (the float kernels are in softmax.h).
void SoftmaxDouble(const double* x, double* y, int64_t outer, int64_t n, int64_t inner);
// 1 at the first maximum, 0 elsewhere (NaN rows: 1 at the first NaN).
template <typename T>
void Hardmax(const T* x, T* y, int64_t outer, int64_t n, int64_t inner);
// x / ||x||_p (p 1 or 2); a zero norm gives 0.
template <typename T>
void LpNormalize(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, int p);

// Per row of `cols` contiguous elements (x viewed as [rows, cols]):
//   y = (x - mean) * inv_std * scale + bias,  inv_std = 1 / sqrt(var + epsilon)
// channels == 0 (LayerNormalization): scale / bias per column (cols entries); channels > 0
// (InstanceNormalization): per row r, entry r % channels. bias may be null. mean_out / inv_std_out
// (per row, float: ONNX's stash type) may be null.
template <typename T>
void NormalizeRows(const T* x, T* y, int64_t rows, int64_t cols, const T* scale, const T* bias, int64_t channels,
                   double epsilon, float* mean_out, float* inv_std_out);

// GroupNormalization: statistics per (n, group) over channels_per_group * spatial elements; scale
// and bias per channel ([C], revision 21) when per_channel, else per group ([groups], revision 18).
template <typename T>
void GroupNormalize(const T* x, T* y, int64_t n, int64_t groups, int64_t channels_per_group, int64_t spatial,
                    const T* scale, const T* bias, bool per_channel, double epsilon);

// (x - mean) / sqrt(var) over the axes with reduce[axis] set (mean and var over those axes), like
// ORT's MeanVarianceNormalization (no epsilon: a constant slice gives NaN). rank <= 16.
template <typename T>
void MeanVarianceNormalize(const T* x, T* y, const int64_t* dims, const bool* reduce, int rank);

// LRN across channels of x [N, C, spatial]: y = x / (bias + alpha / size * sum x^2)^beta, the sum
// over channels c - floor((size-1)/2) .. c + ceil((size-1)/2).
template <typename T>
void Lrn(const T* x, T* y, int64_t n, int64_t c, int64_t spatial, int64_t size, double alpha, double beta, double bias);

// Over `spatial` contiguous elements per (n, c) row: the maximum (NaN propagates), or
// (sum |x|^p)^(1/p).
template <typename T>
void GlobalMax(const T* x, T* y, int64_t rows, int64_t spatial);
template <typename T>
void GlobalLp(const T* x, T* y, int64_t rows, int64_t spatial, int64_t p);

}  // namespace anvil::nn
