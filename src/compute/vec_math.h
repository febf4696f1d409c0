// Vectorisable scalar math shared by Anvil's compute routines: plain C++, no ORT types.
#pragma once
#include <bit>
#include <cmath>
#include <cstdint>

// Hot loops that gain from wider vectors get copies compiled for x86-64-v4 (AVX-512: Xeons, Zen 4)
// and x86-64-v3 (AVX2 + FMA), chosen at load time by the CPU (GCC function multiversioning); the
// build's baseline stays x86-64-v2.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define ANVIL_MULTIVERSION __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define ANVIL_MULTIVERSION
#endif

// Code written with 512-bit vectors of GCC's vector extension (compares, selects) or with AVX-512
// intrinsics goes in functions compiled for x86-64-v4 alone (ANVIL_AVX512), called when the CPU
// has it (HasAvx512): a target_clones copy is no substitute, since GCC lowers wide vector compares
// and selects for the baseline before it clones (scalar code in every clone).
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define ANVIL_AVX512 __attribute__((target("arch=x86-64-v4")))
#define ANVIL_HAVE_AVX512_PATHS 1
#else
#define ANVIL_AVX512
#define ANVIL_HAVE_AVX512_PATHS 0
#endif

namespace anvil {

inline bool HasAvx512() {
  static const bool has = ANVIL_HAVE_AVX512_PATHS && __builtin_cpu_supports("avx512f") &&
                          __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
                          __builtin_cpu_supports("avx512bw");
  return has;
}

// exp(x) in float, about 1 ulp, written branch-free so that `#pragma omp simd` loops vectorise it
// (std::exp does not vectorise without libmvec/fast-math). Returns 0 below ln(FLT_MIN) (no
// denormals), +inf above ~88.38, NaN for NaN.
[[gnu::always_inline]] inline float Exp(float x) {
  constexpr float kHi = 88.3762626647949f;
  constexpr float kLo = -87.3365478515625f;
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693359375f;
  constexpr float kLn2Lo = -2.12194440e-4f;
  const float xc = x > kHi ? kHi : (x >= kLo ? x : kLo);  // NaN -> kLo: the int cast below stays defined
  const float n = std::floor(xc * kLog2e + 0.5f);
  float r = xc - n * kLn2Hi;
  r = r - n * kLn2Lo;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float e = p * (r * r) + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  const float scaled = e * std::bit_cast<float>(bits);
  const float out = x < kLo ? 0.0f : (x > kHi ? HUGE_VALF : scaled);
  return x != x ? x : out;  // NaN in, NaN out
}

}  // namespace anvil
