// float16 and bfloat16 <-> float, bit-exact and branch-light (no ORT types, no F16C needed).
// float -> float16 and float -> bfloat16 round to nearest even; values beyond float16's range
// become +-Inf, NaN stays a quiet NaN, float16 subnormals are produced and read exactly.
#pragma once
#include <cstdint>
#include <cstring>

namespace anvil::ew {

inline uint32_t FloatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline float BitsFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

inline uint16_t FloatToHalf(float f) {
  const uint32_t u = FloatBits(f);
  const uint32_t sign = (u >> 16) & 0x8000u;
  uint32_t a = u & 0x7fffffffu;
  if (a >= 0x7f800000u) return static_cast<uint16_t>(sign | (a > 0x7f800000u ? 0x7e00u : 0x7c00u));
  if (a >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds to >= 65536: Inf
  if (a < 0x38800000u) {
    // Below 2^-14: a float16 subnormal (or zero). Adding 0.5 puts the value's bits at float16's
    // subnormal step (2^-24 = the ulp of floats in [0.5, 1)), so the FPU rounds to nearest even.
    const float r = BitsFloat(a) + 0.5f;
    return static_cast<uint16_t>(sign | (FloatBits(r) - 0x3f000000u));
  }
  const uint32_t odd = (a >> 13) & 1u;
  a += 0xc8000fffu + odd;  // rebias the exponent (127 -> 15) and round to nearest even
  return static_cast<uint16_t>(sign | (a >> 13));
}

inline float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  if (e == 0x1f) return BitsFloat(sign | 0x7f800000u | (m << 13));
  if (e == 0) {
    const float v = static_cast<float>(m) * 5.9604644775390625e-8f;  // m * 2^-24, exact
    return BitsFloat(sign | FloatBits(v));
  }
  return BitsFloat(sign | ((e + 112u) << 23) | (m << 13));
}

inline uint16_t FloatToBFloat16(float f) {
  const uint32_t u = FloatBits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>(((u >> 16) & 0x8000u) | 0x7fc1u);
  return static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

inline float BFloat16ToFloat(uint16_t b) { return BitsFloat(static_cast<uint32_t>(b) << 16); }

}  // namespace anvil::ew
