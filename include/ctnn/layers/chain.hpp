#pragma once
// Chain<T, InShape, Position, Specs...>: layers run one after another, the part of a network that
// Sequential and Residual share. It binds each spec to the shape the previous layer produces,
// keeps the layers by value in a std::tuple, owns their activations and the backward ping-pong
// buffers, and runs a producer + ReLU pair (BatchNorm then ReLU) as one fused pass each way; for
// inference (eval mode, no gradients) it also folds a BatchNorm into the Conv before it.
// Parameters live in arenas owned by the enclosing network; attach() hands each layer its slice.
#include <algorithm>
#include <array>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "ctnn/core/aligned_buffer.hpp"
#include "ctnn/core/parameter.hpp"
#include "ctnn/core/random.hpp"
#include "ctnn/core/shape.hpp"
#include "ctnn/layers/contract.hpp"
#include "ctnn/layers/layer.hpp"

namespace ctnn {

namespace detail {
template <class X>
struct is_input : std::false_type {};
template <std::size_t C, std::size_t H, std::size_t W>
struct is_input<Input<C, H, W>> : std::true_type {};

// Folds the specs left to right, threading each bound layer's out_shape into the next.
// Step is 1 for a network (positions count layers) and 0 inside a block (every inner layer
// reports the block's position in compile-time errors).
template <class T, class InShape, std::size_t Position, std::size_t Step, class... Specs>
struct bind_layers {
  using type = std::tuple<>;
  using out_shape = InShape;
};
template <class T, class InShape, std::size_t Position, std::size_t Step, class Spec, class... Rest>
struct bind_layers<T, InShape, Position, Step, Spec, Rest...> {
  static_assert(!is_input<Spec>::value, "ctnn::Sequential: Input<C, H, W> may only be the first element");
  using layer = typename Spec::template bind<T, InShape, Position>;
  static_assert(error::Layer_at_position<Position>::template meets_the_layer_contract<layer, T>::ok);
  using next = bind_layers<T, typename layer::out_shape, Position + Step, Step, Rest...>;
  using type = decltype(std::tuple_cat(std::declval<std::tuple<layer>>(), std::declval<typename next::type>()));
  using out_shape = typename next::out_shape;
};

// Layer pairs that run as one pass: a producer declaring fuses_relu, then a ReLU.
template <class L>
concept relu_fusing_producer = requires { requires L::fuses_relu; };
template <class L>
concept relu_layer = requires { requires L::is_relu; };
// Inference only (eval mode, no gradients): a producer declaring folds_affine (Conv), then any of, in
// this order: a layer that is a per-channel affine in eval mode (is_eval_affine: BatchNorm), applied
// as the producer writes its output; a ReLU; a 2x2, stride-2 max pool (is_maxpool2x2) -- one pass.
template <class L>
concept affine_folding_producer = requires { requires L::folds_affine; };
template <class L>
concept eval_affine_layer = requires { requires L::is_eval_affine; };
template <class L>
concept maxpool2x2_layer = requires { requires L::is_maxpool2x2; };

// One span of the inference plan: `length` layers from its first, and what the producer fuses.
struct InferSpan {
  std::size_t length = 0;  // 0: inside an earlier span
  bool affine = false, relu = false, pool = false;
  constexpr bool operator==(const InferSpan&) const = default;
};
}  // namespace detail

// Told by a network's backward, layer by layer from the last, that the gradients of the
// parameters [begin, end) (offsets into the network's arena) are final: what data-parallel
// training uses to start reducing them while the backward goes on (ctnn/mpi/data_parallel.hpp).
// Unset (the default) it costs one test of a null pointer per layer and backward.
struct GradientHook {
  void (*ready)(void* self, std::size_t begin, std::size_t end) = nullptr;
  void* self = nullptr;
};

template <class T, class InShape, std::size_t Position, std::size_t Step, class... Specs>
class Chain {
  using Binder = detail::bind_layers<T, InShape, Position, Step, Specs...>;

 public:
  using layers_type = typename Binder::type;
  using in_shape = InShape;
  using out_shape = typename Binder::out_shape;
  static constexpr std::size_t depth = std::tuple_size_v<layers_type>;
  template <std::size_t I>
  using layer_type = std::tuple_element_t<I, layers_type>;

 private:
  template <class F, std::size_t... I>
  static constexpr void for_each_index(F&& f, std::index_sequence<I...>) {
    (f(std::integral_constant<std::size_t, I>{}), ...);
  }

 public:
  template <class F>
  static constexpr void for_each_layer_index(F&& f) {
    for_each_index(f, std::make_index_sequence<depth>{});
  }

 private:
  static constexpr auto make_offsets(bool buffers) {
    std::array<std::size_t, depth + 1> off{};
    std::size_t i = 0;
    for_each_layer_index([&](auto I) {
      off[i + 1] = off[i] + (buffers ? layer_type<I>::buffer_count : layer_type<I>::param_count);
      ++i;
    });
    return off;
  }
  static constexpr auto make_sizes() {
    std::array<std::size_t, depth + 1> s{};
    s[0] = in_shape::size;
    std::size_t i = 0;
    for_each_layer_index([&](auto I) { s[++i] = layer_type<I>::out_shape::size; });
    return s;
  }

 public:
  static constexpr std::array<std::size_t, depth + 1> param_offsets = make_offsets(false);
  static constexpr std::array<std::size_t, depth + 1> buffer_offsets = make_offsets(true);
  // sample sizes at each boundary: [0] is the input, [i + 1] the output of layer i
  static constexpr std::array<std::size_t, depth + 1> boundary_sizes = make_sizes();
  static constexpr std::size_t param_count = param_offsets[depth];
  static constexpr std::size_t buffer_count = buffer_offsets[depth];

  void attach(T* params, T* grads, T* buffers) {
    for_each_layer_index([&](auto I) {
      std::get<I>(layers_).attach(params + param_offsets[I], grads + param_offsets[I], buffers + buffer_offsets[I]);
    });
  }

  void reset_parameters(Rng& rng) {
    for_each_layer_index([&](auto I) { std::get<I>(layers_).reset_parameters(rng); });
  }

  // Reports every tensor as "<prefix><layer index>.<name>", with offsets into this chain's slice.
  // The name is only valid during the call (callers copy it).
  template <class F>
  static void describe(F&& f, const std::string& prefix = "") {
    for_each_layer_index([&](auto I) {
      layer_type<I>::describe([&](const TensorInfo& info) {
        const std::string name = prefix + std::to_string(I) + "." + info.name;
        TensorInfo out = info;
        out.name = name.c_str();
        out.offset += param_offsets[I];
        f(out);
      });
    });
  }
  template <class F>
  static void describe_buffers(F&& f, const std::string& prefix = "") {
    for_each_layer_index([&](auto I) {
      layer_type<I>::describe_buffers([&](const TensorInfo& info) {
        const std::string name = prefix + std::to_string(I) + "." + info.name;
        TensorInfo out = info;
        out.name = name.c_str();
        out.offset += buffer_offsets[I];
        f(out);
      });
    });
  }

  // x: [N, in_shape], alive and unchanged until backward() has run. Returns the output,
  // [N, out_shape], which stays valid until the next forward().
  // In eval mode without gradients (ctx.grad false) it runs the inference plan below instead: the
  // same values up to rounding, fewer passes, and no backward may follow.
  const T* forward(const T* x, std::size_t n, Context& ctx) {
    n_ = n;
    input_ = x;
    if (ctx.mode == Mode::eval && !ctx.grad) {
      forward_inference(ctx);
      return activations_[depth - 1].data();
    }
    for_each_layer_index([&](auto I) {
      if constexpr (fused_into_previous<I>()) {
        return;  // computed with the layer before it
      } else if constexpr (fused_with_next<I>()) {
        auto& out = activations_[I + 1];
        if (out.size() < n_ * boundary_sizes[I + 2]) out.resize(n_ * boundary_sizes[I + 2]);
        std::get<I>(layers_).forward_relu(layer_input<I>(), out.data(), n_, ctx);
      } else {
        auto& out = activations_[I];
        if (out.size() < n_ * boundary_sizes[I + 1]) out.resize(n_ * boundary_sizes[I + 1]);
        std::get<I>(layers_).forward(layer_input<I>(), out.data(), n_, ctx);
      }
    });
    return activations_[depth - 1].data();
  }

  // dy: gradient at the last forward's output. Accumulates parameter gradients; writes the
  // input gradient to dx unless dx is null (the first layer then skips that work).
  void backward(const T* dy, T* dx, Context& ctx) {
    const std::size_t max_size = n_ * *std::max_element(boundary_sizes.begin(), boundary_sizes.end());
    if constexpr (depth > 1)
      for (auto& g : grad_ping_pong_)
        if (g.size() < max_size) g.resize(max_size);
    const std::size_t stop = dx ? 0 : frozen_prefix_;  // the input gradient needs every layer
    if (stop >= depth) return;                          // every layer frozen
    backward_from<depth - 1>(dy, 0, dx, stop, ctx);
  }

  // Only a network's own chain (Step 1) calls it; blocks report as one layer of it.
  void set_gradient_hook(GradientHook hook) { hook_ = hook; }
  // Layers [0, layers) get no backward, unless the input gradient is asked for
  // (Sequential::set_frozen_prefix).
  void set_frozen_prefix(std::size_t layers) {
    if (layers > depth)
      throw std::invalid_argument("ctnn::Sequential::set_frozen_prefix: " + std::to_string(layers) +
                                  " layers, but the network has " + std::to_string(depth));
    frozen_prefix_ = layers;
  }
  std::size_t frozen_prefix() const { return frozen_prefix_; }

  template <std::size_t I>
  layer_type<I>& layer() { return std::get<I>(layers_); }
  const T* output() const { return activations_[depth - 1].data(); }
  std::size_t batch() const { return n_; }

 private:
  template <std::size_t I>
  const T* layer_input() const {
    if constexpr (I == 0) return input_;
    else return activations_[I - 1].data();
  }

  template <std::size_t I>
  static constexpr bool fused_with_next() {
    if constexpr (I + 1 < depth) return detail::relu_fusing_producer<layer_type<I>> && detail::relu_layer<layer_type<I + 1>>;
    else return false;
  }
  template <std::size_t I>
  static constexpr bool fused_into_previous() {
    if constexpr (I > 0) return fused_with_next<I - 1>();
    else return false;
  }

  // (public for Sequential::inference_spans)
 public:
  // The inference plan: spans of layers run as one pass, left to right, each writing the activation
  // of its last layer. Conv [+ BatchNorm] [+ ReLU] [+ MaxPool<2>] is one span (with at least one of
  // them), BatchNorm + ReLU another; any other layer is a span of its own. infer_spans[I] is the
  // length of the span that starts at layer I, 0 for a layer inside an earlier span.
  static constexpr std::array<detail::InferSpan, depth> make_infer_plan() {
    std::array<bool, depth + 3> folds{}, affine{}, relu{}, pool{}, fuses{};
    std::size_t k = 0;
    for_each_layer_index([&](auto I) {
      folds[k] = detail::affine_folding_producer<layer_type<I>>;
      affine[k] = detail::eval_affine_layer<layer_type<I>>;
      relu[k] = detail::relu_layer<layer_type<I>>;
      pool[k] = detail::maxpool2x2_layer<layer_type<I>>;
      fuses[k] = detail::relu_fusing_producer<layer_type<I>>;
      ++k;
    });
    std::array<detail::InferSpan, depth> plan{};
    for (std::size_t i = 0; i < depth;) {
      detail::InferSpan s{1};
      if (folds[i]) {
        std::size_t j = i + 1;
        if ((s.affine = affine[j])) ++j;
        if ((s.relu = relu[j])) ++j;
        if ((s.pool = pool[j])) ++j;
        s.length = j - i;
      } else if (fuses[i] && relu[i + 1]) {
        s.length = 2;
      }
      plan[i] = s;
      i += s.length;
    }
    return plan;
  }
  static constexpr std::array<detail::InferSpan, depth> infer_plan = make_infer_plan();
  static constexpr std::array<std::size_t, depth> make_infer_spans() {
    std::array<std::size_t, depth> spans{};
    for (std::size_t i = 0; i < depth; ++i) spans[i] = infer_plan[i].length;
    return spans;
  }
  static constexpr std::array<std::size_t, depth> infer_spans = make_infer_spans();

 private:
  void forward_inference(Context& ctx) {
    for_each_layer_index([&](auto I) {
      constexpr detail::InferSpan span = infer_plan[I];
      constexpr std::size_t len = span.length;
      if constexpr (len > 0) {
        auto& out = activations_[I + len - 1];
        if (out.size() < n_ * boundary_sizes[I + len]) out.resize(n_ * boundary_sizes[I + len]);
        if constexpr (detail::affine_folding_producer<layer_type<I>> && len > 1) {
          const T* scale = nullptr;
          const T* shift = nullptr;
          if constexpr (span.affine) std::get<I + 1>(layers_).eval_affine(scale, shift);
          std::get<I>(layers_).template forward_fused<span.relu, span.pool>(layer_input<I>(), out.data(), n_, ctx,
                                                                             scale, shift);
        } else if constexpr (len == 2) {
          std::get<I>(layers_).forward_relu(layer_input<I>(), out.data(), n_, ctx);
        } else {
          std::get<I>(layers_).forward(layer_input<I>(), out.data(), n_, ctx);
        }
      }
    });
  }

  // dy: gradient at layer I's output; the input gradient goes to ping-pong slot `free`, the
  // slot that does not hold dy, or to dx_out at the first layer. Layers below `stop` get no
  // backward (the frozen prefix).
  template <std::size_t I>
  void backward_from(const T* dy, int free, T* dx_out, std::size_t stop, Context& ctx) {
    constexpr std::size_t first = fused_into_previous<I>() ? I - 1 : I;  // the layer whose input we reach
    // The last unit the backward runs: no layer below it needs a gradient (frozen prefix).
    const bool last = first <= stop;
    T* dx = nullptr;
    if constexpr (first == 0) dx = dx_out;
    else dx = last ? nullptr : grad_ping_pong_[free].data();
    if constexpr (fused_into_previous<I>()) {
      std::get<first>(layers_).backward_relu(layer_input<first>(), activations_[I].data(), dy, dx, n_);
    } else {
      std::get<I>(layers_).backward(layer_input<I>(), activations_[I].data(), dy, dx, n_, ctx);
    }
    if constexpr (Step == 1 && param_offsets[I + 1] > param_offsets[first])
      if (hook_.ready) hook_.ready(hook_.self, param_offsets[first], param_offsets[I + 1]);
    if constexpr (first > 0)
      if (!last) backward_from<first - 1>(dx, 1 - free, dx_out, stop, ctx);
  }

  layers_type layers_;
  std::array<AlignedBuffer<T>, depth> activations_;
  std::array<AlignedBuffer<T>, 2> grad_ping_pong_;
  const T* input_ = nullptr;
  std::size_t n_ = 0;
  std::size_t frozen_prefix_ = 0;  // set_frozen_prefix
  GradientHook hook_{};
};

}  // namespace ctnn
