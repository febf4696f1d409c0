#include "compute/shape/index.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <type_traits>
#include <vector>

#include "compute/parallel.h"
#include "compute/shape/copy.h"

namespace anvil::shape {
namespace {

template <size_t N>
struct Bytes {
  unsigned char b[N];
};

// Calls fn(tag) with an element type of the given size (a trivially copyable blob).
template <typename Fn>
bool BySize(size_t elem_size, Fn&& fn) {
  switch (elem_size) {
    case 1: fn(uint8_t{}); return true;
    case 2: fn(uint16_t{}); return true;
    case 4: fn(uint32_t{}); return true;
    case 8: fn(uint64_t{}); return true;
    case 16: fn(Bytes<16>{}); return true;
    default: return false;
  }
}

// Decodes row index `row` (row-major over dims[0..n)) into a strided offset.
inline int64_t RowOffset(int64_t row, int n, const int64_t* dims, const int64_t* strides) {
  int64_t off = 0;
  for (int d = n - 1; d >= 0 && row > 0; --d) {
    off += (row % dims[d]) * strides[d];
    row /= dims[d];
  }
  return off;
}

}  // namespace

void Fill(void* dst, const void* value, size_t elem_size, int64_t n) {
  if (n <= 0) return;
  char* d = static_cast<char*>(dst);
  bool all_zero = true;
  for (size_t i = 0; i < elem_size; ++i) all_zero = all_zero && static_cast<const char*>(value)[i] == 0;
  if (all_zero) {
    const int64_t bytes = n * static_cast<int64_t>(elem_size);
    ParallelFor((bytes + 65535) / 65536, 1 << 14, [&](int64_t b, int64_t e) {
      const int64_t lo = b * 65536, hi = std::min(bytes, e * 65536);
      std::memset(d + lo, 0, static_cast<size_t>(hi - lo));
    });
    return;
  }
  const bool typed = BySize(elem_size, [&](auto tag) {
    using T = decltype(tag);
    T v;
    std::memcpy(&v, value, sizeof(T));
    T* out = reinterpret_cast<T*>(d);
    ParallelFor(n, 1, [&](int64_t b, int64_t e) { std::fill(out + b, out + e, v); });
  });
  if (!typed) {
    for (int64_t i = 0; i < n; ++i) std::memcpy(d + i * elem_size, value, elem_size);
  }
}

void MapCopy(void* dst, const void* src, size_t elem_size, int rank, const int64_t* out_dims, const int64_t* in_dims,
             const int64_t* const* maps, const void* fill) {
  int64_t total = 1;
  for (int d = 0; d < rank; ++d) total *= out_dims[d];
  if (total == 0) return;
  const int64_t es = static_cast<int64_t>(elem_size);
  char* out = static_cast<char*>(dst);
  const char* in = static_cast<const char*>(src);
  if (rank == 0) {
    std::memcpy(out, in, elem_size);
    return;
  }
  int64_t in_strides[kMaxRank];
  int64_t stride = 1;
  for (int d = rank - 1; d >= 0; --d) in_strides[d] = stride, stride *= in_dims[d];
  // The last axis as segments: a run of consecutive source elements (src >= 0) or of fill (src < 0).
  struct Segment {
    int64_t out_begin, len, src;
  };
  const int64_t inner = out_dims[rank - 1];
  const int64_t* last = maps[rank - 1];
  std::vector<Segment> segs;
  for (int64_t j = 0; j < inner;) {
    int64_t k = j + 1;
    if (last[j] < 0) {
      while (k < inner && last[k] < 0) ++k;
    } else {
      while (k < inner && last[k] == last[k - 1] + 1) ++k;
    }
    segs.push_back({j, k - j, last[j]});
    j = k;
  }
  const int64_t rows = total / inner;
  const int outer = rank - 1;
  // A short run of fill elements (padding at the row ends) without Fill's per-call checks.
  auto fill_run = [&](char* o, int64_t n) {
    if (n > 64) return Fill(o, fill, elem_size, n);
    for (int64_t i = 0; i < n; ++i) std::memcpy(o + i * es, fill, elem_size);
  };
  ParallelFor(rows, inner + 16, [&](int64_t begin, int64_t end) {
    // The outer coordinates of `begin`, then an odometer: each dim's source offset (or -1 for
    // padding) is kept, so a row costs no divisions.
    int64_t coord[kMaxRank], part[kMaxRank];
    int64_t r = begin;
    for (int d = outer - 1; d >= 0; --d) coord[d] = r % out_dims[d], r /= out_dims[d];
    int pads = 0;
    int64_t off = 0;
    for (int d = 0; d < outer; ++d) {
      const int64_t m = maps[d][coord[d]];
      part[d] = m < 0 ? -1 : m * in_strides[d];
      if (part[d] < 0) ++pads; else off += part[d];
    }
    for (int64_t row = begin; row < end; ++row) {
      char* o = out + row * inner * es;
      if (pads > 0) {
        Fill(o, fill, elem_size, inner);
      } else {
        const char* src_row = in + off * es;
        for (const Segment& g : segs) {
          if (g.src < 0) {
            fill_run(o + g.out_begin * es, g.len);
          } else {
            std::memcpy(o + g.out_begin * es, src_row + g.src * es, static_cast<size_t>(g.len * es));
          }
        }
      }
      for (int d = outer - 1; d >= 0; --d) {  // next row
        if (part[d] < 0) --pads; else off -= part[d];
        const bool wrap = ++coord[d] == out_dims[d];
        if (wrap) coord[d] = 0;
        const int64_t m = maps[d][coord[d]];
        part[d] = m < 0 ? -1 : m * in_strides[d];
        if (part[d] < 0) ++pads; else off += part[d];
        if (!wrap) break;
      }
    }
  });
}

void CopyBlocks(void* dst, const void* src, int64_t block_bytes, const int64_t* offsets, int64_t n) {
  if (n <= 0 || block_bytes <= 0) return;
  char* d = static_cast<char*>(dst);
  const char* s = static_cast<const char*>(src);
  const bool typed = BySize(static_cast<size_t>(block_bytes), [&](auto tag) {
    using T = decltype(tag);
    T* out = reinterpret_cast<T*>(d);
    const T* in = reinterpret_cast<const T*>(s);
    ParallelFor(n, 1, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) out[i] = in[offsets[i]];
    });
  });
  if (typed) return;
  ParallelFor(n, block_bytes / 4 + 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      std::memcpy(d + i * block_bytes, s + offsets[i] * block_bytes, static_cast<size_t>(block_bytes));
  });
}

void ScatterBlocks(void* dst, const void* src, int64_t block_bytes, const int64_t* offsets, int64_t n) {
  if (n <= 0 || block_bytes <= 0) return;
  char* d = static_cast<char*>(dst);
  const char* s = static_cast<const char*>(src);
  const bool typed = BySize(static_cast<size_t>(block_bytes), [&](auto tag) {
    using T = decltype(tag);
    T* out = reinterpret_cast<T*>(d);
    const T* in = reinterpret_cast<const T*>(s);
    for (int64_t i = 0; i < n; ++i) out[offsets[i]] = in[i];
  });
  if (typed) return;
  for (int64_t i = 0; i < n; ++i)
    std::memcpy(d + offsets[i] * block_bytes, s + i * block_bytes, static_cast<size_t>(block_bytes));
}

void AxisOffsets(int64_t* offsets, int rank, const int64_t* dims, const int64_t* data_strides, int axis,
                 const int64_t* idx) {
  int64_t n = 1;
  for (int d = 0; d < rank; ++d) n *= dims[d];
  if (n == 0) return;
  if (rank == 0) {
    offsets[0] = 0;
    return;
  }
  // Strides with the axis removed (its coordinate comes from idx).
  int64_t strides[kMaxRank];
  for (int d = 0; d < rank; ++d) strides[d] = d == axis ? 0 : data_strides[d];
  const int64_t inner = dims[rank - 1];
  const int64_t inner_stride = strides[rank - 1];
  const int64_t axis_stride = data_strides[axis];
  ParallelFor(n / inner, inner, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t base = RowOffset(row, rank - 1, dims, strides);
      const int64_t i0 = row * inner;
      for (int64_t j = 0; j < inner; ++j) offsets[i0 + j] = base + j * inner_stride + idx[i0 + j] * axis_stride;
    }
  });
}

int64_t GatherElements(void* dst, const void* src, size_t elem_size, int rank, const int64_t* dims,
                       const int64_t* data_strides, int axis, int64_t axis_dim, const void* idx, bool idx64) {
  int64_t n = 1;
  for (int d = 0; d < rank; ++d) n *= dims[d];
  if (n == 0 || rank == 0) return -1;
  if (axis_dim == 0) return 0;  // no index is valid (and data has nothing to read)
  int64_t strides[kMaxRank];
  for (int d = 0; d < rank; ++d) strides[d] = d == axis ? 0 : data_strides[d];
  const int64_t inner = dims[rank - 1], inner_stride = strides[rank - 1], axis_stride = data_strides[axis];
  std::atomic<int64_t> bad{n};
  auto run = [&](auto tag, auto itag) {
    using T = decltype(tag);
    using I = decltype(itag);
    T* out = static_cast<T*>(dst);
    const T* in = static_cast<const T*>(src);
    const I* ix = static_cast<const I*>(idx);
    ParallelFor(n / inner, inner * 2, [&](int64_t begin, int64_t end) {
      const int64_t dim = axis_dim, step = inner_stride, astep = axis_stride, len = inner;
      for (int64_t row = begin; row < end; ++row) {
        const int64_t i0 = row * len;
        const T* src_row = in + RowOffset(row, rank - 1, dims, strides);
        const I* irow = ix + i0;
        T* orow = out + i0;
        bool ok = true;
        for (int64_t j = 0; j < len; ++j) {
          int64_t v = static_cast<int64_t>(irow[j]);
          v += v < 0 ? dim : 0;
          const bool in_range = static_cast<uint64_t>(v) < static_cast<uint64_t>(dim);
          ok &= in_range;
          orow[j] = src_row[j * step + (in_range ? v : 0) * astep];
        }
        if (!ok) {  // find the first bad index of this row (rare: the call fails)
          for (int64_t j = 0; j < len; ++j) {
            int64_t v = static_cast<int64_t>(irow[j]);
            v += v < 0 ? dim : 0;
            if (static_cast<uint64_t>(v) < static_cast<uint64_t>(dim)) continue;
            int64_t seen = bad.load(std::memory_order_relaxed);
            while (i0 + j < seen && !bad.compare_exchange_weak(seen, i0 + j)) {
            }
            break;
          }
        }
      }
    });
  };
  const bool typed = BySize(elem_size, [&](auto tag) {
    if (idx64) {
      run(tag, int64_t{});
    } else {
      run(tag, int32_t{});
    }
  });
  if (!typed) {  // other element sizes: through the offsets path, one element at a time
    const int64_t es = static_cast<int64_t>(elem_size);
    for (int64_t i = 0; i < n; ++i) {
      int64_t v = idx64 ? static_cast<const int64_t*>(idx)[i] : static_cast<const int32_t*>(idx)[i];
      v += v < 0 ? axis_dim : 0;
      if (v < 0 || v >= axis_dim) return i;
      const int64_t base = RowOffset(i / inner, rank - 1, dims, strides) + (i % inner) * inner_stride;
      std::memcpy(static_cast<char*>(dst) + i * es, static_cast<const char*>(src) + (base + v * axis_stride) * es,
                  elem_size);
    }
  }
  const int64_t b = bad.load();
  return b < n ? b : -1;
}

void Select(void* dst, const bool* cond, const void* x, const void* y, size_t elem_size, int rank, const int64_t* dims,
            const int64_t* cs, const int64_t* xs, const int64_t* ys) {
  int64_t n = 1;
  for (int d = 0; d < rank; ++d) n *= dims[d];
  if (n == 0) return;
  const int64_t inner = rank ? dims[rank - 1] : 1;
  const int64_t ci = rank ? cs[rank - 1] : 0, xi = rank ? xs[rank - 1] : 0, yi = rank ? ys[rank - 1] : 0;
  const int outer = rank ? rank - 1 : 0;
  auto run = [&](auto tag) {
    using T = decltype(tag);
    T* out = static_cast<T*>(dst);
    const T* a = static_cast<const T*>(x);
    const T* b = static_cast<const T*>(y);
    // Inner strides of 0 or 1 (the usual case) as constants, so the row loop vectorises.
    auto rows = [&](auto cst, auto xst, auto yst) {
      constexpr int64_t kc = decltype(cst)::value, kx = decltype(xst)::value, ky = decltype(yst)::value;
      ParallelFor(n / inner, inner, [&](int64_t begin, int64_t end) {
        for (int64_t row = begin; row < end; ++row) {
          const bool* c = cond + RowOffset(row, outer, dims, cs);
          const T* pa = a + RowOffset(row, outer, dims, xs);
          const T* pb = b + RowOffset(row, outer, dims, ys);
          T* o = out + row * inner;
          if constexpr (kc < 0 || kx < 0 || ky < 0) {
            for (int64_t j = 0; j < inner; ++j) o[j] = c[j * ci] ? pa[j * xi] : pb[j * yi];
          } else if constexpr (std::is_integral_v<T>) {
            // Branch-free (a random condition would mispredict): mask = all ones where true.
            const uint8_t* cb = reinterpret_cast<const uint8_t*>(c);
            for (int64_t j = 0; j < inner; ++j) {
              const T mask = static_cast<T>(T(0) - static_cast<T>(cb[j * kc] != 0));
              o[j] = static_cast<T>((pa[j * kx] & mask) | (pb[j * ky] & static_cast<T>(~mask)));
            }
          } else {
            for (int64_t j = 0; j < inner; ++j) o[j] = c[j * kc] ? pa[j * kx] : pb[j * ky];
          }
        }
      });
    };
    using S0 = std::integral_constant<int64_t, 0>;
    using S1 = std::integral_constant<int64_t, 1>;
    using SV = std::integral_constant<int64_t, -1>;  // any other stride
    auto with_y = [&](auto cst, auto xst) {
      if (yi == 0) return rows(cst, xst, S0{});
      if (yi == 1) return rows(cst, xst, S1{});
      rows(cst, xst, SV{});
    };
    auto with_x = [&](auto cst) {
      if (xi == 0) return with_y(cst, S0{});
      if (xi == 1) return with_y(cst, S1{});
      with_y(cst, SV{});
    };
    if (ci == 0) return with_x(S0{});
    if (ci == 1) return with_x(S1{});
    with_x(SV{});
  };
  if (BySize(elem_size, run)) return;
  // Other sizes: element by element through memcpy.
  const int64_t es = static_cast<int64_t>(elem_size);
  for (int64_t row = 0; row < n / inner; ++row) {
    const bool* c = cond + RowOffset(row, outer, dims, cs);
    const char* pa = static_cast<const char*>(x) + RowOffset(row, outer, dims, xs) * es;
    const char* pb = static_cast<const char*>(y) + RowOffset(row, outer, dims, ys) * es;
    char* o = static_cast<char*>(dst) + row * inner * es;
    for (int64_t j = 0; j < inner; ++j)
      std::memcpy(o + j * es, c[j * ci] ? pa + j * xi * es : pb + j * yi * es, elem_size);
  }
}

void DepthToSpace(void* dst, const void* src, size_t elem_size, int64_t n, int64_t c, int64_t h, int64_t w, int64_t b,
                  bool crd) {
  const int64_t oc = c / (b * b), hw = h * w;
  const int64_t rows = n * oc * h * b, width = w * b;
  if (rows == 0 || width == 0) return;
  // Output row (n, oc, h, b1) element w * b + b2 = source channel chan(oc, b1, b2), row h, column w.
  const int64_t way_stride = crd ? hw : oc * hw;   // from b2 to b2 + 1
  const int64_t b1_stride = crd ? b * hw : b * oc * hw;
  const int64_t oc_stride = crd ? b * b * hw : hw;
  auto run = [&](auto tag) {
    using T = decltype(tag);
    T* out = static_cast<T*>(dst);
    const T* in = static_cast<const T*>(src);
    ParallelFor(rows, width, [&](int64_t begin, int64_t end) {
      for (int64_t row = begin; row < end; ++row) {
        int64_t r = row;
        const int64_t b1 = r % b;
        r /= b;
        const int64_t y = r % h;
        r /= h;
        const int64_t o = r % oc;
        const int64_t batch = r / oc;
        const T* base = in + batch * c * hw + o * oc_stride + b1 * b1_stride + y * w;
        T* dst_row = out + row * width;
        for (int64_t b2 = 0; b2 < b; ++b2) {
          const T* s_row = base + b2 * way_stride;
          for (int64_t x = 0; x < w; ++x) dst_row[x * b + b2] = s_row[x];
        }
      }
    });
  };
  if (BySize(elem_size, run)) return;
  int64_t dims[6] = {n, oc, h, b, w, b};
  int64_t strides[6] = {c * hw, oc_stride, w, b1_stride, 1, way_stride};
  StridedCopy(dst, src, elem_size, 6, dims, strides, 0);
}

void Triangle(void* dst, const void* src, size_t elem_size, int64_t batch, int64_t rows, int64_t cols, int64_t k,
              bool upper) {
  if (batch == 0 || rows == 0 || cols == 0) return;
  k = std::clamp<int64_t>(k, -rows - 1, cols + 1);  // beyond these every row is all kept or all zero
  const int64_t es = static_cast<int64_t>(elem_size);
  char* d = static_cast<char*>(dst);
  const char* s = static_cast<const char*>(src);
  ParallelFor(batch * rows, cols, [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) {
      const int64_t r = item % rows;
      char* o = d + item * cols * es;
      const char* in = s + item * cols * es;
      // Kept columns: [lo, hi).
      int64_t lo = 0, hi = cols;
      if (upper) {
        lo = std::clamp<int64_t>(r + k, 0, cols);  // c >= r + k (saturating: k may be huge)
      } else {
        hi = std::clamp<int64_t>(r + k + 1, 0, cols);  // c <= r + k
      }
      if (lo >= hi) {
        std::memset(o, 0, static_cast<size_t>(cols * es));
        continue;
      }
      if (lo > 0) std::memset(o, 0, static_cast<size_t>(lo * es));
      if (o != in) std::memcpy(o + lo * es, in + lo * es, static_cast<size_t>((hi - lo) * es));
      if (hi < cols) std::memset(o + hi * es, 0, static_cast<size_t>((cols - hi) * es));
    }
  });
}

}  // namespace anvil::shape
