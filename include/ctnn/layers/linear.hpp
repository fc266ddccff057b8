#pragma once
// Linear<Out, Bias = true>: torch.nn.Linear(in_features, Out, bias=Bias), with in_features inferred; the input sample is
// flattened implicitly (C*H*W features in NCHW order, like torch.flatten(x, 1)).
// Output shape <Out, 1, 1>, so a BatchNorm after it is BatchNorm1d.
#include <cmath>
#include <cstddef>

#include "ctnn/core/parameter.hpp"
#include "ctnn/kernels/linear.hpp"
#include "ctnn/layers/layer.hpp"

namespace ctnn {

template <class T, class In, std::size_t Out, bool Bias, std::size_t Position>
class LinearLayer {
  static constexpr std::size_t I = In::size;

 public:
  using in_shape = In;
  using out_shape = Shape<Out, 1, 1>;
  static constexpr std::size_t weight_size = Out * I;
  static constexpr std::size_t param_count = weight_size + (Bias ? Out : 0);
  static constexpr std::size_t buffer_count = 0;
  static constexpr const char* kind_name = "Linear";

  void attach(T* params, T* grads, T*) {
    weight_ = params;
    dweight_ = grads;
    if constexpr (Bias) {
      bias_ = params + weight_size;
      dbias_ = grads + weight_size;
    }
  }

  void reset_parameters(Rng& rng) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(I));
    for (std::size_t i = 0; i < weight_size; ++i) weight_[i] = static_cast<T>(rng.uniform(-bound, bound));
    if constexpr (Bias)
      for (std::size_t i = 0; i < Out; ++i) bias_[i] = static_cast<T>(rng.uniform(-bound, bound));
  }

  template <class F>
  static void describe(F&& f) {
    f(TensorInfo{"weight", ParamKind::weight, 0, weight_size, {Out, I, 0, 0}, 2});
    if constexpr (Bias) f(TensorInfo{"bias", ParamKind::bias, weight_size, Out, {Out, 0, 0, 0}, 1});
  }
  template <class F>
  static void describe_buffers(F&&) {}

  void forward(const T* x, T* y, std::size_t n, Context& ctx) {
    forward_plan_.set_precision(ctx.precision);
    kernels::linear_forward(x, weight_, bias(), y, n, I, Out, forward_plan_);
  }
  void backward(const T* x, const T*, const T* dy, T* dx, std::size_t n, Context& ctx) {
    weight_plan_.set_precision(ctx.precision);
    input_plan_.set_precision(ctx.precision);
    kernels::linear_backward(x, weight_, dy, dx, dweight_, dbias(), n, I, Out, weight_plan_, input_plan_);
  }

 private:
  // Without a bias the kernels add zeros and write a gradient nobody reads.
  const T* bias() const { return Bias ? bias_ : zero_bias_; }
  T* dbias() { return Bias ? dbias_ : unused_dbias_; }

  T zero_bias_[Bias ? 1 : Out]{};
  T unused_dbias_[Bias ? 1 : Out]{};
  T* weight_ = nullptr;
  T* bias_ = nullptr;
  T* dweight_ = nullptr;
  T* dbias_ = nullptr;
  kernels::GemmPlan<T> forward_plan_, weight_plan_, input_plan_;
};

template <std::size_t Out, bool Bias = true>
struct Linear {
  static_assert(Out > 0, "ctnn::Linear<Out>: Out must be positive");
  template <class T, class InShape, std::size_t Position>
  using bind = LinearLayer<T, InShape, Out, Bias, Position>;
};

}  // namespace ctnn
