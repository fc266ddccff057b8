#pragma once
// BatchNorm: torch.nn.BatchNorm2d(C) after a spatial layer, BatchNorm1d(F) after Linear (whose
// output shape is <F, 1, 1>, so both are one kernel). Affine, momentum 0.1, eps 1e-5.
#include <cstddef>
#include <cstring>

#include "ctnn/core/aligned_buffer.hpp"
#include "ctnn/core/parameter.hpp"
#include "ctnn/kernels/batchnorm.hpp"
#include "ctnn/layers/layer.hpp"

namespace ctnn {

template <class T, class In, std::size_t Position>
class BatchNormLayer {
  static constexpr std::size_t C = In::channels;

 public:
  using in_shape = In;
  using out_shape = In;
  static constexpr std::size_t param_count = 2 * C;
  static constexpr std::size_t buffer_count = 2 * C;  // running_mean, running_var
  static constexpr const char* kind_name = "BatchNorm";
  static constexpr T eps = T(1e-5);
  static constexpr T momentum = T(0.1);

  void attach(T* params, T* grads, T* buffers) {
    gamma_ = params;
    beta_ = params + C;
    dgamma_ = grads;
    dbeta_ = grads + C;
    running_mean_ = buffers;
    running_var_ = buffers + C;
  }

  void reset_parameters(Rng&) {
    for (std::size_t c = 0; c < C; ++c) {
      gamma_[c] = T(1);
      beta_[c] = T(0);
      running_mean_[c] = T(0);
      running_var_[c] = T(1);
    }
  }

  template <class F>
  static void describe(F&& f) {
    f(TensorInfo{"weight", ParamKind::norm_weight, 0, C, {C, 0, 0, 0}, 1});
    f(TensorInfo{"bias", ParamKind::norm_bias, C, C, {C, 0, 0, 0}, 1});
  }
  template <class F>
  static void describe_buffers(F&& f) {
    f(TensorInfo{"running_mean", ParamKind::norm_weight, 0, C, {C, 0, 0, 0}, 1});
    f(TensorInfo{"running_var", ParamKind::norm_weight, C, C, {C, 0, 0, 0}, 1});
  }

  void forward(const T* x, T* y, std::size_t n, Context& ctx) { forward_impl<false>(x, y, n, ctx); }
  void backward(const T* x, const T*, const T* dy, T* dx, std::size_t n, Context&) {
    backward_impl<false>(x, dy, nullptr, dx, n);
  }

  // BatchNorm followed by ReLU, in one pass each way (Sequential calls these when it sees the pair):
  // y is the ReLU's output, dy the gradient at it.
  static constexpr bool fuses_relu = true;
  void forward_relu(const T* x, T* y, std::size_t n, Context& ctx) { forward_impl<true>(x, y, n, ctx); }
  void backward_relu(const T* x, const T* y, const T* dy, T* dx, std::size_t n) { backward_impl<true>(x, dy, y, dx, n); }

  const T* running_mean() const { return running_mean_; }
  const T* running_var() const { return running_var_; }

 private:
  T* gamma_ = nullptr;
  T* beta_ = nullptr;
  T* dgamma_ = nullptr;
  T* dbeta_ = nullptr;
  T* running_mean_ = nullptr;
  T* running_var_ = nullptr;
  template <bool Relu>
  void forward_impl(const T* x, T* y, std::size_t n, Context& ctx) {
    const kernels::BatchNormGeometry g{n, C, In::plane};
    if (ctx.mode == Mode::train) {
      kernels::batchnorm_forward_train<Relu>(x, gamma_, beta_, y, save_mean_, save_invstd_, running_mean_,
                                             running_var_, g, momentum, eps);
    } else {
      kernels::batchnorm_forward_eval<Relu>(x, gamma_, beta_, y, running_mean_, running_var_, g, eps);
    }
    last_mode_ = ctx.mode;
  }

  template <bool Relu>
  void backward_impl(const T* x, const T* dy, const T* relu_y, T* dx, std::size_t n) {
    const kernels::BatchNormGeometry g{n, C, In::plane};
    if (last_mode_ == Mode::train) {
      kernels::batchnorm_backward_train<Relu>(x, gamma_, dy, relu_y, dx, dgamma_, dbeta_, save_mean_, save_invstd_, g);
    } else {
      kernels::batchnorm_backward_eval<Relu>(x, gamma_, dy, relu_y, dx, dgamma_, dbeta_, running_mean_, running_var_, g,
                                             eps);
    }
  }

  T save_mean_[C]{};
  T save_invstd_[C]{};
  Mode last_mode_ = Mode::train;
};

struct BatchNorm {
  template <class T, class InShape, std::size_t Position>
  using bind = BatchNormLayer<T, InShape, Position>;
};

}  // namespace ctnn
