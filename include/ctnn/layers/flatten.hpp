#pragma once
// Flatten: torch.nn.Flatten(): <C, H, W> -> <C*H*W, 1, 1>. Linear flattens implicitly, so this is
// only needed to make the step explicit (or before a BatchNorm1d over all features).
#include <cstddef>
#include <cstring>

#include "ctnn/core/parameter.hpp"
#include "ctnn/layers/layer.hpp"

namespace ctnn {

template <class T, class In, std::size_t Position>
struct FlattenLayer : NoParameters<T> {
  using in_shape = In;
  using out_shape = Shape<In::size, 1, 1>;
  static constexpr const char* kind_name = "Flatten";
  void forward(const T* x, T* y, std::size_t n, Context&) { std::memcpy(y, x, sizeof(T) * n * In::size); }
  void backward(const T*, const T*, const T* dy, T* dx, std::size_t n, Context&) {
    if (dx) std::memcpy(dx, dy, sizeof(T) * n * In::size);
  }
};

struct Flatten {
  template <class T, class InShape, std::size_t Position>
  using bind = FlattenLayer<T, InShape, Position>;
};

}  // namespace ctnn
