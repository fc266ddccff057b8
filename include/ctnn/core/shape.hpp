#pragma once
// Per-sample shapes are types; the batch size is the only run-time dimension.
#include <concepts>
#include <cstddef>

namespace ctnn {

// One sample laid out as C x H x W (NCHW batches: see core/tensor.hpp for why).
template <std::size_t C, std::size_t H, std::size_t W>
struct Shape {
  static constexpr std::size_t channels = C;
  static constexpr std::size_t height = H;
  static constexpr std::size_t width = W;
  static constexpr std::size_t plane = H * W;
  static constexpr std::size_t size = C * H * W;
};

template <class S>
concept SampleShape = requires {
  { S::channels } -> std::convertible_to<std::size_t>;
  { S::height } -> std::convertible_to<std::size_t>;
  { S::width } -> std::convertible_to<std::size_t>;
} && S::size == S::channels * S::height * S::width && (S::size > 0);

// The first element of a Sequential: the shape of one input sample.
template <std::size_t C, std::size_t H, std::size_t W = H>
struct Input {
  static_assert(C > 0 && H > 0 && W > 0, "ctnn::Input<C, H, W>: every dimension must be positive");
  using shape = Shape<C, H, W>;
};

// Output size of a sliding window (PyTorch's floor mode).
constexpr std::size_t window_out(std::size_t in, std::size_t k, std::size_t stride, std::size_t pad) {
  return (in + 2 * pad < k) ? 0 : (in + 2 * pad - k) / stride + 1;
}

}  // namespace ctnn
