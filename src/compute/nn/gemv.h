// A row vector times a matrix held in column panels: the M = 1 matrix product (a wake-word head's
// Gemm, a decoder's step), where a general GEMM library's per-call setup costs more than the
// arithmetic. Plain C++, no ORT types.
#pragma once
#include <cstdint>
#include <limits>

namespace anvil::nn {

// The panel widths GemvPanels runs (those of oneDNN's BA<r>a<width>b weight layouts).
constexpr bool IsGemvPanelWidth(int64_t width) {
  return width == 8 || width == 16 || width == 24 || width == 32 || width == 48 || width == 64;
}

// y[j] = sum_i x[i] * W[i, j] for j in [0, n), with W [k, n] stored in column panels of `width`
// (IsGemvPanelWidth): panel p holds columns [p*width, (p+1)*width) as `k_rows` rows of `width`
// floats, row i at w + (p * k_rows + i) * width (k_rows >= k; rows and columns past the matrix
// are padding, never read into y).
// Applied to each y[j] in registers before it is stored: v = alpha * y[j] (+ beta * bias[j], or
// + beta * bias[0] when bias_scalar), then (v < lo ? lo : v), then (v > hi ? hi : v), as Anvil's
// Clip does (NaN passes; Relu is lo = 0). A Gemm's C and its Relu or Clip without a second pass.
struct GemvEpilogue {
  float alpha = 1.f;
  const float* bias = nullptr;
  float beta = 1.f;
  bool bias_scalar = false;
  float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
};

void GemvPanels(const float* x, int64_t k, const float* w, int64_t k_rows, int64_t n, int64_t width, float* y,
                const GemvEpilogue& epilogue = {});

}  // namespace anvil::nn
