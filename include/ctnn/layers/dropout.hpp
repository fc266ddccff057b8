#pragma once
// Dropout<P>: torch.nn.Dropout(P). Inverted dropout in train mode, identity in eval mode.
#include <cstddef>
#include <cstring>

#include "ctnn/core/aligned_buffer.hpp"
#include "ctnn/core/parameter.hpp"
#include "ctnn/kernels/elementwise.hpp"
#include "ctnn/layers/layer.hpp"

namespace ctnn {

template <class T, class In, double P, std::size_t Position>
class DropoutLayer : public NoParameters<T> {
 public:
  using in_shape = In;
  using out_shape = In;
  static constexpr const char* kind_name = "Dropout";

  void forward(const T* x, T* y, std::size_t n, Context& ctx) {
    active_ = ctx.mode == Mode::train && P > 0.0;
    if (!active_) {
      std::memcpy(y, x, sizeof(T) * n * In::size);
      return;
    }
    if (mask_.size() < n * In::size) mask_.resize(n * In::size);
    kernels::dropout_forward(x, y, mask_.data(), n * In::size, P, *ctx.rng);
  }
  void backward(const T*, const T*, const T* dy, T* dx, std::size_t n, Context&) {
    if (!dx) return;
    if (active_) kernels::dropout_backward(dy, mask_.data(), dx, n * In::size);
    else std::memcpy(dx, dy, sizeof(T) * n * In::size);
  }

 private:
  AlignedBuffer<T> mask_;
  bool active_ = false;
};

template <double P = 0.5>
struct Dropout {
  static_assert(P >= 0.0 && P < 1.0, "ctnn::Dropout<P>: P must be in [0, 1)");
  template <class T, class InShape, std::size_t Position>
  using bind = DropoutLayer<T, InShape, P, Position>;
};

}  // namespace ctnn
