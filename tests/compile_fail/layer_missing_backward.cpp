// expect-error: this layer does not provide .void backward\(const T\* x, const T\* y, const T\* dy, T\* dx
// A user-written layer that has everything the layer contract (ctnn/layers/contract.hpp) asks
// for except backward(): the first error is one sentence naming the missing member.
#include <cstddef>

#include <ctnn/ctnn.hpp>

template <class T, class In, std::size_t Position>
struct HalfLayer : ctnn::NoParameters<T> {
  using in_shape = In;
  using out_shape = In;
  static constexpr const char* kind_name = "Half";
  void forward(const T* x, T* y, std::size_t n, ctnn::Context&) {
    for (std::size_t i = 0; i < n * In::size; ++i) y[i] = x[i] / 2;
  }
};

struct Half {
  template <class T, class InShape, std::size_t Position>
  using bind = HalfLayer<T, InShape, Position>;
};

using Net = ctnn::Sequential<ctnn::Input<2, 4, 4>, ctnn::Conv<2, 2, 3>, Half, ctnn::Linear<3>>;

int main() {
  Net net(1);
  return 0;
}
