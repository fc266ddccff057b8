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

namespace detail {
// Channel c's moments over N x HW: mean and biased variance, in double. Per plane, vectorised
// float sums of (x - s) and (x - s)^2 with s the channel's first value (shifting keeps
// E[d^2] - E[d]^2 exact enough even when |mean| >> std), accumulated over planes in double.
template <class T>
void channel_moments(const T* x, std::size_t c, const BatchNormGeometry& g, double& mean, double& var) {
  const auto HW = static_cast<Eigen::Index>(g.plane);
  const std::size_t stride = g.channels * g.plane;
  const double count = static_cast<double>(g.n * g.plane);
  const T shift = x[c * g.plane];
  double sum = 0, sq = 0;
  for (std::size_t i = 0; i < g.n; ++i) {
    const auto d = ConstArrMap<T>(x + i * stride + c * g.plane, HW) - shift;
    sum += static_cast<double>(d.sum());
    sq += static_cast<double>(d.square().sum());
  }
  const double mean_d = sum / count;
  var = std::max(0.0, sq / count - mean_d * mean_d);
  mean = static_cast<double>(shift) + mean_d;
}

// Normalises channel c with the given moments (over `count` values: the batch's, or the whole
// global batch's with SyncBatchNorm), saves mean and 1/sqrt(var+eps), updates the running
// statistics (unbiased variance).
template <bool Relu, class T>
void normalize_channel(const T* x, std::size_t c, double mean, double var, double count, const T* gamma,
                       const T* beta, T* y, T* save_mean, T* save_invstd, T* running_mean, T* running_var,
                       const BatchNormGeometry& g, T momentum, T eps) {
  const auto HW = static_cast<Eigen::Index>(g.plane);
  const std::size_t stride = g.channels * g.plane;
  const double invstd = 1.0 / std::sqrt(var + static_cast<double>(eps));
  save_mean[c] = static_cast<T>(mean);
  save_invstd[c] = static_cast<T>(invstd);
  const auto scale = static_cast<T>(gamma[c] * invstd);
  const auto offset = static_cast<T>(beta[c] - mean * gamma[c] * invstd);
  for (std::size_t i = 0; i < g.n; ++i)
    affine_plane<Relu>(x + i * stride + c * g.plane, y + i * stride + c * g.plane, HW, scale, offset);
  const double unbiased = count > 1 ? var * count / (count - 1) : var;
  running_mean[c] = static_cast<T>((1 - momentum) * running_mean[c] + momentum * mean);
  running_var[c] = static_cast<T>((1 - momentum) * running_var[c] + momentum * unbiased);
}
}  // namespace detail

// x: [N, C, HW]  ->  y: [N, C, HW]; saves per-channel mean and 1/sqrt(var+eps) for backward,
// and updates the running statistics with `momentum`. One pass per channel gathers the
// statistics (detail::channel_moments), a second normalises.
template <bool Relu = false, class T>
void batchnorm_forward_train(const T* x, const T* gamma, const T* beta, T* y, T* save_mean, T* save_invstd,
                             T* running_mean, T* running_var, const BatchNormGeometry& g, T momentum, T eps) {
  const double count = static_cast<double>(g.n * g.plane);
#pragma omp parallel for schedule(static)
  for (std::size_t c = 0; c < g.channels; ++c) {
    double mean = 0, var = 0;
    detail::channel_moments(x, c, g, mean, var);
    detail::normalize_channel<Relu>(x, c, mean, var, count, gamma, beta, y, save_mean, save_invstd, running_mean,
                                    running_var, g, momentum, eps);
  }
}

// The train-mode forward in two halves, for statistics combined across processes in between
// (SyncBatchNorm): x: [N, C, HW] -> mean[C], var[C] (biased, over this batch) ...
template <class T>
void batchnorm_moments(const T* x, const BatchNormGeometry& g, double* mean, double* var) {
#pragma omp parallel for schedule(static)
  for (std::size_t c = 0; c < g.channels; ++c) detail::channel_moments(x, c, g, mean[c], var[c]);
}
// ... then y: [N, C, HW] normalised with mean[C], var[C] (biased, over `count` values per
// channel), with the saved and running statistics as in batchnorm_forward_train.
template <bool Relu = false, class T>
void batchnorm_normalize_train(const T* x, const double* mean, const double* var, double count, const T* gamma,
                               const T* beta, T* y, T* save_mean, T* save_invstd, T* running_mean, T* running_var,
                               const BatchNormGeometry& g, T momentum, T eps) {
#pragma omp parallel for schedule(static)
  for (std::size_t c = 0; c < g.channels; ++c)
    detail::normalize_channel<Relu>(x, c, mean[c], var[c], count, gamma, beta, y, save_mean, save_invstd,
                                    running_mean, running_var, g, momentum, eps);
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

namespace detail {
// Channel c's two sums of the train-mode backward, sum(dz) and sum(dz * xhat), with dz the
// gradient at BN's output (dy, masked by the ReLU output with Relu; staged into dx when there
// is one). Per-plane float sums (vectorised), combined in double.
template <bool Relu, class T>
void channel_grad_sums(const T* x, const T* dy, const T* relu_y, T* dx, std::size_t c, T mean, T invstd,
                       const BatchNormGeometry& g, double& sum_dy, double& sum_dy_xhat) {
  const auto HW = static_cast<Eigen::Index>(g.plane);
  const std::size_t stride = g.channels * g.plane;
  const bool staged = Relu && dx;  // dz lives in dx
  sum_dy = 0;
  sum_dy_xhat = 0;
  for (std::size_t i = 0; i < g.n; ++i) {
    const std::size_t o = i * stride + c * g.plane;
    if (staged) {
      relu_mask(dy + o, relu_y + o, dx + o, g.plane);
      const auto dz = ConstArrMap<T>(dx + o, HW);
      sum_dy += static_cast<double>(dz.sum());
      sum_dy_xhat += static_cast<double>((dz * (ConstArrMap<T>(x + o, HW) - mean)).sum()) * invstd;
    } else {
      const auto dz = grad_at_output<Relu>(dy + o, relu_y + (Relu ? o : 0), HW);
      sum_dy += static_cast<double>(dz.sum());
      sum_dy_xhat += static_cast<double>((dz * (ConstArrMap<T>(x + o, HW) - mean)).sum()) * invstd;
    }
  }
}

// dx = gamma*invstd * (dz - mean(dz) - xhat * mean(dz*xhat)) for channel c, dz staged in dx
// with Relu (channel_grad_sums), else dy.
template <bool Relu, class T>
void channel_input_grad(const T* x, const T* dy, T* dx, std::size_t c, T gamma, T mean, T invstd, T mean_dy,
                        T mean_dy_xhat, const BatchNormGeometry& g) {
  const auto HW = static_cast<Eigen::Index>(g.plane);
  const std::size_t stride = g.channels * g.plane;
  const T k = gamma * invstd;
  for (std::size_t i = 0; i < g.n; ++i) {
    const std::size_t o = i * stride + c * g.plane;
    const auto xhat = (ConstArrMap<T>(x + o, HW) - mean) * invstd;
    const T* dz = Relu ? dx + o : dy + o;
    ArrMap<T>(dx + o, HW) = k * (ConstArrMap<T>(dz, HW) - mean_dy - xhat * mean_dy_xhat);
  }
}
}  // namespace detail

// Train-mode backward through the batch statistics. dgamma, dbeta accumulate; dx overwritten.
// With Relu, relu_y is the fused ReLU's output and dy the gradient at that output; the masked
// gradient is first written into dx, which then serves as the gradient at BN's output.
template <bool Relu = false, class T>
void batchnorm_backward_train(const T* x, const T* gamma, const T* dy, const T* relu_y, T* dx, T* dgamma,
                              T* dbeta, const T* save_mean, const T* save_invstd, const BatchNormGeometry& g) {
  const double count = static_cast<double>(g.n * g.plane);
#pragma omp parallel for schedule(static)
  for (std::size_t c = 0; c < g.channels; ++c) {
    double sum_dy = 0, sum_dy_xhat = 0;
    detail::channel_grad_sums<Relu>(x, dy, relu_y, dx, c, save_mean[c], save_invstd[c], g, sum_dy, sum_dy_xhat);
    dgamma[c] += static_cast<T>(sum_dy_xhat);
    dbeta[c] += static_cast<T>(sum_dy);
    if (!dx) continue;
    detail::channel_input_grad<Relu>(x, dy, dx, c, gamma[c], save_mean[c], save_invstd[c],
                                     static_cast<T>(sum_dy / count), static_cast<T>(sum_dy_xhat / count), g);
  }
}

// The train-mode backward in two halves, for sums combined across processes in between
// (SyncBatchNorm): the per-channel sums sum_dy[C], sum_dy_xhat[C] (dz staged in dx with Relu),
// added to dgamma and dbeta ...
template <bool Relu = false, class T>
void batchnorm_grad_sums(const T* x, const T* dy, const T* relu_y, T* dx, T* dgamma, T* dbeta, const T* save_mean,
                         const T* save_invstd, const BatchNormGeometry& g, double* sum_dy, double* sum_dy_xhat) {
#pragma omp parallel for schedule(static)
  for (std::size_t c = 0; c < g.channels; ++c) {
    detail::channel_grad_sums<Relu>(x, dy, relu_y, dx, c, save_mean[c], save_invstd[c], g, sum_dy[c],
                                    sum_dy_xhat[c]);
    dgamma[c] += static_cast<T>(sum_dy_xhat[c]);
    dbeta[c] += static_cast<T>(sum_dy[c]);
  }
}
// ... then dx [N, C, HW] from the means of those sums, mean_dy[C] and mean_dy_xhat[C].
template <bool Relu = false, class T>
void batchnorm_input_grad(const T* x, const T* gamma, const T* dy, T* dx, const T* save_mean, const T* save_invstd,
                          const BatchNormGeometry& g, const double* mean_dy, const double* mean_dy_xhat) {
#pragma omp parallel for schedule(static)
  for (std::size_t c = 0; c < g.channels; ++c)
    detail::channel_input_grad<Relu>(x, dy, dx, c, gamma[c], save_mean[c], save_invstd[c],
                                     static_cast<T>(mean_dy[c]), static_cast<T>(mean_dy_xhat[c]), g);
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
