// Signal helpers: the cosine-sum windows (Hann, Hamming, Blackman) and the mel filter bank.
// No ORT types.
#pragma once
#include <cmath>
#include <cstdint>
#include <vector>

namespace anvil::signal {

// w[i] = a0 - a1 cos(2 pi i / N) + a2 cos(4 pi i / N), N = size (periodic) or size - 1.
template <typename T>
void CosineSumWindow(T* out, int64_t size, bool periodic, double a0, double a1, double a2) {
  const double n = static_cast<double>(periodic ? size : size - 1);
  constexpr double kTwoPi = 6.283185307179586476925286766559;
  for (int64_t i = 0; i < size; ++i) {
    const double t = kTwoPi * static_cast<double>(i) / n;
    out[i] = static_cast<T>(a0 - a1 * std::cos(t) + a2 * std::cos(2.0 * t));
  }
}

// The band edges of a mel filter bank: num_mel_bins + 2 FFT bin indices, evenly spaced in mel
// (2595 log10(1 + f / 700)) from lower_hz to upper_hz, as floor((dft_length + 1) f / sample_rate).
inline std::vector<int64_t> MelBandEdges(int64_t num_mel_bins, int64_t dft_length, int64_t sample_rate,
                                         double lower_hz, double upper_hz) {
  const double kLn10 = std::log(10.0);
  const double low_mel = 2595.0 * std::log1p(lower_hz / 700.0) / kLn10;
  const double high_mel = 2595.0 * std::log1p(upper_hz / 700.0) / kLn10;
  const int64_t points = num_mel_bins + 2;
  const double step = (high_mel - low_mel) / static_cast<double>(points);
  std::vector<int64_t> edges(static_cast<size_t>(points));
  for (int64_t i = 0; i < points; ++i) {
    const double mel = static_cast<double>(i) * step + low_mel;
    const double hz = 700.0 * std::expm1(mel / 2595.0 * kLn10);
    edges[i] = static_cast<int64_t>(std::floor(static_cast<double>(dft_length + 1) * hz / static_cast<double>(sample_rate)));
  }
  return edges;
}

}  // namespace anvil::signal
