// Shapes and broadcasting: plain data, no ORT types (usable by the compute layer).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace anvil {

using Shape = std::vector<int64_t>;

inline int64_t NumElements(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

inline std::string ToString(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? "," : "") + std::to_string(s[i]);
  return out + "]";
}

// Numpy-style multidirectional broadcast. Returns false if the shapes are incompatible.
// Unknown dims (-1) are allowed and propagate as -1 unless the other side fixes them.
bool BroadcastShapes(const Shape& a, const Shape& b, Shape& out);

// Normalises a possibly negative axis into [0, rank); false if out of range.
inline bool NormalizeAxis(int64_t axis, int64_t rank, int64_t& out) {
  if (axis < -rank || axis >= rank) return false;
  out = axis < 0 ? axis + rank : axis;
  return true;
}

}  // namespace anvil
