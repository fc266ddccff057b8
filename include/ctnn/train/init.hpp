#pragma once
// Initialisations that training recipes apply on top of PyTorch's defaults:
//   dirac_init        torch.nn.init.dirac_ on the first Cin filters of a conv weight, so that
//                     part of a fresh conv passes its input through (airbench's ConvGroup);
//   whitening_init    a 2x2 (or KxK) conv whose filters whiten the input's patches, computed
//                     from training images (airbench's "whitening" first layer): the
//                     eigenvectors of the uncentred patch covariance scaled by
//                     1/sqrt(eigenvalue + eps), largest first, followed by their negatives.
#include <Eigen/Eigenvalues>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>

#include "ctnn/core/parameter.hpp"

namespace ctnn::init {

// weight: [Cout, Cin, K, K]. Filters o < min(Cout, Cin) become the identity on channel o.
template <class T>
void dirac_init(const ParamRef<T>& weight) {
  if (weight.dims.size() != 4 || weight.dims[2] != weight.dims[3] || weight.dims[2] % 2 == 0)
    throw std::invalid_argument("dirac_init: " + weight.name + " is not a conv weight with an odd square kernel");
  const std::size_t cout = weight.dims[0], cin = weight.dims[1], k = weight.dims[2];
  for (std::size_t o = 0; o < std::min(cout, cin); ++o) {
    T* f = weight.value + o * cin * k * k;
    std::fill(f, f + cin * k * k, T(0));
    f[(o * k + k / 2) * k + k / 2] = T(1);
  }
}

// weight: [2 * C*K*K, C, K, K] (e.g. 24 filters for 3 channels and K = 2).
// images: n samples of [C, H, W] (already normalised as the network will see them).
template <class T>
void whitening_init(const ParamRef<T>& weight, const float* images, std::size_t n, std::size_t c, std::size_t h,
                    std::size_t w, double eps = 5e-4) {
  if (weight.dims.size() != 4 || weight.dims[1] != c || weight.dims[2] != weight.dims[3])
    throw std::invalid_argument("whitening_init: " + weight.name + " is not a conv weight over " + std::to_string(c) +
                                " channels with a square kernel");
  const std::size_t k = weight.dims[2], d = c * k * k;
  if (weight.dims[0] != 2 * d)
    throw std::invalid_argument("whitening_init: " + weight.name + " needs " + std::to_string(2 * d) +
                                " filters (the whitening directions and their negatives), has " +
                                std::to_string(weight.dims[0]));
  if (n == 0 || h < k || w < k) throw std::invalid_argument("whitening_init: no patches in the given images");
  // Second moment of all stride-1 patches, (c, ky, kx) order = the weight's layout, in double.
  Eigen::MatrixXd cov = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(d), static_cast<Eigen::Index>(d));
  Eigen::VectorXd patch(static_cast<Eigen::Index>(d));
  const std::size_t ho = h - k + 1, wo = w - k + 1;
  for (std::size_t s = 0; s < n; ++s) {
    const float* img = images + s * c * h * w;
    Eigen::MatrixXd local = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(d), static_cast<Eigen::Index>(d));
    for (std::size_t y = 0; y < ho; ++y)
      for (std::size_t x = 0; x < wo; ++x) {
        Eigen::Index i = 0;
        for (std::size_t ch = 0; ch < c; ++ch)
          for (std::size_t ky = 0; ky < k; ++ky)
            for (std::size_t kx = 0; kx < k; ++kx) patch[i++] = img[(ch * h + y + ky) * w + x + kx];
        local.selfadjointView<Eigen::Lower>().rankUpdate(patch);
      }
    cov += local;
  }
  cov = cov.selfadjointView<Eigen::Lower>();
  cov /= static_cast<double>(n * ho * wo);
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(cov);
  if (eig.info() != Eigen::Success) throw std::runtime_error("whitening_init: the eigen-decomposition failed");
  // Eigen sorts eigenvalues ascending; filter 0 takes the largest.
  for (std::size_t f = 0; f < d; ++f) {
    const auto j = static_cast<Eigen::Index>(d - 1 - f);
    const double scale = 1.0 / std::sqrt(std::max(eig.eigenvalues()[j], 0.0) + eps);
    for (std::size_t i = 0; i < d; ++i) {
      const double v = eig.eigenvectors()(static_cast<Eigen::Index>(i), j) * scale;
      weight.value[f * d + i] = static_cast<T>(v);
      weight.value[(f + d) * d + i] = static_cast<T>(-v);
    }
  }
}

}  // namespace ctnn::init
