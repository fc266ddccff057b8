#pragma once
// Batch normalisation over N x (H*W) per channel (BatchNorm2d; BatchNorm1d is the H=W=1 case).
// PyTorch semantics: biased variance to normalise, unbiased variance in the running estimate.
#include <algorithm>
#include <cmath>
#include <cstddef>

#include "ctnn/kernels/eigen.hpp"

namespace ctnn::kernels {

struct BatchNormGeometry {
  std::size_t n, channels, plane;  // plane = H*W
};

// x: [N, C, HW]  ->  y: [N, C, HW]; saves per-channel mean and 1/sqrt(var+eps) for backward,
// and updates the running statistics with `momentum`.
// One pass gathers the statistics: per plane, vectorised float sums of (x - s) and (x - s)^2
// with s the channel's first value (shifting keeps E[d^2] - E[d]^2 exact enough even when
// |mean| >> std), accumulated over planes in double. A second pass normalises.
template <class T>
void batchnorm_forward_train(const T* x, const T* gamma, const T* beta, T* y, T* save_mean,
                             T* save_invstd, T* running_mean, T* running_var,
                             const BatchNormGeometry& g, T momentum, T eps) {
  const auto HW = static_cast<Eigen::Index>(g.plane);
  const std::size_t stride = g.channels * g.plane;
  const double count = static_cast<double>(g.n * g.plane);
#pragma omp parallel for schedule(static)
  for (std::size_t c = 0; c < g.channels; ++c) {
    const T shift = x[c * g.plane];
    double sum = 0, sq = 0;
    for (std::size_t i = 0; i < g.n; ++i) {
      const auto d = ConstArrMap<T>(x + i * stride + c * g.plane, HW) - shift;
      sum += static_cast<double>(d.sum());
      sq += static_cast<double>(d.square().sum());
    }
    const double mean_d = sum / count;
    const double var = std::max(0.0, sq / count - mean_d * mean_d);
    const double mean = static_cast<double>(shift) + mean_d;
    const double invstd = 1.0 / std::sqrt(var + static_cast<double>(eps));
    save_mean[c] = static_cast<T>(mean);
    save_invstd[c] = static_cast<T>(invstd);
    const T scale = static_cast<T>(gamma[c] * invstd);
    const T offset = static_cast<T>(beta[c] - mean * gamma[c] * invstd);
    for (std::size_t i = 0; i < g.n; ++i)
      ArrMap<T>(y + i * stride + c * g.plane, HW) = ConstArrMap<T>(x + i * stride + c * g.plane, HW) * scale + offset;
    const double unbiased = count > 1 ? var * count / (count - 1) : var;
    running_mean[c] = static_cast<T>((1 - momentum) * running_mean[c] + momentum * mean);
    running_var[c] = static_cast<T>((1 - momentum) * running_var[c] + momentum * unbiased);
  }
}

// Eval mode: y = gamma * (x - running_mean) / sqrt(running_var + eps) + beta.
template <class T>
void batchnorm_forward_eval(const T* x, const T* gamma, const T* beta, T* y, const T* running_mean,
                            const T* running_var, const BatchNormGeometry& g, T eps) {
  const auto HW = static_cast<Eigen::Index>(g.plane);
  const std::size_t stride = g.channels * g.plane;
#pragma omp parallel for schedule(static) collapse(2)
  for (std::size_t i = 0; i < g.n; ++i) {
    for (std::size_t c = 0; c < g.channels; ++c) {
      const T invstd = T(1) / std::sqrt(running_var[c] + eps);
      const T scale = gamma[c] * invstd;
      const T shift = beta[c] - running_mean[c] * scale;
      ArrMap<T>(y + i * stride + c * g.plane, HW) = ConstArrMap<T>(x + i * stride + c * g.plane, HW) * scale + shift;
    }
  }
}

// Train-mode backward through the batch statistics. dgamma, dbeta accumulate; dx overwritten.
template <class T>
void batchnorm_backward_train(const T* x, const T* gamma, const T* dy, T* dx, T* dgamma, T* dbeta,
                              const T* save_mean, const T* save_invstd, const BatchNormGeometry& g) {
  const auto HW = static_cast<Eigen::Index>(g.plane);
  const std::size_t stride = g.channels * g.plane;
  const double count = static_cast<double>(g.n * g.plane);
#pragma omp parallel for schedule(static)
  for (std::size_t c = 0; c < g.channels; ++c) {
    const T mean = save_mean[c], invstd = save_invstd[c];
    double sum_dy = 0, sum_dy_xhat = 0;  // per-plane float sums (vectorised), combined in double
    for (std::size_t i = 0; i < g.n; ++i) {
      auto dyc = ConstArrMap<T>(dy + i * stride + c * g.plane, HW);
      auto xc = ConstArrMap<T>(x + i * stride + c * g.plane, HW);
      sum_dy += static_cast<double>(dyc.sum());
      sum_dy_xhat += static_cast<double>((dyc * (xc - mean)).sum()) * invstd;
    }
    dgamma[c] += static_cast<T>(sum_dy_xhat);
    dbeta[c] += static_cast<T>(sum_dy);
    if (!dx) continue;
    // dx = gamma*invstd * (dy - mean(dy) - xhat * mean(dy*xhat))
    const T k = gamma[c] * invstd;
    const T mean_dy = static_cast<T>(sum_dy / count);
    const T mean_dy_xhat = static_cast<T>(sum_dy_xhat / count);
    for (std::size_t i = 0; i < g.n; ++i) {
      auto xhat = (ConstArrMap<T>(x + i * stride + c * g.plane, HW) - mean) * invstd;
      ArrMap<T>(dx + i * stride + c * g.plane, HW) =
          k * (ConstArrMap<T>(dy + i * stride + c * g.plane, HW) - mean_dy - xhat * mean_dy_xhat);
    }
  }
}

// Eval-mode backward: the statistics are constants, so BN is a per-channel affine map.
template <class T>
void batchnorm_backward_eval(const T* x, const T* gamma, const T* dy, T* dx, T* dgamma, T* dbeta,
                             const T* running_mean, const T* running_var, const BatchNormGeometry& g,
                             T eps) {
  const auto HW = static_cast<Eigen::Index>(g.plane);
  const std::size_t stride = g.channels * g.plane;
#pragma omp parallel for schedule(static)
  for (std::size_t c = 0; c < g.channels; ++c) {
    const T invstd = T(1) / std::sqrt(running_var[c] + eps);
    double sum_dy = 0, sum_dy_xhat = 0;
    for (std::size_t i = 0; i < g.n; ++i) {
      auto dyc = ConstArrMap<T>(dy + i * stride + c * g.plane, HW);
      auto xc = ConstArrMap<T>(x + i * stride + c * g.plane, HW);
      sum_dy += static_cast<double>(dyc.sum());
      sum_dy_xhat += static_cast<double>((dyc * (xc - running_mean[c])).sum()) * invstd;
      if (dx) ArrMap<T>(dx + i * stride + c * g.plane, HW) = dyc * (gamma[c] * invstd);
    }
    dgamma[c] += static_cast<T>(sum_dy_xhat);
    dbeta[c] += static_cast<T>(sum_dy);
  }
}

}  // namespace ctnn::kernels
