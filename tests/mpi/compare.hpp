// How far apart two networks' tensors are, for the MPI tests' "N processes equal one" checks.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

namespace ctnn_test {

// The largest |a - b| over a tensor, relative to the tensor's largest |b|; infinite when a value
// of either is not finite (std::max would otherwise pass a NaN over).
inline double relative_difference(const float* a, const float* b, std::size_t n) {
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double d = std::abs(static_cast<double>(a[i]) - b[i]);
    if (!std::isfinite(d)) return std::numeric_limits<double>::infinity();
    diff = std::max(diff, d);
    scale = std::max(scale, std::abs(static_cast<double>(b[i])));
  }
  return scale > 0 ? diff / scale : diff;
}

// The worst relative_difference over a's tensors (parameters() or buffers()) against b's.
template <class Refs>
double worst_difference(const Refs& a, const Refs& b) {
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    worst = std::max(worst, relative_difference(a[i].value, b[i].value, a[i].size));
  return worst;
}

}  // namespace ctnn_test
