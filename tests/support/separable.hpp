// A synthetic problem every optimizer must solve: 4 classes, each lighting up its own quadrant
// (and colour channel) of the image under N(0, 0.5) noise; and the loop that trains a network
// on it (tests/unit/test_network.cpp, test_muon.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <ctnn/ctnn.hpp>

namespace ctnn::test {

template <std::size_t C, std::size_t H, std::size_t W>
void make_separable(Tensor<Shape<C, H, W>>& x, std::vector<std::int32_t>& labels, std::size_t n, Rng& rng) {
  x.resize(n);
  labels.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto label = static_cast<std::int32_t>(rng.below(4));
    labels[i] = label;
    for (std::size_t c = 0; c < C; ++c)
      for (std::size_t h = 0; h < H; ++h)
        for (std::size_t w = 0; w < W; ++w) {
          const bool lit = (h / (H / 2)) * 2 + (w / (W / 2)) == static_cast<std::size_t>(label) &&
                           c == static_cast<std::size_t>(label) % C;
          x(i, c, h, w) = static_cast<float>(0.5 * rng.normal() + (lit ? 1.0 : 0.0));
        }
  }
}

struct Learned {
  double first_loss, last_loss, held_out_loss;
  std::size_t held_out_correct, held_out;
};

// `steps` training steps on fresh batches of 32, then the eval-mode loss on 200 new images.
template <class Net, class Optimizer>
Learned learn_separable(Net& net, Optimizer& opt, Rng& rng, int steps = 60) {
  Tensor<typename Net::in_shape> x;
  std::vector<std::int32_t> labels;
  CrossEntropyLoss<typename Net::out_shape> loss;
  Learned r{0, 0, 0, 0, 200};
  for (int step = 0; step < steps; ++step) {
    make_separable(x, labels, 32, rng);
    net.train();
    loss(net.forward(x), labels);
    if (step == 0) r.first_loss = loss.value();
    r.last_loss = loss.value();
    net.backward(loss.grad());
    opt.step();
    opt.zero_grad();
  }
  make_separable(x, labels, r.held_out, rng);
  net.eval();
  loss(net.forward(x), labels);
  r.held_out_loss = loss.value();
  r.held_out_correct = loss.correct();
  return r;
}

}  // namespace ctnn::test
