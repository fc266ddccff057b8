#pragma once
// GELU: torch.nn.GELU() (exact erf form). LeakyReLU<Slope = 0.01>: torch.nn.LeakyReLU(Slope).
// Scale<S>: y = S * x, a fixed multiplier (e.g. the 1/8 or 1/9 that ResNet-9 / airbench put
// on their logits so that the last layer's default init does not give overconfident outputs).
// ReLU, which a BatchNorm can fuse, has its own file.
#include <cstddef>

#include "ctnn/core/parameter.hpp"
#include "ctnn/kernels/activation.hpp"
#include "ctnn/layers/layer.hpp"

namespace ctnn {

template <class T, class In, std::size_t Position>
struct GELULayer : NoParameters<T> {
  using in_shape = In;
  using out_shape = In;
  static constexpr const char* kind_name = "GELU";
  void forward(const T* x, T* y, std::size_t n, Context&) { kernels::gelu_forward(x, y, n * In::size); }
  void backward(const T* x, const T*, const T* dy, T* dx, std::size_t n, Context&) {
    if (dx) kernels::gelu_backward(x, dy, dx, n * In::size);
  }
};

struct GELU {
  template <class T, class InShape, std::size_t Position>
  using bind = GELULayer<T, InShape, Position>;
};

template <class T, class In, double Slope, std::size_t Position>
struct LeakyReLULayer : NoParameters<T> {
  using in_shape = In;
  using out_shape = In;
  static constexpr const char* kind_name = "LeakyReLU";
  void forward(const T* x, T* y, std::size_t n, Context&) {
    kernels::leaky_relu_forward(x, y, n * In::size, static_cast<T>(Slope));
  }
  void backward(const T* x, const T*, const T* dy, T* dx, std::size_t n, Context&) {
    if (dx) kernels::leaky_relu_backward(x, dy, dx, n * In::size, static_cast<T>(Slope));
  }
};

template <double Slope = 0.01>
struct LeakyReLU {
  template <class T, class InShape, std::size_t Position>
  using bind = LeakyReLULayer<T, InShape, Slope, Position>;
};

template <class T, class In, double S, std::size_t Position>
struct ScaleLayer : NoParameters<T> {
  using in_shape = In;
  using out_shape = In;
  static constexpr const char* kind_name = "Scale";
  void forward(const T* x, T* y, std::size_t n, Context&) { kernels::scale(x, y, n * In::size, static_cast<T>(S)); }
  void backward(const T*, const T*, const T* dy, T* dx, std::size_t n, Context&) {
    if (dx) kernels::scale(dy, dx, n * In::size, static_cast<T>(S));
  }
};

template <double S>
struct Scale {
  static_assert(S == S && S != 0.0, "ctnn::Scale<S>: S must be a non-zero number");
  template <class T, class InShape, std::size_t Position>
  using bind = ScaleLayer<T, InShape, S, Position>;
};

}  // namespace ctnn
