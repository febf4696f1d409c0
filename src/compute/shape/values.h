// Value computations of the shape family, templated on the element type (instantiated by the
// kernels for ORT's types): scatter reductions, CumSum, TopK, Range. No ORT types.
#pragma once
#include <algorithm>
#include <cmath>
#include <type_traits>
#include <cstdint>
#include <cstring>
#include <functional>
#include <utility>
#include <vector>

#include "compute/parallel.h"

namespace anvil::shape {

enum class Reduction { kNone, kAdd, kMul, kMax, kMin };

// a + b and a * b; integers wrap around (two's complement) instead of overflowing.
template <typename T>
inline T WrapAdd(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    using U = std::make_unsigned_t<decltype(a + b)>;
    return static_cast<T>(static_cast<U>(a) + static_cast<U>(b));
  } else {
    return a + b;
  }
}
template <typename T>
inline T WrapMul(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    using U = std::make_unsigned_t<decltype(a * b)>;
    return static_cast<T>(static_cast<U>(a) * static_cast<U>(b));
  } else {
    return a * b;
  }
}

template <typename T>
inline void ReduceInto(T* out, const T* in, int64_t n, Reduction r) {
  switch (r) {
    case Reduction::kNone: std::memcpy(out, in, static_cast<size_t>(n) * sizeof(T)); break;
    case Reduction::kAdd: for (int64_t i = 0; i < n; ++i) out[i] = WrapAdd(out[i], in[i]); break;
    case Reduction::kMul: for (int64_t i = 0; i < n; ++i) out[i] = WrapMul(out[i], in[i]); break;
    case Reduction::kMax: for (int64_t i = 0; i < n; ++i) out[i] = std::max(out[i], in[i]); break;
    case Reduction::kMin: for (int64_t i = 0; i < n; ++i) out[i] = std::min(out[i], in[i]); break;
  }
}

// ScatterElements: out[offsets[i]] (op)= updates[i], in order (a later duplicate wins for kNone).
template <typename T>
void ScatterAt(T* out, const T* updates, const int64_t* offsets, int64_t n, Reduction r) {
  for (int64_t i = 0; i < n; ++i) ReduceInto(out + offsets[i], updates + i, 1, r);
}

// ScatterND: block i of `updates` (block elements) into out + offsets[i] * block, in order.
template <typename T>
void ScatterBlocks(T* out, const T* updates, const int64_t* offsets, int64_t n, int64_t block, Reduction r) {
  for (int64_t i = 0; i < n; ++i) ReduceInto(out + offsets[i] * block, updates + i * block, block, r);
}

// CumSum (or, with product, CumProd) along the middle axis of an [outer, len, inner] tensor.
template <typename T>
void CumSum(T* y, const T* x, int64_t outer, int64_t len, int64_t inner, bool exclusive, bool reverse,
            bool product = false) {
  ParallelFor(outer * inner, len, [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) {
      const int64_t o = item / inner, i = item % inner;
      const T* xs = x + o * len * inner + i;
      T* ys = y + o * len * inner + i;
      T acc = product ? T(1) : T(0);
      for (int64_t s = 0; s < len; ++s) {
        const int64_t t = reverse ? len - 1 - s : s;
        if (exclusive) ys[t * inner] = acc;
        acc = product ? WrapMul(acc, xs[t * inner]) : WrapAdd(acc, xs[t * inner]);
        if (!exclusive) ys[t * inner] = acc;
      }
    }
  });
}

// A strict weak order with NaN above every number (so sorting never sees an inconsistent order).
template <typename T>
inline bool Less(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    return !std::isnan(a) && (std::isnan(b) || a < b);
  } else {
    return a < b;
  }
}

// TopK along the middle axis of [outer, len, inner]: k values and their indices per slice, the
// largest (or smallest) first; equal values keep the lower index first.
template <typename T>
void TopK(T* values, int64_t* indices, const T* x, int64_t outer, int64_t len, int64_t inner, int64_t k,
          bool largest) {
  if (k == 0) return;
  ParallelFor(outer * inner, len * 4, [&](int64_t begin, int64_t end) {
    std::vector<std::pair<T, int64_t>> buf(static_cast<size_t>(len));
    for (int64_t item = begin; item < end; ++item) {
      const int64_t o = item / inner, i = item % inner;
      const T* xs = x + o * len * inner + i;
      for (int64_t s = 0; s < len; ++s) buf[s] = {xs[s * inner], s};
      auto before = [largest](const std::pair<T, int64_t>& a, const std::pair<T, int64_t>& b) {
        if (Less(a.first, b.first)) return !largest;
        if (Less(b.first, a.first)) return largest;
        return a.second < b.second;
      };
      if (k < len) {
        std::partial_sort(buf.begin(), buf.begin() + k, buf.end(), before);
      } else {
        std::sort(buf.begin(), buf.end(), before);
      }
      T* vs = values + o * k * inner + i;
      int64_t* is = indices + o * k * inner + i;
      for (int64_t s = 0; s < k; ++s) {
        vs[s * inner] = buf[s].first;
        is[s * inner] = buf[s].second;
      }
    }
  });
}

// Range: n values start, start + delta, ... accumulated (as ORT does, so float rounding matches).
template <typename T>
void Range(T* y, T start, T delta, int64_t n) {
  T v = start;
  for (int64_t i = 0; i < n; ++i) {
    y[i] = v;
    v = WrapAdd(v, delta);
  }
}

}  // namespace anvil::shape

namespace anvil::shape {

// Unique over `len` slices of an [outer, len, inner] tensor (slice i: x[o, i, n] for all o, n,
// compared lexicographically in that order). Fills, for the unique slices in output order
// (ascending when `sorted`, else by first occurrence): first[g] (first occurrence), count[g];
// and inverse[i] (the output position of slice i). Returns the number of unique slices.
// `order` is scratch for len values.
template <typename T>
int64_t Unique(const T* x, int64_t outer, int64_t len, int64_t inner, bool sorted, int64_t* order, int64_t* first,
               int64_t* count, int64_t* inverse) {
  if (len == 0) return 0;
  auto cmp = [&](int64_t a, int64_t b) {  // -1, 0, 1
    for (int64_t o = 0; o < outer; ++o) {
      const T* row = x + o * len * inner;
      for (int64_t n = 0; n < inner; ++n) {
        const T va = row[a * inner + n], vb = row[b * inner + n];
        if (Less(va, vb)) return -1;
        if (Less(vb, va)) return 1;
      }
    }
    return 0;
  };
  for (int64_t i = 0; i < len; ++i) order[i] = i;
  // Stable: equal slices keep their original order, so the first of a run is the first occurrence.
  std::stable_sort(order, order + len, [&](int64_t a, int64_t b) { return cmp(a, b) < 0; });
  int64_t groups = 0;
  for (int64_t i = 0; i < len; ++i) {
    if (i == 0 || cmp(order[i - 1], order[i]) != 0) {
      first[groups] = order[i];
      count[groups] = 0;
      ++groups;
    }
    ++count[groups - 1];
    inverse[order[i]] = groups - 1;
  }
  if (!sorted) {
    // Renumber the groups by first occurrence.
    std::vector<int64_t> by_first(static_cast<size_t>(groups)), rank(static_cast<size_t>(groups));
    for (int64_t g = 0; g < groups; ++g) by_first[g] = g;
    std::sort(by_first.begin(), by_first.end(), [&](int64_t a, int64_t b) { return first[a] < first[b]; });
    for (int64_t r = 0; r < groups; ++r) rank[by_first[r]] = r;
    std::vector<int64_t> f(first, first + groups), c(count, count + groups);
    for (int64_t g = 0; g < groups; ++g) first[rank[g]] = f[g], count[rank[g]] = c[g];
    for (int64_t i = 0; i < len; ++i) inverse[i] = rank[inverse[i]];
  }
  return groups;
}

}  // namespace anvil::shape
