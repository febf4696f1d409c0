// Einsum over explicit index letters (no ellipsis): parsing and a strided contraction loop.
// Plain C++, no ORT types.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace anvil::nn {

// A parsed equation: letter ids per operand term (repeats allowed: diagonals) and for the output
// (no repeats; implicit form: the letters that occur once, in alphabetical order).
struct EinsumSpec {
  int letters = 0;                      // distinct letters, ids 0..letters-1
  std::vector<std::vector<int>> inputs;  // per operand, per axis
  std::vector<int> output;              // per output axis
};

// Parses `equation`; returns an empty string on success, else what is wrong (ellipsis is not
// supported).
std::string ParseEinsum(const std::string& equation, EinsumSpec& spec);

// Size of every letter from the operands' shapes; empty string or the error (rank mismatch,
// letters whose sizes disagree).
std::string EinsumLetterSizes(const EinsumSpec& spec, const std::vector<const int64_t*>& dims,
                              const std::vector<int>& ranks, std::vector<int64_t>& sizes);

// y[out] = sum over the other letters of the product of the operands. T: float, double, int32_t,
// int64_t (integers wrap).
template <typename T>
void Einsum(const EinsumSpec& spec, const std::vector<int64_t>& sizes, const std::vector<const T*>& in,
            const std::vector<const int64_t*>& dims, T* y);

}  // namespace anvil::nn
