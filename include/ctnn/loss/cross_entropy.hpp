#pragma once
// cross_entropy: torch.nn.functional.cross_entropy with mean reduction and optional label
// smoothing. Log-softmax is fused (max-shifted) so large logits neither overflow nor lose the
// gradient; the gradient with respect to the logits comes out of the same pass (the kernel is
// in ctnn/kernels/cross_entropy.hpp).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "ctnn/core/tensor.hpp"
#include "ctnn/kernels/cross_entropy.hpp"

namespace ctnn {

struct CrossEntropyOptions {
  double label_smoothing = 0.0;
};


// Reusable loss: its gradient buffer is allocated once per batch size, so a training loop that
// keeps one CrossEntropyLoss does no allocation per step.
template <class S, class T = float>
class CrossEntropyLoss {
 public:
  explicit CrossEntropyLoss(CrossEntropyOptions options = {}) : options_(options) {
    if (!(options.label_smoothing >= 0.0 && options.label_smoothing <= 1.0))
      throw std::invalid_argument("cross_entropy: label_smoothing must be in [0, 1], got " +
                                  std::to_string(options.label_smoothing));
  }

  // Returns the mean loss; grad() then holds d(loss)/d(logits).
  double operator()(TensorView<S, const T> logits, std::span<const std::int32_t> labels) {
    if (labels.size() != logits.batch())
      throw std::invalid_argument("cross_entropy: " + std::to_string(logits.batch()) + " rows of logits but " +
                                  std::to_string(labels.size()) + " labels");
    for (std::size_t i = 0; i < labels.size(); ++i)
      if (labels[i] < 0 || static_cast<std::size_t>(labels[i]) >= S::size)
        throw std::out_of_range("cross_entropy: label " + std::to_string(labels[i]) + " at index " + std::to_string(i) +
                                " is outside [0, " + std::to_string(S::size) + ")");
    grad_.resize(logits.batch());
    value_ = kernels::cross_entropy(logits.data(), labels.data(), logits.batch(), S::size, options_.label_smoothing,
                                    grad_.data(), &correct_);
    return value_;
  }

  double value() const { return value_; }
  std::size_t correct() const { return correct_; }
  TensorView<S, const T> grad() const { return {grad_.data(), grad_.batch()}; }
  const CrossEntropyOptions& options() const { return options_; }

 private:
  CrossEntropyOptions options_;
  Tensor<S, T> grad_;
  double value_ = 0;
  std::size_t correct_ = 0;
};

// One-shot form, as in PyTorch: auto loss = cross_entropy(logits, labels); loss.value(); loss.grad().
template <class S, class T>
CrossEntropyLoss<S, std::remove_const_t<T>> cross_entropy(TensorView<S, T> logits, std::span<const std::int32_t> labels,
                                                          CrossEntropyOptions options = {}) {
  CrossEntropyLoss<S, std::remove_const_t<T>> loss(options);
  loss(logits, labels);
  return loss;
}

}  // namespace ctnn
