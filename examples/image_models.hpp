#pragma once
// train_images' networks: one VGG-style template for any square input size S (32, 64, 128)
// and a head of K outputs (10 or 100; a folder of fewer classes pins the spare outputs, see
// pin_spare_outputs). The first pooling adapts to the input: MaxPool<S / 16> brings every size to
// 16 x 16, so the rest of the network (and its cost) is the same for all sizes; then two
// conv-pool blocks (8 x 8, 4 x 4), a last conv, global average pooling and Linear<K>.
#include <cstddef>
#include <string>
#include <vector>

#include <ctnn/ctnn.hpp>

namespace image_presets {

using namespace ctnn;

template <std::size_t W, std::size_t S, std::size_t K>
using ConvNet = Sequential<Input<3, S, S>,                                                //
                           Conv<3, W, 3>, BatchNorm, ReLU, MaxPool<S / 16>,               // 16 x 16
                           Conv<W, 2 * W, 3>, BatchNorm, ReLU, MaxPool<2>,                // 8 x 8
                           Conv<2 * W, 4 * W, 3>, BatchNorm, ReLU, MaxPool<2>,            // 4 x 4
                           Conv<4 * W, 8 * W, 3>, BatchNorm, ReLU, GlobalAvgPool,         //
                           Linear<K>>;

// small: 32-64-128-256 channels, 15 M multiply-adds per image (+ 0.9 M per 32x32 of input
// area for the first conv); medium: twice as wide, 4x the cost.
template <std::size_t S, std::size_t K>
using Small = ConvNet<32, S, K>;
template <std::size_t S, std::size_t K>
using Medium = ConvNet<64, S, K>;

inline constexpr std::size_t kSpareLogit = 10000;  // spare outputs give -1e4: never chosen, softmax 0

// The model name in the file: "images-small-64-10" (model, input size, head outputs).
inline std::string model_name(const std::string& model, std::size_t input, std::size_t head) {
  return "images-" + model + "-" + std::to_string(input) + "-" + std::to_string(head);
}

// A folder of `classes` < K classes trains a K-output head whose outputs classes..K-1 are pinned
// to weight 0 and bias -1e4 (called after every optimizer step): their logit is -1e4, its softmax
// weight is exactly 0 in float, so the loss, every gradient and every prediction are exactly
// those of a network with `classes` outputs. (Label smoothing would spread over the spare outputs
// too, so train_images refuses it then.)
template <class Net>
void pin_spare_outputs(Net& net, std::size_t classes) {
  constexpr std::size_t K = Net::out_shape::size;
  if (classes >= K) return;
  auto params = net.parameters();
  auto& bias = params[params.size() - 1];
  auto& weight = params[params.size() - 2];
  const std::size_t in = weight.size / K;
  for (std::size_t k = classes; k < K; ++k) {
    for (std::size_t j = 0; j < in; ++j) weight.value[k * in + j] = 0.0f;
    bias.value[k] = -static_cast<float>(kSpareLogit);
  }
}

// The class names of a K-output head: the folder's, then "(spare N)".
inline std::vector<std::string> head_names(std::vector<std::string> names, std::size_t K) {
  for (std::size_t k = names.size(); k < K; ++k) names.push_back("(spare " + std::to_string(k) + ")");
  return names;
}

}  // namespace image_presets
