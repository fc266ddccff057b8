#pragma once
// Sequential<Input<C, H, W>, Layers...>: layers stored by value in one std::tuple, each bound to
// the shape the previous one produces (the Chain in layers/chain.hpp); parameters and gradients
// in one arena each (one allocation per network, and optimizers walk them as plain arrays).
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "ctnn/core/aligned_buffer.hpp"
#include "ctnn/core/parameter.hpp"
#include "ctnn/core/random.hpp"
#include "ctnn/core/shape.hpp"
#include "ctnn/core/tensor.hpp"
#include "ctnn/layers/chain.hpp"
#include "ctnn/layers/layer.hpp"

namespace ctnn {

namespace detail {
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
  using Body = std::conditional_t<detail::is_input<InputSpec>::value,
                                  Chain<T, typename detail::input_shape<InputSpec>::type, 1, 1, Specs...>,
                                  Chain<T, Shape<1, 1, 1>, 1, 1>>;

 public:
  using scalar = T;
  using layers_type = typename Body::layers_type;
  using in_shape = typename detail::input_shape<InputSpec>::type;
  using out_shape = typename Body::out_shape;
  using input_tensor = Tensor<in_shape, T>;
  using output_tensor = Tensor<out_shape, T>;
  static constexpr std::size_t depth = Body::depth;

  template <std::size_t I>
  using layer_type = typename Body::template layer_type<I>;

  static constexpr auto param_offsets = Body::param_offsets;
  static constexpr auto buffer_offsets = Body::buffer_offsets;
  // sample sizes at each boundary: [0] is the input, [i + 1] the output of layer i
  static constexpr auto boundary_sizes = Body::boundary_sizes;
  static constexpr std::size_t param_count = Body::param_count;
  static constexpr std::size_t buffer_count = Body::buffer_count;
  // The inference plan (eval mode, gradients off): inference_spans[i] layers from layer i run as one
  // pass, 0 for a layer inside an earlier span (layers/chain.hpp).
  static constexpr auto inference_spans = Body::infer_spans;

  explicit BasicSequential(std::uint64_t seed = 0) : rng_(seed) {
    params_.resize(param_count);
    grads_.resize(param_count);
    buffers_.resize(buffer_count);
    body_.attach(params_.data(), grads_.data(), buffers_.data());
    reset_parameters(seed);
  }
  BasicSequential(const BasicSequential&) = delete;
  BasicSequential& operator=(const BasicSequential&) = delete;
  BasicSequential(BasicSequential&&) noexcept = default;  // arenas move by pointer: layers stay attached
  BasicSequential& operator=(BasicSequential&&) noexcept = default;

  // Re-initialises every parameter as PyTorch's default init would, from `seed`.
  void reset_parameters(std::uint64_t seed) {
    Rng init(seed);
    body_.reset_parameters(init);
    rng_.reseed(seed ^ 0xD1B54A32D192ED03ull);
    grads_.zero();
  }

  void train() { ctx_.mode = Mode::train; }
  void eval() { ctx_.mode = Mode::eval; }
  Mode mode() const { return ctx_.mode; }
  bool training() const { return ctx_.mode == Mode::train; }
  // torch.set_grad_enabled: with gradients off, no backward() may follow a forward(), and in eval
  // mode forward() runs the inference plan (layers/chain.hpp: a BatchNorm folded into the Conv
  // before it, a ReLU after them in the same pass). NoGrad (layers/no_grad.hpp) turns them off
  // for a scope, as `with torch.no_grad():` does. On by default.
  void set_grad_enabled(bool on) { ctx_.grad = on; }
  bool grad_enabled() const { return ctx_.grad; }
  // The precision of the conv and linear GEMMs (core/precision.hpp): fp32 (the default) or bf16
  // (bf16 inputs, fp32 accumulation; parameters, gradients, BatchNorm and the loss stay fp32).
  void set_precision(Precision p) { ctx_.precision = p; }
  Precision precision() const { return ctx_.precision; }
  // SyncBatchNorm (layers/batchnorm.hpp): every BatchNorm in train mode shares its statistics
  // through `sync` (null: each process normalises its own batch, the default).
  void set_batchnorm_sync(BatchNormSync* sync) { ctx_.batchnorm_sync = sync; }
  // Called during backward() as each layer's parameter gradients become final (layers/chain.hpp).
  void set_gradient_hook(GradientHook hook) { body_.set_gradient_hook(hook); }
  // Freezes the first `layers` layers for the backward, as `requires_grad_(False)` on all their
  // parameters does in PyTorch when the input needs no gradient: backward() stops at layer
  // `layers`, which gets no input gradient, so the frozen layers' parameter gradients are not
  // computed (they keep their values: zero after zero_grad()). The forward is unchanged. A
  // backward that asks for the input gradient goes through every layer regardless. 0 (the
  // default) freezes nothing; more than depth is std::invalid_argument.
  void set_frozen_prefix(std::size_t layers) { body_.set_frozen_prefix(layers); }
  std::size_t frozen_prefix() const { return body_.frozen_prefix(); }
  // The index of the first layer after layer `after` that has parameters (depth if none): the
  // prefix to freeze when the parameters of layers [0, after] stop training.
  static constexpr std::size_t next_layer_with_parameters(std::size_t after) {
    for (std::size_t i = after + 1; i < depth; ++i)
      if (param_offsets[i + 1] > param_offsets[i]) return i;
    return depth;
  }

  // x: [N, in_shape]. The input must stay alive and unchanged until backward() has run.
  TensorView<out_shape, const T> forward(TensorView<in_shape, const T> x) {
    ctx_.rng = &rng_;
    forward_without_grad_ = !ctx_.grad;
    return {body_.forward(x.data(), x.batch(), ctx_), x.batch()};
  }

  // dy: d(loss)/d(output of the last forward), [N, out_shape]. Accumulates into the parameter
  // gradients (call zero_grad() between steps, as in PyTorch). Returns d(loss)/d(input) when
  // want_input_grad is true, else an empty view (the first layer then skips that work).
  TensorView<in_shape, const T> backward(TensorView<out_shape, const T> dy, bool want_input_grad = false) {
    if (forward_without_grad_)
      throw std::logic_error("ctnn::Sequential::backward: the last forward() ran with gradients off "
                             "(set_grad_enabled(false) or a NoGrad scope), so there is nothing to differentiate; "
                             "run forward() again with gradients on");
    ctx_.rng = &rng_;
    const std::size_t n = body_.batch();
    if (want_input_grad && input_grad_.size() < n * in_shape::size) input_grad_.resize(n * in_shape::size);
    body_.backward(dy.data(), want_input_grad ? input_grad_.data() : nullptr, ctx_);
    if (!want_input_grad) return {};
    return {input_grad_.data(), n};
  }

  void zero_grad() { grads_.zero(); }

  // Named like a PyTorch nn.Sequential's state_dict: "<layer index>.<tensor>" (blocks nest,
  // e.g. "3.1.weight" for the second layer inside the block at index 3).
  Parameters<T> parameters() {
    Parameters<T> out;
    Body::describe([&](const TensorInfo& info) {
      out.push_back(ParamRef<T>{info.name, info.kind, params_.data() + info.offset, grads_.data() + info.offset,
                                info.size, std::vector<std::size_t>(info.dims.begin(), info.dims.begin() + info.ndim)});
    });
    return out;
  }

  std::vector<BufferRef<T>> buffers() {
    std::vector<BufferRef<T>> out;
    Body::describe_buffers([&](const TensorInfo& info) {
      out.push_back(BufferRef<T>{info.name, buffers_.data() + info.offset, info.size,
                                 std::vector<std::size_t>(info.dims.begin(), info.dims.begin() + info.ndim), info.kind});
    });
    return out;
  }

  template <std::size_t I>
  layer_type<I>& layer() { return body_.template layer<I>(); }
  T* parameter_data() { return params_.data(); }
  T* gradient_data() { return grads_.data(); }
  T* buffer_data() { return buffers_.data(); }
  Rng& rng() { return rng_; }

  // The output of the last forward().
  TensorView<out_shape, const T> output() const { return {body_.output(), body_.batch()}; }

  // A torchsummary-like table: position, layer, output shape, parameter count.
  static std::string summary() {
    std::ostringstream s;
    s << "  #  layer         output shape     parameters\n";
    s << "  0  Input         " << shape_string<in_shape>() << "\n";
    Body::for_each_layer_index([&](auto I) {
      using L = layer_type<I>;
      std::string name = L::kind_name;
      name.resize(14, ' ');
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

  Body body_;
  AlignedBuffer<T> params_;
  AlignedBuffer<T> grads_;
  AlignedBuffer<T> buffers_;
  AlignedBuffer<T> input_grad_;
  Rng rng_;
  Context ctx_;
  bool forward_without_grad_ = false;  // the last forward() ran with gradients off
};

template <class InputSpec, class... Specs>
using Sequential = BasicSequential<float, InputSpec, Specs...>;

}  // namespace ctnn
