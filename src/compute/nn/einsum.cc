#include "compute/nn/einsum.h"

#include <algorithm>
#include <type_traits>

#include "compute/elementwise/math.h"
#include "compute/parallel.h"

namespace anvil::nn {

std::string ParseEinsum(const std::string& equation, EinsumSpec& spec) {
  spec = EinsumSpec{};
  int id_of[128];
  std::fill(id_of, id_of + 128, -1);
  std::string eq;
  for (char c : equation) {
    if (c != ' ') eq.push_back(c);
  }
  if (eq.find('.') != std::string::npos) return "ellipsis ('...') is not supported";
  const size_t arrow = eq.find("->");
  const std::string lhs = eq.substr(0, arrow);
  auto letter_id = [&](char c) {
    if (id_of[static_cast<unsigned char>(c)] < 0) id_of[static_cast<unsigned char>(c)] = spec.letters++;
    return id_of[static_cast<unsigned char>(c)];
  };
  auto is_letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  std::vector<int> count(128, 0);
  spec.inputs.emplace_back();
  for (char c : lhs) {
    if (c == ',') {
      spec.inputs.emplace_back();
    } else if (is_letter(c)) {
      spec.inputs.back().push_back(letter_id(c));
      ++count[static_cast<unsigned char>(c)];
    } else {
      return std::string("unexpected character '") + c + "'";
    }
  }
  if (arrow != std::string::npos) {
    const std::string rhs = eq.substr(arrow + 2);
    std::vector<bool> seen(128, false);
    for (char c : rhs) {
      if (!is_letter(c)) return std::string("unexpected character '") + c + "' in the output";
      if (count[static_cast<unsigned char>(c)] == 0) return std::string("output letter '") + c + "' is in no input";
      if (seen[static_cast<unsigned char>(c)]) return std::string("output letter '") + c + "' repeated";
      seen[static_cast<unsigned char>(c)] = true;
      spec.output.push_back(id_of[static_cast<unsigned char>(c)]);
    }
  } else {
    // Implicit output: the letters that occur once, alphabetically. Where upper-case letters would
    // sort among lower-case ones implementations disagree, so that is refused.
    for (int c = 'A'; c <= 'Z'; ++c) {
      if (count[c] == 1) return "an implicit output with upper-case letters is not supported";
    }
    for (int c = 'a'; c <= 'z'; ++c) {
      if (count[c] == 1) spec.output.push_back(id_of[c]);
    }
  }
  return {};
}

std::string EinsumLetterSizes(const EinsumSpec& spec, const std::vector<const int64_t*>& dims,
                              const std::vector<int>& ranks, std::vector<int64_t>& sizes) {
  sizes.assign(static_cast<size_t>(spec.letters), -1);
  if (dims.size() != spec.inputs.size()) return "the equation has a different number of operands";
  for (size_t i = 0; i < spec.inputs.size(); ++i) {
    if (static_cast<size_t>(ranks[i]) != spec.inputs[i].size()) {
      return "operand " + std::to_string(i) + " has rank " + std::to_string(ranks[i]) + ", its term " +
             std::to_string(spec.inputs[i].size()) + " letters";
    }
    for (size_t a = 0; a < spec.inputs[i].size(); ++a) {
      int64_t& s = sizes[static_cast<size_t>(spec.inputs[i][a])];
      if (s >= 0 && s != dims[i][a]) {
        return "a letter has sizes " + std::to_string(s) + " and " + std::to_string(dims[i][a]);
      }
      s = dims[i][a];
    }
  }
  return {};
}

template <typename T>
void Einsum(const EinsumSpec& spec, const std::vector<int64_t>& sizes, const std::vector<const T*>& in,
            const std::vector<const int64_t*>& dims, T* y) {
  const size_t nops = in.size();
  const int L = spec.letters;
  // Element strides of every operand along every letter (summed over repeated axes: diagonals).
  std::vector<int64_t> stride(nops * static_cast<size_t>(L), 0);
  for (size_t i = 0; i < nops; ++i) {
    int64_t s = 1;
    for (int a = static_cast<int>(spec.inputs[i].size()) - 1; a >= 0; --a) {
      stride[i * L + spec.inputs[i][a]] += s;
      s *= dims[i][a];
    }
  }
  std::vector<bool> in_out(static_cast<size_t>(L), false);
  for (int l : spec.output) in_out[static_cast<size_t>(l)] = true;
  std::vector<int> sum_letters;
  int64_t sum_count = 1;
  for (int l = 0; l < L; ++l) {
    if (!in_out[static_cast<size_t>(l)]) {
      sum_letters.push_back(l);
      sum_count *= sizes[static_cast<size_t>(l)];
    }
  }
  int64_t out_count = 1;
  for (int l : spec.output) out_count *= sizes[static_cast<size_t>(l)];
  if (out_count == 0) return;
  const int ns = static_cast<int>(sum_letters.size());
  const int no = static_cast<int>(spec.output.size());
  ParallelFor(out_count, std::max<int64_t>(sum_count, 1) * static_cast<int64_t>(nops), [&](int64_t b, int64_t e) {
    std::vector<int64_t> base(nops), off(nops), idx(static_cast<size_t>(ns));
    for (int64_t o = b; o < e; ++o) {
      // Operand offsets of output element o.
      std::fill(base.begin(), base.end(), 0);
      int64_t r = o;
      for (int k = no - 1; k >= 0; --k) {
        const int l = spec.output[static_cast<size_t>(k)];
        const int64_t v = r % sizes[static_cast<size_t>(l)];
        r /= sizes[static_cast<size_t>(l)];
        for (size_t i = 0; i < nops; ++i) base[i] += v * stride[i * L + l];
      }
      T acc = T(0);
      if (sum_count > 0) {
        off = base;
        std::fill(idx.begin(), idx.end(), 0);
        // The innermost summed letter runs as a strided inner loop (unit stride for the common
        // contractions, so it vectorises); the others through the odometer.
        const int64_t inner_n = ns > 0 ? sizes[static_cast<size_t>(sum_letters[ns - 1])] : 1;
        const int li = ns > 0 ? sum_letters[ns - 1] : 0;
        const int64_t s0 = ns > 0 ? stride[li] : 0;
        const int64_t s1 = ns > 0 && nops > 1 ? stride[L + li] : 0;
        const int64_t outer_sums = sum_count / inner_n;
        for (int64_t s = 0; s < outer_sums; ++s) {
          if (nops == 2) {
            const T* pa = in[0] + off[0];
            const T* pb = in[1] + off[1];
            if constexpr (std::is_integral_v<T>) {
              for (int64_t j = 0; j < inner_n; ++j) acc = ew::WrapAdd(acc, ew::WrapMul(pa[j * s0], pb[j * s1]));
            } else {
              T part = T(0);
#pragma omp simd reduction(+ : part)
              for (int64_t j = 0; j < inner_n; ++j) part += pa[j * s0] * pb[j * s1];
              acc += part;
            }
          } else {
            for (int64_t j = 0; j < inner_n; ++j) {
              T prod = in[0][off[0] + j * s0];
              for (size_t i = 1; i < nops; ++i) {
                const T v = in[i][off[i] + j * stride[i * L + li] * (ns > 0)];
                if constexpr (std::is_integral_v<T>) prod = ew::WrapMul(prod, v);
                else prod *= v;
              }
              if constexpr (std::is_integral_v<T>) acc = ew::WrapAdd(acc, prod);
              else acc += prod;
            }
          }
          // Advance the other summed letters' odometer (innermost last).
          for (int k = ns - 2; k >= 0; --k) {
            const int l = sum_letters[static_cast<size_t>(k)];
            for (size_t i = 0; i < nops; ++i) off[i] += stride[i * L + l];
            if (++idx[static_cast<size_t>(k)] < sizes[static_cast<size_t>(l)]) break;
            for (size_t i = 0; i < nops; ++i) off[i] -= idx[static_cast<size_t>(k)] * stride[i * L + l];
            idx[static_cast<size_t>(k)] = 0;
          }
        }
      }
      y[o] = acc;
    }
  });
}

template void Einsum<float>(const EinsumSpec&, const std::vector<int64_t>&, const std::vector<const float*>&,
                            const std::vector<const int64_t*>&, float*);
template void Einsum<double>(const EinsumSpec&, const std::vector<int64_t>&, const std::vector<const double*>&,
                             const std::vector<const int64_t*>&, double*);
template void Einsum<int32_t>(const EinsumSpec&, const std::vector<int64_t>&, const std::vector<const int32_t*>&,
                              const std::vector<const int64_t*>&, int32_t*);
template void Einsum<int64_t>(const EinsumSpec&, const std::vector<int64_t>&, const std::vector<const int64_t*>&,
                              const std::vector<const int64_t*>&, int64_t*);

}  // namespace anvil::nn
