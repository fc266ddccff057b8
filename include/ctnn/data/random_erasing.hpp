#pragma once
// RandomErasing (Zhong et al. 2020, "Random Erasing Data Augmentation"), as torchvision's
// transforms.RandomErasing on a normalised tensor: with probability p, one rectangle of the image
// is set to `value` in every channel. Its area is a uniform fraction in [scale_min, scale_max] of
// the image's, its aspect ratio h / w log-uniform in [ratio_min, ratio_max]; h and w are rounded
// half to even (Python's round), and a draw that does not fit strictly inside the image
// (h < height and w < width) is drawn again, up to 10 times, after which nothing is erased. The
// top-left corner is then uniform over the positions that fit (row first, then column).
//
// torchvision's defaults: p 0.5, scale (0.02, 0.33), ratio (0.3, 3.3), value 0 (the mean, after
// Normalize). A tensor op (data/transforms.hpp): after ToTensor and Normalize, with Cutout.
// The draws come from ctnn's Rng in torchvision's order (the coin; then per attempt the area and
// the log-ratio; then the row and the column), not from torch's generator.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <stdexcept>

#include "ctnn/core/random.hpp"

namespace ctnn::data {

struct RandomErasing {
  double p = 0.5;
  double scale_min = 0.02, scale_max = 0.33;
  double ratio_min = 0.3, ratio_max = 3.3;
  float value = 0.0f;
  static constexpr bool tensor_op = true;
  static constexpr bool random = true;

  // The rectangle one call erases: rows [top, top + h), columns [left, left + w); h = 0 for none.
  struct Box {
    std::size_t top = 0, left = 0, h = 0, w = 0;
  };

  // Throws std::invalid_argument as torchvision's constructor does, for a pipeline built from options.
  void check() const {
    if (!(p >= 0 && p <= 1)) throw std::invalid_argument("RandomErasing: p must be in [0, 1]");
    if (!(scale_min >= 0 && scale_min <= scale_max && scale_max <= 1))
      throw std::invalid_argument("RandomErasing: scale must satisfy 0 <= scale_min <= scale_max <= 1");
    if (!(ratio_min > 0 && ratio_min <= ratio_max))
      throw std::invalid_argument("RandomErasing: ratio must satisfy 0 < ratio_min <= ratio_max");
  }

  template <class S>
  Box draw(Rng& rng) const noexcept {
    if (!(rng.uniform() < p)) return {};
    const double area = static_cast<double>(S::height * S::width);
    const double log_lo = std::log(ratio_min), log_hi = std::log(ratio_max);
    for (int attempt = 0; attempt < 10; ++attempt) {
      const double erase_area = area * rng.uniform(scale_min, scale_max);
      const double aspect = std::exp(rng.uniform(log_lo, log_hi));
      const double h = std::nearbyint(std::sqrt(erase_area * aspect));  // half to even, as round()
      const double w = std::nearbyint(std::sqrt(erase_area / aspect));
      if (!(h < static_cast<double>(S::height) && w < static_cast<double>(S::width))) continue;
      const auto bh = static_cast<std::size_t>(h), bw = static_cast<std::size_t>(w);
      const std::size_t top = rng.below(S::height - bh + 1);
      const std::size_t left = rng.below(S::width - bw + 1);
      return {top, left, bh, bw};
    }
    return {};
  }

  template <class S>
  void erase(float* x, const Box& b) const noexcept {
    for (std::size_t c = 0; c < S::channels; ++c)
      for (std::size_t y = b.top; y < b.top + b.h; ++y) {
        float* row = x + (c * S::height + y) * S::width + b.left;
        std::fill(row, row + b.w, value);
      }
  }

  template <class S>
  void apply(float* x, Rng& rng) const noexcept {
    erase<S>(x, draw<S>(rng));
  }
};

}  // namespace ctnn::data
