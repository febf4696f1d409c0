// Index-driven data movement for the shape kernels (Pad, Where, GatherElements, GatherND,
// Scatter*, Compress, ReverseSequence, Trilu, ...): plain memory, no ORT types. Everything here
// moves elements by size (1, 2, 4, 8 bytes or any other size), so one loop serves every type.
#pragma once
#include <cstddef>
#include <cstdint>

namespace anvil::shape {

// n copies of the element at `value` (elem_size bytes) into dst. Parallel when large.
void Fill(void* dst, const void* value, size_t elem_size, int64_t n);

// Output element (i_0, ..., i_{r-1}) of an out_dims tensor gets input element
// (maps[0][i_0], ..., maps[r-1][i_{r-1}]) of a row-major in_dims tensor, or `fill` when any
// maps[d][i_d] is negative (Pad in every mode: the maps say where each output index reads).
void MapCopy(void* dst, const void* src, size_t elem_size, int rank, const int64_t* out_dims,
             const int64_t* in_dims, const int64_t* const* maps, const void* fill);

// Block i of dst (block_bytes each) = the block at src + offsets[i] * block_bytes.
void CopyBlocks(void* dst, const void* src, int64_t block_bytes, const int64_t* offsets, int64_t n);

// The inverse, in order (a later duplicate offset wins): the block at dst + offsets[i] *
// block_bytes = block i of src.
void ScatterBlocks(void* dst, const void* src, int64_t block_bytes, const int64_t* offsets, int64_t n);

// Element offsets for ScatterElements: for each element i (row-major over
// `dims`) of the indices tensor, the offset into data (row-major strides `data_strides`) of the
// same coordinates with coordinate `axis` replaced by idx[i] (already in range).
void AxisOffsets(int64_t* offsets, int rank, const int64_t* dims, const int64_t* data_strides, int axis,
                 const int64_t* idx);

// GatherElements in one pass: dst[i] (row-major over `dims`, the indices' shape) = the data
// element at i's coordinates with coordinate `axis` replaced by idx[i] (int64 when idx64, else
// int32; negative counts from the end). Returns -1, or the position of an index outside
// [-axis_dim, axis_dim) (dst is then unspecified).
int64_t GatherElements(void* dst, const void* src, size_t elem_size, int rank, const int64_t* dims,
                       const int64_t* data_strides, int axis, int64_t axis_dim, const void* idx, bool idx64);

// Where: out (row-major over dims) = cond[c] ? x[a] : y[b], with per-input element strides
// (0 on broadcast dims). rank <= kMaxRank.
void Select(void* dst, const bool* cond, const void* x, const void* y, size_t elem_size, int rank,
            const int64_t* dims, const int64_t* cond_strides, const int64_t* x_strides, const int64_t* y_strides);

// DepthToSpace of an [n, c, h, w] tensor with block b (c divisible by b * b), DCR or CRD order:
// each output row interleaves b contiguous source rows.
void DepthToSpace(void* dst, const void* src, size_t elem_size, int64_t n, int64_t c, int64_t h, int64_t w, int64_t b,
                  bool crd);

// Trilu over `batch` rows x cols matrices (dst may equal src): keeps element (r, c) when
// c - r >= k (upper) or c - r <= k (lower), zeroes the rest.
void Triangle(void* dst, const void* src, size_t elem_size, int64_t batch, int64_t rows, int64_t cols, int64_t k,
              bool upper);

}  // namespace anvil::shape
