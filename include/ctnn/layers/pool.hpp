#pragma once
// MaxPool<K, Stride = K>: torch.nn.MaxPool2d(K, Stride). AvgPool<K, Stride = K>: torch.nn.AvgPool2d(K, Stride).
// No padding, floor mode: trailing rows/columns that do not fill a window are dropped.
#include <cstddef>
#include <cstdint>

#include "ctnn/core/aligned_buffer.hpp"
#include "ctnn/core/parameter.hpp"
#include "ctnn/kernels/pool.hpp"
#include "ctnn/layers/layer.hpp"

namespace ctnn {

template <class In, std::size_t K, std::size_t Stride, std::size_t Position>
struct PoolShape {
  static_assert(error::Pool_at_layer<Position>::template has_window<K>::template larger_than_its_input<In::height, In::width>::ok);
  using out_shape = Shape<In::channels, window_out(In::height, K, Stride, 0), window_out(In::width, K, Stride, 0)>;
  static kernels::PoolGeometry geometry(std::size_t n) {
    return {n * In::channels, K, Stride, In::height, In::width, out_shape::height, out_shape::width};
  }
};

template <class T, class In, std::size_t K, std::size_t Stride, std::size_t Position>
class MaxPoolLayer : public NoParameters<T> {
  using Geo = PoolShape<In, K, Stride, Position>;

 public:
  using in_shape = In;
  using out_shape = typename Geo::out_shape;
  static constexpr const char* kind_name = "MaxPool";
  // A Conv before it may pool in its own pass for inference (layers/chain.hpp).
  static constexpr bool is_maxpool2x2 = K == 2 && Stride == 2;

  void forward(const T* x, T* y, std::size_t n, Context&) {
    if (argmax_.size() < n * out_shape::size) argmax_.resize(n * out_shape::size);
    kernels::maxpool_forward(x, y, argmax_.data(), Geo::geometry(n));
  }
  void backward(const T*, const T*, const T* dy, T* dx, std::size_t n, Context&) {
    if (dx) kernels::maxpool_backward(dy, argmax_.data(), dx, Geo::geometry(n));
  }

 private:
  AlignedBuffer<std::int32_t> argmax_;
};

template <class T, class In, std::size_t K, std::size_t Stride, std::size_t Position>
struct AvgPoolLayer : NoParameters<T> {
  using Geo = PoolShape<In, K, Stride, Position>;
  using in_shape = In;
  using out_shape = typename Geo::out_shape;
  static constexpr const char* kind_name = "AvgPool";

  void forward(const T* x, T* y, std::size_t n, Context&) { kernels::avgpool_forward(x, y, Geo::geometry(n)); }
  void backward(const T*, const T*, const T* dy, T* dx, std::size_t n, Context&) {
    if (dx) kernels::avgpool_backward(dy, dx, Geo::geometry(n));
  }
};

template <std::size_t K, std::size_t Stride = K>
struct MaxPool {
  static_assert(K > 0 && Stride > 0, "ctnn::MaxPool<K, Stride>: K and Stride must be positive");
  template <class T, class InShape, std::size_t Position>
  using bind = MaxPoolLayer<T, InShape, K, Stride, Position>;
};

template <std::size_t K, std::size_t Stride = K>
struct AvgPool {
  static_assert(K > 0 && Stride > 0, "ctnn::AvgPool<K, Stride>: K and Stride must be positive");
  template <class T, class InShape, std::size_t Position>
  using bind = AvgPoolLayer<T, InShape, K, Stride, Position>;
};

}  // namespace ctnn
