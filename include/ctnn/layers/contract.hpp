#pragma once
// The layer contract: what Chain (and so Sequential and Residual) calls on a bound layer, as a
// C++20 concept, ctnn::BoundLayer<L, T>. Every library layer satisfies it; a layer of your own
// that does too can be put in a Sequential like any other (docs/custom_layer.md walks through
// one). Chain checks each member separately, so a layer that misses one fails to compile with
// one sentence naming that member.
//
// A layer is written as a *spec*: a type holding only hyper-parameters, with
//     template <class T, class InShape, std::size_t Position> using bind = MyLayer<T, InShape, Position>;
// Sequential binds each spec to the shape it receives (T is float, or double for gradient
// checks; Position counts layers from 1 and is for error messages). The bound layer provides:
//
//   using in_shape, out_shape;                  Shape<C, H, W> types: what it takes and gives
//   static constexpr const char* kind_name;     a printable name ("Conv"); never used for
//                                               behaviour, which is keyed on types and traits
//   static constexpr std::size_t param_count;   trainable values it owns in the network's arena
//   static constexpr std::size_t buffer_count;  saved non-trainable values (running statistics)
//   void attach(T* params, T* grads, T* buffers);
//       its slices of the three arenas (param_count, param_count, buffer_count values), given
//       once; it keeps the pointers, and must not allocate parameters of its own
//   void reset_parameters(Rng& rng);            initialise them as torch.nn does
//   template <class F> static void describe(F&& f);          f(TensorInfo) for each parameter
//   template <class F> static void describe_buffers(F&& f);  ... and each buffer (names, shapes)
//   void forward(const T* x, T* y, std::size_t n, Context& ctx);
//       x: [n, in_shape], y: [n, out_shape]. y is written in full. ctx.mode says train or eval;
//       ctx.rng is there for stochastic layers
//   void backward(const T* x, const T* y, const T* dy, T* dx, std::size_t n, Context& ctx);
//       x and y are the same pointers forward() got and gave: the input stays alive and
//       unchanged until backward() has run. dy: [n, out_shape]. Parameter gradients
//       *accumulate* (+=) into the grads slice; dx: [n, in_shape] is *overwritten*, and may be
//       null (the first layer of a network), in which case the layer skips that work
//
// (NoParameters<T> in layer.hpp supplies the first block for layers without parameters.)
// Optional traits Chain reads: `static constexpr bool is_relu` (a ReLU), and
// `static constexpr bool fuses_relu` with forward_relu / backward_relu (a producer that can run
// a following ReLU in its own pass, as BatchNorm does). For inference only (eval mode with
// gradients off: Sequential::set_grad_enabled, NoGrad), `folds_affine` with
// forward_fused<Relu, Pool>(x, y, n, ctx, scale, shift) (a producer that applies a per-channel
// affine, a ReLU and a 2x2 max pool as it writes its output, as Conv does), `is_eval_affine` with
// eval_affine(scale, shift) (a layer that is such an affine in eval mode: BatchNorm), and
// `is_maxpool2x2`; chain.hpp's inference plan says how they combine.
#include <concepts>
#include <cstddef>
#include <type_traits>

#include "ctnn/core/parameter.hpp"
#include "ctnn/core/random.hpp"
#include "ctnn/core/shape.hpp"
#include "ctnn/layers/layer.hpp"

namespace ctnn {

namespace contract {
struct AnyTensorInfoSink {
  void operator()(const TensorInfo&) const {}
};

template <class L>
concept has_shapes = requires {
  typename L::in_shape;
  typename L::out_shape;
  requires SampleShape<typename L::in_shape> && SampleShape<typename L::out_shape>;
};
template <class L>
concept has_kind_name = requires {
  { L::kind_name } -> std::convertible_to<const char*>;
};
template <class L>
concept has_counts = requires {
  { L::param_count } -> std::convertible_to<std::size_t>;
  { L::buffer_count } -> std::convertible_to<std::size_t>;
};
template <class L, class T>
concept has_attach = requires(L& l, T* p) { l.attach(p, p, p); };
template <class L>
concept has_reset_parameters = requires(L& l, Rng& rng) { l.reset_parameters(rng); };
template <class L>
concept has_describe = requires(AnyTensorInfoSink f) {
  L::describe(f);
  L::describe_buffers(f);
};
template <class L, class T>
concept has_forward = requires(L& l, const T* x, T* y, std::size_t n, Context& ctx) { l.forward(x, y, n, ctx); };
template <class L, class T>
concept has_backward = requires(L& l, const T* x, const T* y, const T* dy, T* dx, std::size_t n, Context& ctx) {
  l.backward(x, y, dy, dx, n, ctx);
};
}  // namespace contract

// A bound layer that Chain can run (see the comment at the top of this file).
template <class L, class T>
concept BoundLayer = contract::has_shapes<L> && contract::has_kind_name<L> && contract::has_counts<L> &&
                     contract::has_attach<L, T> && contract::has_reset_parameters<L> &&
                     contract::has_describe<L> && contract::has_forward<L, T> && contract::has_backward<L, T>;

namespace error {
// Chain instantiates this for every bound layer; each missing member is its own sentence. The
// "required from" line names the layer type and Layer_at_position<P>.
template <std::size_t Position>
struct Layer_at_position {
  template <class L, class T>
  struct meets_the_layer_contract {
    static_assert(contract::has_shapes<L>,
                  "ctnn: this layer does not declare `using in_shape` and `using out_shape` (Shape<C, H, W> types); "
                  "see the layer contract in ctnn/layers/contract.hpp");
    static_assert(contract::has_kind_name<L>,
                  "ctnn: this layer does not declare `static constexpr const char* kind_name`; "
                  "see the layer contract in ctnn/layers/contract.hpp");
    static_assert(contract::has_counts<L>,
                  "ctnn: this layer does not declare `static constexpr std::size_t param_count` and `buffer_count` "
                  "(derive from NoParameters<T> if it has none); see ctnn/layers/contract.hpp");
    static_assert(contract::has_attach<L, T>,
                  "ctnn: this layer does not provide `void attach(T* params, T* grads, T* buffers)` "
                  "(derive from NoParameters<T> if it has no parameters); see ctnn/layers/contract.hpp");
    static_assert(contract::has_reset_parameters<L>,
                  "ctnn: this layer does not provide `void reset_parameters(Rng&)`; see ctnn/layers/contract.hpp");
    static_assert(contract::has_describe<L>,
                  "ctnn: this layer does not provide `static void describe(F)` and `describe_buffers(F)`; "
                  "see ctnn/layers/contract.hpp");
    static_assert(contract::has_forward<L, T>,
                  "ctnn: this layer does not provide `void forward(const T* x, T* y, std::size_t n, Context& ctx)`; "
                  "see ctnn/layers/contract.hpp");
    static_assert(contract::has_backward<L, T>,
                  "ctnn: this layer does not provide `void backward(const T* x, const T* y, const T* dy, T* dx, "
                  "std::size_t n, Context& ctx)`; see ctnn/layers/contract.hpp");
    static constexpr bool ok = true;
  };
};
}  // namespace error

}  // namespace ctnn
