#include "compute/nn/reduce.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "compute/elementwise/math.h"
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

template <typename T>
constexpr T Lowest() {
  if constexpr (std::is_floating_point_v<T>) return -std::numeric_limits<T>::infinity();
  return std::numeric_limits<T>::lowest();
}
template <typename T>
constexpr T Highest() {
  if constexpr (std::is_floating_point_v<T>) return std::numeric_limits<T>::infinity();
  return std::numeric_limits<T>::max();
}

template <typename T>
inline bool IsNan(T v) {
  if constexpr (std::is_floating_point_v<T>) return v != v;
  return false;
}

// Integer arithmetic wraps (two's complement), as ORT's does in practice.
template <typename T>
inline T Add(T a, T b) {
  if constexpr (std::is_integral_v<T>) return ew::WrapAdd(a, b);
  return a + b;
}
template <typename T>
inline T Mul(T a, T b) {
  if constexpr (std::is_integral_v<T>) return ew::WrapMul(a, b);
  return a * b;
}

// A double result into T: integers truncate; out-of-range and NaN give the type's minimum (what
// ORT's conversion gives on x86).
template <typename T>
inline T FromDouble(double v) {
  if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(v);
  } else {
    constexpr double lo = static_cast<double>(std::numeric_limits<T>::lowest());
    constexpr double hi = static_cast<double>(std::numeric_limits<T>::max()) + 1.0;
    return (v >= lo && v < hi) ? static_cast<T>(v) : std::numeric_limits<T>::lowest();
  }
}

// The reductions: Init (identity), Map (per-element transform; `s` is the per-output shift, used by
// LogSumExp), Combine, Finish (from the accumulated value, the count and the shift). kAdditive:
// Combine is + (the contiguous loop then vectorises a sum of Map values).
template <typename T>
struct SumR {
  static constexpr bool kAdditive = true;
  static T Init() { return T(0); }
  static T Map(T v, T) { return v; }
  static T Combine(T a, T b) { return Add(a, b); }
  static T Finish(T a, int64_t, T) { return a; }
};
template <typename T>
struct MeanR : SumR<T> {
  static T Finish(T a, int64_t count, T) {
    if (count == 0) return T(0);
    if constexpr (std::is_floating_point_v<T>) return a / static_cast<T>(count);
    return static_cast<T>(static_cast<int64_t>(a) / count);
  }
};
template <typename T>
struct SumSquareR : SumR<T> {
  static T Map(T v, T) { return Mul(v, v); }
};
template <typename T>
struct L1R : SumR<T> {
  static T Map(T v, T) {
    if constexpr (std::is_unsigned_v<T>) {
      return v;
    } else if constexpr (std::is_floating_point_v<T>) {
      return std::fabs(v);
    } else {
      return v < T(0) ? ew::WrapSub(T(0), v) : v;
    }
  }
};
template <typename T>
struct L2R : SumSquareR<T> {
  static T Finish(T a, int64_t, T) { return FromDouble<T>(std::sqrt(static_cast<double>(a))); }
};
template <typename T>
struct LogSumR : SumR<T> {
  static T Finish(T a, int64_t, T) {
    if constexpr (std::is_floating_point_v<T>) {
      return std::log(a);
    } else {
      return FromDouble<T>(std::log(static_cast<double>(a)));
    }
  }
};
template <typename T>
struct ProdR {
  static constexpr bool kAdditive = false;
  static T Init() { return T(1); }
  static T Map(T v, T) { return v; }
  static T Combine(T a, T b) { return Mul(a, b); }
  static T Finish(T a, int64_t, T) { return a; }
};
template <typename T>
struct MaxR {
  static constexpr bool kAdditive = false;
  static T Init() { return Lowest<T>(); }
  static T Map(T v, T) { return v; }
  static T Combine(T a, T b) { return (b > a || IsNan(b)) ? b : a; }  // NaN sticks
  static T Finish(T a, int64_t, T) { return a; }
};
template <typename T>
struct MinR {
  static constexpr bool kAdditive = false;
  static T Init() { return Highest<T>(); }
  static T Map(T v, T) { return v; }
  static T Combine(T a, T b) { return (b < a || IsNan(b)) ? b : a; }
  static T Finish(T a, int64_t, T) { return a; }
};

// The generic walk over the merged groups. `shift` (per output) or null.
template <typename T, typename Op>
void Walk(const T* x, T* y, const int64_t* dims, const bool* reduce, int rank, const T* shift) {
  int64_t out_count = 1, red_count = 1;
  for (int i = 0; i < rank; ++i) (reduce[i] ? red_count : out_count) *= dims[i];
  if (out_count == 0) return;
  auto sh = [shift](int64_t o) { return shift ? shift[o] : T(0); };
  if (red_count <= 1) {
    // Nothing to reduce (count 0: the identity), or each output is one element.
    ParallelFor(out_count, 2, [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) {
        const T acc = red_count == 0 ? Op::Init() : Op::Combine(Op::Init(), Op::Map(x[o], sh(o)));
        y[o] = Op::Finish(acc, red_count, sh(o));
      }
    });
    return;
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
  int kept[kMaxReduceRank], reds[kMaxReduceRank];
  int nk = 0, nr = 0;
  for (int i = 0; i < g.m; ++i) (g.red[i] ? reds[nr++] : kept[nk++]) = i;

  if (g.red[g.m - 1]) {
    // Innermost group reduced: each output folds contiguous runs of length `inner`.
    const int64_t inner = g.size[g.m - 1];
    const int64_t runs = red_count / inner;
    ParallelFor(out_count, red_count, [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) {
        const T s = sh(o);
        const T* base = x + OffsetOf(o, g, kept, nk);
        T acc = Op::Init();
        for (int64_t r = 0; r < runs; ++r) {
          const T* p = base + OffsetOf(r, g, reds, nr - 1);
          if constexpr (Op::kAdditive && std::is_floating_point_v<T>) {
            T part = T(0);
#pragma omp simd reduction(+ : part)
            for (int64_t i = 0; i < inner; ++i) part += Op::Map(p[i], s);
            acc += part;
          } else {
            for (int64_t i = 0; i < inner; ++i) acc = Op::Combine(acc, Op::Map(p[i], s));
          }
        }
        y[o] = Op::Finish(acc, red_count, s);
      }
    });
    return;
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
      const T* base = x + OffsetOf(o, g, kept, nk - 1) + j0;
      T* yo = y + o * inner + j0;
      const T* so = shift ? shift + o * inner + j0 : nullptr;
      std::fill(yo, yo + w, Op::Init());
      for (int64_t r = 0; r < red_count; ++r) {
        const T* p = base + OffsetOf(r, g, reds, nr);
        if (so) {
          for (int64_t j = 0; j < w; ++j) yo[j] = Op::Combine(yo[j], Op::Map(p[j], so[j]));
        } else {
#pragma omp simd
          for (int64_t j = 0; j < w; ++j) yo[j] = Op::Combine(yo[j], Op::Map(p[j], T(0)));
        }
      }
      for (int64_t j = 0; j < w; ++j) yo[j] = Op::Finish(yo[j], red_count, so ? so[j] : T(0));
    }
  });
}

// LogSumExp: sum(exp(x - s)), then log(sum) + s, with s the maximum. Integers do it as ORT's CPU
// provider does: every exp(x - s) term (in double) is truncated to T before it is added (so only
// the maxima count), and log(sum) + s is truncated.
template <typename T>
struct LseR {
  static constexpr bool kAdditive = std::is_floating_point_v<T>;
  static T Init() { return T(0); }
  static T Map(T v, T s) {
    if constexpr (std::is_floating_point_v<T>) {
      return std::exp(v - s);
    } else {
      return static_cast<T>(std::exp(static_cast<double>(v) - static_cast<double>(s)));
    }
  }
  static T Combine(T a, T b) { return Add(a, b); }
  static T Finish(T a, int64_t, T s) {
    if constexpr (std::is_floating_point_v<T>) {
      return std::log(a) + s;
    } else {
      return FromDouble<T>(std::log(static_cast<double>(a)) + static_cast<double>(s));
    }
  }
};

}  // namespace

int64_t ReduceOutputCount(const int64_t* dims, const bool* reduce, int rank) {
  int64_t n = 1;
  for (int i = 0; i < rank; ++i) {
    if (!reduce[i]) n *= dims[i];
  }
  return n;
}

template <typename T>
bool Reduce(ReduceOp op, const T* x, T* y, const int64_t* dims, const bool* reduce, int rank, T* scratch) {
  if (rank > kMaxReduceRank) return false;
  switch (op) {
    case ReduceOp::kSum: Walk<T, SumR<T>>(x, y, dims, reduce, rank, nullptr); return true;
    case ReduceOp::kMean: Walk<T, MeanR<T>>(x, y, dims, reduce, rank, nullptr); return true;
    case ReduceOp::kMax: Walk<T, MaxR<T>>(x, y, dims, reduce, rank, nullptr); return true;
    case ReduceOp::kMin: Walk<T, MinR<T>>(x, y, dims, reduce, rank, nullptr); return true;
    case ReduceOp::kProd: Walk<T, ProdR<T>>(x, y, dims, reduce, rank, nullptr); return true;
    case ReduceOp::kL1: Walk<T, L1R<T>>(x, y, dims, reduce, rank, nullptr); return true;
    case ReduceOp::kL2: Walk<T, L2R<T>>(x, y, dims, reduce, rank, nullptr); return true;
    case ReduceOp::kLogSum: Walk<T, LogSumR<T>>(x, y, dims, reduce, rank, nullptr); return true;
    case ReduceOp::kSumSquare: Walk<T, SumSquareR<T>>(x, y, dims, reduce, rank, nullptr); return true;
    case ReduceOp::kLogSumExp: {
      if (scratch == nullptr) return false;
      // The maximum first (the shift); for floats a non-finite one (empty, all -inf, +inf, NaN)
      // is replaced by 0 so that exp(x - s) gives the right limit.
      Walk<T, MaxR<T>>(x, scratch, dims, reduce, rank, nullptr);
      if constexpr (std::is_floating_point_v<T>) {
        const int64_t n = ReduceOutputCount(dims, reduce, rank);
        for (int64_t i = 0; i < n; ++i) {
          if (!std::isfinite(scratch[i])) scratch[i] = T(0);
        }
      }
      Walk<T, LseR<T>>(x, y, dims, reduce, rank, scratch);
      return true;
    }
  }
  return false;
}

template bool Reduce<float>(ReduceOp, const float*, float*, const int64_t*, const bool*, int, float*);
template bool Reduce<double>(ReduceOp, const double*, double*, const int64_t*, const bool*, int, double*);
template bool Reduce<int32_t>(ReduceOp, const int32_t*, int32_t*, const int64_t*, const bool*, int, int32_t*);
template bool Reduce<int64_t>(ReduceOp, const int64_t*, int64_t*, const int64_t*, const bool*, int, int64_t*);
template bool Reduce<int8_t>(ReduceOp, const int8_t*, int8_t*, const int64_t*, const bool*, int, int8_t*);
template bool Reduce<uint8_t>(ReduceOp, const uint8_t*, uint8_t*, const int64_t*, const bool*, int, uint8_t*);

template <typename T>
void ArgReduce(bool is_max, bool select_last, const T* x, int64_t* y, int64_t outer, int64_t n, int64_t inner) {
  // better(v, best): v replaces the current best (ties replace it only with select_last).
  auto run = [&](auto better) {
    ParallelFor(outer * inner, n, [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; ++t) {
        const int64_t o = t / inner, i = t % inner;
        const T* p = x + o * n * inner + i;
        T best = p[0];
        int64_t at = 0;
        for (int64_t k = 1; k < n; ++k) {
          const T v = p[k * inner];
          if (IsNan(best)) break;
          if (better(v, best)) {
            best = v;
            at = k;
          }
        }
        y[t] = at;
      }
    });
  };
  if (is_max) {
    if (select_last) run([](T v, T best) { return v >= best || IsNan(v); });
    else run([](T v, T best) { return v > best || IsNan(v); });
  } else {
    if (select_last) run([](T v, T best) { return v <= best || IsNan(v); });
    else run([](T v, T best) { return v < best || IsNan(v); });
  }
}

template void ArgReduce<float>(bool, bool, const float*, int64_t*, int64_t, int64_t, int64_t);
template void ArgReduce<double>(bool, bool, const double*, int64_t*, int64_t, int64_t, int64_t);
template void ArgReduce<int32_t>(bool, bool, const int32_t*, int64_t*, int64_t, int64_t, int64_t);
template void ArgReduce<int64_t>(bool, bool, const int64_t*, int64_t*, int64_t, int64_t, int64_t);
template void ArgReduce<int8_t>(bool, bool, const int8_t*, int64_t*, int64_t, int64_t, int64_t);
template void ArgReduce<uint8_t>(bool, bool, const uint8_t*, int64_t*, int64_t, int64_t, int64_t);

}  // namespace anvil::nn
