#pragma once
// Sample transforms for float tensors (a TensorDataset): float CHW in, float CHW out, the
// counterpart of torchvision's transforms on tensors.
//
//   auto tf = data::tensor_compose<Shape<3, 32, 32>>(
//       data::RandomCrop<32, 32, 4>{}, data::RandomHorizontalFlip{},
//       data::Normalize<3>{{0.5f, 0.5f, 0.5f}, {0.25f, 0.25f, 0.25f}}, data::Cutout{8});
//   data::DataLoader loader(tensor_set, tf, {.batch_size = 128, .shuffle = true, .seed = 1});
//
// Any ops, in any order, each applied to the previous one's output:
//   Pad<P>, CenterCrop<H, W>, RandomCrop<H, W, P, Mode>   geometric ops of data/transforms.hpp,
//   RandomHorizontalFlip{p}, AlternatingFlip{}             on floats (constant padding: `fill`)
//   Normalize<C>{mean, std}                                (x - mean[c]) / std[c] in float32, as
//                                                          torchvision's Normalize on a tensor
//   Cutout{size, fill}                                     as in the uint8 pipeline
// There is no ToTensor (the data already is float) and no Resize (Pillow's filter is defined on
// 8-bit images; resize before building the data set). The random ops draw from the Rng exactly
// as in the uint8 pipeline: the same seed gives the same crops, flips and cutouts.
// Like Compose, a const, stateless function object; intermediate samples live on the stack
// (meant for small samples: a 3 x 224 x 224 float sample is 600 KB per op).
#include <algorithm>
#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

#include "ctnn/core/random.hpp"
#include "ctnn/core/shape.hpp"
#include "ctnn/data/transforms.hpp"

namespace ctnn::data {

namespace detail {
template <class In, class... Ops>
struct TensorChain {
  using output_shape = In;
};
template <class In, class Op, class... Rest>
struct TensorChain<In, Op, Rest...> {
  using next = decltype([] {
    if constexpr (is_normalize<Op>::value || tensor_op<Op>) return In{};
    else return typename Op::template output_shape<In>{};
  }());
  using output_shape = typename TensorChain<next, Rest...>::output_shape;
};
}  // namespace detail

template <SampleShape In, class... Ops>
class TensorCompose {
  static_assert(((!std::is_same_v<Ops, ToTensor>) && ...),
                "ctnn::data::tensor_compose: the samples are float already: no ToTensor");
  using OpsTuple = std::tuple<Ops...>;
  template <class Op>
  static constexpr bool op_random() {
    if constexpr (detail::is_normalize<Op>::value) return false;
    else return Op::random;
  }

 public:
  using input_shape = In;
  using input_value_type = float;
  using output_shape = typename detail::TensorChain<In, Ops...>::output_shape;
  static constexpr bool random = (op_random<Ops>() || ... || false);
  static constexpr bool uses_sample_info = (detail::uses_sample_info<Ops> || ... || false);

  explicit TensorCompose(Ops... ops) : ops_(std::move(ops)...) {}

  void operator()(const float* src, float* dst, Rng& rng, const SampleInfo& info) const noexcept {
    run<0, In>(src, dst, rng, info);
  }
  void operator()(const float* src, float* dst, Rng& rng) const noexcept {
    static_assert(!uses_sample_info,
                  "ctnn::data::TensorCompose: AlternatingFlip needs a SampleInfo{epoch, image_seed} (DataLoader passes it)");
    run<0, In>(src, dst, rng, SampleInfo{});
  }

 private:
  template <std::size_t I, class S>
  void run(const float* src, float* dst, Rng& rng, const SampleInfo& info) const noexcept {
    if constexpr (I == sizeof...(Ops)) {
      std::copy_n(src, S::size, dst);
    } else {
      using Op = std::tuple_element_t<I, OpsTuple>;
      const Op& op = std::get<I>(ops_);
      if constexpr (detail::is_normalize<Op>::value) {
        static_assert(std::tuple_size_v<decltype(op.mean)> == S::channels,
                      "ctnn::data::Normalize: mean/std must have one entry per channel");
        alignas(64) float buf[S::size];
        for (std::size_t c = 0; c < S::channels; ++c)
          for (std::size_t i = 0; i < S::plane; ++i) buf[c * S::plane + i] = (src[c * S::plane + i] - op.mean[c]) / op.std[c];
        run<I + 1, S>(buf, dst, rng, info);
      } else if constexpr (detail::tensor_op<Op>) {
        alignas(64) float buf[S::size];
        std::copy_n(src, S::size, buf);
        op.template apply<S>(buf, rng);
        run<I + 1, S>(buf, dst, rng, info);
      } else {
        using Out = typename Op::template output_shape<S>;
        alignas(64) float buf[Out::size];
        if constexpr (detail::uses_sample_info<Op>) op.template apply<S>(src, buf, rng, info);
        else op.template apply<S>(src, buf, rng);
        run<I + 1, Out>(buf, dst, rng, info);
      }
    }
  }

  OpsTuple ops_;
};

// Builds a float pipeline for samples of shape In: tensor_compose<Shape<3, 32, 32>>(ops...).
template <SampleShape In, class... Ops>
TensorCompose<In, std::decay_t<Ops>...> tensor_compose(Ops&&... ops) {
  return TensorCompose<In, std::decay_t<Ops>...>(std::forward<Ops>(ops)...);
}

}  // namespace ctnn::data
