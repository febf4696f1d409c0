#include "compute/nn/normalize.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "compute/parallel.h"

namespace anvil::nn {

template <typename T>
void LogSoftmax(const T* x, T* y, int64_t outer, int64_t n, int64_t inner) {
  ParallelFor(outer * inner, n * 20, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      const int64_t o = t / inner, i = t % inner;
      const T* p = x + o * n * inner + i;
      T* q = y + o * n * inner + i;
      T m = -std::numeric_limits<T>::infinity();
      for (int64_t k = 0; k < n; ++k) m = p[k * inner] > m ? p[k * inner] : m;
      if (!std::isfinite(m)) m = T(0);  // all -inf (or +inf): let the infinities through
      double sum = 0;
      for (int64_t k = 0; k < n; ++k) sum += std::exp(static_cast<double>(p[k * inner] - m));
      const T lse = static_cast<T>(std::log(sum)) + m;
      for (int64_t k = 0; k < n; ++k) q[k * inner] = p[k * inner] - lse;
    }
  });
}

void SoftmaxDouble(const double* x, double* y, int64_t outer, int64_t n, int64_t inner) {
  ParallelFor(outer * inner, n * 20, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      const int64_t o = t / inner, i = t % inner;
      const double* p = x + o * n * inner + i;
      double* q = y + o * n * inner + i;
      double m = -std::numeric_limits<double>::infinity();
      for (int64_t k = 0; k < n; ++k) m = p[k * inner] > m ? p[k * inner] : m;
      double sum = 0;
      for (int64_t k = 0; k < n; ++k) {
        q[k * inner] = std::exp(p[k * inner] - m);
        sum += q[k * inner];
      }
      const double inv = 1.0 / sum;
      for (int64_t k = 0; k < n; ++k) q[k * inner] *= inv;
    }
  });
}

template <typename T>
void Hardmax(const T* x, T* y, int64_t outer, int64_t n, int64_t inner) {
  ParallelFor(outer * inner, n * 2, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      const int64_t o = t / inner, i = t % inner;
      const T* p = x + o * n * inner + i;
      T* q = y + o * n * inner + i;
      int64_t at = 0;
      T best = p[0];
      for (int64_t k = 1; k < n && best == best; ++k) {
        const T v = p[k * inner];
        if (v > best || v != v) {
          best = v;
          at = k;
        }
      }
      for (int64_t k = 0; k < n; ++k) q[k * inner] = k == at ? T(1) : T(0);
    }
  });
}

template <typename T>
void LpNormalize(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, int p) {
  ParallelFor(outer * inner, n * 3, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      const int64_t o = t / inner, i = t % inner;
      const T* px = x + o * n * inner + i;
      T* q = y + o * n * inner + i;
      double norm = 0;
      for (int64_t k = 0; k < n; ++k) {
        const double v = px[k * inner];
        norm += p == 1 ? std::fabs(v) : v * v;
      }
      if (p == 2) norm = std::sqrt(norm);
      for (int64_t k = 0; k < n; ++k) q[k * inner] = norm == 0 ? T(0) : static_cast<T>(px[k * inner] / norm);
    }
  });
}

namespace {
// Mean and 1/sqrt(var + eps) of n contiguous values, two passes in double.
template <typename T>
void Stats(const T* p, int64_t n, double epsilon, double& mean, double& inv_std) {
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(p[i]);
  mean = n > 0 ? s / static_cast<double>(n) : 0.0;
  double v = 0;
#pragma omp simd reduction(+ : v)
  for (int64_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(p[i]) - mean;
    v += d * d;
  }
  const double var = n > 0 ? v / static_cast<double>(n) : 0.0;
  inv_std = 1.0 / std::sqrt(var + epsilon);
}
}  // namespace

template <typename T>
void NormalizeRows(const T* x, T* y, int64_t rows, int64_t cols, const T* scale, const T* bias, int64_t channels,
                   double epsilon, float* mean_out, float* inv_std_out) {
  ParallelFor(rows, cols * 4, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const T* p = x + r * cols;
      T* q = y + r * cols;
      double mean = 0, inv_std = 0;
      Stats(p, cols, epsilon, mean, inv_std);
      if (mean_out) mean_out[r] = static_cast<float>(mean);
      if (inv_std_out) inv_std_out[r] = static_cast<float>(inv_std);
      const T m = static_cast<T>(mean), is = static_cast<T>(inv_std);
      if (channels == 0) {
        if (bias) {
#pragma omp simd
          for (int64_t i = 0; i < cols; ++i) q[i] = (p[i] - m) * is * scale[i] + bias[i];
        } else {
#pragma omp simd
          for (int64_t i = 0; i < cols; ++i) q[i] = (p[i] - m) * is * scale[i];
        }
      } else {
        const int64_t c = r % channels;
        const T s = scale[c], bb = bias ? bias[c] : T(0);
        const T k = is * s;
#pragma omp simd
        for (int64_t i = 0; i < cols; ++i) q[i] = (p[i] - m) * k + bb;
      }
    }
  });
}

template <typename T>
void GroupNormalize(const T* x, T* y, int64_t n, int64_t groups, int64_t channels_per_group, int64_t spatial,
                    const T* scale, const T* bias, bool per_channel, double epsilon) {
  const int64_t cols = channels_per_group * spatial;
  ParallelFor(n * groups, cols * 4, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const int64_t g = r % groups;
      const T* p = x + r * cols;
      T* q = y + r * cols;
      double mean = 0, inv_std = 0;
      Stats(p, cols, epsilon, mean, inv_std);
      const T m = static_cast<T>(mean), is = static_cast<T>(inv_std);
      for (int64_t c = 0; c < channels_per_group; ++c) {
        const int64_t idx = per_channel ? g * channels_per_group + c : g;
        const T k = is * scale[idx], bb = bias[idx];
        const T* pc = p + c * spatial;
        T* qc = q + c * spatial;
#pragma omp simd
        for (int64_t i = 0; i < spatial; ++i) qc[i] = (pc[i] - m) * k + bb;
      }
    }
  });
}

template <typename T>
void MeanVarianceNormalize(const T* x, T* y, const int64_t* dims, const bool* reduce, int rank) {
  // Permute to [kept..., reduced...] index order: each output "group" is one kept combination.
  int64_t kept_count = 1, red_count = 1;
  int64_t strides[16];
  int64_t s = 1;
  for (int i = rank - 1; i >= 0; --i) {
    strides[i] = s;
    s *= dims[i];
  }
  std::vector<int> kept, reds;
  for (int i = 0; i < rank; ++i) {
    if (reduce[i]) {
      reds.push_back(i);
      red_count *= dims[i];
    } else {
      kept.push_back(i);
      kept_count *= dims[i];
    }
  }
  if (kept_count * red_count == 0) return;
  auto offset = [&](int64_t index, const std::vector<int>& which) {
    int64_t off = 0;
    for (int j = static_cast<int>(which.size()) - 1; j >= 0; --j) {
      const int d = which[j];
      off += (index % dims[d]) * strides[d];
      index /= dims[d];
    }
    return off;
  };
  ParallelFor(kept_count, red_count * 6, [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) {
      const int64_t base = offset(k, kept);
      double sum = 0, sq = 0;
      for (int64_t r = 0; r < red_count; ++r) {
        const double v = x[base + offset(r, reds)];
        sum += v;
        sq += v * v;
      }
      const double mean = sum / static_cast<double>(red_count);
      const double var = sq / static_cast<double>(red_count) - mean * mean;
      const double sd = std::sqrt(var > 0 ? var : 0.0);
      for (int64_t r = 0; r < red_count; ++r) {
        const int64_t o = base + offset(r, reds);
        y[o] = static_cast<T>((static_cast<double>(x[o]) - mean) / sd);
      }
    }
  });
}

template <typename T>
void Lrn(const T* x, T* y, int64_t n, int64_t c, int64_t spatial, int64_t size, double alpha, double beta,
         double bias) {
  const int64_t before = (size - 1) / 2, after = size - 1 - before;
  const double a = alpha / static_cast<double>(size);
  ParallelFor(n * c, spatial * std::min(size, c) * 2, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      const int64_t ni = t / c, ci = t % c;
      const int64_t lo = std::max<int64_t>(0, ci - before), hi = std::min<int64_t>(c - 1, ci + after);
      const T* xn = x + ni * c * spatial;
      for (int64_t i = 0; i < spatial; ++i) {
        double sq = 0;
        for (int64_t k = lo; k <= hi; ++k) {
          const double v = xn[k * spatial + i];
          sq += v * v;
        }
        y[t * spatial + i] = static_cast<T>(xn[ci * spatial + i] / std::pow(bias + a * sq, beta));
      }
    }
  });
}

template <typename T>
void GlobalMax(const T* x, T* y, int64_t rows, int64_t spatial) {
  ParallelFor(rows, spatial, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const T* p = x + r * spatial;
      T m = -std::numeric_limits<T>::infinity();
      for (int64_t i = 0; i < spatial; ++i) m = (p[i] > m || p[i] != p[i]) ? p[i] : m;
      y[r] = m;
    }
  });
}

template <typename T>
void GlobalLp(const T* x, T* y, int64_t rows, int64_t spatial, int64_t p) {
  ParallelFor(rows, spatial * 4, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const T* q = x + r * spatial;
      double s = 0;
      for (int64_t i = 0; i < spatial; ++i) {
        const double v = std::fabs(static_cast<double>(q[i]));
        s += p == 1 ? v : p == 2 ? v * v : std::pow(v, static_cast<double>(p));
      }
      y[r] = static_cast<T>(p == 1 ? s : p == 2 ? std::sqrt(s) : std::pow(s, 1.0 / static_cast<double>(p)));
    }
  });
}

#define ANVIL_INSTANTIATE(T)                                                                                   \
  template void LogSoftmax<T>(const T*, T*, int64_t, int64_t, int64_t);                                      \
  template void Hardmax<T>(const T*, T*, int64_t, int64_t, int64_t);                                         \
  template void LpNormalize<T>(const T*, T*, int64_t, int64_t, int64_t, int);                                \
  template void NormalizeRows<T>(const T*, T*, int64_t, int64_t, const T*, const T*, int64_t, double, float*,  \
                                 float*);                                                                   \
  template void GroupNormalize<T>(const T*, T*, int64_t, int64_t, int64_t, int64_t, const T*, const T*, bool, \
                                  double);                                                                   \
  template void MeanVarianceNormalize<T>(const T*, T*, const int64_t*, const bool*, int);                    \
  template void Lrn<T>(const T*, T*, int64_t, int64_t, int64_t, int64_t, double, double, double);            \
  template void GlobalMax<T>(const T*, T*, int64_t, int64_t);                                                \
  template void GlobalLp<T>(const T*, T*, int64_t, int64_t, int64_t);
ANVIL_INSTANTIATE(float)
ANVIL_INSTANTIATE(double)
#undef ANVIL_INSTANTIATE

}  // namespace anvil::nn
