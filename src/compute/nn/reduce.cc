#include "compute/nn/reduce.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <type_traits>

#include "compute/parallel.h"

namespace anvil::nn {
namespace {

// Groups of adjacent axes with the same role, outermost first; size-1 axes dropped.
struct Merged {
  int m = 0;
  int64_t size[kMaxReduceRank];
  int64_t stride[kMaxReduceRank];
  bool red[kMaxReduceRank];
};

// Offset of the `index`-th combination of the groups listed in `which` (outermost first).
inline int64_t OffsetOf(int64_t index, const Merged& g, const int* which, int count) {
  int64_t off = 0;
  for (int i = count - 1; i >= 0; --i) {
    const int d = which[i];
    off += (index % g.size[d]) * g.stride[d];
    index /= g.size[d];
  }
  return off;
}

// The two reductions: a sum scaled by 1/count (mean), and a maximum that propagates NaN.
struct MeanOp {
  static float Init() { return 0.f; }
  static float Combine(float acc, float v) { return acc + v; }
  static float Finish(float acc, float scale) { return acc * scale; }
};
struct MaxOp {
  static float Init() { return -std::numeric_limits<float>::infinity(); }
  static float Combine(float acc, float v) { return (v > acc || v != v) ? v : acc; }  // NaN sticks
  static float Finish(float acc, float) { return acc; }
};

}  // namespace

template <typename Op>
static bool Reduce(const float* x, float* y, const int64_t* dims, const bool* reduce, int rank);

bool ReduceMean(const float* x, float* y, const int64_t* dims, const bool* reduce, int rank) {
  return Reduce<MeanOp>(x, y, dims, reduce, rank);
}
bool ReduceMax(const float* x, float* y, const int64_t* dims, const bool* reduce, int rank) {
  return Reduce<MaxOp>(x, y, dims, reduce, rank);
}

template <typename Op>
static bool Reduce(const float* x, float* y, const int64_t* dims, const bool* reduce, int rank) {
  if (rank > kMaxReduceRank) return false;
  int64_t out_count = 1, red_count = 1;
  for (int i = 0; i < rank; ++i) (reduce[i] ? red_count : out_count) *= dims[i];
  if (out_count == 0) return true;
  if (red_count == 0) {
    // Nothing to reduce: the identity (ONNX: -inf for the maximum; ORT's CPU EP: 0 for the mean).
    std::fill(y, y + out_count, Op::Init());
    return true;
  }
  Merged g;
  for (int i = 0; i < rank; ++i) {
    if (dims[i] == 1) continue;
    if (g.m > 0 && g.red[g.m - 1] == reduce[i]) {
      g.size[g.m - 1] *= dims[i];
    } else {
      g.size[g.m] = dims[i];
      g.red[g.m] = reduce[i];
      ++g.m;
    }
  }
  int64_t stride = 1;
  for (int i = g.m - 1; i >= 0; --i) {
    g.stride[i] = stride;
    stride *= g.size[i];
  }
  if (red_count == 1) {  // nothing (of size > 1) reduced: a copy
    std::memcpy(y, x, sizeof(float) * out_count);
    return true;
  }
  const float scale = 1.f / static_cast<float>(red_count);
  int kept[kMaxReduceRank], reds[kMaxReduceRank];
  int nk = 0, nr = 0;
  for (int i = 0; i < g.m; ++i) (g.red[i] ? reds[nr++] : kept[nk++]) = i;

  if (g.red[g.m - 1]) {
    // Innermost group reduced: each output is a sum of contiguous runs of length `inner`.
    const int64_t inner = g.size[g.m - 1];
    const int64_t runs = red_count / inner;
    ParallelFor(out_count, red_count, [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) {
        const float* base = x + OffsetOf(o, g, kept, nk);
        float acc = Op::Init();
        for (int64_t r = 0; r < runs; ++r) {
          const float* p = base + OffsetOf(r, g, reds, nr - 1);
          if constexpr (std::is_same_v<Op, MeanOp>) {
            float s = 0.f;
#pragma omp simd reduction(+ : s)
            for (int64_t i = 0; i < inner; ++i) s += p[i];
            acc += s;
          } else {
            for (int64_t i = 0; i < inner; ++i) acc = Op::Combine(acc, p[i]);
          }
        }
        y[o] = Op::Finish(acc, scale);
      }
    });
    return true;
  }
  // Innermost group kept: accumulate whole rows of `inner` outputs, in chunks for parallelism.
  const int64_t inner = g.size[g.m - 1];
  const int64_t outer = out_count / inner;
  constexpr int64_t kChunk = 1024;
  const int64_t chunks = (inner + kChunk - 1) / kChunk;
  ParallelFor(outer * chunks, red_count * std::min(inner, kChunk), [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      const int64_t o = t / chunks;
      const int64_t j0 = (t % chunks) * kChunk;
      const int64_t w = std::min(kChunk, inner - j0);
      const float* base = x + OffsetOf(o, g, kept, nk - 1) + j0;
      float* yo = y + o * inner + j0;
      std::fill(yo, yo + w, Op::Init());
      for (int64_t r = 0; r < red_count; ++r) {
        const float* p = base + OffsetOf(r, g, reds, nr);
#pragma omp simd
        for (int64_t j = 0; j < w; ++j) yo[j] = Op::Combine(yo[j], p[j]);
      }
#pragma omp simd
      for (int64_t j = 0; j < w; ++j) yo[j] = Op::Finish(yo[j], scale);
    }
  });
  return true;
}

}  // namespace anvil::nn
