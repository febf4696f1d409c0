// Runs out[i] = op(a[ia], b[ib]) over a BroadcastPlan, in parallel. Pure compute: no ORT.
#pragma once
#include <cstdint>
#include <cstring>

#include "compute/elementwise/broadcast.h"
#include "compute/parallel.h"

namespace anvil::ew {

template <typename A, typename B, typename O, typename Op>
inline void RowVV(const A* __restrict a, const B* __restrict b, O* __restrict o, int64_t n, Op op) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) o[i] = op(a[i], b[i]);
}
template <typename A, typename B, typename O, typename Op>
inline void RowSV(A a, const B* __restrict b, O* __restrict o, int64_t n, Op op) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) o[i] = op(a, b[i]);
}
template <typename A, typename B, typename O, typename Op>
inline void RowVS(const A* __restrict a, B b, O* __restrict o, int64_t n, Op op) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) o[i] = op(a[i], b);
}

template <typename A, typename B, typename O, typename Op>
inline void Row(const A* a, int64_t a_step, const B* b, int64_t b_step, O* o, int64_t n, Op op) {
  if (a_step && b_step) {
    RowVV(a, b, o, n, op);
  } else if (b_step) {
    RowSV(*a, b, o, n, op);
  } else if (a_step) {
    RowVS(a, *b, o, n, op);
  } else {
    const O v = op(*a, *b);
    for (int64_t i = 0; i < n; ++i) o[i] = v;
  }
}

// Calls row(a_ptr, a_step, b_ptr, b_step, out_ptr, n) over the plan's contiguous output runs, in
// parallel (a_step / b_step are 1 if that operand varies along the run, else 0).
// `cost` is a rough per-element operation count for the threading heuristic.
template <typename A, typename B, typename O, typename RowFn>
void RunBinaryRows(const BroadcastPlan& p, const A* a, const B* b, O* out, int64_t cost, RowFn row_fn) {
  if (p.size <= 0) return;
  const int64_t inner = p.inner;
  ParallelFor(p.size, cost, [&](int64_t begin, int64_t end) {
    int64_t row = begin / inner;
    int64_t col = begin - row * inner;
    // Multi-index of `row` over the outer dims and the matching operand offsets.
    int64_t idx[kMaxPlanDims];
    int64_t oa = 0, ob = 0;
    {
      int64_t r = row;
      for (int k = p.outer_rank - 1; k >= 0; --k) {
        idx[k] = r % p.outer_dims[k];
        r /= p.outer_dims[k];
        oa += idx[k] * p.a_strides[k];
        ob += idx[k] * p.b_strides[k];
      }
    }
    int64_t pos = begin;
    while (pos < end) {
      const int64_t n = (end - pos) < (inner - col) ? (end - pos) : (inner - col);
      row_fn(a + oa + col * p.a_step, p.a_step, b + ob + col * p.b_step, p.b_step, out + pos, n);
      pos += n;
      col = 0;
      // Advance to the next row.
      for (int k = p.outer_rank - 1; k >= 0; --k) {
        oa += p.a_strides[k];
        ob += p.b_strides[k];
        if (++idx[k] < p.outer_dims[k]) break;
        oa -= idx[k] * p.a_strides[k];
        ob -= idx[k] * p.b_strides[k];
        idx[k] = 0;
      }
    }
  });
}

template <typename A, typename B, typename O, typename Op>
void RunBinary(const BroadcastPlan& p, const A* a, const B* b, O* out, int64_t cost, Op op) {
  RunBinaryRows(p, a, b, out, cost, [&](const A* pa, int64_t sa, const B* pb, int64_t sb, O* po, int64_t n) {
    Row(pa, sa, pb, sb, po, n, op);
  });
}

// out[i] = op(x[i]) over n contiguous elements, in parallel.
template <typename X, typename O, typename Op>
void RunUnary(const X* x, O* out, int64_t n, int64_t cost, Op op) {
  ParallelFor(n, cost, [&](int64_t begin, int64_t end) {
    const X* __restrict px = x + begin;
    O* __restrict po = out + begin;
    const int64_t m = end - begin;
#pragma omp simd
    for (int64_t i = 0; i < m; ++i) po[i] = op(px[i]);
  });
}

// ---- In-place accumulation: out[i] = op(out[i], b[ib]), b broadcast to the output's shape.
// `p` is MakeBroadcastPlan(out_shape, b_shape) where out_shape is already the broadcast result
// (b broadcasts to the output, never the other way), so the output side of the plan is always
// contiguous and only b's offsets need walking. Variadic ops (Max, Min) fold their inputs in
// pairwise with this, with no temporary.

template <typename B, typename O, typename Op>
inline void AccRowV(O* __restrict o, const B* __restrict b, int64_t n, Op op) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) o[i] = op(o[i], b[i]);
}
template <typename B, typename O, typename Op>
inline void AccRowS(O* __restrict o, B b, int64_t n, Op op) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) o[i] = op(o[i], b);
}

// Calls row(out_pos, b_ptr, b_step, n) over the plan's contiguous output runs, in parallel.
template <typename B, typename RowFn>
void ForEachRowIntoOutput(const BroadcastPlan& p, const B* b, int64_t cost, RowFn row) {
  if (p.size <= 0) return;
  const int64_t inner = p.inner;
  ParallelFor(p.size, cost, [&](int64_t begin, int64_t end) {
    int64_t r = begin / inner;
    int64_t col = begin - r * inner;
    int64_t idx[kMaxPlanDims];
    int64_t ob = 0;
    for (int k = p.outer_rank - 1; k >= 0; --k) {
      idx[k] = r % p.outer_dims[k];
      r /= p.outer_dims[k];
      ob += idx[k] * p.b_strides[k];
    }
    int64_t pos = begin;
    while (pos < end) {
      const int64_t n = (end - pos) < (inner - col) ? (end - pos) : (inner - col);
      row(pos, b + ob + col * p.b_step, p.b_step, n);
      pos += n;
      col = 0;
      for (int k = p.outer_rank - 1; k >= 0; --k) {
        ob += p.b_strides[k];
        if (++idx[k] < p.outer_dims[k]) break;
        ob -= idx[k] * p.b_strides[k];
        idx[k] = 0;
      }
    }
  });
}

// out[i] = op(out[i], b[ib]).
template <typename B, typename O, typename Op>
void RunAccumulate(const BroadcastPlan& p, const B* b, O* out, int64_t cost, Op op) {
  ForEachRowIntoOutput(p, b, cost, [&](int64_t pos, const B* pb, int64_t step, int64_t n) {
    if (step) {
      AccRowV(out + pos, pb, n, op);
    } else {
      AccRowS(out + pos, *pb, n, op);
    }
  });
}

// out[i] = b[ib]: b broadcast (copied) into the output.
template <typename T>
void RunBroadcastCopy(const BroadcastPlan& p, const T* b, T* out) {
  ForEachRowIntoOutput(p, b, 1, [&](int64_t pos, const T* pb, int64_t step, int64_t n) {
    T* __restrict o = out + pos;
    if (step) {
      std::memcpy(o, pb, static_cast<size_t>(n) * sizeof(T));
    } else {
      const T v = *pb;
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) o[i] = v;
    }
  });
}

}  // namespace anvil::ew
