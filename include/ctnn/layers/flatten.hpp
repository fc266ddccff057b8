#pragma once
// Flatten: torch.nn.Flatten(): <C, H, W> -> <C*H*W, 1, 1>. Linear flattens implicitly, so this is
// only needed to make the step explicit (or before a BatchNorm1d over all features).
#include <cstddef>
#include <cstring>

#include "ctnn/core/parameter.hpp"
#include "ctnn/layers/layer.hpp"

namespace ctnn {

template <class T, class In, std::size_t Position>
struct FlattenLayer {
  using in_shape = In;
  using out_shape = Shape<In::size, 1, 1>;
  static constexpr std::size_t param_count = 0;
  static constexpr std::size_t buffer_count = 0;
  static constexpr const char* kind_name = "Flatten";
  void attach(T*, T*, T*) {}
  void reset_parameters(Rng&) {}
  template <class F>
  static void describe(F&&) {}
  template <class F>
  static void describe_buffers(F&&) {}
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
