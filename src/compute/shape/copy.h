// Data-movement primitives for the shape kernels: plain memory, no ORT types.
#pragma once
#include <cstddef>
#include <cstdint>

namespace anvil::shape {

// Largest rank the strided copies accept (callers check it and report a clear error).
constexpr int kMaxRank = 64;

// memcpy of `bytes`, split across threads when large. Safe for bytes == 0 and null pointers then.
void ParallelCopy(void* dst, const void* src, size_t bytes);

// dst (row-major over `dims`) gets src[offset + sum_k i_k * strides[k]] for each multi-index i.
// Strides and offset are in elements and may be negative. `dims` and `strides` are rewritten
// (size-1 dims dropped, contiguous dims merged). rank <= kMaxRank.
void StridedCopy(void* dst, const void* src, size_t elem_size, int rank, int64_t* dims, int64_t* strides,
                 int64_t offset);

// For each of `batch` matrices: dst[b][c][r] = src[b][r][c], a rows x cols source. Cache-blocked.
void BatchedTranspose2D(void* dst, const void* src, size_t elem_size, int64_t batch, int64_t rows, int64_t cols);

// The Gather copy: for each outer o and index j, elements [0, block) of
// dst[(o*nidx + j)*block] = src[(o*axis_len + indices[j])*block]. Indices are in [0, axis_len).
void GatherBlocks(void* dst, const void* src, size_t elem_size, int64_t outer, int64_t axis_len, int64_t block,
                  const int64_t* indices, int64_t nidx);

}  // namespace anvil::shape
