#pragma once
// BatchNorm: torch.nn.BatchNorm2d(C) after a spatial layer, BatchNorm1d(F) after Linear (whose
// output shape is <F, 1, 1>, so both are one kernel). Affine, momentum 0.1, eps 1e-5.
// BatchNormWith<BatchNormOptions{...}> changes those: momentum and eps as in PyTorch,
// affine = false (no weight, no bias), or learn_weight = false (the weight stays at 1, as with
// `bn.weight.requires_grad = False`; it is then a saved buffer named "weight", not a parameter).
// SyncBatchNorm is a run-time switch of the whole network, not an option of the type: while its
// Context holds a BatchNormSync (Sequential::set_batchnorm_sync; ctnn/mpi/sync_batchnorm.hpp
// makes one over MPI), every BatchNorm in train mode combines its per-channel statistics, and
// the backward's two per-channel sums, with the other processes' (torch.nn.SyncBatchNorm).
#include <cmath>
#include <cstddef>
#include <cstring>

#include "ctnn/core/aligned_buffer.hpp"
#include "ctnn/core/parameter.hpp"
#include "ctnn/kernels/batchnorm.hpp"
#include "ctnn/layers/layer.hpp"

namespace ctnn {

// What a BatchNorm layer asks of the other processes when its statistics are synchronised. Every
// process calls these in the same order (each BatchNorm's forward, then its backward), so an
// implementation is a collective per call.
class BatchNormSync {
 public:
  virtual ~BatchNormSync() = default;
  // mean[c], var[c] (biased) of this process's `count` values per channel -> the same moments
  // over every process's values; returns the total count per channel.
  virtual double combine_moments(double count, double* mean, double* var, std::size_t channels) = 0;
  // sums[i]: sums over this process's values of the gradient at a BatchNorm's output -> the sums
  // over every process, expressed in this process's gradient scale (each process's loss is the
  // mean over its own slice; see DataParallel::begin_step).
  virtual void combine_gradient_sums(double* sums, std::size_t n) = 0;
};

struct BatchNormOptions {
  double momentum = 0.1;
  double eps = 1e-5;
  bool affine = true;
  bool learn_weight = true;  // only with affine
};

template <class T, class In, BatchNormOptions O, std::size_t Position>
class BatchNormLayer {
  static constexpr std::size_t C = In::channels;
  static_assert(O.momentum >= 0.0 && O.momentum <= 1.0, "ctnn::BatchNormWith: momentum must be in [0, 1]");
  static_assert(O.eps > 0.0, "ctnn::BatchNormWith: eps must be positive");
  static constexpr bool learned_weight = O.affine && O.learn_weight;
  static constexpr bool frozen_weight = O.affine && !O.learn_weight;

 public:
  using in_shape = In;
  using out_shape = In;
  static constexpr std::size_t param_count = (learned_weight ? C : 0) + (O.affine ? C : 0);
  // running_mean, running_var (and a frozen weight)
  static constexpr std::size_t buffer_count = 2 * C + (frozen_weight ? C : 0);
  static constexpr const char* kind_name = "BatchNorm";
  static constexpr T eps = T(O.eps);
  static constexpr T momentum = T(O.momentum);

  void attach(T* params, T* grads, T* buffers) {
    running_mean_ = buffers;
    running_var_ = buffers + C;
    if constexpr (learned_weight) {
      gamma_ = params;
      dgamma_ = grads;
      params += C;
      grads += C;
    }
    if constexpr (frozen_weight) gamma_ = buffers + 2 * C;
    if constexpr (O.affine) {
      beta_ = params;
      dbeta_ = grads;
    }
  }

  void reset_parameters(Rng&) {
    for (std::size_t c = 0; c < C; ++c) {
      gamma()[c] = T(1);
      beta()[c] = T(0);
      running_mean_[c] = T(0);
      running_var_[c] = T(1);
    }
  }

  template <class F>
  static void describe(F&& f) {
    if constexpr (learned_weight) f(TensorInfo{"weight", ParamKind::norm_weight, 0, C, {C, 0, 0, 0}, 1});
    if constexpr (O.affine)
      f(TensorInfo{"bias", ParamKind::norm_bias, learned_weight ? C : 0, C, {C, 0, 0, 0}, 1});
  }
  template <class F>
  static void describe_buffers(F&& f) {
    f(TensorInfo{"running_mean", ParamKind::running_mean, 0, C, {C, 0, 0, 0}, 1});
    f(TensorInfo{"running_var", ParamKind::running_var, C, C, {C, 0, 0, 0}, 1});
    if constexpr (frozen_weight) f(TensorInfo{"weight", ParamKind::norm_weight, 2 * C, C, {C, 0, 0, 0}, 1});
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

  // In eval mode BatchNorm is the per-channel affine y = scale * x + shift; Chain folds it into a
  // preceding Conv when no backward can follow (layers/chain.hpp). Computed as the eval kernel does.
  static constexpr bool is_eval_affine = true;
  static constexpr std::size_t affine_channels = C;
  void eval_affine(const T*& scale, const T*& shift) {
    for (std::size_t c = 0; c < C; ++c) {
      const T invstd = T(1) / std::sqrt(running_var_[c] + eps);
      fold_scale_[c] = gamma()[c] * invstd;
      fold_shift_[c] = beta()[c] - running_mean_[c] * fold_scale_[c];
    }
    scale = fold_scale_;
    shift = fold_shift_;
  }

  const T* running_mean() const { return running_mean_; }
  const T* running_var() const { return running_var_; }

 private:
  // Tensors the options leave out live in this layer, so the kernels stay unchanged: a weight
  // of 1, a bias of 0, and gradients that are computed but never read. (Looked up on each use,
  // not cached as pointers, so that moving the network keeps them valid.)
  T* gamma() { return O.affine ? gamma_ : fixed_gamma_; }
  T* beta() { return O.affine ? beta_ : fixed_beta_; }
  T* dgamma() { return learned_weight ? dgamma_ : unused_dgamma_; }
  T* dbeta() { return O.affine ? dbeta_ : unused_dbeta_; }

  T* gamma_ = nullptr;
  T* beta_ = nullptr;
  T* dgamma_ = nullptr;
  T* dbeta_ = nullptr;
  T* running_mean_ = nullptr;
  T* running_var_ = nullptr;
  template <bool Relu>
  void forward_impl(const T* x, T* y, std::size_t n, Context& ctx) {
    const kernels::BatchNormGeometry g{n, C, In::plane};
    sync_ = ctx.mode == Mode::train ? ctx.batchnorm_sync : nullptr;  // the backward follows its forward
    if (sync_) {
      double* mean = sync_work_;
      double* var = sync_work_ + C;
      kernels::batchnorm_moments(x, g, mean, var);
      sync_count_ = sync_->combine_moments(static_cast<double>(n * In::plane), mean, var, C);
      kernels::batchnorm_normalize_train<Relu>(x, mean, var, sync_count_, gamma(), beta(), y, save_mean_, save_invstd_,
                                               running_mean_, running_var_, g, momentum, eps);
    } else if (ctx.mode == Mode::train) {
      kernels::batchnorm_forward_train<Relu>(x, gamma(), beta(), y, save_mean_, save_invstd_, running_mean_,
                                             running_var_, g, momentum, eps);
    } else {
      kernels::batchnorm_forward_eval<Relu>(x, gamma(), beta(), y, running_mean_, running_var_, g, eps);
    }
    last_mode_ = ctx.mode;
  }

  template <bool Relu>
  void backward_impl(const T* x, const T* dy, const T* relu_y, T* dx, std::size_t n) {
    const kernels::BatchNormGeometry g{n, C, In::plane};
    if (sync_) {
      double* sum_dy = sync_work_;
      double* sum_dy_xhat = sync_work_ + C;
      kernels::batchnorm_grad_sums<Relu>(x, dy, relu_y, dx, dgamma(), dbeta(), save_mean_, save_invstd_, g, sum_dy,
                                         sum_dy_xhat);
      if (!dx) return;  // the same on every process (the network's first layer), so no call is skipped on one alone
      sync_->combine_gradient_sums(sync_work_, 2 * C);
      for (std::size_t i = 0; i < 2 * C; ++i) sync_work_[i] /= sync_count_;
      kernels::batchnorm_input_grad<Relu>(x, gamma(), dy, dx, save_mean_, save_invstd_, g, sum_dy, sum_dy_xhat);
    } else if (last_mode_ == Mode::train) {
      kernels::batchnorm_backward_train<Relu>(x, gamma(), dy, relu_y, dx, dgamma(), dbeta(), save_mean_, save_invstd_, g);
    } else {
      kernels::batchnorm_backward_eval<Relu>(x, gamma(), dy, relu_y, dx, dgamma(), dbeta(), running_mean_, running_var_, g,
                                             eps);
    }
  }

  T fixed_gamma_[C]{};
  T fixed_beta_[C]{};
  T unused_dgamma_[C]{};
  T unused_dbeta_[C]{};
  T fold_scale_[C]{};
  T fold_shift_[C]{};
  T save_mean_[C]{};
  T save_invstd_[C]{};
  Mode last_mode_ = Mode::train;
  BatchNormSync* sync_ = nullptr;  // set by a synchronised train-mode forward
  double sync_count_ = 0;          // values per channel over every process
  double sync_work_[2 * C]{};      // the per-channel figures exchanged
};

template <BatchNormOptions O>
struct BatchNormWith {
  template <class T, class InShape, std::size_t Position>
  using bind = BatchNormLayer<T, InShape, O, Position>;
};

using BatchNorm = BatchNormWith<BatchNormOptions{}>;

}  // namespace ctnn
