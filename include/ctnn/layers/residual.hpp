#pragma once
// Residual<Layers...>: y = x + f(x), f being Layers... run in order (a ResNet basic block's body).
// Residual<Shortcut<P...>, Layers...>: y = p(x) + f(x), for when f changes the shape; p is the
// projection (typically Conv<In, Out, 1, 2, 0>, BatchNorm), and both paths must produce the
// same shape, checked at compile time.
//
//   Residual<Conv<64, 64, 3>, BatchNorm, ReLU, Conv<64, 64, 3>, BatchNorm>, ReLU
//
// Tensor names nest like a PyTorch module holding two nn.Sequential: "<block>.<i>.weight" for the
// body and "<block>.shortcut.<i>.weight" for the projection. Inner layers report the block's
// position in compile-time errors.
#include <cstddef>
#include <type_traits>

#include "ctnn/core/aligned_buffer.hpp"
#include "ctnn/core/parameter.hpp"
#include "ctnn/kernels/elementwise.hpp"
#include "ctnn/layers/chain.hpp"
#include "ctnn/layers/layer.hpp"

namespace ctnn {

template <class... Specs>
struct Shortcut {};

namespace error {
template <std::size_t Position>
struct Residual_at_layer {
  template <std::size_t C, std::size_t H, std::size_t W>
  struct adds_a_shortcut_of_shape {
    template <std::size_t BC, std::size_t BH, std::size_t BW>
    struct to_a_body_output_of_shape {
      static_assert(C == BC && H == BH && W == BW,
                    "ctnn: a Residual's body changes the shape of its input, so the two cannot be added; "
                    "the 'Residual_at_layer<P>::adds_a_shortcut_of_shape<C, H, W>::to_a_body_output_of_shape"
                    "<C, H, W>' line names both; give the block a projection: Residual<Shortcut<Conv<In, Out, "
                    "1, Stride, 0>, BatchNorm>, Layers...>");
      static constexpr bool ok = true;
    };
  };
};
}  // namespace error

namespace detail {
template <class C>
struct chain_out_shape {
  using type = typename C::out_shape;
};
template <class C>
struct chain_counts {
  static constexpr std::size_t params = C::param_count;
  static constexpr std::size_t buffers = C::buffer_count;
};
template <>
struct chain_counts<void> {
  static constexpr std::size_t params = 0;
  static constexpr std::size_t buffers = 0;
};
}  // namespace detail

template <class T, class In, std::size_t Position, class ShortcutChain, class... Specs>
class ResidualLayer {
  using Body = Chain<T, In, Position, 0, Specs...>;
  static constexpr bool projected = !std::is_void_v<ShortcutChain>;
  using SkipShape = typename std::conditional_t<projected, detail::chain_out_shape<ShortcutChain>, std::type_identity<In>>::type;
  using BodyShape = typename Body::out_shape;
  static_assert(error::Residual_at_layer<Position>::template adds_a_shortcut_of_shape<
                SkipShape::channels, SkipShape::height, SkipShape::width>::template to_a_body_output_of_shape<
                BodyShape::channels, BodyShape::height, BodyShape::width>::ok);

 public:
  using in_shape = In;
  using out_shape = typename Body::out_shape;
  static constexpr const char* kind_name = "Residual";
  static constexpr std::size_t param_count = Body::param_count + detail::chain_counts<ShortcutChain>::params;
  static constexpr std::size_t buffer_count = Body::buffer_count + detail::chain_counts<ShortcutChain>::buffers;

  void attach(T* params, T* grads, T* buffers) {
    body_.attach(params, grads, buffers);
    if constexpr (projected)
      shortcut_.attach(params + Body::param_count, grads + Body::param_count, buffers + Body::buffer_count);
  }
  void reset_parameters(Rng& rng) {
    body_.reset_parameters(rng);
    if constexpr (projected) shortcut_.reset_parameters(rng);
  }

  template <class F>
  static void describe(F&& f) {
    Body::describe(f);
    if constexpr (projected)
      ShortcutChain::describe([&](const TensorInfo& info) {
        TensorInfo out = info;
        out.offset += Body::param_count;
        f(out);
      }, "shortcut.");
  }
  template <class F>
  static void describe_buffers(F&& f) {
    Body::describe_buffers(f);
    if constexpr (projected)
      ShortcutChain::describe_buffers([&](const TensorInfo& info) {
        TensorInfo out = info;
        out.offset += Body::buffer_count;
        f(out);
      }, "shortcut.");
  }

  void forward(const T* x, T* y, std::size_t n, Context& ctx) {
    const T* fx = body_.forward(x, n, ctx);
    const T* skip = x;
    if constexpr (projected) skip = shortcut_.forward(x, n, ctx);
    kernels::add(fx, skip, y, n * out_shape::size);
  }

  // dx (when asked for) = body's input gradient + the skip path's: dy itself, or the projection's.
  void backward(const T*, const T*, const T* dy, T* dx, std::size_t n, Context& ctx) {
    body_.backward(dy, dx, ctx);
    if constexpr (projected) {
      if (dx && skip_grad_.size() < n * In::size) skip_grad_.resize(n * In::size);
      shortcut_.backward(dy, dx ? skip_grad_.data() : nullptr, ctx);
      if (dx) kernels::add_inplace(dx, skip_grad_.data(), n * In::size);
    } else {
      if (dx) kernels::add_inplace(dx, dy, n * In::size);
    }
  }

  template <std::size_t I>
  auto& layer() { return body_.template layer<I>(); }

 private:
  Body body_;
  std::conditional_t<projected, ShortcutChain, char> shortcut_{};
  AlignedBuffer<T> skip_grad_;
};

template <class... Specs>
struct Residual {
  static_assert(sizeof...(Specs) > 0, "ctnn::Residual<Layers...>: give at least one layer");
  template <class T, class InShape, std::size_t Position>
  using bind = ResidualLayer<T, InShape, Position, void, Specs...>;
};

template <class... P, class... Specs>
struct Residual<Shortcut<P...>, Specs...> {
  static_assert(sizeof...(Specs) > 0, "ctnn::Residual<Shortcut<...>, Layers...>: give at least one body layer");
  static_assert(sizeof...(P) > 0, "ctnn::Shortcut<...>: give the projection's layers (for an identity, leave Shortcut out)");
  template <class T, class InShape, std::size_t Position>
  using bind = ResidualLayer<T, InShape, Position, Chain<T, InShape, Position, 0, P...>, Specs...>;
};

}  // namespace ctnn
