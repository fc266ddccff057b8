#pragma once
// GlobalAvgPool: torch.nn.AdaptiveAvgPool2d(1); GlobalMaxPool: torch.nn.AdaptiveMaxPool2d(1).
// <C, H, W> -> <C, 1, 1>: the head of a fully convolutional network, whatever its last plane size.
#include <cstddef>
#include <cstdint>

#include "ctnn/core/aligned_buffer.hpp"
#include "ctnn/core/parameter.hpp"
#include "ctnn/kernels/pool.hpp"
#include "ctnn/layers/layer.hpp"

namespace ctnn {

template <class T, class In, std::size_t Position>
struct GlobalAvgPoolLayer : NoParameters<T> {
  using in_shape = In;
  using out_shape = Shape<In::channels, 1, 1>;
  static constexpr const char* kind_name = "GlobalAvgPool";
  void forward(const T* x, T* y, std::size_t n, Context&) {
    kernels::global_avgpool_forward(x, y, n * In::channels, In::plane);
  }
  void backward(const T*, const T*, const T* dy, T* dx, std::size_t n, Context&) {
    if (dx) kernels::global_avgpool_backward(dy, dx, n * In::channels, In::plane);
  }
};

template <class T, class In, std::size_t Position>
class GlobalMaxPoolLayer : public NoParameters<T> {
 public:
  using in_shape = In;
  using out_shape = Shape<In::channels, 1, 1>;
  static constexpr const char* kind_name = "GlobalMaxPool";
  void forward(const T* x, T* y, std::size_t n, Context&) {
    if (argmax_.size() < n * In::channels) argmax_.resize(n * In::channels);
    kernels::global_maxpool_forward(x, y, argmax_.data(), n * In::channels, In::plane);
  }
  void backward(const T*, const T*, const T* dy, T* dx, std::size_t n, Context&) {
    if (dx) kernels::global_maxpool_backward(dy, argmax_.data(), dx, n * In::channels, In::plane);
  }

 private:
  AlignedBuffer<std::int32_t> argmax_;
};

struct GlobalAvgPool {
  template <class T, class InShape, std::size_t Position>
  using bind = GlobalAvgPoolLayer<T, InShape, Position>;
};
struct GlobalMaxPool {
  template <class T, class InShape, std::size_t Position>
  using bind = GlobalMaxPoolLayer<T, InShape, Position>;
};

}  // namespace ctnn
