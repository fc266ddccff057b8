#pragma once
// Batch normalisation over N x (H*W) per channel (BatchNorm2d; BatchNorm1d is the H=W=1 case).
// PyTorch semantics: biased variance to normalise, unbiased variance in the running estimate.
//
// Every kernel takes `Relu`: when BatchNorm is followed by ReLU, Sequential runs both in one
// pass (forward writes max(bn(x), 0); backward masks dy by the ReLU output on the fly), which
// saves a full read and write of the activation in each direction.
#include <algorithm>
#include <cmath>
#include <cstddef>

#include "ctnn/kernels/eigen.hpp"

namespace ctnn::kernels {

struct BatchNormGeometry {
  std::size_t n, channels, plane;  // plane = H*W
};

namespace detail {
// y = scale * x + offset, then max(., 0) when Relu.
template <bool Relu, class T>
void affine_plane(const T* x, T* y, Eigen::Index size, T scale, T offset) {
  if constexpr (Relu) ArrMap<T>(y, size) = (ConstArrMap<T>(x, size) * scale + offset).max(T(0));
  else ArrMap<T>(y, size) = ConstArrMap<T>(x, size) * scale + offset;
}
// The gradient reaching BN's output: dy, or dy masked where the ReLU output is zero.
template <bool Relu, class T>
auto grad_at_output(const T* dy, const T* relu_y, Eigen::Index size) {
  if constexpr (Relu) return (ConstArrMap<T>(relu_y, size) > T(0)).select(ConstArrMap<T>(dy, size), T(0));
  else return ConstArrMap<T>(dy, size);
}
}  // namespace detail

// x: [N, C, HW]  ->  y: [N, C, HW]; saves per-channel mean and 1/sqrt(var+eps) for backward,
// and updates the running statistics with `momentum`.
// One pass gathers the statistics: per plane, vectorised float sums of (x - s) and (x - s)^2
// with s the channel's first value (shifting keeps E[d^2] - E[d]^2 exact enough even when
// |mean| >> std), accumulated over planes in double. A second pass normalises.
template <bool Relu = false, class T>
void batchnorm_forward_train(const T* x, const T* gamma, const T* beta, T* y, T* save_mean, T* save_invstd,
                             T* running_mean, T* running_var, const BatchNormGeometry& g, T momentum, T eps) {
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
    const auto scale = static_cast<T>(gamma[c] * invstd);
    const auto offset = static_cast<T>(beta[c] - mean * gamma[c] * invstd);
    for (std::size_t i = 0; i < g.n; ++i)
      detail::affine_plane<Relu>(x + i * stride + c * g.plane, y + i * stride + c * g.plane, HW, scale, offset);
    const double unbiased = count > 1 ? var * count / (count - 1) : var;
    running_mean[c] = static_cast<T>((1 - momentum) * running_mean[c] + momentum * mean);
    running_var[c] = static_cast<T>((1 - momentum) * running_var[c] + momentum * unbiased);
  }
}

// Eval mode: y = gamma * (x - running_mean) / sqrt(running_var + eps) + beta.
template <bool Relu = false, class T>
void batchnorm_forward_eval(const T* x, const T* gamma, const T* beta, T* y, const T* running_mean,
                            const T* running_var, const BatchNormGeometry& g, T eps) {
  const auto HW = static_cast<Eigen::Index>(g.plane);
  const std::size_t stride = g.channels * g.plane;
#pragma omp parallel for schedule(static) collapse(2)
  for (std::size_t i = 0; i < g.n; ++i) {
    for (std::size_t c = 0; c < g.channels; ++c) {
      const T invstd = T(1) / std::sqrt(running_var[c] + eps);
      const T scale = gamma[c] * invstd;
      detail::affine_plane<Relu>(x + i * stride + c * g.plane, y + i * stride + c * g.plane, HW, scale,
                                 beta[c] - running_mean[c] * scale);
    }
  }
}

// dz = dy where the ReLU output is positive, else 0; a plain loop, which g++ vectorises (Eigen
// 3.4's select() has no vectorised path).
template <class T>
void relu_mask(const T* dy, const T* relu_y, T* dz, std::size_t size) {
  for (std::size_t i = 0; i < size; ++i) dz[i] = relu_y[i] > T(0) ? dy[i] : T(0);
}

// Train-mode backward through the batch statistics. dgamma, dbeta accumulate; dx overwritten.
// With Relu, relu_y is the fused ReLU's output and dy the gradient at that output; the masked
// gradient is first written into dx, which then serves as the gradient at BN's output.
template <bool Relu = false, class T>
void batchnorm_backward_train(const T* x, const T* gamma, const T* dy, const T* relu_y, T* dx, T* dgamma,
                              T* dbeta, const T* save_mean, const T* save_invstd, const BatchNormGeometry& g) {
  const auto HW = static_cast<Eigen::Index>(g.plane);
  const std::size_t stride = g.channels * g.plane;
  const double count = static_cast<double>(g.n * g.plane);
  const bool staged = Relu && dx;  // dz lives in dx
#pragma omp parallel for schedule(static)
  for (std::size_t c = 0; c < g.channels; ++c) {
    const T mean = save_mean[c], invstd = save_invstd[c];
    double sum_dy = 0, sum_dy_xhat = 0;  // per-plane float sums (vectorised), combined in double
    for (std::size_t i = 0; i < g.n; ++i) {
      const std::size_t o = i * stride + c * g.plane;
      if (staged) {
        relu_mask(dy + o, relu_y + o, dx + o, g.plane);
        const auto dz = ConstArrMap<T>(dx + o, HW);
        sum_dy += static_cast<double>(dz.sum());
        sum_dy_xhat += static_cast<double>((dz * (ConstArrMap<T>(x + o, HW) - mean)).sum()) * invstd;
      } else {
        const auto dz = detail::grad_at_output<Relu>(dy + o, relu_y + (Relu ? o : 0), HW);
        sum_dy += static_cast<double>(dz.sum());
        sum_dy_xhat += static_cast<double>((dz * (ConstArrMap<T>(x + o, HW) - mean)).sum()) * invstd;
      }
    }
    dgamma[c] += static_cast<T>(sum_dy_xhat);
    dbeta[c] += static_cast<T>(sum_dy);
    if (!dx) continue;
    // dx = gamma*invstd * (dy - mean(dy) - xhat * mean(dy*xhat))
    const T k = gamma[c] * invstd;
    const auto mean_dy = static_cast<T>(sum_dy / count);
    const auto mean_dy_xhat = static_cast<T>(sum_dy_xhat / count);
    for (std::size_t i = 0; i < g.n; ++i) {
      const std::size_t o = i * stride + c * g.plane;
      const auto xhat = (ConstArrMap<T>(x + o, HW) - mean) * invstd;
      const T* dz = staged ? dx + o : dy + o;
      ArrMap<T>(dx + o, HW) = k * (ConstArrMap<T>(dz, HW) - mean_dy - xhat * mean_dy_xhat);
    }
  }
}

// Eval-mode backward: the statistics are constants, so BN is a per-channel affine map.
template <bool Relu = false, class T>
void batchnorm_backward_eval(const T* x, const T* gamma, const T* dy, const T* relu_y, T* dx, T* dgamma, T* dbeta,
                             const T* running_mean, const T* running_var, const BatchNormGeometry& g, T eps) {
  const auto HW = static_cast<Eigen::Index>(g.plane);
  const std::size_t stride = g.channels * g.plane;
#pragma omp parallel for schedule(static)
  for (std::size_t c = 0; c < g.channels; ++c) {
    const T invstd = T(1) / std::sqrt(running_var[c] + eps);
    double sum_dy = 0, sum_dy_xhat = 0;
    for (std::size_t i = 0; i < g.n; ++i) {
      const std::size_t o = i * stride + c * g.plane;
      if (Relu && !dx) {  // nowhere to stage the masked gradient: the (scalar) select form
        const auto dzs = detail::grad_at_output<Relu>(dy + o, relu_y + (Relu ? o : 0), HW);
        sum_dy += static_cast<double>(dzs.sum());
        sum_dy_xhat += static_cast<double>((dzs * (ConstArrMap<T>(x + o, HW) - running_mean[c])).sum()) * invstd;
        continue;
      }
      if (Relu) relu_mask(dy + o, relu_y + o, dx + o, g.plane);  // dz staged in dx
      const auto dz = ConstArrMap<T>(Relu ? dx + o : dy + o, HW);
      sum_dy += static_cast<double>(dz.sum());
      sum_dy_xhat += static_cast<double>((dz * (ConstArrMap<T>(x + o, HW) - running_mean[c])).sum()) * invstd;
      if (dx) ArrMap<T>(dx + o, HW) = dz * (gamma[c] * invstd);
    }
    dgamma[c] += static_cast<T>(sum_dy_xhat);
    dbeta[c] += static_cast<T>(sum_dy);
  }
}

}  // namespace ctnn::kernels
