// Whole-network behaviour: shape inference, seeding, train/eval, learning a separable problem.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include <ctnn/ctnn.hpp>

#include "support/separable.hpp"

using namespace ctnn;

using SeedNet = Sequential<Input<3, 32, 32>, Conv<3, 16, 5>, BatchNorm, ReLU, MaxPool<2>, Conv<16, 32, 5>, BatchNorm,
                           ReLU, MaxPool<2>, Linear<10>>;

// Shapes are computed at compile time from the hyper-parameters alone.
static_assert(std::is_same_v<SeedNet::out_shape, Shape<10, 1, 1>>);
static_assert(std::is_same_v<SeedNet::layer_type<3>::out_shape, Shape<16, 16, 16>>);
static_assert(std::is_same_v<SeedNet::layer_type<7>::out_shape, Shape<32, 8, 8>>);
static_assert(SeedNet::param_count == (16 * 3 * 25 + 16) + 32 + (32 * 16 * 25 + 32) + 64 + (10 * 2048 + 10));
static_assert(std::is_same_v<Sequential<Input<3, 11, 10>, Conv<3, 5, 5, 2, 0>>::out_shape, Shape<5, 4, 3>>);
static_assert(std::is_same_v<Sequential<Input<5, 10, 10>, Conv<5, 4, 4, 2, 1>>::out_shape, Shape<4, 5, 5>>);
static_assert(std::is_same_v<Sequential<Input<2, 9, 8>, MaxPool<3, 2>>::out_shape, Shape<2, 4, 3>>);
static_assert(std::is_same_v<Sequential<Input<2, 7, 7>, AvgPool<2>>::out_shape, Shape<2, 3, 3>>);
static_assert(std::is_same_v<Sequential<Input<2, 3, 4>, Flatten>::out_shape, Shape<24, 1, 1>>);

TEST_CASE("network: parameters are named like a torch.nn.Sequential state_dict, with PyTorch shapes") {
  SeedNet net(1);
  auto params = net.parameters();
  REQUIRE(params.size() == 10);
  CHECK(params[0].name == "0.weight");
  CHECK(params[0].dims == std::vector<std::size_t>{16, 3, 5, 5});
  CHECK(params[1].name == "0.bias");
  CHECK(params[2].name == "1.weight");
  CHECK(params[2].kind == ParamKind::norm_weight);
  CHECK(params[8].name == "8.weight");
  CHECK(params[8].dims == std::vector<std::size_t>{10, 2048});
  auto buffers = net.buffers();
  REQUIRE(buffers.size() == 4);
  CHECK(buffers[1].name == "1.running_var");
  CHECK(buffers[1].value[0] == 1.0f);
}

TEST_CASE("network: default init follows PyTorch's bounds and the seed") {
  SeedNet a(42), b(42), c(43);
  auto pa = a.parameters(), pb = b.parameters(), pc = c.parameters();
  bool same = true, differs = false;
  for (std::size_t i = 0; i < pa.size(); ++i)
    for (std::size_t j = 0; j < pa[i].size; ++j) {
      same &= pa[i].value[j] == pb[i].value[j];
      differs |= pa[i].value[j] != pc[i].value[j];
    }
  CHECK(same);
  CHECK(differs);
  // conv1: fan_in 75 -> U(-1/sqrt(75), 1/sqrt(75)); uniform => max close to the bound, mean ~0
  const float bound = 1.0f / std::sqrt(75.0f);
  float mx = 0, sum = 0;
  for (std::size_t j = 0; j < pa[0].size; ++j) {
    mx = std::max(mx, std::abs(pa[0].value[j]));
    sum += pa[0].value[j];
  }
  CHECK(mx <= bound);
  CHECK(mx > 0.95f * bound);
  CHECK(std::abs(sum / pa[0].size) < 0.02f);
  for (std::size_t j = 0; j < 16; ++j) {
    CHECK(pa[2].value[j] == 1.0f);   // BN weight
    CHECK(pa[3].value[j] == 0.0f);   // BN bias
  }
}

TEST_CASE("network: batch size is a run-time value, and eval mode is deterministic") {
  SeedNet net(3);
  Rng rng(5);
  for (std::size_t n : {1u, 7u, 32u, 5u}) {
    Tensor<Shape<3, 32, 32>> x(n);
    for (auto& v : x.span()) v = static_cast<float>(rng.normal());
    net.eval();
    auto y1 = net.forward(x);
    std::vector<float> first(y1.data(), y1.data() + y1.size());
    CHECK(y1.batch() == n);
    auto y2 = net.forward(x);
    CHECK(std::equal(first.begin(), first.end(), y2.data()));
    // A sample's eval output does not depend on the rest of the batch.
    Tensor<Shape<3, 32, 32>> one(1);
    std::copy(x.sample(n - 1), x.sample(n - 1) + x.sample_size, one.data());
    auto y3 = net.forward(one);
    for (std::size_t k = 0; k < 10; ++k) CHECK(y3[k] == doctest::Approx(first[(n - 1) * 10 + k]).epsilon(1e-5));
  }
}

TEST_CASE("network: the seed network learns a separable problem to 100 %") {
  SeedNet net(0);
  Adam opt{net.parameters(), {.lr = 1e-3}};
  Rng rng(9);
  const auto r = test::learn_separable(net, opt, rng);
  INFO("first loss " << r.first_loss << ", last train loss " << r.last_loss << ", held-out loss " << r.held_out_loss);
  CHECK(r.last_loss < 0.2 * r.first_loss);
  CHECK(r.held_out_correct == 200);
}

TEST_CASE("network: the same seed and data give bit-identical training") {
  auto run = [] {
    SeedNet net(5);
    SGD opt{net.parameters(), {.lr = 0.05, .momentum = 0.9}};
    Rng rng(2);
    Tensor<Shape<3, 32, 32>> x;
    std::vector<std::int32_t> labels;
    CrossEntropyLoss<Shape<10, 1, 1>> loss;
    for (int step = 0; step < 3; ++step) {
      test::make_separable(x, labels, 16, rng);
      loss(net.forward(x), labels);
      net.backward(loss.grad());
      opt.step();
      opt.zero_grad();
    }
    auto p = net.parameters();
    return std::vector<float>(p[0].value, p[0].value + p[0].size);
  };
  CHECK(run() == run());
}

TEST_CASE("dropout: identity in eval, inverted scaling in train, reproducible from the seed") {
  using Net = Sequential<Input<4, 16, 16>, Dropout<0.25>>;
  Net net(1);
  Tensor<Shape<4, 16, 16>> x(8);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = 1.0f + static_cast<float>(i % 7);
  net.eval();
  auto y = net.forward(x);
  CHECK(std::equal(x.data(), x.data() + x.size(), y.data()));
  net.train();
  y = net.forward(x);
  std::size_t zeros = 0;
  bool scaled = true;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (y[i] == 0.0f) ++zeros;
    else scaled &= std::abs(y[i] - x[i] / 0.75f) < 1e-5f;
  }
  CHECK(scaled);
  const double frac = static_cast<double>(zeros) / static_cast<double>(x.size());
  CHECK(frac > 0.22);
  CHECK(frac < 0.28);
  // backward routes the gradient through the same mask
  Tensor<Shape<4, 16, 16>> dy(8);
  for (auto& v : dy.span()) v = 1.0f;
  std::vector<float> out(y.data(), y.data() + y.size());
  auto dx = net.backward(dy, true);
  for (std::size_t i = 0; i < x.size(); ++i) CHECK((dx[i] == 0.0f) == (out[i] == 0.0f));
  Net again(1);
  again.train();
  auto y2 = again.forward(x);
  CHECK(std::equal(out.begin(), out.end(), y2.data()));
}

TEST_CASE("cross_entropy: rejects mismatched or out-of-range labels with a clear message") {
  Tensor<Shape<10, 1, 1>> logits(2);
  std::vector<std::int32_t> bad{1, 10};
  CHECK_THROWS_WITH_AS(cross_entropy(TensorView<Shape<10, 1, 1>, const float>(logits), bad),
                       doctest::Contains("label 10 at index 1 is outside [0, 10)"), std::out_of_range);
  std::vector<std::int32_t> short_labels{1};
  CHECK_THROWS_AS(cross_entropy(TensorView<Shape<10, 1, 1>, const float>(logits), short_labels), std::invalid_argument);
}

TEST_CASE("optimizers: reject invalid options as torch.optim does") {
  SeedNet net(1);
  CHECK_THROWS_AS(SGD(net.parameters(), {.lr = 0.1, .nesterov = true}), std::invalid_argument);
  CHECK_THROWS_AS(Adam(net.parameters(), {.beta1 = 1.0}), std::invalid_argument);
  CHECK_THROWS_AS(AdamW(net.parameters(), {.lr = -1}), std::invalid_argument);
}

TEST_CASE("threads: the count can be set by the program") {
  const int before = num_threads();
  set_num_threads(1);
  CHECK(num_threads() == 1);
  set_num_threads(before);
  CHECK(num_threads() == before);
}

TEST_CASE("maxpool: NaN propagates and ties pick the first maximum, in the 2x2 fast path and the general path") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  {
    Sequential<Input<1, 2, 4>, MaxPool<2>> net(0);
    Tensor<Shape<1, 2, 4>> x(1);
    const float v[8] = {1, 5, 3, nan, 5, 2, 4, 4};
    std::copy(v, v + 8, x.data());
    auto y = net.forward(x);
    CHECK(y[0] == 5.0f);
    CHECK(std::isnan(y[1]));
    Tensor<Shape<1, 1, 2>> dy(1);
    dy[0] = 1.0f;
    dy[1] = 2.0f;
    auto dx = net.backward(dy, true);
    const float expect[8] = {0, 1, 0, 2, 0, 0, 0, 0};  // first 5 (index 1) wins the tie with index 4
    for (int i = 0; i < 8; ++i) CHECK(dx[i] == expect[i]);
  }
  {
    Sequential<Input<1, 3, 3>, MaxPool<3, 2>> net(0);
    Tensor<Shape<1, 3, 3>> x(1);
    const float v[9] = {1, 7, 2, 7, nan, 0, 3, 3, 3};
    std::copy(v, v + 9, x.data());
    CHECK(std::isnan(net.forward(x)[0]));
  }
}
