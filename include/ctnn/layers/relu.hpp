#pragma once
// ReLU: torch.nn.ReLU.
#include <cstddef>

#include "ctnn/core/parameter.hpp"
#include "ctnn/kernels/elementwise.hpp"
#include "ctnn/layers/layer.hpp"

namespace ctnn {

template <class T, class In, std::size_t Position>
struct ReLULayer : NoParameters<T> {
  using in_shape = In;
  using out_shape = In;
  static constexpr const char* kind_name = "ReLU";
  static constexpr bool is_relu = true;  // a preceding BatchNorm may compute it in its own pass

  void forward(const T* x, T* y, std::size_t n, Context&) { kernels::relu_forward(x, y, n * In::size); }
  void backward(const T* x, const T*, const T* dy, T* dx, std::size_t n, Context&) {
    if (dx) kernels::relu_backward(x, dy, dx, n * In::size);
  }
};

struct ReLU {
  template <class T, class InShape, std::size_t Position>
  using bind = ReLULayer<T, InShape, Position>;
};

}  // namespace ctnn
