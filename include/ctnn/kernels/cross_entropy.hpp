#pragma once
// Cross-entropy over logits with mean reduction and label smoothing, with the max-shifted
// (fused) log-softmax: torch.nn.functional.cross_entropy's numerics. The loss object that owns
// the gradient buffer is ctnn/loss/cross_entropy.hpp.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace ctnn::kernels {
// logits: [N, C], labels: [N] in [0, C)  ->  mean loss; dlogits: [N, C] = d(mean loss)/d(logits)
// (skipped if null); *correct (if not null) = how many rows have their label as the arg-max.
template <class T>
double cross_entropy(const T* logits, const std::int32_t* labels, std::size_t n, std::size_t classes,
                     double smoothing, T* dlogits, std::size_t* correct) {
  double total = 0;
  std::size_t hits = 0;
  const double inv_n = 1.0 / static_cast<double>(n);
  const double off = smoothing / static_cast<double>(classes);
  for (std::size_t i = 0; i < n; ++i) {
    const T* z = logits + i * classes;
    const auto label = static_cast<std::size_t>(labels[i]);
    const std::size_t argmax = static_cast<std::size_t>(std::max_element(z, z + classes) - z);
    hits += argmax == label;
    const double zmax = static_cast<double>(z[argmax]);
    double sum_exp = 0, sum_z = 0;
    for (std::size_t c = 0; c < classes; ++c) {
      sum_exp += std::exp(static_cast<double>(z[c]) - zmax);
      sum_z += static_cast<double>(z[c]);
    }
    const double log_sum = zmax + std::log(sum_exp);
    // -log p[label] smoothed with the mean of -log p[c] over classes
    const double nll = log_sum - static_cast<double>(z[label]);
    const double uniform = log_sum - sum_z / static_cast<double>(classes);
    total += (1.0 - smoothing) * nll + smoothing * uniform;
    if (dlogits) {
      T* d = dlogits + i * classes;
      for (std::size_t c = 0; c < classes; ++c) {
        const double p = std::exp(static_cast<double>(z[c]) - log_sum);
        const double target = (c == label ? 1.0 - smoothing : 0.0) + off;
        d[c] = static_cast<T>((p - target) * inv_n);
      }
    }
  }
  if (correct) *correct = hits;
  return total * inv_n;
}
}  // namespace ctnn::kernels
