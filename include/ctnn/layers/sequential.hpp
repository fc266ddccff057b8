#pragma once
// Sequential<Input<C, H, W>, Layers...>: layers stored by value in one std::tuple, each bound to
// the shape the previous one produces; parameters and gradients in one arena each (one
// allocation per network, and optimizers walk them as plain arrays).
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <sstream>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "ctnn/core/aligned_buffer.hpp"
#include "ctnn/core/parameter.hpp"
#include "ctnn/core/random.hpp"
#include "ctnn/core/shape.hpp"
#include "ctnn/core/tensor.hpp"
#include "ctnn/layers/layer.hpp"

namespace ctnn {

namespace detail {
template <class X>
struct is_input : std::false_type {};
template <std::size_t C, std::size_t H, std::size_t W>
struct is_input<Input<C, H, W>> : std::true_type {};

// Folds the specs left to right, threading each bound layer's out_shape into the next.
template <class T, class InShape, std::size_t Position, class... Specs>
struct bind_layers {
  using type = std::tuple<>;
  using out_shape = InShape;
};
template <class T, class InShape, std::size_t Position, class Spec, class... Rest>
struct bind_layers<T, InShape, Position, Spec, Rest...> {
  static_assert(!is_input<Spec>::value, "ctnn::Sequential: Input<C, H, W> may only be the first element");
  using layer = typename Spec::template bind<T, InShape, Position>;
  using next = bind_layers<T, typename layer::out_shape, Position + 1, Rest...>;
  using type = decltype(std::tuple_cat(std::declval<std::tuple<layer>>(), std::declval<typename next::type>()));
  using out_shape = typename next::out_shape;
};
// Layer pairs that run as one pass: a producer declaring fuses_relu, then a ReLU.
template <class L>
concept relu_fusing_producer = requires { requires L::fuses_relu; };
template <class L>
concept relu_layer = requires { requires L::is_relu; };

template <class T, class InputSpec, class... Specs>
struct bind_layers_of {
  using type = bind_layers<T, typename InputSpec::shape, 1, Specs...>;
};
template <class X>
struct input_shape {
  using type = Shape<1, 1, 1>;  // placeholder after a failed check; never used for computation
};
template <std::size_t C, std::size_t H, std::size_t W>
struct input_shape<Input<C, H, W>> {
  using type = Shape<C, H, W>;
};
}  // namespace detail

template <class T, class InputSpec, class... Specs>
class BasicSequential {
  static_assert(detail::is_input<InputSpec>::value,
                "ctnn::Sequential: the first element must be ctnn::Input<C, H, W>, the shape of one sample");
  static_assert(sizeof...(Specs) > 0, "ctnn::Sequential: give at least one layer after Input");
  static_assert(std::is_floating_point_v<T>, "ctnn::BasicSequential: the scalar type must be float or double");
  // Without an Input there is nothing to infer from: bind no layers, so the assert above is the only error.
  using Binder = typename std::conditional_t<detail::is_input<InputSpec>::value,
                                             detail::bind_layers_of<T, InputSpec, Specs...>,
                                             std::type_identity<detail::bind_layers<T, Shape<1, 1, 1>, 1>>>::type;

 public:
  using scalar = T;
  using layers_type = typename Binder::type;
  using in_shape = typename detail::input_shape<InputSpec>::type;
  using out_shape = typename Binder::out_shape;
  using input_tensor = Tensor<in_shape, T>;
  using output_tensor = Tensor<out_shape, T>;
  static constexpr std::size_t depth = std::tuple_size_v<layers_type>;

  template <std::size_t I>
  using layer_type = std::tuple_element_t<I, layers_type>;

 private:
  template <class F, std::size_t... I>
  static constexpr void for_each_index(F&& f, std::index_sequence<I...>) {
    (f(std::integral_constant<std::size_t, I>{}), ...);
  }
  template <class F>
  static constexpr void for_each_layer_index(F&& f) {
    for_each_index(f, std::make_index_sequence<depth>{});
  }
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

  explicit BasicSequential(std::uint64_t seed = 0) : rng_(seed) {
    params_.resize(param_count);
    grads_.resize(param_count);
    buffers_.resize(buffer_count);
    for_each_layer_index([&](auto I) {
      std::get<I>(layers_).attach(params_.data() + param_offsets[I], grads_.data() + param_offsets[I],
                                  buffers_.data() + buffer_offsets[I]);
    });
    reset_parameters(seed);
  }
  BasicSequential(const BasicSequential&) = delete;
  BasicSequential& operator=(const BasicSequential&) = delete;
  BasicSequential(BasicSequential&&) noexcept = default;  // arenas move by pointer: layers stay attached
  BasicSequential& operator=(BasicSequential&&) noexcept = default;

  // Re-initialises every parameter as PyTorch's default init would, from `seed`.
  void reset_parameters(std::uint64_t seed) {
    Rng init(seed);
    for_each_layer_index([&](auto I) { std::get<I>(layers_).reset_parameters(init); });
    rng_.reseed(seed ^ 0xD1B54A32D192ED03ull);
    grads_.zero();
  }

  void train() { ctx_.mode = Mode::train; }
  void eval() { ctx_.mode = Mode::eval; }
  Mode mode() const { return ctx_.mode; }
  bool training() const { return ctx_.mode == Mode::train; }

  // x: [N, in_shape]. The input must stay alive and unchanged until backward() has run.
  TensorView<out_shape, const T> forward(TensorView<in_shape, const T> x) {
    n_ = x.batch();
    input_ = x.data();
    ctx_.rng = &rng_;
    for_each_layer_index([&](auto I) {
      if constexpr (fused_into_previous<I>()) {
        return;  // computed with the layer before it
      } else if constexpr (fused_with_next<I>()) {
        auto& out = activations_[I + 1];
        if (out.size() < n_ * boundary_sizes[I + 2]) out.resize(n_ * boundary_sizes[I + 2]);
        std::get<I>(layers_).forward_relu(layer_input<I>(), out.data(), n_, ctx_);
      } else {
        auto& out = activations_[I];
        if (out.size() < n_ * boundary_sizes[I + 1]) out.resize(n_ * boundary_sizes[I + 1]);
        std::get<I>(layers_).forward(layer_input<I>(), out.data(), n_, ctx_);
      }
    });
    return {activations_[depth - 1].data(), n_};
  }

  // dy: d(loss)/d(output of the last forward), [N, out_shape]. Accumulates into the parameter
  // gradients (call zero_grad() between steps, as in PyTorch). Returns d(loss)/d(input) when
  // want_input_grad is true, else an empty view (the first layer then skips that work).
  TensorView<in_shape, const T> backward(TensorView<out_shape, const T> dy, bool want_input_grad = false) {
    ctx_.rng = &rng_;
    const std::size_t max_size = n_ * *std::max_element(boundary_sizes.begin(), boundary_sizes.end());
    for (auto& g : grad_ping_pong_)
      if (g.size() < max_size) g.resize(max_size);
    if (want_input_grad && input_grad_.size() < n_ * in_shape::size) input_grad_.resize(n_ * in_shape::size);
    backward_from<depth - 1>(dy.data(), 0, want_input_grad);
    if (!want_input_grad) return {};
    return {input_grad_.data(), n_};
  }

  void zero_grad() { grads_.zero(); }

  Parameters<T> parameters() {
    Parameters<T> out;
    for_each_layer_index([&](auto I) {
      layer_type<I>::describe([&](const TensorInfo& info) {
        out.push_back(ParamRef<T>{std::to_string(I) + "." + info.name, info.kind,
                                  params_.data() + param_offsets[I] + info.offset,
                                  grads_.data() + param_offsets[I] + info.offset, info.size,
                                  std::vector<std::size_t>(info.dims.begin(), info.dims.begin() + info.ndim)});
      });
    });
    return out;
  }

  std::vector<BufferRef<T>> buffers() {
    std::vector<BufferRef<T>> out;
    for_each_layer_index([&](auto I) {
      layer_type<I>::describe_buffers([&](const TensorInfo& info) {
        out.push_back(BufferRef<T>{std::to_string(I) + "." + info.name,
                                   buffers_.data() + buffer_offsets[I] + info.offset, info.size,
                                   std::vector<std::size_t>(info.dims.begin(), info.dims.begin() + info.ndim)});
      });
    });
    return out;
  }

  template <std::size_t I>
  layer_type<I>& layer() { return std::get<I>(layers_); }
  T* parameter_data() { return params_.data(); }
  T* gradient_data() { return grads_.data(); }
  T* buffer_data() { return buffers_.data(); }
  Rng& rng() { return rng_; }

  // The output of the last forward().
  TensorView<out_shape, const T> output() const { return {activations_[depth - 1].data(), n_}; }

  // A torchsummary-like table: position, layer, output shape, parameter count.
  static std::string summary() {
    std::ostringstream s;
    s << "  #  layer       output shape     parameters\n";
    s << "  0  Input       " << shape_string<in_shape>() << "\n";
    for_each_layer_index([&](auto I) {
      using L = layer_type<I>;
      std::string name = L::kind_name;
      name.resize(12, ' ');
      std::string shape = shape_string<typename L::out_shape>();
      shape.resize(17, ' ');
      s << (I + 1 < 10 ? "  " : " ") << I + 1 << "  " << name << shape << L::param_count << "\n";
    });
    s << "  total parameters: " << param_count << "\n";
    return s.str();
  }

 private:
  template <class S>
  static std::string shape_string() {
    return std::to_string(S::channels) + "x" + std::to_string(S::height) + "x" + std::to_string(S::width);
  }

  template <std::size_t I>
  const T* layer_input() const {
    if constexpr (I == 0) return input_;
    else return activations_[I - 1].data();
  }

  // Whether layer I runs fused with layer I + 1 (e.g. BatchNorm then ReLU), and the converse.
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

  // dy: gradient at layer I's output; the input gradient goes to ping-pong slot `free`, the
  // slot that does not hold dy.
  template <std::size_t I>
  void backward_from(const T* dy, int free, bool want_input_grad) {
    constexpr std::size_t first = fused_into_previous<I>() ? I - 1 : I;  // the layer whose input we reach
    T* dx = nullptr;
    if constexpr (first == 0) {
      if (want_input_grad) dx = input_grad_.data();
    } else {
      dx = grad_ping_pong_[free].data();
    }
    if constexpr (fused_into_previous<I>()) {
      std::get<first>(layers_).backward_relu(layer_input<first>(), activations_[I].data(), dy, dx, n_);
    } else {
      std::get<I>(layers_).backward(layer_input<I>(), activations_[I].data(), dy, dx, n_, ctx_);
    }
    if constexpr (first > 0) backward_from<first - 1>(dx, 1 - free, want_input_grad);
  }

  layers_type layers_;
  AlignedBuffer<T> params_;
  AlignedBuffer<T> grads_;
  AlignedBuffer<T> buffers_;
  std::array<AlignedBuffer<T>, depth> activations_;
  std::array<AlignedBuffer<T>, 2> grad_ping_pong_;
  AlignedBuffer<T> input_grad_;
  const T* input_ = nullptr;
  std::size_t n_ = 0;
  Rng rng_;
  Context ctx_;
};

template <class InputSpec, class... Specs>
using Sequential = BasicSequential<float, InputSpec, Specs...>;

}  // namespace ctnn
