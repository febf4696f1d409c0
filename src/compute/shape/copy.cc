#include "compute/shape/copy.h"

#include <algorithm>
#include <cstring>

#include <immintrin.h>

#include "compute/parallel.h"

namespace anvil::shape {
namespace {

constexpr int64_t kCopyGrain = 1 << 16;  // bytes per parallel chunk of a flat copy

template <typename T>
void StridedRows(char* dst, const char* src, int outer_rank, const int64_t* dims, const int64_t* strides,
                 int64_t offset, int64_t mid, int64_t mid_stride, int64_t inner, int64_t inner_stride, int64_t rows) {
  // Rows are (outer index, mid index) pairs; each row copies `inner` elements.
  ParallelFor(rows, inner, [&](int64_t begin, int64_t end) {
    T* out = reinterpret_cast<T*>(dst) + begin * inner;
    const T* in = reinterpret_cast<const T*>(src);
    for (int64_t row = begin; row < end; ++row) {
      int64_t m = row % mid;
      int64_t o = row / mid;
      int64_t off = offset + m * mid_stride;
      for (int k = outer_rank - 1; k >= 0 && o > 0; --k) {
        off += (o % dims[k]) * strides[k];
        o /= dims[k];
      }
      const T* p = in + off;
      if (inner_stride == 1) {
        std::memcpy(out, p, static_cast<size_t>(inner) * sizeof(T));
      } else {
        for (int64_t i = 0; i < inner; ++i) out[i] = p[i * inner_stride];
      }
      out += inner;
    }
  });
}

// Scalar tile transpose of source rows [r0, r1) x columns [c0, c1).
template <typename T>
inline void TransposeTile(T* d, const T* s, int64_t rows, int64_t cols, int64_t r0, int64_t r1, int64_t c0,
                          int64_t c1) {
  for (int64_t r = r0; r < r1; ++r) {
    const T* srow = s + r * cols;
    for (int64_t c = c0; c < c1; ++c) d[c * rows + r] = srow[c];
  }
}

// 4-byte elements: 4x4 register transposes (pure bit moves, so any 4-byte type is exact).
inline void TransposeTile(uint32_t* d, const uint32_t* s, int64_t rows, int64_t cols, int64_t r0, int64_t r1,
                          int64_t c0, int64_t c1) {
  const int64_t r4 = r0 + ((r1 - r0) & ~int64_t{3});
  const int64_t c4 = c0 + ((c1 - c0) & ~int64_t{3});
  for (int64_t r = r0; r < r4; r += 4) {
    const uint32_t* s0 = s + r * cols;
    for (int64_t c = c0; c < c4; c += 4) {
      __m128 a = _mm_castsi128_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s0 + c)));
      __m128 b = _mm_castsi128_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s0 + cols + c)));
      __m128 e = _mm_castsi128_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s0 + 2 * cols + c)));
      __m128 f = _mm_castsi128_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s0 + 3 * cols + c)));
      _MM_TRANSPOSE4_PS(a, b, e, f);
      uint32_t* dc = d + c * rows + r;
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dc), _mm_castps_si128(a));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dc + rows), _mm_castps_si128(b));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dc + 2 * rows), _mm_castps_si128(e));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dc + 3 * rows), _mm_castps_si128(f));
    }
    if (c4 < c1) TransposeTile<uint32_t>(d, s, rows, cols, r, r + 4, c4, c1);
  }
  if (r4 < r1) TransposeTile<uint32_t>(d, s, rows, cols, r4, r1, c0, c1);
}

template <typename T>
void Transpose2DTyped(T* dst, const T* src, int64_t batch, int64_t rows, int64_t cols) {
  // A work item is (matrix, band of `band` source columns) = a band of destination rows. Inside it,
  // source rows are walked in groups of `row_block`, so a few source lines and `band` destination
  // lines stay hot. The long side's rows are usually a multiple of 4 KB apart (a channel plane of
  // an image), so their lines compete for the same L1 sets: when the destination's rows are the
  // long ones (rows >= cols: channels-last to channels-first, at ORT's layout boundary around a
  // Resize) a narrow band keeps only 8 of them live, and each of their lines is filled in one go.
  // Measured single-threaded on AVX-512 (Zen 5): 25600x96 0.7 ms instead of 4.3 (64-wide bands);
  // the other way round the wide bands are the faster.
  const bool long_destination_rows = rows >= cols;
  const int64_t band = long_destination_rows ? 8 : 64, row_block = long_destination_rows ? 32 : 16;
  const int64_t bands = (cols + band - 1) / band;
  ParallelFor(batch * bands, band * rows, [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) {
      const int64_t b = item / bands;
      const int64_t c0 = (item % bands) * band;
      const int64_t c1 = std::min(cols, c0 + band);
      const T* s = src + b * rows * cols;
      T* d = dst + b * rows * cols;
      if (!long_destination_rows && c1 < cols) {
        // The source rows are too many streams for the hardware prefetcher (a channel plane each):
        // ask for the next band's lines now, while this band is transposed (96x25600: 0.6-0.7 ms
        // instead of 0.9-1.5).
        const char* next = reinterpret_cast<const char*>(s + c1);
        const int64_t row_bytes = cols * static_cast<int64_t>(sizeof(T));
        const int64_t band_bytes = std::min(cols - c1, band) * static_cast<int64_t>(sizeof(T));
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t off = 0; off < band_bytes; off += 64) __builtin_prefetch(next + r * row_bytes + off);
      }
      for (int64_t r0 = 0; r0 < rows; r0 += row_block)
        TransposeTile(d, s, rows, cols, r0, std::min(rows, r0 + row_block), c0, c1);
    }
  });
}

template <typename T>
void GatherTyped(T* dst, const T* src, int64_t outer, int64_t axis_len, int64_t block, const int64_t* idx,
                 int64_t nidx) {
  ParallelFor(outer * nidx, block, [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) {
      const int64_t o = item / nidx;
      const int64_t j = item % nidx;
      const T* s = src + (o * axis_len + idx[j]) * block;
      T* d = dst + item * block;
      if (block == 1) {
        *d = *s;
      } else {
        std::memcpy(d, s, static_cast<size_t>(block) * sizeof(T));
      }
    }
  });
}

}  // namespace

void ParallelCopy(void* dst, const void* src, size_t bytes) {
  if (bytes == 0 || dst == src) return;
  const int64_t chunks = static_cast<int64_t>((bytes + kCopyGrain - 1) / kCopyGrain);
  char* d = static_cast<char*>(dst);
  const char* s = static_cast<const char*>(src);
  ParallelFor(chunks, kCopyGrain / 4, [&](int64_t begin, int64_t end) {
    const size_t b = static_cast<size_t>(begin) * kCopyGrain;
    const size_t e = std::min(bytes, static_cast<size_t>(end) * kCopyGrain);
    std::memcpy(d + b, s + b, e - b);
  });
}

void StridedCopy(void* dst, const void* src, size_t elem_size, int rank, int64_t* dims, int64_t* strides,
                 int64_t offset) {
  // Drop size-1 dims; any zero dim means nothing to copy.
  int r = 0;
  for (int k = 0; k < rank; ++k) {
    if (dims[k] == 0) return;
    if (dims[k] == 1) continue;
    dims[r] = dims[k];
    strides[r] = strides[k];
    ++r;
  }
  // Merge dim k into k-1 when walking k-1 by one step equals walking k across its whole length.
  int m = 0;
  for (int k = 1; k < r; ++k) {
    if (strides[m] == strides[k] * dims[k]) {
      dims[m] *= dims[k];
      strides[m] = strides[k];
    } else {
      ++m;
      dims[m] = dims[k];
      strides[m] = strides[k];
    }
  }
  r = r == 0 ? 0 : m + 1;
  char* d = static_cast<char*>(dst);
  const char* s = static_cast<const char*>(src);
  if (r == 0) {
    std::memcpy(d, s + offset * static_cast<int64_t>(elem_size), elem_size);
    return;
  }
  const int64_t inner = dims[r - 1], inner_stride = strides[r - 1];
  const int64_t mid = r >= 2 ? dims[r - 2] : 1, mid_stride = r >= 2 ? strides[r - 2] : 0;
  const int outer_rank = r >= 2 ? r - 2 : 0;
  int64_t rows = mid;
  for (int k = 0; k < outer_rank; ++k) rows *= dims[k];
  if (inner_stride == 1) {
    // Contiguous inner runs: copy them as bytes whatever the element type.
    const int64_t run = inner * static_cast<int64_t>(elem_size);
    const int64_t es = static_cast<int64_t>(elem_size);
    int64_t sdims[kMaxRank], sstrides[kMaxRank];
    for (int k = 0; k < outer_rank; ++k) sdims[k] = dims[k], sstrides[k] = strides[k] * es;
    ParallelFor(rows, inner, [&](int64_t begin, int64_t end) {
      char* out = d + begin * run;
      for (int64_t row = begin; row < end; ++row) {
        int64_t mm = row % mid, o = row / mid;
        int64_t off = (offset + mm * mid_stride) * es;
        for (int k = outer_rank - 1; k >= 0 && o > 0; --k) {
          off += (o % sdims[k]) * sstrides[k];
          o /= sdims[k];
        }
        std::memcpy(out, s + off, static_cast<size_t>(run));
        out += run;
      }
    });
    return;
  }
  switch (elem_size) {
    case 1: StridedRows<uint8_t>(d, s, outer_rank, dims, strides, offset, mid, mid_stride, inner, inner_stride, rows); break;
    case 2: StridedRows<uint16_t>(d, s, outer_rank, dims, strides, offset, mid, mid_stride, inner, inner_stride, rows); break;
    case 4: StridedRows<uint32_t>(d, s, outer_rank, dims, strides, offset, mid, mid_stride, inner, inner_stride, rows); break;
    case 8: StridedRows<uint64_t>(d, s, outer_rank, dims, strides, offset, mid, mid_stride, inner, inner_stride, rows); break;
    default: {
      // Any other element size: copy each element as a contiguous byte run (one more dim).
      const int64_t es = static_cast<int64_t>(elem_size);
      int64_t bdims[kMaxRank + 1], bstrides[kMaxRank + 1];
      for (int k = 0; k < r; ++k) bdims[k] = dims[k], bstrides[k] = strides[k] * es;
      bdims[r] = es;
      bstrides[r] = 1;
      StridedCopy(dst, src, 1, r + 1, bdims, bstrides, offset * es);
      break;
    }
  }
}

void BatchedTranspose2D(void* dst, const void* src, size_t elem_size, int64_t batch, int64_t rows, int64_t cols) {
  if (batch == 0 || rows == 0 || cols == 0) return;
  switch (elem_size) {
    case 1: Transpose2DTyped(static_cast<uint8_t*>(dst), static_cast<const uint8_t*>(src), batch, rows, cols); break;
    case 2: Transpose2DTyped(static_cast<uint16_t*>(dst), static_cast<const uint16_t*>(src), batch, rows, cols); break;
    case 4: Transpose2DTyped(static_cast<uint32_t*>(dst), static_cast<const uint32_t*>(src), batch, rows, cols); break;
    case 8: Transpose2DTyped(static_cast<uint64_t*>(dst), static_cast<const uint64_t*>(src), batch, rows, cols); break;
    default: {
      int64_t dims[3] = {batch, cols, rows};
      int64_t strides[3] = {rows * cols, 1, cols};
      StridedCopy(dst, src, elem_size, 3, dims, strides, 0);
    }
  }
}

void GatherBlocks(void* dst, const void* src, size_t elem_size, int64_t outer, int64_t axis_len, int64_t block,
                  const int64_t* indices, int64_t nidx) {
  if (outer == 0 || block == 0 || nidx == 0) return;
  switch (elem_size) {
    case 1: GatherTyped(static_cast<uint8_t*>(dst), static_cast<const uint8_t*>(src), outer, axis_len, block, indices, nidx); break;
    case 2: GatherTyped(static_cast<uint16_t*>(dst), static_cast<const uint16_t*>(src), outer, axis_len, block, indices, nidx); break;
    case 4: GatherTyped(static_cast<uint32_t*>(dst), static_cast<const uint32_t*>(src), outer, axis_len, block, indices, nidx); break;
    case 8: GatherTyped(static_cast<uint64_t*>(dst), static_cast<const uint64_t*>(src), outer, axis_len, block, indices, nidx); break;
    default: {
      const int64_t es = static_cast<int64_t>(elem_size);
      char* d = static_cast<char*>(dst);
      const char* s = static_cast<const char*>(src);
      ParallelFor(outer * nidx, block * es, [&](int64_t begin, int64_t end) {
        for (int64_t item = begin; item < end; ++item) {
          const int64_t o = item / nidx, j = item % nidx;
          std::memcpy(d + item * block * es, s + (o * axis_len + indices[j]) * block * es,
                      static_cast<size_t>(block * es));
        }
      });
    }
  }
}

}  // namespace anvil::shape
