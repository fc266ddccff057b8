// The inference plan (eval mode with gradients off, layers/chain.hpp): a BatchNorm folded into the
// Conv before it, with a following ReLU and 2x2 max pool in the same pass, gives what the
// layer-by-layer eval forward gives, up to rounding; NoGrad scopes it; a backward after it is refused.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>
#include <vector>

#include <ctnn/ctnn.hpp>

using namespace ctnn;

namespace {

using SeedNet = Sequential<Input<3, 32, 32>, Conv<3, 16, 5>, BatchNorm, ReLU, MaxPool<2>, Conv<16, 32, 5>, BatchNorm,
                           ReLU, MaxPool<2>, Linear<10>>;
// Every kind of span: Conv+BN+ReLU+MaxPool on an odd plane (13 -> 6), Conv+BN (then GELU), a grouped
// Conv+BN+ReLU, a residual block of Conv+BN+ReLU and Conv (no bias)+BN, BN+ReLU without a Conv, a
// pointwise Conv+MaxPool (airbench's order) on 6x6 planes (several samples per GEMM), a lone
// BatchNorm, and a grouped Conv+ReLU+MaxPool (pooled through the staging buffer).
using MixedNet = Sequential<Input<3, 13, 13>, Conv<3, 8, 3>, BatchNorm, ReLU, MaxPool<2>, Conv<8, 8, 3>, BatchNorm,
                            GELU, Conv<8, 8, 3, 1, 1, 4>, BatchNorm, ReLU,
                            Residual<Conv<8, 8, 3>, BatchNorm, ReLU, Conv<8, 8, 3, 1, 1, 1, false>, BatchNorm>,
                            BatchNorm, ReLU, Conv<8, 16, 1, 1, 0>, MaxPool<2>, BatchNorm, Conv<16, 16, 3, 1, 1, 4>,
                            ReLU, MaxPool<2>, Flatten, Linear<5>>;

static_assert(SeedNet::inference_spans == std::array<std::size_t, 9>{4, 0, 0, 0, 4, 0, 0, 0, 1});
static_assert(MixedNet::inference_spans ==
              std::array<std::size_t, 21>{4, 0, 0, 0, 2, 0, 1, 3, 0, 0, 1, 2, 0, 2, 0, 1, 3, 0, 0, 1, 1});

// Running statistics, BatchNorm weights and biases away from their initial 1 and 0, so that a
// fold that dropped any of them would show.
template <class Net>
void randomise_batchnorm(Net& net, std::uint64_t seed) {
  Rng rng(seed);
  for (auto& b : net.buffers())
    for (std::size_t i = 0; i < b.size; ++i)
      b.value[i] = b.kind == ParamKind::running_var ? static_cast<float>(rng.uniform(0.3, 2.5))
                                                    : static_cast<float>(rng.uniform(-0.7, 0.7));
  for (auto& p : net.parameters())
    if (p.kind == ParamKind::norm_weight || p.kind == ParamKind::norm_bias)
      for (std::size_t i = 0; i < p.size; ++i)
        p.value[i] = static_cast<float>(p.kind == ParamKind::norm_weight ? rng.uniform(-1.5, 1.5) : rng.uniform(-0.5, 0.5));
}

template <class Net>
Tensor<typename Net::in_shape> random_input(std::size_t n, std::uint64_t seed) {
  Tensor<typename Net::in_shape> x(n);
  Rng rng(seed);
  for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(rng.uniform(-2.0, 2.0));
  return x;
}

// max |a - b| over max |b|: the error of the fold relative to the outputs' scale.
template <class Net>
double folded_error(Net& net, const Tensor<typename Net::in_shape>& x) {
  net.eval();
  const auto reference = net.forward(x);
  const std::vector<float> ref(reference.data(), reference.data() + reference.size());
  double scale = 0, err = 0;
  {
    NoGrad no_grad(net);
    const auto y = net.forward(x);
    for (std::size_t i = 0; i < ref.size(); ++i) {
      scale = std::max(scale, std::abs(static_cast<double>(ref[i])));
      err = std::max(err, std::abs(static_cast<double>(y.data()[i]) - ref[i]));
    }
  }
  REQUIRE(scale > 0);
  return err / scale;
}

}  // namespace

// The bound: the fused pass computes scale * (W * col + bias) + shift, as the layer-by-layer path does,
// with the GEMM accumulating onto the bias instead of adding it after; the max pool and the ReLU are
// exact. Measured 0 here (g++ 12, Zen 2); 1e-5 leaves room for another GEMM blocking or FMA
// contraction and stays far below what dropping a scale, a shift, the ReLU or the pool gives (1e-3 to 1).
TEST_CASE("inference plan: Conv + BatchNorm + ReLU + MaxPool in one pass matches the eval forward (seed network, batch 1 and 37)") {
  SeedNet net(3);
  randomise_batchnorm(net, 4);
  for (std::size_t n : {1, 37}) CHECK(folded_error(net, random_input<SeedNet>(n, 5 + n)) < 1e-5);
}

TEST_CASE("inference plan: every span kind, im2col, grouped and Winograd, matches the eval forward") {
  MixedNet net(6);
  randomise_batchnorm(net, 7);
  const auto x = random_input<MixedNet>(9, 8);
  CHECK(folded_error(net, x) < 1e-5);
  // The first conv (pooled through the staging buffer) and the block's by Winograd on both paths.
  net.layer<0>().set_algorithm(ConvAlgorithm::winograd_f2);
  net.layer<10>().template layer<0>().set_algorithm(ConvAlgorithm::winograd_f4);
  net.layer<10>().template layer<3>().set_algorithm(ConvAlgorithm::winograd_f4);
  CHECK(folded_error(net, x) < 1e-5);
}

TEST_CASE("inference plan: NoGrad restores the setting; train mode and gradients keep the layer-by-layer path") {
  SeedNet net(9);
  randomise_batchnorm(net, 10);
  const auto x = random_input<SeedNet>(4, 11);
  CHECK(net.grad_enabled());
  {
    NoGrad outer(net);
    CHECK_FALSE(net.grad_enabled());
    {
      NoGrad inner(net);
      CHECK_FALSE(net.grad_enabled());
    }
    CHECK_FALSE(net.grad_enabled());
  }
  CHECK(net.grad_enabled());
  // Without gradients a backward is refused, in eval and in train mode alike.
  Tensor<SeedNet::out_shape> dy(4);
  for (auto mode : {Mode::eval, Mode::train}) {
    mode == Mode::eval ? net.eval() : net.train();
    net.set_grad_enabled(false);
    net.forward(x);
    CHECK_THROWS_AS(net.backward(dy), std::logic_error);
    net.set_grad_enabled(true);
    net.forward(x);
    CHECK_NOTHROW(net.backward(dy));
  }
}
