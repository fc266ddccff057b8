#pragma once
// A layer written outside the library: SiLU, y = x * sigmoid(x) (torch.nn.SiLU), the worked
// example of docs/custom_layer.md. It is the three pieces every ctnn layer has:
//   1. a kernel: plain functions over flat arrays, with the shape on top;
//   2. the bound layer: a thin struct meeting the layer contract (ctnn/layers/contract.hpp);
//   3. the spec: what a user writes in a Sequential, `my::SiLU`.
// tests/unit/test_custom_layer.cpp checks it with ctnn::testing::gradcheck and against PyTorch.
#include <cmath>
#include <cstddef>

#include <ctnn/layers/contract.hpp>
#include <ctnn/layers/layer.hpp>

namespace my {

// ---- 1. kernel ------------------------------------------------------------------------------
// x, y: [count] (any shape, flattened). y = x * s with s = 1 / (1 + exp(-x)).
template <class T>
void silu_forward(const T* x, T* y, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) y[i] = x[i] / (T(1) + std::exp(-x[i]));
}
// x, dy, dx: [count]. dx = dy * s * (1 + x * (1 - s)), overwritten.
template <class T>
void silu_backward(const T* x, const T* dy, T* dx, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    const T s = T(1) / (T(1) + std::exp(-x[i]));
    dx[i] = dy[i] * s * (T(1) + x[i] * (T(1) - s));
  }
}

// ---- 2. the bound layer ---------------------------------------------------------------------
// No parameters: NoParameters<T> gives param_count = buffer_count = 0, attach, reset_parameters
// and describe. forward writes all of y; backward overwrites dx unless it is null (then the
// layer is first in the network and nobody wants the input gradient).
template <class T, class In, std::size_t Position>
struct SiLULayer : ctnn::NoParameters<T> {
  using in_shape = In;
  using out_shape = In;
  static constexpr const char* kind_name = "SiLU";
  void forward(const T* x, T* y, std::size_t n, ctnn::Context&) { silu_forward(x, y, n * In::size); }
  void backward(const T* x, const T* /*y*/, const T* dy, T* dx, std::size_t n, ctnn::Context&) {
    if (dx) silu_backward(x, dy, dx, n * In::size);
  }
};

// ---- 3. the spec ----------------------------------------------------------------------------
struct SiLU {
  template <class T, class InShape, std::size_t Position>
  using bind = SiLULayer<T, InShape, Position>;
};

static_assert(ctnn::BoundLayer<SiLULayer<float, ctnn::Shape<3, 4, 4>, 1>, float>,
              "my::SiLU meets the layer contract");

}  // namespace my
