// Float Add/Sub/Mul/Div rows with explicit vectors: AVX2 when the CPU has it (chosen at run time),
// else SSE (the build's x86-64-v2 baseline). Plain IEEE operations in either, so every element is
// bit-identical to the scalar a op b whatever its position. Pure compute: no ORT.
#pragma once
#include <cstdint>

namespace anvil::ew {

enum class FloatArith { kAdd, kSub, kMul, kDiv };

// o[i] = a[i] op b[i]
void ArithVV(FloatArith op, const float* a, const float* b, float* o, int64_t n);
// o[i] = a[i] op b
void ArithVS(FloatArith op, const float* a, float b, float* o, int64_t n);
// o[i] = a op b[i]
void ArithSV(FloatArith op, float a, const float* b, float* o, int64_t n);

}  // namespace anvil::ew
