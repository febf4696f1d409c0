#include "report.h"

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>

namespace anvil_run {

Comparison Compare(const HostTensor& anvil, const HostTensor& reference, double atol, double rtol) {
  Comparison c;
  if (anvil.type != reference.type) {
    c.comparable = false;
    c.problem = "type " + TypeName(anvil.type) + " vs reference " + TypeName(reference.type);
    return c;
  }
  if (anvil.shape != reference.shape) {
    c.comparable = false;
    c.problem = "shape " + ShapeString(anvil.shape) + " vs reference " + ShapeString(reference.shape);
    return c;
  }
  if (ElementSize(anvil.type) == 0) {
    c.comparable = false;
    c.problem = "type " + TypeName(anvil.type) + " cannot be compared";
    return c;
  }
  const size_t n = anvil.ElementCount();
  for (size_t i = 0; i < n; ++i) {
    const double a = ElementAsDouble(anvil, i), r = ElementAsDouble(reference, i);
    if (std::isnan(a) || std::isnan(r)) {
      if (std::isnan(a) != std::isnan(r)) ++c.nan_mismatches;
      continue;
    }
    if (std::isinf(a) || std::isinf(r)) {
      if (a != r) c.max_abs = INFINITY;
      continue;
    }
    c.max_abs = std::max(c.max_abs, std::fabs(a - r));
    c.max_ref = std::max(c.max_ref, std::fabs(r));
  }
  c.max_rel = c.max_ref > 0 ? c.max_abs / c.max_ref : c.max_abs;
  c.pass = c.nan_mismatches == 0 && c.max_abs <= atol + rtol * c.max_ref;
  return c;
}

double Percentile(std::vector<double> samples, double p) {
  if (samples.empty()) return NAN;
  std::sort(samples.begin(), samples.end());
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(samples.size())));
  rank = std::clamp<size_t>(rank, 1, samples.size());
  return samples[rank - 1];
}

std::string FormatTable(const std::vector<std::vector<std::string>>& rows, size_t left_trailing) {
  std::vector<size_t> width;
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], row[i].size());
    }
  std::string out;
  for (size_t r = 0; r < rows.size(); ++r) {
    std::string line;
    for (size_t i = 0; i < rows[r].size(); ++i) {
      const std::string& cell = rows[r][i];
      const std::string pad(width[i] - cell.size(), ' ');
      const bool left = i == 0 || i + left_trailing >= width.size();
      line += (i ? "  " : "") + (left ? cell + pad : pad + cell);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
    if (r == 0) {
      size_t total = 0;
      for (size_t w : width) total += w;
      out += std::string(total + 2 * (width.size() - 1), '-') + "\n";
    }
  }
  return out;
}

std::string Format(const char* fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return buf;
}

}  // namespace anvil_run
