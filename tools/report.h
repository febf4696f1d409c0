// Comparison of outputs, latency statistics and plain-text tables.
#pragma once

#include <string>
#include <vector>

#include "tensor_io.h"

namespace anvil_run {

struct Comparison {
  bool comparable = true;  // same type and shape
  std::string problem;     // why not comparable
  double max_abs = 0;      // largest |anvil - reference|
  double max_ref = 0;      // largest |reference|
  double max_rel = 0;      // max_abs / max_ref (max_abs if max_ref == 0)
  size_t nan_mismatches = 0;
  bool pass = false;
};

Comparison Compare(const HostTensor& anvil, const HostTensor& reference, double atol, double rtol);

// Nearest-rank percentile (p in [0,100]) of the samples.
double Percentile(std::vector<double> samples, double p);

// Fixed-width table: first row is the header; columns after the first are right-aligned, except
// the last `left_trailing` columns (text).
std::string FormatTable(const std::vector<std::vector<std::string>>& rows, size_t left_trailing = 0);

// printf-style formatting into a std::string.
std::string Format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace anvil_run
